#ifndef C_ANNALS_KERNELS_H
#define C_ANNALS_KERNELS_H

// The block kernels of exact scans (whole sets of vectors against one query or a batch).
#include "block_kernels.h"

// Bounded dirty page cache for files written front to back.
#include "writeback.h"

// The inner loops of the vector indexes, in C for what Swift cannot do: choose the widest SIMD the CPU has at run
// time (the Swift code is compiled for the baseline x86-64, SSE2, while the machines it runs on have AVX2 or
// AVX-512), and prefetch memory.

/// The dot product of the `count` floats at `a` and at `b`.
///
/// The additions happen in one fixed order whatever the CPU: 32 independent partial sums (lane `l` of two 16-lane
/// accumulators takes values `l`, `l + 32`, … and `l + 16`, `l + 48`, …), a 16-value tail into the first
/// accumulator, an 8-value tail, the partial sums added in lane order, then a scalar tail. No multiply is fused
/// with an addition. So every CPU variant returns the same bits, and a vector gets the same score wherever it is
/// stored. The caller guarantees that both pointers address `count` floats.
float annals_dot_f32(const float *a, const float *b, long count);

/// The dot product of the `count` int8 values at `a` and at `b` (exact: integer arithmetic). The caller guarantees
/// that both pointers address `count` values and that `count × 127²` fits in an Int32.
int annals_dot_i8(const signed char *a, const signed char *b, long count);

/// Copies `count` floats from `source` to `destination` (which do not overlap) and returns the index of the first
/// NaN or infinity among them, or -1. Checks each block right after copying it, while it is in cache, so the check
/// costs no second pass over memory.
long annals_copy_finite_f32(float *destination, const void *source, long count);

/// Asks the CPU to load the cache line holding `address` into all cache levels, for reading. Only a hint: it never
/// faults, even on an invalid address, and changes no result.
static inline __attribute__((always_inline)) void annals_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
