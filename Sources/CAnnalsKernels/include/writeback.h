#ifndef ANNALS_WRITEBACK_H
#define ANNALS_WRITEBACK_H

// Bounded dirty page cache for files written front to back (vector arenas, blobs).
//
// Linux lets a process dirty page cache far faster than the disk takes it; inside a memory cgroup (a container's
// limit) dirty pages count against the limit and cannot be reclaimed until written, so a large sequential write can
// fail with ENOMEM although nearly all of its memory is only cache. Writers call `annals_writeback_window` after
// each window of bytes: it starts writing the newest window and waits for the one before it, so at most two windows
// are dirty at any time. Elsewhere than Linux both calls do nothing.

// Starts writeback of [offset, offset + bytes) and waits until [previous, offset) is written. Returns 0, or -1 with
// errno set (callers treat a failure as advice not taken: the data is still written, fsync still decides durability).
int annals_writeback_window(int fd, long long previous, long long offset, long long bytes);

#endif

// Raises the nice value of the calling thread (not the process) by `increment`, so that background work (building
// vector graphs) yields the CPU to appliers and requests. Linux only; returns 0, or -1 with errno set (and 0 with
// nothing done elsewhere).
int annals_lower_thread_priority(int increment);
