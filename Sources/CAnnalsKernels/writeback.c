#define _GNU_SOURCE
#include "writeback.h"

#include <errno.h>
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

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

int annals_lower_thread_priority(int increment) {
#if defined(__linux__)
    // On Linux a thread is a task with its own nice value, addressed by its thread id.
    pid_t tid = (pid_t)syscall(SYS_gettid);
    errno = 0;
    int current = getpriority(PRIO_PROCESS, (id_t)tid);
    if (current == -1 && errno != 0) return -1;
    return setpriority(PRIO_PROCESS, (id_t)tid, current + increment);
#else
    (void)increment;
    return 0;
#endif
}
