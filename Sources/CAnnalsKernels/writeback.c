#define _GNU_SOURCE
#include "writeback.h"

#include <fcntl.h>

int annals_writeback_window(int fd, long long previous, long long offset, long long bytes) {
#if defined(__linux__)
    if (bytes > 0 && sync_file_range(fd, offset, bytes, SYNC_FILE_RANGE_WRITE) != 0) return -1;
    if (offset > previous &&
        sync_file_range(fd, previous, offset - previous,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0)
        return -1;
    return 0;
#else
    (void)fd, (void)previous, (void)offset, (void)bytes;
    return 0;
#endif
}
