import AnnalsChecksum

/// A string dictionary key that carries its own hash, for the projections' large tables of document ids.
///
/// A `String` key is hashed with SipHash over its bytes at every lookup, and again at every growth of the table,
/// where reading each key's bytes is also a cache miss (a long string lives in a buffer of its own). In replay
/// profiles that hashing was a tenth of applying events to documents and queue. This key hashes its bytes once, with
/// XXH64, and the table hashes only that word. Ids are written by the service, not chosen by clients, so a fast
/// non-keyed hash is no flooding risk; the table still mixes the word with its own per-process seed.
struct HashedKey: Hashable, Sendable {
    /// The string.
    let string: String
    /// XXH64 of its UTF-8 bytes.
    private let hash: UInt64

    init(_ string: String) {
        self.string = string
        hash = Self.hash(of: string)
    }

    static func == (lhs: HashedKey, rhs: HashedKey) -> Bool {
        lhs.hash == rhs.hash && lhs.string == rhs.string
    }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    /// XXH64 of `string`'s UTF-8 bytes.
    static func hash(of string: String) -> UInt64 {
        string.utf8.withContiguousStorageIfAvailable { XXH64.hash(UnsafeRawBufferPointer($0)) }
            ?? Array(string.utf8).withUnsafeBytes { XXH64.hash($0) }
    }
}
