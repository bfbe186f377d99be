/// The checked central directory of a ZIP archive: how many entries it has, and where one wanted entry lies.
///
/// Every entry is checked before anything is inflated: the count against `archiveEntriesMax`, each path for zip
/// slip (absolute, `..`, a drive letter, a NUL byte), each flag for encryption, and every offset and size against
/// the archive's bounds. Those bound checks also make the archive safe to hand to ZIPFoundation afterwards, which
/// converts offsets to `off_t` with a trap on values past `Int64.max` and scans a file without an end record
/// backwards byte by byte; both are ruled out here, reading at most 64 KiB of the tail plus one record at a time.
///
/// Only what DOCX needs is supported: one disk, entries stored or deflated; ZIP64 records are read.
struct ZIPDirectory: Sendable {
    /// One entry of the central directory, as recorded there.
    struct Entry: Sendable, Equatable {
        /// The path as stored (UTF-8 or code page 437; only compared byte for byte here).
        var name: [UInt8]
        var flags: UInt16
        var method: UInt16
        var crc32: UInt32
        var compressedSize: Int
        var uncompressedSize: Int
        var localHeaderOffset: Int
    }

    /// The bytes of an end of central directory record without its comment.
    static let endRecordBytes = 22
    /// The longest archive comment, which bounds how far from the end the end record may lie.
    static let commentBytesMax = 65_535
    static let centralHeaderBytes = 46
    static let localHeaderBytes = 30
    static let zip64LocatorBytes = 20
    static let zip64RecordBytes = 56

    /// The number of entries the archive holds.
    let entryCount: Int
    /// Where the central directory starts; every entry's data lies before it.
    let centralDirectoryOffset: Int
    /// The entry named by the `wanted` path, if there is one.
    let wanted: Entry?
    /// The entries whose names `isAlsoWanted` accepts, in directory order.
    let alsoWanted: [Entry]

    /// Reads and checks the central directory of the archive in `source`, remembering the entry named `wanted` and
    /// those whose names `isAlsoWanted` accepts.
    ///
    /// - Throws: `malformed` (no end record, offsets outside the archive, several disks, a duplicate `wanted` or
    ///   wanted name); `too_many_entries` past `entriesMax`; `unsafe_path`; `encrypted`.
    init(
        source: any ByteSource, wanted: String, isAlsoWanted: ([UInt8]) -> Bool = { _ in false }, entriesMax: Int
    ) throws(ExtractionError) {
        let size = source.size
        guard size >= Self.endRecordBytes else {
            throw ExtractionError(.malformed, "The archive is \(size) bytes long, too short for a ZIP file.")
        }
        // The end record: the last signature within the comment's reach of the end (as ZIPFoundation finds it).
        let tailCount = min(size, Self.endRecordBytes + Self.commentBytesMax)
        let tailStart = size - tailCount
        let tail = try source.read(offset: tailStart, count: tailCount)
        var found: Int?
        var index = tail.count - Self.endRecordBytes
        while index >= 0 {
            if Self.u32(tail, index) == 0x0605_4B50 {
                found = index
                break
            }
            index -= 1
        }
        guard let endIndex = found else {
            throw ExtractionError(
                .malformed, "The archive has no end of central directory record: it is truncated, or not a ZIP file.")
        }
        let endOffset = tailStart + endIndex
        let disk = Self.u16(tail, endIndex + 4)
        let directoryDisk = Self.u16(tail, endIndex + 6)
        var count = Int(Self.u16(tail, endIndex + 10))
        var directorySize = Int(Self.u32(tail, endIndex + 12))
        var directoryOffset = Int(Self.u32(tail, endIndex + 16))
        var directoryEnd = endOffset
        // ZIP64: a locator right before the end record, and the ZIP64 end record right before the locator (where
        // ZIPFoundation looks for them, so that both read the same numbers).
        let locatorOffset = endOffset - Self.zip64LocatorBytes
        let recordOffset = locatorOffset - Self.zip64RecordBytes
        if recordOffset >= 0 {
            let locator = try source.read(offset: locatorOffset, count: Self.zip64LocatorBytes)
            if Self.u32(locator, 0) == 0x0706_4B50 {
                let record = try source.read(offset: recordOffset, count: Self.zip64RecordBytes)
                if Self.u32(record, 0) == 0x0606_4B50 && Self.u16(record, 14) >= 45 {
                    // Values beyond the file size (or Int.max) are clamped so that the checks below refuse them.
                    count = Self.clamp(Self.u64(record, 32))
                    directorySize = Self.clamp(Self.u64(record, 40))
                    directoryOffset = Self.clamp(Self.u64(record, 48))
                    directoryEnd = recordOffset
                }
            }
        }
        guard disk == 0 && directoryDisk == 0 else {
            throw ExtractionError(.malformed, "The archive spans several disks, which DOCX files never do.")
        }
        guard count <= entriesMax else {
            throw ExtractionError(
                .tooManyEntries, "The archive has \(count) entries, more than the limit of \(entriesMax).")
        }
        guard directoryOffset <= directoryEnd, directorySize <= directoryEnd - directoryOffset else {
            throw ExtractionError(
                .malformed,
                "The central directory lies outside the archive (offset \(directoryOffset), \(directorySize) bytes): "
                    + "the file is truncated, or has data before the archive.")
        }
        let directoryLimit = directoryOffset + directorySize
        var position = directoryOffset
        var wantedEntry: Entry?
        var alsoWantedEntries: [Entry] = []
        var alsoWantedNames: Set<[UInt8]> = []
        let wantedName = Array(wanted.utf8)
        for number in 0..<count {
            guard position <= directoryLimit - Self.centralHeaderBytes else {
                throw ExtractionError(
                    .malformed, "The central directory ends after \(number) of its \(count) entries.")
            }
            let header = try source.read(offset: position, count: Self.centralHeaderBytes)
            guard header.count == Self.centralHeaderBytes, Self.u32(header, 0) == 0x0201_4B50 else {
                throw ExtractionError(
                    .malformed, "Entry \(number + 1) of the central directory has no valid header.",
                    byteOffset: position)
            }
            let nameLength = Int(Self.u16(header, 28))
            let extraLength = Int(Self.u16(header, 30))
            let commentLength = Int(Self.u16(header, 32))
            let recordLength = Self.centralHeaderBytes + nameLength + extraLength + commentLength
            guard recordLength <= directoryLimit - position else {
                throw ExtractionError(
                    .malformed, "Entry \(number + 1) runs past the end of the central directory.",
                    byteOffset: position)
            }
            let variable = try source.read(
                offset: position + Self.centralHeaderBytes, count: nameLength + extraLength)
            guard variable.count == nameLength + extraLength else {
                throw ExtractionError(.malformed, "The central directory is cut off.", byteOffset: position)
            }
            let name = Array(variable[0..<nameLength])
            var entry = Entry(
                name: name, flags: Self.u16(header, 8), method: Self.u16(header, 10), crc32: Self.u32(header, 16),
                compressedSize: Int(Self.u32(header, 20)), uncompressedSize: Int(Self.u32(header, 24)),
                localHeaderOffset: Int(Self.u32(header, 42)))
            Self.applyZIP64(Array(variable[nameLength...]), to: &entry, header: header)
            if let problem = Self.pathProblem(name) {
                throw ExtractionError(
                    .unsafePath, "The archive has an entry \(Self.printable(name)) with \(problem); it is refused.")
            }
            // Bit 0: traditional encryption; bit 6: strong encryption; method 99: AES (WinZip).
            if entry.flags & 0x0041 != 0 || entry.method == 99 {
                throw ExtractionError(
                    .encrypted, "The archive's entry \(Self.printable(name)) is encrypted; its text cannot be read.")
            }
            // Every entry's local header and data lie before the central directory.
            guard entry.localHeaderOffset <= directoryOffset - Self.localHeaderBytes,
                entry.compressedSize <= directoryOffset - Self.localHeaderBytes - entry.localHeaderOffset
            else {
                throw ExtractionError(
                    .malformed, "The entry \(Self.printable(name)) lies outside the archive's data (truncated?).")
            }
            if name == wantedName {
                guard wantedEntry == nil else {
                    throw ExtractionError(.malformed, "The archive has two entries named \(wanted).")
                }
                wantedEntry = entry
            } else if isAlsoWanted(name) {
                guard alsoWantedNames.insert(name).inserted else {
                    throw ExtractionError(.malformed, "The archive has two entries named \(Self.printable(name)).")
                }
                alsoWantedEntries.append(entry)
            }
            position += recordLength
        }
        self.entryCount = count
        self.centralDirectoryOffset = directoryOffset
        self.wanted = wantedEntry
        self.alsoWanted = alsoWantedEntries
    }

    /// Replaces the 32-bit sizes and offset marked `FFFFFFFF` with the values of the ZIP64 extra field, in the
    /// field's order, when the field holds them (the values are left as they are otherwise, and then refused by the
    /// bounds checks, since `FFFFFFFF` lies beyond any archive this reads).
    private static func applyZIP64(_ extra: [UInt8], to entry: inout Entry, header: [UInt8]) {
        var offset = 0
        while offset + 4 <= extra.count {
            let id = u16(extra, offset)
            let length = Int(u16(extra, offset + 2))
            let dataStart = offset + 4
            guard length <= extra.count - dataStart else { return }
            if id == 0x0001 {
                var field = dataStart
                let fieldEnd = dataStart + length
                func next() -> Int? {
                    guard field + 8 <= fieldEnd else { return nil }
                    defer { field += 8 }
                    return clamp(u64(extra, field))
                }
                if u32(header, 24) == 0xFFFF_FFFF, let value = next() { entry.uncompressedSize = value }
                if u32(header, 20) == 0xFFFF_FFFF, let value = next() { entry.compressedSize = value }
                if u32(header, 42) == 0xFFFF_FFFF, let value = next() { entry.localHeaderOffset = value }
                return
            }
            offset = dataStart + length
        }
    }

    /// Why an entry path is unsafe, or nil: an empty path, a NUL byte, an absolute path (`/`, `\`), a drive
    /// letter (`C:`), or a `..` component (with `/` or `\` as separators).
    static func pathProblem(_ name: [UInt8]) -> String? {
        guard let first = name.first else { return "an empty path" }
        if name.contains(0) { return "a NUL byte in its path" }
        if first == UInt8(ascii: "/") || first == UInt8(ascii: "\\") { return "an absolute path" }
        if name.count >= 2 && name[1] == UInt8(ascii: ":") && (first | 0x20 >= 0x61 && first | 0x20 <= 0x7A) {
            return "a drive letter"
        }
        let components = name.split(
            omittingEmptySubsequences: false, whereSeparator: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") })
        if components.contains(where: { $0.elementsEqual("..".utf8) }) { return "a '..' component" }
        return nil
    }

    /// An entry name for a message: quoted, at most 100 bytes, with control bytes and invalid UTF-8 replaced.
    static func printable(_ name: [UInt8]) -> String {
        let shown = String(decoding: name.prefix(100), as: UTF8.self)
        let cleaned = String(String.UnicodeScalarView(shown.unicodeScalars.map { $0.value < 0x20 ? "?" : $0 }))
        return "'" + cleaned + (name.count > 100 ? "…" : "") + "'"
    }

    static func u16(_ bytes: [UInt8], _ index: Int) -> UInt16 {
        UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8
    }

    static func u32(_ bytes: [UInt8], _ index: Int) -> UInt32 {
        UInt32(u16(bytes, index)) | UInt32(u16(bytes, index + 2)) << 16
    }

    static func u64(_ bytes: [UInt8], _ index: Int) -> UInt64 {
        UInt64(u32(bytes, index)) | UInt64(u32(bytes, index + 4)) << 32
    }

    /// A 64-bit size or offset as an `Int`, with values past `Int.max` clamped (they lie outside any archive).
    static func clamp(_ value: UInt64) -> Int {
        value > UInt64(Int.max) ? Int.max : Int(value)
    }
}
