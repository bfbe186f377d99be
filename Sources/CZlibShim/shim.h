#ifndef ANNALS_CZLIB_SHIM_H
#define ANNALS_CZLIB_SHIM_H
#include <zlib.h>
#endif
