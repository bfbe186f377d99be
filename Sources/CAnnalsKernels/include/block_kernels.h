// Dot-product kernels for AnnalsVector, compiled for AVX2 and AVX-512 and chosen at run time.
//
// Swift compiles for the baseline of its target (SSE2 on x86-64) and has no per-function target attribute, so the
// wide kernels live here, behind a check of what the CPU offers. Every kernel computes exactly the sums of
// `DotProduct.dot` in Swift, in the same order, without fused multiply-adds, so a score is the same bits whichever
// kernel produced it (the tests compare them bit for bit).
#ifndef ANNALS_VECTOR_KERNELS_H
#define ANNALS_VECTOR_KERNELS_H

#include <stddef.h>

/// The kernel level this CPU gets: 0 none (the caller uses its portable kernel), 1 AVX2, 2 AVX-512F.
int annals_kernels_level(void);

/// Forces a level at or below the CPU's (for tests and measurements); a negative value restores the CPU's own.
void annals_kernels_force_level(int level);

/// scores[v] = the dot product of the `dimension` floats at vectors + v * dimension with those at query, for
/// v in 0..<count. Returns 0 and writes nothing when no accelerated kernel is available.
int annals_kernels_scores(
    const float *vectors, size_t count, size_t dimension, const float *query, float *scores);

/// scores[q * count + v] = the dot product of vector v with query q (queries one after another, `dimension`
/// floats each), for q in 0..<query_count and v in 0..<count. Returns 0 and writes nothing when no accelerated
/// kernel is available.
int annals_kernels_scores_batch(
    const float *vectors, size_t count, size_t dimension, const float *queries, size_t query_count,
    float *scores);

/// Advises the kernel to back the 2 MiB-aligned part of [start, start + bytes) with transparent huge pages (Linux's
/// madvise MADV_HUGEPAGE; nothing elsewhere). Call it on fresh memory before writing to it, so that its pages are
/// huge from the first fault. A scan of hundreds of megabytes through 4 KiB pages spends much of its time on TLB
/// misses; with 2 MiB pages the exact search ran 1.7 times as fast here.
void annals_advise_huge_pages(void *start, size_t bytes);

#endif
