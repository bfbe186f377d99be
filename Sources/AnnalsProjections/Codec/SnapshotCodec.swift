/// Writes the binary snapshot encoding: little-endian fixed-width integers, strings and byte arrays with a `UInt32`
/// length in front.
///
/// Hand-written rather than protobuf or JSON so that a snapshot is one pass over the state with no intermediate
/// objects, and so that the bytes are canonical by construction (the caller writes fields in a fixed order and sorts
/// what comes from dictionaries).
struct SnapshotWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func u32(_ value: UInt32) { integer(value) }

    mutating func u64(_ value: UInt64) { integer(value) }

    mutating func i64(_ value: Int64) { integer(value) }

    /// Overwrites the eight bytes at `offset` (written earlier, for example as a placeholder) with `value`.
    mutating func patchU64(at offset: Int, _ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for index in 0..<8 { bytes[offset + index] = raw[index] }
        }
    }

    /// A count of elements that follow.
    mutating func count(_ value: Int) { integer(UInt64(value)) }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            integer(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func optionalString(_ value: String?) {
        bool(value != nil)
        if let value { string(value) }
    }

    mutating func optionalI64(_ value: Int64?) {
        bool(value != nil)
        if let value { i64(value) }
    }

    mutating func optionalU32(_ value: UInt32?) {
        bool(value != nil)
        if let value { u32(value) }
    }

    mutating func byteArray(_ value: [UInt8]) {
        integer(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func floats(_ values: [Float]) {
        integer(UInt32(values.count))
        for value in values { integer(value.bitPattern) }
    }

    /// `values` without a count in front (the reader knows it): one copy on a little-endian machine.
    mutating func integers<T: FixedWidthInteger>(_ values: [T]) {
        #if _endian(little)
            values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
            for value in values { integer(value) }
        #endif
    }

    private mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads what `SnapshotWriter` wrote, checking every length against the bytes left so that damaged input throws
/// `.malformedSnapshot` instead of trapping or allocating without bound.
struct SnapshotReader {
    private let bytes: [UInt8]
    private var offset = 0
    /// The bytes read so far.
    var consumed: Int { offset }
    /// The projection whose snapshot is read, for error messages.
    private let projection: String

    init(_ bytes: [UInt8], projection: String) {
        self.bytes = bytes
        self.projection = projection
    }

    /// Whether every byte was read.
    var isAtEnd: Bool { offset == bytes.count }

    /// Throws unless every byte was read: trailing bytes mean the snapshot is not what the reader thinks it is.
    func finish() throws(ProjectionError) {
        guard isAtEnd else { throw malformed("\(bytes.count - offset) bytes left over after the state") }
    }

    func malformed(_ what: String) -> ProjectionError {
        ProjectionError(.malformedSnapshot, "snapshot of \(projection) is malformed: \(what)")
    }

    /// Reads and checks the version the payload starts with.
    mutating func expectVersion(_ version: UInt32) throws(ProjectionError) {
        let found = try u32()
        guard found == version else {
            throw ProjectionError(
                .versionMismatch, "snapshot of \(projection) has version \(found); this build has version \(version)")
        }
    }

    mutating func u8() throws(ProjectionError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bool() throws(ProjectionError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        case let other: throw malformed("\(other) is not a boolean")
        }
    }

    mutating func u32() throws(ProjectionError) -> UInt32 { try integer() }

    mutating func u64() throws(ProjectionError) -> UInt64 { try integer() }

    mutating func i64() throws(ProjectionError) -> Int64 { try integer() }

    /// A count of elements that follow, each taking at least `elementBytes` bytes: bounded by the bytes left, so a
    /// damaged count cannot make the reader reserve memory for billions of elements.
    mutating func count(elementBytes: Int) throws(ProjectionError) -> Int {
        let value: UInt64 = try integer()
        guard value <= UInt64((bytes.count - offset) / max(elementBytes, 1)) else {
            throw malformed("a count of \(value) does not fit in the \(bytes.count - offset) bytes left")
        }
        return Int(value)
    }

    mutating func string() throws(ProjectionError) -> String {
        let length = Int(try u32())
        try need(length)
        let start = offset
        offset += length
        // Snapshots are mostly ids, digests and names in ASCII: those need no UTF-8 validation, and building them
        // from a buffer pointer avoids the generic (unspecialised) path of validating an array slice, which showed
        // as a fifth of restoring a large catalogue.
        let text: String? = bytes.withUnsafeBufferPointer { buffer in
            let slice = UnsafeBufferPointer(rebasing: buffer[start..<(start + length)])
            if Self.isASCII(slice) { return String(decoding: slice, as: UTF8.self) }
            return String(validating: slice, as: UTF8.self)
        }
        guard let text else { throw malformed("a string is not valid UTF-8") }
        return text
    }

    /// Whether every byte is below 0x80, eight bytes at a time.
    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let raw = UnsafeRawBufferPointer(bytes)
        var index = 0
        var high: UInt64 = 0
        while index + 8 <= raw.count {
            high |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < raw.count {
            high |= UInt64(raw[index])
            index += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    mutating func optionalString() throws(ProjectionError) -> String? {
        try bool() ? try string() : nil
    }

    mutating func optionalI64() throws(ProjectionError) -> Int64? {
        try bool() ? try i64() : nil
    }

    mutating func optionalU32() throws(ProjectionError) -> UInt32? {
        try bool() ? try u32() : nil
    }

    mutating func byteArray() throws(ProjectionError) -> [UInt8] {
        let length = try count(elementBytes: 1)
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }

    mutating func floats() throws(ProjectionError) -> [Float] {
        let count = Int(try u32())
        try need(count * 4)
        var values: [Float] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(Float(bitPattern: try integer())) }
        return values
    }

    /// `count` integers written by `SnapshotWriter.integers(_:)`.
    mutating func integers<T: FixedWidthInteger>(_ count: Int, of: T.Type = T.self) throws(ProjectionError) -> [T] {
        let size = MemoryLayout<T>.size
        guard count >= 0, count <= (bytes.count - offset) / size else {
            throw malformed("\(count) values do not fit in the \(bytes.count - offset) bytes left")
        }
        let start = offset
        offset += count * size
        return [T](unsafeUninitializedCapacity: count) { buffer, initialised in
            bytes.withUnsafeBytes { raw in
                for index in 0..<count {
                    buffer[index] = T(littleEndian: raw.loadUnaligned(fromByteOffset: start + index * size, as: T.self))
                }
            }
            initialised = count
        }
    }

    private func need(_ count: Int) throws(ProjectionError) {
        guard count >= 0, bytes.count - offset >= count else {
            throw malformed("it ends \(count - (bytes.count - offset)) bytes early")
        }
    }

    private mutating func integer<T: FixedWidthInteger>() throws(ProjectionError) -> T {
        let size = MemoryLayout<T>.size
        try need(size)
        defer { offset += size }
        return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}
