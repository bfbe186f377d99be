// Wide dot-product kernels; see include/vector_kernels.h for the contract.
//
// The reference is `DotProduct.dot` in Swift. For a vector pair it keeps 32 lane sums: lane j adds the products of
// elements i with i % 32 == j, in increasing i, over the whole 32-element steps; a 16-element step after them adds
// into lanes 0..15; an 8-element step after that is kept apart; then the total is the lanes 0..15 of the two halves
// added pairwise and summed in lane order, plus the 8-element step summed in lane order, plus the remaining
// products one by one. Every kernel here does exactly those roundings in exactly that order, only more lanes at a
// time, so all kernels and the Swift one give the same bits. Products and sums are rounded separately: fusing them
// (FMA) would change the bits, so contraction is off for the whole file.
#pragma STDC FP_CONTRACT OFF

// For MADV_HUGEPAGE, which is not POSIX.
#define _GNU_SOURCE

#include "block_kernels.h"

#include <stdatomic.h>
#include <stdint.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__x86_64__)
#include <immintrin.h>

/// The end of one pair's sum once its 32 lane sums are added up (`total`): the 8-element step summed in lane order,
/// then the remaining products one by one. `i` is where the 16-element step stopped.
static float finish_tail(float total, const float *a, const float *b, size_t i, size_t dimension) {
    float sum8[8] = {0};
    if (i + 8 <= dimension) {
        for (int j = 0; j < 8; j++) sum8[j] = a[i + j] * b[i + j];
        i += 8;
    }
    float total8 = -0.0f;
    for (int j = 0; j < 8; j++) total8 += sum8[j];
    total = total + total8;
    for (; i < dimension; i++) total += a[i] * b[i];
    return total;
}

/// Finishes one pair after its 32-element steps, from the two halves of its lane sums, as `DotProduct.dot` does.
/// `a` and `b` hold `dimension` floats; `i` is where the 32-element steps stopped.
static float finish(float sum0[16], const float sum1[16], const float *a, const float *b, size_t i, size_t dimension) {
    if (i + 16 <= dimension) {
        for (int j = 0; j < 16; j++) sum0[j] = sum0[j] + a[i + j] * b[i + j];
        i += 16;
    }
    float total = -0.0f;
    for (int j = 0; j < 16; j++) total += sum0[j] + sum1[j];
    return finish_tail(total, a, b, i, dimension);
}

// --- AVX-512F: one zmm register per 16 lanes, so a pair's 32 lane sums are two registers. ---

/// The scores of V vectors against Q queries, out[v * Q + q]. Inlined with constant V and Q, so the lane sums stay
/// in registers (V × Q × 2 of the 32 zmm registers; callers use at most 16).
__attribute__((target("avx512f"), always_inline)) static inline void tile512(
    const float *const *a, int V, const float *const *b, int Q, size_t dimension, float *out) {
    __m512 s0[8], s1[8];
    for (int p = 0; p < V * Q; p++) {
        s0[p] = _mm512_setzero_ps();
        s1[p] = _mm512_setzero_ps();
    }
    size_t i = 0;
    for (; i + 32 <= dimension; i += 32) {
        __m512 b0[8], b1[8];
        for (int q = 0; q < Q; q++) {
            b0[q] = _mm512_loadu_ps(b[q] + i);
            b1[q] = _mm512_loadu_ps(b[q] + i + 16);
        }
        for (int v = 0; v < V; v++) {
            __m512 a0 = _mm512_loadu_ps(a[v] + i);
            __m512 a1 = _mm512_loadu_ps(a[v] + i + 16);
            for (int q = 0; q < Q; q++) {
                s0[v * Q + q] = _mm512_add_ps(s0[v * Q + q], _mm512_mul_ps(a0, b0[q]));
                s1[v * Q + q] = _mm512_add_ps(s1[v * Q + q], _mm512_mul_ps(a1, b1[q]));
            }
        }
    }
    for (int v = 0; v < V; v++) {
        for (int q = 0; q < Q; q++) {
            float sum0[16], sum1[16];
            _mm512_storeu_ps(sum0, s0[v * Q + q]);
            _mm512_storeu_ps(sum1, s1[v * Q + q]);
            out[v * Q + q] = finish(sum0, sum1, a[v], b[q], i, dimension);
        }
    }
}

__attribute__((target("avx512f"))) static void scores512(
    const float *vectors, size_t count, size_t dimension, const float *query, float *scores) {
    const float *b[1] = {query};
    // One vector at a time: measured, tiles of two or four vectors sharing the query's loads ran at half the speed,
    // the scan being bound by reading memory, which one sequential stream does best.
    for (size_t v = 0; v < count; v++) {
        const float *a[1] = {vectors + v * dimension};
        tile512(a, 1, b, 1, dimension, scores + v);
    }
}

/// One vector against eight queries, out[q]. As tile512 with V = 1 and Q = 8, but the eight pairs' lane sums are
/// added up together: transposed (lane j of every pair gathered into one register), so that sixteen vector additions
/// do the sixteen sequential additions of all eight pairs, with the same roundings in the same order as finish().
/// Done one pair at a time, those additions cost as much as the pair's multiplications.
__attribute__((target("avx512f"))) static inline void tile512x8(
    const float *a, const float *const *b, size_t dimension, float *out) {
    __m512 s0[8], s1[8];
    for (int q = 0; q < 8; q++) {
        s0[q] = _mm512_setzero_ps();
        s1[q] = _mm512_setzero_ps();
    }
    size_t i = 0;
    for (; i + 32 <= dimension; i += 32) {
        __m512 a0 = _mm512_loadu_ps(a + i);
        __m512 a1 = _mm512_loadu_ps(a + i + 16);
        for (int q = 0; q < 8; q++) {
            s0[q] = _mm512_add_ps(s0[q], _mm512_mul_ps(a0, _mm512_loadu_ps(b[q] + i)));
            s1[q] = _mm512_add_ps(s1[q], _mm512_mul_ps(a1, _mm512_loadu_ps(b[q] + i + 16)));
        }
    }
    if (i + 16 <= dimension) {
        __m512 a0 = _mm512_loadu_ps(a + i);
        for (int q = 0; q < 8; q++) s0[q] = _mm512_add_ps(s0[q], _mm512_mul_ps(a0, _mm512_loadu_ps(b[q] + i)));
        i += 16;
    }
    float lanes[8][16];
    for (int q = 0; q < 8; q++) _mm512_storeu_ps(lanes[q], _mm512_add_ps(s0[q], s1[q]));
    // Lane j of pair q is at lanes[q][j]: a stride of 16 floats between pairs.
    const __m256i pairs = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
    __m256 total = _mm256_set1_ps(-0.0f);
    for (int j = 0; j < 16; j++) total = _mm256_add_ps(total, _mm256_i32gather_ps(&lanes[0][j], pairs, 4));
    float totals[8];
    _mm256_storeu_ps(totals, total);
    for (int q = 0; q < 8; q++) out[q] = finish_tail(totals[q], a, b[q], i, dimension);
}

__attribute__((target("avx512f"))) static void batch512(
    const float *vectors, size_t count, size_t dimension, const float *queries, size_t query_count, float *scores) {
    size_t q = 0;
    // One vector against eight queries: each vector load serves eight pairs, and the sixteen lane-sum registers
    // stay in registers. The vectors come from cache here (the caller's blocking), so the batch is bound by
    // arithmetic and loads; measured, this tile beat two vectors by four queries and one by four.
    for (; q + 8 <= query_count; q += 8) {
        const float *b[8];
        for (int j = 0; j < 8; j++) b[j] = queries + (q + j) * dimension;
        for (size_t v = 0; v < count; v++) {
            float out[8];
            tile512x8(vectors + v * dimension, b, dimension, out);
            for (int j = 0; j < 8; j++) scores[(q + j) * count + v] = out[j];
        }
    }
    for (; q < query_count; q++) scores512(vectors, count, dimension, queries + q * dimension, scores + q * count);
}

// --- AVX2: one ymm register per 8 lanes, so a pair's 32 lane sums are four registers. ---

/// The scores of V vectors against one query, as tile512 (V × 4 of the 16 ymm registers hold lane sums).
__attribute__((target("avx2"), always_inline)) static inline void tile256(
    const float *const *a, int V, const float *b, size_t dimension, float *out) {
    __m256 s[2][4];
    for (int v = 0; v < V; v++)
        for (int l = 0; l < 4; l++) s[v][l] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= dimension; i += 32) {
        __m256 q[4];
        for (int l = 0; l < 4; l++) q[l] = _mm256_loadu_ps(b + i + 8 * l);
        for (int v = 0; v < V; v++)
            for (int l = 0; l < 4; l++)
                s[v][l] = _mm256_add_ps(s[v][l], _mm256_mul_ps(_mm256_loadu_ps(a[v] + i + 8 * l), q[l]));
    }
    for (int v = 0; v < V; v++) {
        float sum0[16], sum1[16];
        _mm256_storeu_ps(sum0, s[v][0]);
        _mm256_storeu_ps(sum0 + 8, s[v][1]);
        _mm256_storeu_ps(sum1, s[v][2]);
        _mm256_storeu_ps(sum1 + 8, s[v][3]);
        out[v] = finish(sum0, sum1, a[v], b, i, dimension);
    }
}

__attribute__((target("avx2"))) static void scores256(
    const float *vectors, size_t count, size_t dimension, const float *query, float *scores) {
    // One vector at a time, as in scores512 and for the same measured reason.
    for (size_t v = 0; v < count; v++) {
        const float *a[1] = {vectors + v * dimension};
        tile256(a, 1, query, dimension, scores + v);
    }
}

static int cpu_level(void) {
    __builtin_cpu_init();
    // The checks include the operating system's support for the wider registers (XSAVE state), not only the CPU's.
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
    return 0;
}

#else

static int cpu_level(void) { return 0; }

#endif

/// The CPU's level once known (-1 before), and a forced lower level (-1 when none). Atomics because searches run
/// on many threads; relaxed is enough, as any level gives the same answers.
static atomic_int detected = -1;
static atomic_int forced = -1;

int annals_kernels_level(void) {
    int level = atomic_load_explicit(&detected, memory_order_relaxed);
    if (level < 0) {
        level = cpu_level();
        atomic_store_explicit(&detected, level, memory_order_relaxed);
    }
    int cap = atomic_load_explicit(&forced, memory_order_relaxed);
    return cap >= 0 && cap < level ? cap : level;
}

void annals_kernels_force_level(int level) { atomic_store_explicit(&forced, level, memory_order_relaxed); }

int annals_kernels_scores(const float *vectors, size_t count, size_t dimension, const float *query, float *scores) {
#if defined(__x86_64__)
    switch (annals_kernels_level()) {
    case 2: scores512(vectors, count, dimension, query, scores); return 1;
    case 1: scores256(vectors, count, dimension, query, scores); return 1;
    default: break;
    }
#endif
    (void)vectors, (void)count, (void)dimension, (void)query, (void)scores;
    return 0;
}

int annals_kernels_scores_batch(
    const float *vectors, size_t count, size_t dimension, const float *queries, size_t query_count,
    float *scores) {
#if defined(__x86_64__)
    switch (annals_kernels_level()) {
    case 2: batch512(vectors, count, dimension, queries, query_count, scores); return 1;
    case 1:
        // The vectors are a cache-sized block (the caller's blocking), so query after query reads them from cache.
        for (size_t q = 0; q < query_count; q++)
            scores256(vectors, count, dimension, queries + q * dimension, scores + q * count);
        return 1;
    default: break;
    }
#endif
    (void)vectors, (void)count, (void)dimension, (void)queries, (void)query_count, (void)scores;
    return 0;
}

void annals_advise_huge_pages(void *start, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // Only whole huge pages inside the range: advice applies to whole pages, and the memory around the range may
    // belong to someone else.
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t begin = ((uintptr_t)start + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)start + bytes) & ~(huge - 1);
    // Advice only: when the kernel refuses (THP disabled, an old kernel), the memory works as before.
    if (end > begin) (void)madvise((void *)begin, end - begin, MADV_HUGEPAGE);
#else
    (void)start, (void)bytes;
#endif
}
