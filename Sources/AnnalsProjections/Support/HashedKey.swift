import AnnalsChecksum

/// A string dictionary key that carries its own hash, for the projections' large tables of document ids.
///
/// A `String` key is hashed with SipHash over its bytes at every lookup, and again at every growth of the table,
/// where reading each key's bytes is also a cache miss (a long string lives in a buffer of its own). In replay
/// profiles that hashing was a tenth of applying events to documents and queue. This key hashes its bytes once, with
/// XXH64, and the table hashes only that word (see `_rawHashValue(seed:)`). Ids are written by the service, not
/// chosen by clients, so a fast non-keyed hash is no flooding risk. (A table's seed varies from table to table,
/// not per process: ids whose XXH64 collide collide in every table, which only a chosen id could arrange.)
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

    /// The hash a dictionary uses, without a `Hasher`.
    ///
    /// `Dictionary` asks each key for `_rawHashValue(seed:)` at every lookup and at every growth; the default runs
    /// `hash(into:)` through a fresh `Hasher` (SipHash over one word), which replay profiles showed as a tenth of
    /// applying events to documents and queue. The word is already XXH64 of the bytes, so mixing it with the
    /// table's seed by a 64-bit finalizer (MurmurHash3's) gives the table what it needs: a value that depends on
    /// every bit of the key and differs between tables, so that copying one table into another never clusters.
    func _rawHashValue(seed: Int) -> Int {
        Self.mix(hash ^ UInt64(UInt(bitPattern: seed)))
    }

    /// MurmurHash3's 64-bit finalizer.
    static func mix(_ value: UInt64) -> Int {
        var x = value
        x ^= x >> 33
        x &*= 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x &*= 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        return Int(truncatingIfNeeded: x)
    }

    /// The XXH64 of the string, for keys built of several of these.
    var carriedHash: UInt64 { hash }

    /// XXH64 of `string`'s UTF-8 bytes.
    static func hash(of string: String) -> UInt64 {
        string.utf8.withContiguousStorageIfAvailable { XXH64.hash(UnsafeRawBufferPointer($0)) }
            ?? Array(string.utf8).withUnsafeBytes { XXH64.hash($0) }
    }
}
