#include "CAnnalsKernels.h"

#include <float.h>
#include <string.h>

// Results must not depend on the CPU variant: never fuse a multiply and an add (FMA rounds once, not twice).
#pragma clang fp contract(off)

// On x86-64 Linux with glibc each kernel is compiled three times (AVX-512 with byte and word instructions, AVX2,
// baseline) and the loader picks the best one the CPU supports, once, when the program starts (an ifunc, which
// glibc provides). Elsewhere (arm64 has NEON in its baseline) the compiler's default target is used.
#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#include <features.h>
#endif
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__clang__)
#define ANNALS_MULTIVERSION __attribute__((target_clones("avx512bw", "avx2", "default")))
#else
#define ANNALS_MULTIVERSION
#endif

ANNALS_MULTIVERSION
float annals_dot_f32(const float *a, const float *b, long count) {
    float sum0[16];
    float sum1[16];
    for (int lane = 0; lane < 16; lane++) {
        sum0[lane] = 0;
        sum1[lane] = 0;
    }
    long i = 0;
    for (; i + 32 <= count; i += 32) {
        for (int lane = 0; lane < 16; lane++) {
            sum0[lane] += a[i + lane] * b[i + lane];
            sum1[lane] += a[i + 16 + lane] * b[i + 16 + lane];
        }
    }
    if (i + 16 <= count) {
        for (int lane = 0; lane < 16; lane++) sum0[lane] += a[i + lane] * b[i + lane];
        i += 16;
    }
    float sum8[8];
    for (int lane = 0; lane < 8; lane++) sum8[lane] = 0;
    if (i + 8 <= count) {
        for (int lane = 0; lane < 8; lane++) sum8[lane] = a[i + lane] * b[i + lane];
        i += 8;
    }
    float total = -0.0f;
    for (int lane = 0; lane < 16; lane++) total += sum0[lane] + sum1[lane];
    float tail = -0.0f;
    for (int lane = 0; lane < 8; lane++) tail += sum8[lane];
    total += tail;
    for (; i < count; i++) total += a[i] * b[i];
    return total;
}

ANNALS_MULTIVERSION
int annals_dot_i8(const signed char *a, const signed char *b, long count) {
    int total = 0;
    for (long i = 0; i < count; i++) total += (int)a[i] * (int)b[i];
    return total;
}

ANNALS_MULTIVERSION
long annals_copy_finite_f32(float *destination, const void *source, long count) {
    const long block = 4096;
    for (long start = 0; start < count; start += block) {
        long length = count - start < block ? count - start : block;
        memcpy(destination + start, (const char *)source + start * sizeof(float), (size_t)length * sizeof(float));
        // NaN fails every comparison and an infinity exceeds the largest finite float. Branch-free, so it
        // vectorises.
        const float *copied = destination + start;
        int bad = 0;
        for (long i = 0; i < length; i++) bad |= !(__builtin_fabsf(copied[i]) <= FLT_MAX);
        if (bad) {
            for (long i = 0; i < length; i++) {
                if (!(__builtin_fabsf(copied[i]) <= FLT_MAX)) return start + i;
            }
        }
    }
    return -1;
}
