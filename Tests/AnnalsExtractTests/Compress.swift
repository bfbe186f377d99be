import AnnalsExtract
import CZlibShim

/// Compresses `bytes` with zlib in `framing` (gzip, zlib or raw deflate), for tests that need compressed input
/// (bombs included: a megabyte of zeros compresses to about a kilobyte).
func compress(_ bytes: [UInt8], framing: Inflater.Framing, level: Int32 = 6) -> [UInt8] {
    let windowBits: Int32 =
        switch framing {
        case .gzip: 16 + 15
        case .zlib: 15
        case .raw: -15
        }
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    defer { stream.deallocate() }
    stream.initialize(to: z_stream())
    let rc = deflateInit2_(
        stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    precondition(rc == Z_OK, "deflateInit2 failed: \(rc)")
    defer { deflateEnd(stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, UInt(bytes.count))) + 64)
    var input = bytes
    let written = input.withUnsafeMutableBufferPointer { inBuffer in
        output.withUnsafeMutableBufferPointer { outBuffer in
            stream.pointee.next_in = inBuffer.baseAddress
            stream.pointee.avail_in = UInt32(inBuffer.count)
            stream.pointee.next_out = outBuffer.baseAddress
            stream.pointee.avail_out = UInt32(outBuffer.count)
            let result = deflate(stream, Z_FINISH)
            precondition(result == Z_STREAM_END, "deflate did not finish: \(result)")
            return outBuffer.count - Int(stream.pointee.avail_out)
        }
    }
    return Array(output.prefix(written))
}
