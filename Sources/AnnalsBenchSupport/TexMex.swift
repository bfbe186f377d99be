import Foundation

/// The TEXMEX vector formats (`.fvecs`, `.ivecs`) that ANN benchmarks use for base vectors, queries and ground truth,
/// so that Annals and the Python peers read exactly the same data.
///
/// Each record is a little-endian Int32 dimension `d` followed by `d` little-endian 4-byte values: Float32 in
/// `.fvecs`, Int32 in `.ivecs`. A file is records one after another, all with the same `d`; there is no header.
public enum TexMex {
    /// The largest dimension read or written; far above any embedding, small enough that a damaged length field
    /// cannot ask for gigabytes.
    public static let dimensionMax = 65_536

    /// The most records read or written: ground-truth ids are Int32, so vectors beyond this could not be named.
    public static let countMax = Int(Int32.max)

    /// Reads a `.fvecs` file, the first `limit` vectors when a limit is given.
    ///
    /// - Throws: `DatasetError` with code `.io` when the file cannot be read, `.malformedFile` when its length is not
    ///   whole records, records differ in dimension, the dimension is outside `1...dimensionMax`, or a value is not
    ///   finite.
    public static func readFvecs(path: String, limit: Int? = nil) throws(DatasetError) -> VectorSet {
        let (dimension, words) = try readRecords(path: path, limit: limit)
        let values = words.map { Float(bitPattern: $0) }
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError(
                .malformedFile, "\(path): value \(index % dimension) of vector \(index / dimension) is not finite")
        }
        return try VectorSet(dimension: dimension, values: values)
    }

    /// Writes `vectors` as a `.fvecs` file, replacing the file at `path`.
    ///
    /// - Throws: `DatasetError` with code `.io` when the file cannot be written, `.invalidArgument` when the set
    ///   is past the limits.
    public static func writeFvecs(_ vectors: VectorSet, path: String) throws(DatasetError) {
        try writeRecords(
            path: path, dimension: vectors.dimension, count: vectors.count,
            words: vectors.values.lazy.map(\.bitPattern))
    }

    /// Reads an `.ivecs` file (ground truth: one row of neighbour indexes per query), the first `limit` rows when a
    /// limit is given.
    ///
    /// - Throws: `DatasetError` as `readFvecs` does.
    public static func readIvecs(path: String, limit: Int? = nil) throws(DatasetError) -> [[Int32]] {
        let (dimension, words) = try readRecords(path: path, limit: limit)
        return stride(from: 0, to: words.count, by: dimension).map { start in
            words[start..<start + dimension].map { Int32(bitPattern: $0) }
        }
    }

    /// Writes `rows` as an `.ivecs` file, replacing the file at `path`. Every row must have the same length.
    ///
    /// - Throws: `DatasetError` with code `.io` when the file cannot be written, `.invalidArgument` when rows differ
    ///   in length, are empty, or are past the limits.
    public static func writeIvecs(_ rows: [[Int32]], path: String) throws(DatasetError) {
        let dimension = rows.first?.count ?? 1
        guard rows.allSatisfy({ $0.count == dimension }) else {
            throw DatasetError(.invalidArgument, "ivecs rows must all have the same length")
        }
        try writeRecords(
            path: path, dimension: dimension, count: rows.count,
            words: rows.lazy.joined().map { UInt32(bitPattern: $0) })
    }

    /// Reads records of 4-byte values and returns their common dimension and the values, little-endian decoded.
    private static func readRecords(path: String, limit: Int?) throws(DatasetError) -> (Int, [UInt32]) {
        let data: Data
        do {
            // Mapped rather than read: base files are hundreds of megabytes, and the values are copied out anyway.
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw DatasetError(.io, "\(path): \(error.localizedDescription)")
        }
        // `Data.withUnsafeBytes` rethrows untyped errors: the typed one travels out in a `Result`.
        let parsed = data.withUnsafeBytes { raw in
            Result { () throws(DatasetError) in try parseRecords(raw, path: path, limit: limit) }
        }
        return try parsed.get()
    }

    /// Splits the records in `raw` (the bytes of the file at `path`, for messages).
    private static func parseRecords(
        _ raw: UnsafeRawBufferPointer, path: String, limit: Int?
    ) throws(DatasetError) -> (Int, [UInt32]) {
        func malformed(_ what: String) -> DatasetError { DatasetError(.malformedFile, "\(path): \(what)") }
        guard raw.count >= 4 else { throw malformed("\(raw.count) bytes is not even one record") }
        // Every load below is at an offset checked against raw.count first: the dimension at 0 by the guard
        // above, and each record's values by the length check that makes the record count whole.
        let dimension = Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: Int32.self)))
        guard (1...dimensionMax).contains(dimension) else { throw malformed("dimension \(dimension)") }
        let recordBytes = 4 + 4 * dimension
        guard raw.count % recordBytes == 0 else {
            throw malformed("\(raw.count) bytes is not whole records of dimension \(dimension)")
        }
        let stored = raw.count / recordBytes
        guard stored <= countMax else { throw malformed("\(stored) records is more than \(countMax)") }
        let count = min(stored, limit ?? stored)
        var words: [UInt32] = []
        words.reserveCapacity(count * dimension)
        for record in 0..<count {
            let start = record * recordBytes
            let own = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: start, as: Int32.self))
            guard own == dimension else {
                throw malformed("record \(record) has dimension \(own), the first has \(dimension)")
            }
            for index in 0..<dimension {
                words.append(
                    UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 + 4 * index, as: UInt32.self)))
            }
        }
        return (dimension, words)
    }

    /// Writes `count` records of `dimension` values taken in order from `words`.
    private static func writeRecords(
        path: String, dimension: Int, count: Int, words: some Sequence<UInt32>
    ) throws(DatasetError) {
        guard (1...dimensionMax).contains(dimension), count <= countMax else {
            throw DatasetError(.invalidArgument, "\(count) records of dimension \(dimension) is past the limits")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw DatasetError(.io, "\(path): cannot create the file")
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            // Written a few thousand records at a time, so a base file never needs a second copy in memory.
            let recordsPerWrite = max(1, (1 << 20) / (4 + 4 * dimension))
            var buffer: [UInt8] = []
            buffer.reserveCapacity(recordsPerWrite * (4 + 4 * dimension))
            var iterator = words.makeIterator()
            for record in 0..<count {
                append(UInt32(bitPattern: Int32(dimension)), to: &buffer)
                for _ in 0..<dimension {
                    guard let word = iterator.next() else {
                        throw DatasetError(.invalidArgument, "fewer values than \(count) × \(dimension)")
                    }
                    append(word, to: &buffer)
                }
                if (record + 1) % recordsPerWrite == 0 || record == count - 1 {
                    try handle.write(contentsOf: buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
        } catch let error as DatasetError {
            throw error
        } catch {
            throw DatasetError(.io, "\(path): \(error.localizedDescription)")
        }
    }

    private static func append(_ word: UInt32, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: word.littleEndian) { buffer.append(contentsOf: $0) }
    }
}
