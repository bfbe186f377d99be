import Testing

@testable import AnnalsProjections

@Suite("Keys that carry their hash")
struct HashedKeyTests {
    @Test("equal strings give equal keys and hashes; different strings, different keys")
    func equality() {
        let id = "0kx3f9q2m1a7b8c9d0e1f2g3h4"
        #expect(HashedKey(id) == HashedKey(String(id.reversed().reversed())))
        #expect(HashedKey(id).hashValue == HashedKey(String(id.reversed().reversed())).hashValue)
        #expect(HashedKey(id) != HashedKey(id + "x"))
        #expect(HashedKey("") == HashedKey(""))
        // Non-ASCII and short (inline) strings hash their UTF-8 bytes too.
        #expect(HashedKey("doc-ünïcode") == HashedKey("doc-ünïcode"))
        #expect(HashedKey("doc-ünïcode") != HashedKey("doc-unicode"))
        #expect(HashedKey.hash(of: "d1") == HashedKey.hash(of: String("xd1".dropFirst())))
    }

    @Test("a table of many keys finds each one, and no other")
    func table() {
        var table: [HashedKey: Int32] = [:]
        for index in 0..<50_000 { table[HashedKey("doc-\(index)")] = Int32(index) }
        #expect(table.count == 50_000)
        #expect((0..<50_000).allSatisfy { table[HashedKey("doc-\($0)")] == Int32($0) })
        #expect(table[HashedKey("doc-50000")] == nil)
    }

    @Test("the raw hash a table uses agrees for equal keys, depends on the seed and spreads over the buckets")
    func rawHash() {
        let id = "0kx3f9q2m1a7b8c9d0e1f2g3h4"
        let copy = String(id.reversed().reversed())
        #expect(HashedKey(id)._rawHashValue(seed: 7) == HashedKey(copy)._rawHashValue(seed: 7))
        #expect(HashedKey(id)._rawHashValue(seed: 7) != HashedKey(id)._rawHashValue(seed: 8))
        // Sequential ids fill the low bits (what a table's bucket index takes) evenly.
        var buckets = [Int](repeating: 0, count: 1024)
        for index in 0..<102_400 { buckets[HashedKey("doc-\(index)")._rawHashValue(seed: 1) & 1023] += 1 }
        #expect(buckets.min()! > 40 && buckets.max()! < 180)
        // Copying a table into a smaller one, in the first one's bucket order, stays fast and complete (a hash that
        // ignored the seed would cluster here).
        var large: [HashedKey: Int32] = [:]
        for index in 0..<200_000 { large[HashedKey("doc-\(index)")] = Int32(index) }
        var small: [HashedKey: Int32] = [:]
        for (key, value) in large where value % 2 == 0 { small[key] = value }
        #expect(small.count == 100_000)
        typealias Key = DocumentsProjection.ContentKey
        let sha = String(repeating: "ab", count: 32)
        #expect(
            Key(tenant: "t1", sha256: sha)._rawHashValue(seed: 3)
                == Key(tenant: "t1", sha256: sha)._rawHashValue(seed: 3))
        // The parts are not interchangeable.
        #expect(
            Key(tenant: "a", sha256: "b")._rawHashValue(seed: 3) != Key(tenant: "b", sha256: "a")._rawHashValue(seed: 3)
        )
    }

    @Test("content keys differ by tenant and by digest")
    func contentKeys() {
        typealias Key = DocumentsProjection.ContentKey
        let sha = String(repeating: "ab", count: 32)
        #expect(Key(tenant: "t1", sha256: sha) == Key(tenant: "t1", sha256: sha))
        #expect(Key(tenant: "t1", sha256: sha) != Key(tenant: "t2", sha256: sha))
        #expect(Key(tenant: "t1", sha256: sha) != Key(tenant: "t1", sha256: String(repeating: "ba", count: 32)))
        let table = [Key(tenant: "t1", sha256: sha): 1, Key(tenant: "t2", sha256: sha): 2]
        #expect(table[Key(tenant: "t2", sha256: sha)] == 2)
    }
}
