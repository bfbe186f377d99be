/// Fixed-dimension Float32 vectors stored one after another in one array, as the benchmark's data sets are.
public struct VectorSet: Sendable, Equatable {
    /// The number of values in every vector.
    public let dimension: Int
    /// `count × dimension` values: vector `i` is `values[i * dimension ..< (i + 1) * dimension]`.
    public private(set) var values: [Float]

    /// Creates a set from values laid out one vector after another.
    ///
    /// - Throws: `DatasetError` with code `.invalidArgument` when `dimension` is not positive or `values.count` is
    ///   not a multiple of it.
    public init(dimension: Int, values: [Float]) throws(DatasetError) {
        guard dimension > 0, values.count % dimension == 0 else {
            throw DatasetError(
                .invalidArgument, "\(values.count) values do not make whole vectors of dimension \(dimension)")
        }
        self.dimension = dimension
        self.values = values
    }

    /// The number of vectors.
    public var count: Int { values.count / dimension }

    /// Vector `index`, copied out.
    public subscript(index: Int) -> [Float] {
        Array(values[index * dimension..<(index + 1) * dimension])
    }

    /// Every vector, each copied into its own array (the shape `ExactIndex.search(queries:)` takes).
    public var rows: [[Float]] { (0..<count).map { self[$0] } }

    /// The first `count` vectors.
    public func prefix(_ count: Int) -> VectorSet {
        // Sound by construction: a prefix of whole vectors is whole vectors of the same dimension.
        try! VectorSet(dimension: dimension, values: Array(values.prefix(count * dimension)))
    }

    /// The vectors from `start` on.
    public func dropFirst(_ start: Int) -> VectorSet {
        try! VectorSet(dimension: dimension, values: Array(values.dropFirst(start * dimension)))
    }

    /// Scales every vector to length 1, so that an inner product is a cosine similarity (what the indexes
    /// assume). A vector of zeros stays zero: it has no direction to keep.
    public mutating func normalize() {
        let dimension = dimension
        values.withUnsafeMutableBufferPointer { buffer in
            for start in stride(from: 0, to: buffer.count, by: dimension) {
                var sum: Float = 0
                for index in start..<start + dimension { sum += buffer[index] * buffer[index] }
                guard sum > 0 else { continue }
                let scale = 1 / sum.squareRoot()
                for index in start..<start + dimension { buffer[index] *= scale }
            }
        }
    }
}
