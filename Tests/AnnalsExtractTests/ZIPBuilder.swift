import AnnalsExtract
import CZlibShim

/// Writes ZIP archives in memory for tests, hostile ones included: any entry name, any flags, stored or deflated,
/// and an end record that may claim another entry count.
struct ZIPBuilder {
    struct Entry {
        var name: [UInt8]
        var data: [UInt8]
        var deflate = true
        var flags: UInt16 = 0x0800
        /// Compressed bytes to store instead of deflating `data` (for corrupt or bomb entries).
        var compressed: [UInt8]?
        /// The extra field of both headers.
        var extra: [UInt8] = []
        /// The local header offset the central directory records, instead of the real one.
        var recordedOffset: UInt32?
    }

    var entries: [Entry] = []

    mutating func add(_ name: String, _ text: String, deflate: Bool = true, flags: UInt16 = 0x0800) {
        entries.append(Entry(name: Array(name.utf8), data: Array(text.utf8), deflate: deflate, flags: flags))
    }

    mutating func add(name: [UInt8], data: [UInt8], deflate: Bool = true) {
        entries.append(Entry(name: name, data: data, deflate: deflate))
    }

    /// The archive's bytes, after `prefix` (counted in the archive's offsets, as when a ZIP is appended to a file).
    func build(prefix: [UInt8] = []) -> [UInt8] {
        var output = prefix
        var directory: [UInt8] = []
        for entry in entries {
            let stored = entry.compressed ?? (entry.deflate ? compress(entry.data, framing: .raw) : entry.data)
            let checksum = entry.data.withUnsafeBufferPointer { buffer in
                UInt32(crc32(0, buffer.baseAddress, UInt32(buffer.count)))
            }
            let method: UInt16 = entry.deflate ? 8 : 0
            let offset = UInt32(output.count)
            output += le32(0x0403_4B50) + le16(20) + le16(entry.flags) + le16(method) + le16(0) + le16(0x5821)
            output += le32(checksum) + le32(UInt32(stored.count)) + le32(UInt32(entry.data.count))
            output += le16(UInt16(entry.name.count)) + le16(UInt16(entry.extra.count)) + entry.name + entry.extra
            output += stored
            directory += le32(0x0201_4B50) + le16(0x031E) + le16(20) + le16(entry.flags) + le16(method)
            directory += le16(0) + le16(0x5821) + le32(checksum) + le32(UInt32(stored.count))
            directory += le32(UInt32(entry.data.count)) + le16(UInt16(entry.name.count))
            directory += le16(UInt16(entry.extra.count)) + le16(0) + le16(0) + le16(0) + le32(0o100644 << 16)
            directory += le32(entry.recordedOffset ?? offset) + entry.name + entry.extra
        }
        let directoryOffset = UInt32(output.count)
        output += directory
        output += le32(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(entries.count)) + le16(UInt16(entries.count))
        output += le32(UInt32(directory.count)) + le32(directoryOffset) + le16(0)
        return output
    }

    private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private func le32(_ value: UInt32) -> [UInt8] { le16(UInt16(value & 0xFFFF)) + le16(UInt16(value >> 16)) }
}

/// The namespace declaration of WordprocessingML.
let wordNamespace = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

/// A `word/document.xml` whose body is `body`.
func documentXML(_ body: String) -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"\(wordNamespace)\"><w:body>\(body)</w:body>"
        + "</w:document>"
}

/// A minimal DOCX package around `body`.
func docx(body: String, deflate: Bool = true) -> [UInt8] {
    var builder = ZIPBuilder()
    builder.add("[Content_Types].xml", "<Types/>")
    builder.add("_rels/.rels", "<Relationships/>")
    builder.add("word/document.xml", documentXML(body), deflate: deflate)
    return builder.build()
}
