import Crypto

/// A SHA-256 value: the hash of one record, and the link each record keeps to its predecessor.
public struct ChainHash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes, in order.
    public private(set) var bytes: SIMD32<UInt8>

    /// The hash before the first record of a log: SHA-256 of "annals-log-genesis" and the log's id, so that two
    /// logs never share a chain.
    public static func genesis(logId: [UInt8]) -> ChainHash {
        var hasher = SHA256()
        hasher.update(data: Array("annals-log-genesis".utf8))
        hasher.update(data: logId)
        return ChainHash(hasher.finalize())
    }

    init(_ digest: SHA256.Digest) {
        var value = SIMD32<UInt8>()
        digest.withUnsafeBytes { raw in
            withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: raw) }
        }
        bytes = value
    }

    /// Reads 32 bytes at `offset` of `buffer`.
    init(_ buffer: UnsafeRawBufferPointer, at offset: Int) {
        var value = SIMD32<UInt8>()
        withUnsafeMutableBytes(of: &value) {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + 32]))
        }
        bytes = value
    }

    /// Parses 64 hexadecimal digits.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var value = SIMD32<UInt8>()
        for index in 0..<32 {
            guard let high = hexValue(digits[2 * index]), let low = hexValue(digits[2 * index + 1]) else { return nil }
            value[index] = high << 4 | low
        }
        bytes = value
    }

    /// Hashes `buffer` with SHA-256.
    static func of(_ buffer: UnsafeRawBufferPointer) -> ChainHash {
        var hasher = SHA256()
        hasher.update(bufferPointer: buffer)
        return ChainHash(hasher.finalize())
    }

    /// Writes the 32 bytes at `offset` of `buffer`.
    func write(to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        withUnsafeBytes(of: bytes) { raw in
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + 32]).copyMemory(from: raw)
        }
    }

    /// The 32 bytes as an array.
    public var array: [UInt8] { (0..<32).map { bytes[$0] } }

    /// Lower-case hexadecimal.
    public var hex: String {
        let alphabet = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for index in 0..<32 {
            out.append(alphabet[Int(bytes[index] >> 4)])
            out.append(alphabet[Int(bytes[index] & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }
}

private func hexValue(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
}
