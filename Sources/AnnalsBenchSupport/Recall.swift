/// Recall of approximate search results against exact ones.
public enum Recall {
    /// The mean over queries of |found ∩ truth| / k, where both lists are cut to their first `k` ids.
    ///
    /// A query whose truth holds fewer than `k` ids (an index smaller than `k`) is scored against that many, so that
    /// returning everything there is counts as full recall. Queries with no truth count as full recall too. `found`
    /// and `truth` must have one row per query.
    public static func atK(_ k: Int, found: [[UInt64]], truth: [[UInt64]]) -> Double {
        precondition(k > 0, "recall needs a positive k")
        precondition(found.count == truth.count, "recall needs one row of results per row of truth")
        guard !truth.isEmpty else { return 1 }
        var sum = 0.0
        for (result, expected) in zip(found, truth) {
            let wanted = Set(expected.prefix(k))
            guard !wanted.isEmpty else {
                sum += 1
                continue
            }
            // Distinct ids only: an index that returned one id twice must not count it twice.
            let hits = Set(result.prefix(k)).intersection(wanted).count
            sum += Double(hits) / Double(wanted.count)
        }
        return sum / Double(truth.count)
    }
}
