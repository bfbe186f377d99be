internal import CZlibShim

/// zlib compression for payloads above the deflate threshold.
enum Deflate {
    /// Compresses `input` at zlib's fastest level. Returns nil when compression would not save at least an eighth,
    /// so that incompressible payloads (random bytes, already compressed data) are stored as they are.
    static func compress(_ input: [UInt8]) -> [UInt8]? {
        var bound = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(bound))
        let rc = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { inp in
                compress2(out.baseAddress, &bound, inp.baseAddress, uLong(inp.count), Z_BEST_SPEED)
            }
        }
        guard rc == Z_OK, Int(bound) <= input.count - input.count / 8 else { return nil }
        output.removeSubrange(Int(bound)...)
        return output
    }

    /// Inflates `input`, which must expand to exactly `length` bytes.
    ///
    /// - Throws: `.corruptRecord` naming `position` when the data is not valid zlib or has another length.
    static func decompress(_ input: UnsafeRawBufferPointer, length: Int, position: UInt64) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: length)
        var produced = uLongf(length)
        let rc = output.withUnsafeMutableBufferPointer { out in
            uncompress(
                out.baseAddress, &produced, input.baseAddress?.assumingMemoryBound(to: Bytef.self),
                uLong(input.count))
        }
        guard rc == Z_OK, Int(produced) == length else {
            throw LogError(
                .corruptRecord, "record \(position): its deflated payload does not inflate (zlib \(rc))",
                position: position)
        }
        return output
    }
}
