/// The inner loop of every exact search: dot products over contiguous Float32 storage.
enum DotProduct {
    /// The dot product of the `count` floats at `a` and at `b`.
    ///
    /// Two 16-lane accumulators give the CPU independent additions to overlap (a single accumulator would make each
    /// addition wait for the previous one); 8-lane and scalar tails finish dimensions that are not a multiple of 32.
    /// The order of additions depends only on `count`, so a vector gets the same score wherever it is stored, which
    /// keeps searches deterministic across snapshots and removals.
    ///
    /// The caller guarantees that both pointers address at least `count` initialised floats; the loads are unaligned
    /// loads of whole SIMD vectors that stay inside that range (each loop checks that `i + width <= count`).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var sum0 = SIMD16<Float>()
        var sum1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= count {
            sum0 += load16(a + i) * load16(b + i)
            sum1 += load16(a + i + 16) * load16(b + i + 16)
            i += 32
        }
        if i + 16 <= count {
            sum0 += load16(a + i) * load16(b + i)
            i += 16
        }
        var sum8 = SIMD8<Float>()
        if i + 8 <= count {
            sum8 = load8(a + i) * load8(b + i)
            i += 8
        }
        var total = (sum0 + sum1).sum() + sum8.sum()
        while i < count {
            total += a[i] * b[i]
            i += 1
        }
        return total
    }

    @inline(__always)
    private static func load16(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    private static func load8(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }
}
