import CAnnalsKernels

// The byte format of a serialised `ExactIndex`, little-endian throughout:
//
// | offset | size | field |
// |---|---|---|
// | 0 | 4 | magic `AVXI` |
// | 4 | 4 | format version (1) |
// | 8 | 4 | dimension D |
// | 12 | 4 | reserved, 0 |
// | 16 | 8 | count N |
// | 24 | 8 × N | ids, strictly ascending |
// | 24 + 8N | 4 × D × N | the vectors as IEEE 754 Float32, in the order of the ids |
//
// Written in id order rather than slot order so that the same contents always give the same bytes, whatever order
// the vectors were added and removed in: snapshots of equal states have equal digests.

extension ExactIndex {
    static let serializedMagic: [UInt8] = Array("AVXI".utf8)
    static let serializedFormatVersion: UInt32 = 1
    static let serializedHeaderBytes = 24

    /// The index as bytes, canonical: equal contents give equal bytes. `init(serialized:)` reads them back.
    public func serialized() -> [UInt8] {
        let count = self.count
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.serializedHeaderBytes + count * 8 + count * dimension * 4)
        bytes.append(contentsOf: Self.serializedMagic)
        appendLE(&bytes, Self.serializedFormatVersion)
        appendLE(&bytes, UInt32(dimension))
        appendLE(&bytes, UInt32(0))
        appendLE(&bytes, UInt64(count))
        let ids = slotIds
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        for slot in order { appendLE(&bytes, ids[slot]) }
        let dimension = dimension
        withStorage { storage in
            for slot in order {
                let vector = UnsafeBufferPointer(rebasing: storage[slot * dimension..<(slot + 1) * dimension])
                #if _endian(little)
                    // The host's Float32 layout is the format's, so the bytes are copied as they are.
                    bytes.append(contentsOf: UnsafeRawBufferPointer(vector))
                #else
                    for value in vector { appendLE(&bytes, value.bitPattern) }
                #endif
            }
        }
        return bytes
    }

    /// Reads an index written by `serialized()`.
    ///
    /// - Throws: `VectorError` with code `.malformedSnapshot` when the magic, format version, dimension or length
    ///   is wrong, the ids are not strictly ascending, or a value is NaN or infinite.
    public init(serialized bytes: [UInt8]) throws(VectorError) {
        func malformed(_ what: String) -> VectorError {
            VectorError(.malformedSnapshot, "serialised vector index: \(what)")
        }
        let header = Self.serializedHeaderBytes
        guard bytes.count >= header else { throw malformed("\(bytes.count) bytes is shorter than the header") }
        guard bytes[0..<4].elementsEqual(Self.serializedMagic) else { throw malformed("bad magic") }
        let format: UInt32 = loadLE(bytes, 4)
        guard format == Self.serializedFormatVersion else {
            throw malformed("format version \(format); this build reads \(Self.serializedFormatVersion)")
        }
        let dimension = Int(loadLE(bytes, 8) as UInt32)
        guard (1...Self.dimensionMax).contains(dimension) else { throw malformed("dimension \(dimension)") }
        guard loadLE(bytes, 12) as UInt32 == 0 else { throw malformed("reserved bytes are set") }
        let storedCount = loadLE(bytes, 16) as UInt64
        // Bound the count by the bytes present before multiplying, so a damaged count cannot overflow.
        let perVector = 8 + 4 * dimension
        guard storedCount <= UInt64((bytes.count - header) / perVector), storedCount <= UInt64(Self.countMax) else {
            throw malformed("count \(storedCount) does not fit in \(bytes.count) bytes")
        }
        let count = Int(storedCount)
        guard bytes.count == header + count * perVector else {
            throw malformed("\(bytes.count) bytes, expected \(header + count * perVector) for \(count) vectors")
        }
        var ids: [UInt64] = []
        ids.reserveCapacity(count)
        for index in 0..<count {
            let id: UInt64 = loadLE(bytes, header + 8 * index)
            if let previous = ids.last, previous >= id { throw malformed("ids are not strictly ascending") }
            ids.append(id)
        }
        let valuesStart = header + 8 * count
        let valueCount = count * dimension
        let storage = [Float](unsafeUninitializedCapacity: valueCount) { buffer, initialised in
            // Before the copy writes it, as `ExactIndex.growStorage` does and for the same reason.
            annals_advise_huge_pages(buffer.baseAddress, buffer.count * MemoryLayout<Float>.stride)
            bytes.withUnsafeBytes { raw in
                #if _endian(little)
                    // Sound: the length check above proves the source holds valueCount × 4 bytes from valuesStart,
                    // and the destination has capacity for valueCount floats.
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: raw[valuesStart..<valuesStart + valueCount * 4]))
                #else
                    for index in 0..<valueCount {
                        buffer[index] = Float(bitPattern: loadLE(bytes, valuesStart + 4 * index))
                    }
                #endif
            }
            initialised = valueCount
        }
        if let index = storage.firstIndex(where: { !$0.isFinite }) {
            throw malformed("value \(index % dimension) of vector \(ids[index / dimension]) is \(storage[index])")
        }
        self.init(dimension: dimension, storage: storage, ids: ids)
    }
}

private func appendLE<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ value: T) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}

private func loadLE<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int) -> T {
    bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
}
