/// A set of fixed-dimension vectors keyed by caller-chosen ids, searchable by similarity.
///
/// The seam between the projections and the index structure: `ExactIndex` (a flat scan) is the default, and an
/// approximate index (HNSW) can stand in its place for large collections.
///
/// Implementation requirements: scores are dot products (callers store L2-normalised vectors, so a score is the
/// cosine similarity); results are ordered by descending score, equal scores by ascending id, so that the same
/// contents and query always give the same answer; `add` replaces the vector of an id already present; every
/// method either succeeds or leaves the index unchanged.
public protocol VectorIndex: Sendable {
    /// The number of values in every vector of the index.
    var dimension: Int { get }

    /// The number of vectors in the index.
    var count: Int { get }

    /// Whether a vector with this id is in the index.
    func contains(id: UInt64) -> Bool

    /// Adds `vector` under `id`, replacing the vector already stored under that id.
    ///
    /// - Throws: `VectorError` with code `.dimensionMismatch` or `.nonFiniteValue` (nothing changed), or
    ///   `.capacityExceeded`.
    mutating func add(id: UInt64, vector: [Float]) throws(VectorError)

    /// Removes the vector stored under `id`; returns false when there was none.
    @discardableResult
    mutating func remove(id: UInt64) -> Bool

    /// The `k` vectors most similar to `query` among those whose id passes `filter`, best first.
    ///
    /// - Throws: `VectorError` with code `.dimensionMismatch` or `.nonFiniteValue` for a bad query.
    func search(query: [Float], k: Int, filter: ((UInt64) -> Bool)?) throws(VectorError)
        -> [(id: UInt64, score: Float)]
}

extension VectorIndex {
    /// Checks the dimension and values of a vector or query before an index uses it.
    ///
    /// - Throws: `.dimensionMismatch` when its length is not `dimension`; `.nonFiniteValue` naming the first NaN
    ///   or infinity.
    func check(_ vector: [Float], what: String) throws(VectorError) {
        guard vector.count == dimension else {
            throw VectorError(
                .dimensionMismatch, "the \(what) has \(vector.count) values; the index holds dimension \(dimension)")
        }
        if let index = vector.firstIndex(where: { !$0.isFinite }) {
            throw VectorError(.nonFiniteValue, "value \(index) of the \(what) is \(vector[index])")
        }
    }
}
