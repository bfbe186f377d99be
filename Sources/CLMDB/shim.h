#ifndef ANNALS_CLMDB_SHIM_H
#define ANNALS_CLMDB_SHIM_H
#include <lmdb.h>
#endif
