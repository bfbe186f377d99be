// `Double.squareRoot()` calls the C library's `sqrt` in debug builds (release builds use the instruction); importing
// the C library here links it, so that no program using this module fails to link. Nothing else of it is used.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The fixed, well-known arithmetic behind the hashing embedder.
///
/// Everything here is specified bit for bit, so vectors are the same in every process and on every platform:
/// Swift's `Hasher` is seeded randomly per process and would break replay, and the C library's `log` may differ in
/// the last bit between platforms, so the logarithm is computed here from IEEE operations alone.
enum FeatureHash {
    /// The FNV-1a 64-bit offset basis.
    static let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325
    /// The FNV-1a 64-bit prime.
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// MurmurHash3's 64-bit finaliser: a bijection whose every output bit depends on every input bit.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x &>> 33
        x &*= 0xFF51_AFD7_ED55_8CCD
        x ^= x &>> 33
        x &*= 0xC4CE_B9FE_1A85_EC53
        x ^= x &>> 33
        return x
    }

    /// The natural logarithm of `x` (x ≥ 1), from IEEE arithmetic only, so that it is identical everywhere.
    ///
    /// Splits `x` into `m · 2^e` with `m` in [√½, √2] and sums the series of `2·atanh((m − 1)/(m + 1))`, whose
    /// terms fall by at least 34 times each; eleven terms are below a double's precision.
    static func naturalLog(_ x: Double) -> Double {
        precondition(x >= 1 && x.isFinite, "naturalLog is only used for term counts")
        var exponent = Double(Int(x.exponent))
        var mantissa = x.significand
        if mantissa > 1.414_213_562_373_095_1 {
            mantissa /= 2
            exponent += 1
        }
        let s = (mantissa - 1) / (mantissa + 1)
        let s2 = s * s
        var series = 1.0 / 23.0
        var k = 21.0
        while k >= 1 {
            series = series * s2 + 1.0 / k
            k -= 2
        }
        return exponent * 0.693_147_180_559_945_3 + 2 * s * series
    }
}
