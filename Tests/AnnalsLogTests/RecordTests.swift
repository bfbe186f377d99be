import AnnalsChecksum
import AnnalsLog
import Foundation
import Testing

@Suite("Record checksum and hashes")
struct RecordTests {
    @Test(
        "XXH64 matches the reference implementation's digests",
        arguments: [
            ("", 0xEF46_DB37_51D8_E999 as UInt64),
            ("a", 0xD24E_C4F1_A98C_6E5B),
            ("abc", 0x44BC_2CF5_AD77_0999),
            ("Nobody inspects the spammish repetition", 0xFBCE_A83C_8A37_8BF1),
        ])
    func xxh64(_ text: String, _ digest: UInt64) {
        #expect(Array(text.utf8).withUnsafeBytes { XXH64.hash($0) } == digest)
    }

    @Test("XXH64 of a long input with every tail length path")
    func xxh64Long() {
        let bytes = (0..<768).map { UInt8($0 % 256) }
        #expect(bytes.withUnsafeBytes { XXH64.hash($0) } == 0x8E03_C838_C596_036F)
    }

    @Test("chain hashes print and parse as hex")
    func hex() throws {
        let genesis = ChainHash.genesis(logId: Array(repeating: 1, count: 16))
        #expect(genesis.hex.count == 64)
        #expect(ChainHash(hex: genesis.hex) == genesis)
        #expect(ChainHash(hex: "xyz") == nil)
        #expect(ChainHash(hex: String(repeating: "g", count: 64)) == nil)
        #expect(genesis != ChainHash.genesis(logId: Array(repeating: 2, count: 16)))
    }
}
