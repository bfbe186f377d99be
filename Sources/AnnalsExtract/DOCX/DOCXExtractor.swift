import CZlibShim
import Foundation
import ZIPFoundation

/// Extracts the text of a DOCX (Office Open XML word-processing) document, a few paragraphs at a time.
///
/// Opening checks the whole archive before anything is inflated: the central directory is read and checked by
/// ``ZIPDirectory`` (entry count, zip-slip paths, encryption, bounds), then opened with ZIPFoundation, whose own
/// reading of the directory must agree on the number of entries and on every part read (size, checksum, kind);
/// two readers that disagree about an archive are a sign of a crafted file, and it is refused. Every part's local
/// header is checked too.
///
/// The parts read, in this order: `word/styles.xml` first when there is one (it yields no text, only the custom
/// heading styles, see ``WordStyles``), then the body `word/document.xml`, then the headers `word/header*.xml` and
/// the footers `word/footer*.xml` (each in the order of their numbers: `header2.xml` before `header10.xml`), then
/// `word/footnotes.xml`, `word/endnotes.xml` and `word/comments.xml`. Each part after the body starts a section.
/// Parts are found by name, as Word names them, rather than through the package's relationships.
///
/// ``next()`` streams one part after another: its compressed bytes are read 16 KiB at a time from the source and
/// inflated with ``Inflater``, all parts charged to one ``DecompressionBudget`` (zip bombs stop with
/// `decompressed_too_large` or `compression_ratio`), and tokenized as they come (see ``WordDocumentText`` for what
/// becomes text). ZIPFoundation's `extract(_:consumer:)` is not used for this: it pushes the whole entry through a
/// callback in one call, so a pull-style `next()` would have to buffer all of it; reading the entry's bytes here
/// keeps memory at one window of compressed input and what it inflates to (at most about 1,000 times the window,
/// deflate's largest ratio), whatever the document's size. Where the bytes start comes from ``ZIPDirectory``, since
/// ZIPFoundation keeps an entry's offsets internal. Each part's CRC-32 and size are checked at its end.
///
/// `Sendable`: the extractor is a value holding a byte source (itself `Sendable`) and an ``Inflater``, a class
/// whose state a copy shares. Use one copy of an extractor (it may move between tasks); two copies stepping the
/// same extraction would corrupt each other's inflation.
public struct DOCXExtractor: Sendable {
    /// The part that holds a DOCX document's body.
    static let mainPartPath = "word/document.xml"
    /// The part that defines the document's styles.
    static let stylesPartPath = "word/styles.xml"
    /// The parts read after the headers and footers, in this order.
    static let notePartPaths = ["word/footnotes.xml", "word/endnotes.xml", "word/comments.xml"]
    /// The compressed bytes read and inflated per step.
    static let windowBytes = 16 * 1024

    /// One part to read: its entry, where its data starts, and whether it is the style sheet.
    struct Part: Sendable {
        var entry: ZIPDirectory.Entry
        var path: String
        var dataOffset: Int
        var isStyles: Bool
    }

    /// The limits applied.
    public let configuration: TextExtractor.Configuration
    private let source: any ByteSource
    /// The parts, in reading order.
    private let parts: [Part]
    /// The part being read (`parts.count` at the end), and whether its reading has begun.
    private var partIndex = 0
    private var isPartOpen = false
    private var budget: DecompressionBudget
    /// The inflater of the current part, when deflated; nil for a stored one.
    private var inflater: Inflater?
    private var tokenizer: XMLTokenizer
    private var text: WordDocumentText
    private var styles = WordStyles()
    /// The next compressed byte to read, and how many are left, in the current part.
    private var position = 0
    private var remaining = 0
    /// The CRC-32 and length of the current part's bytes so far, checked against the directory at its end.
    private var checksum: UInt = 0
    private var produced = 0
    private var isFinished = false
    private var failure: ExtractionError?

    /// Opens the DOCX file at `path` and checks its archive.
    ///
    /// - Throws: `empty`; `malformed` (not a ZIP, data before it, truncated, no `word/document.xml`, the readers
    ///   disagree);
    ///   `too_many_entries`; `unsafe_path`; `encrypted`; `malformed` when the file cannot be opened or read.
    public init(path: String, configuration: TextExtractor.Configuration = .init()) throws(ExtractionError) {
        let source = try FileByteSource(path: path)
        let directory = try Self.directory(of: source, configuration: configuration)
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw ExtractionError(.malformed, "ZIPFoundation cannot open the archive: \(error).")
        }
        try Self.crossCheck(archive, directory)
        try self.init(source: source, directory: directory, configuration: configuration)
    }

    /// Opens a DOCX document held in memory and checks its archive.
    ///
    /// - Throws: as ``init(path:configuration:)``.
    public init(bytes: [UInt8], configuration: TextExtractor.Configuration = .init()) throws(ExtractionError) {
        let source = MemoryByteSource(bytes)
        let directory = try Self.directory(of: source, configuration: configuration)
        let checked = bytes.withUnsafeBytes { buffer in
            Result { () throws(ExtractionError) in
                // Sound: ZIPFoundation reads the bytes in place (`.read` mode never writes), and the archive, which
                // holds the only reference to this `Data`, is gone before the closure returns and the pointer
                // expires.
                guard let base = buffer.baseAddress else { return }
                let data = Data(
                    bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: buffer.count, deallocator: .none)
                let archive: Archive
                do {
                    archive = try Archive(data: data, accessMode: .read)
                } catch {
                    throw ExtractionError(.malformed, "ZIPFoundation cannot open the archive: \(error).")
                }
                try Self.crossCheck(archive, directory)
            }
        }
        try checked.get()
        try self.init(source: source, directory: directory, configuration: configuration)
    }

    private init(source: any ByteSource, directory: ZIPDirectory, configuration: TextExtractor.Configuration)
        throws(ExtractionError)
    {
        guard let main = directory.wanted else {
            throw ExtractionError(.malformed, "The archive has no \(Self.mainPartPath): it is not a DOCX document.")
        }
        var parts: [Part] = []
        for entry in Self.readingOrder(main: main, others: directory.alsoWanted) {
            parts.append(try Self.part(entry, in: source, directory: directory))
        }
        self.configuration = configuration
        self.source = source
        self.parts = parts
        self.budget = DecompressionBudget(configuration)
        self.tokenizer = XMLTokenizer(depthMax: configuration.nestingDepthMax)
        self.text = WordDocumentText(textBytesMax: configuration.textBytesMax)
    }

    /// The next pieces of text (a paragraph or a few), or nil at the end.
    ///
    /// - Throws: `decompressed_too_large` or `compression_ratio` (a zip bomb); `malformed` (corrupt or truncated
    ///   data, a checksum or size that does not match, broken XML); `too_deep`; `invalid_utf8`; `too_large` past
    ///   the text limit; `no_text` at the end when the document had no text. After an error, every call throws it
    ///   again.
    public mutating func next() throws(ExtractionError) -> [TextPiece]? {
        if let failure { throw failure }
        if isFinished { return nil }
        do throws(ExtractionError) {
            while partIndex < parts.count {
                if !isPartOpen { try openPart() }
                let part = parts[partIndex]
                while remaining > 0 {
                    let count = min(remaining, Self.windowBytes)
                    let window = try source.read(offset: position, count: count)
                    guard window.count == count else {
                        throw ExtractionError(
                            .malformed, "\(part.path) is cut off (the file is truncated).", byteOffset: position)
                    }
                    position += count
                    remaining -= count
                    try window.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in try consume(buffer) }
                    let pieces = try text.takePieces(final: false)
                    if !pieces.isEmpty { return pieces }
                }
                try finishPart()
            }
            let pieces = try text.takePieces(final: true)
            isFinished = true
            if !text.sawText {
                throw ExtractionError(.noText, "The document has no text, only white space or nothing.")
            }
            return pieces.isEmpty ? nil : pieces
        } catch {
            failure = error
            throw error
        }
    }

    /// Extracts a whole DOCX document held in memory, with its section starts.
    ///
    /// - Throws: as ``init(bytes:configuration:)`` and ``next()``.
    public static func extract(bytes: [UInt8], configuration: TextExtractor.Configuration = .init())
        throws(ExtractionError) -> ExtractedText
    {
        var extractor = try DOCXExtractor(bytes: bytes, configuration: configuration)
        var collector = ExtractedTextCollector()
        while let pieces = try extractor.next() { collector.add(pieces) }
        return collector.result
    }

    // MARK: Steps

    /// Starts reading the current part.
    private mutating func openPart() throws(ExtractionError) {
        let part = parts[partIndex]
        if part.entry.method == 8 {
            inflater = try Inflater(framing: .raw)
        } else {
            inflater = nil
        }
        tokenizer = XMLTokenizer(depthMax: configuration.nestingDepthMax)
        if !part.isStyles { text.beginPart() }
        position = part.dataOffset
        remaining = part.entry.compressedSize
        checksum = 0
        produced = 0
        isPartOpen = true
    }

    /// Inflates (or passes on, when stored) one window of the part's compressed bytes into the tokenizer.
    private mutating func consume(_ compressed: UnsafeBufferPointer<UInt8>) throws(ExtractionError) {
        guard let inflater else {
            try take(compressed)
            return
        }
        // A local budget, so that the sink below may use `self` while the inflater charges the budget.
        var budget = self.budget
        defer { self.budget = budget }
        try inflater.feed(compressed, budget: &budget) { (output) throws(ExtractionError) in try take(output) }
    }

    /// The part's next plain bytes: checksummed, counted and tokenized.
    private mutating func take(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let part = parts[partIndex]
        checksum = crc32(checksum, base, UInt32(bytes.count))
        produced += bytes.count
        guard produced <= part.entry.uncompressedSize else {
            throw ExtractionError(
                .malformed, "\(part.path) inflates to more than the \(part.entry.uncompressedSize) bytes recorded.")
        }
        if part.isStyles {
            try tokenizer.feed(bytes, into: &styles)
        } else {
            try tokenizer.feed(bytes, into: &text)
        }
    }

    /// Checks the end of the part (the compressed stream ended, its size and checksum match, the XML is complete)
    /// and moves to the next.
    private mutating func finishPart() throws(ExtractionError) {
        let part = parts[partIndex]
        try inflater?.finish()
        guard produced == part.entry.uncompressedSize else {
            throw ExtractionError(
                .malformed,
                "\(part.path) inflates to \(produced) bytes, not the \(part.entry.uncompressedSize) recorded.")
        }
        guard UInt32(truncatingIfNeeded: checksum) == part.entry.crc32 else {
            throw ExtractionError(.malformed, "The CRC-32 of \(part.path) does not match: the file is damaged.")
        }
        try tokenizer.finish()
        if part.isStyles { text.headingStyles = styles.headingStyleIDs() }
        inflater = nil
        isPartOpen = false
        partIndex += 1
    }

    // MARK: Opening

    /// Whether an entry is a part read besides the body: the style sheet, a header or footer, the notes, the
    /// comments.
    static func isOtherPart(_ name: [UInt8]) -> Bool {
        if name.elementsEqual(stylesPartPath.utf8) { return true }
        if notePartPaths.contains(where: { name.elementsEqual($0.utf8) }) { return true }
        return isNumberedPart(name, "word/header") || isNumberedPart(name, "word/footer")
    }

    /// Whether `name` is `stem`, then anything but `/`, then `.xml` (`word/header1.xml`, `word/header.xml`).
    private static func isNumberedPart(_ name: [UInt8], _ stem: String) -> Bool {
        let stem = Array(stem.utf8)
        let suffix = Array(".xml".utf8)
        guard name.count >= stem.count + suffix.count, name.starts(with: stem), name.suffix(4).elementsEqual(suffix)
        else { return false }
        return !name[stem.count..<(name.count - suffix.count)].contains(UInt8(ascii: "/"))
    }

    /// The parts in reading order: styles, body, headers, footers (shorter names first, so `header2.xml` comes
    /// before `header10.xml`, then byte order), footnotes, endnotes, comments.
    static func readingOrder(main: ZIPDirectory.Entry, others: [ZIPDirectory.Entry]) -> [ZIPDirectory.Entry] {
        func named(_ path: String) -> ZIPDirectory.Entry? { others.first { $0.name.elementsEqual(path.utf8) } }
        func numbered(_ stem: String) -> [ZIPDirectory.Entry] {
            others.filter { isNumberedPart($0.name, stem) }.sorted {
                $0.name.count != $1.name.count
                    ? $0.name.count < $1.name.count : $0.name.lexicographicallyPrecedes($1.name)
            }
        }
        var order: [ZIPDirectory.Entry] = []
        if let styles = named(stylesPartPath) { order.append(styles) }
        order.append(main)
        order += numbered("word/header")
        order += numbered("word/footer")
        order += notePartPaths.compactMap(named)
        return order
    }

    /// Checks a part's local header (the same name as the directory's, not encrypted, its data before the
    /// directory, a compression read here) and finds where its data starts.
    private static func part(_ entry: ZIPDirectory.Entry, in source: any ByteSource, directory: ZIPDirectory)
        throws(ExtractionError) -> Part
    {
        let path = ZIPDirectory.printable(entry.name)
        let header = try source.read(offset: entry.localHeaderOffset, count: ZIPDirectory.localHeaderBytes)
        guard header.count == ZIPDirectory.localHeaderBytes, ZIPDirectory.u32(header, 0) == 0x0403_4B50 else {
            throw ExtractionError(
                .malformed, "The local header of \(path) is missing.", byteOffset: entry.localHeaderOffset)
        }
        if ZIPDirectory.u16(header, 6) & 0x0041 != 0 {
            throw ExtractionError(.encrypted, "\(path) is encrypted; its text cannot be read.")
        }
        let nameLength = Int(ZIPDirectory.u16(header, 26))
        let extraLength = Int(ZIPDirectory.u16(header, 28))
        let name = try source.read(offset: entry.localHeaderOffset + ZIPDirectory.localHeaderBytes, count: nameLength)
        guard name == entry.name else {
            throw ExtractionError(.malformed, "The local header of \(path) names \(ZIPDirectory.printable(name)).")
        }
        let dataOffset = entry.localHeaderOffset + ZIPDirectory.localHeaderBytes + nameLength + extraLength
        guard dataOffset <= directory.centralDirectoryOffset,
            entry.compressedSize <= directory.centralDirectoryOffset - dataOffset
        else {
            throw ExtractionError(.malformed, "The data of \(path) runs into the central directory (truncated?).")
        }
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw ExtractionError(.malformed, "The stored entry \(path) has different compressed and plain sizes.")
            }
        case 8:
            break
        default:
            throw ExtractionError(
                .malformed, "\(path) uses compression method \(entry.method); only deflate is read.")
        }
        return Part(
            entry: entry, path: path, dataOffset: dataOffset,
            isStyles: entry.name.elementsEqual(stylesPartPath.utf8))
    }

    private static func directory(of source: any ByteSource, configuration: TextExtractor.Configuration)
        throws(ExtractionError) -> ZIPDirectory
    {
        guard source.size > 0 else { throw ExtractionError(.empty, "The document is empty.") }
        // A DOCX starts with its first entry, as format detection requires too: data before the archive (a PDF
        // with a ZIP appended, a self-extractor) is refused even when the archive's offsets allow for it.
        guard try source.read(offset: 0, count: 4) == [0x50, 0x4B, 0x03, 0x04] else {
            throw ExtractionError(
                .malformed,
                "The file does not start with a ZIP entry: it is not a DOCX document, or has data before it.")
        }
        return try ZIPDirectory(
            source: source, wanted: mainPartPath, isAlsoWanted: isOtherPart,
            entriesMax: configuration.archiveEntriesMax)
    }

    /// Checks that ZIPFoundation reads the same directory: as many entries, and every part read with the same
    /// sizes, checksum and compression, as a regular file.
    private static func crossCheck(_ archive: Archive, _ directory: ZIPDirectory) throws(ExtractionError) {
        var expected: [String: ZIPDirectory.Entry] = [:]
        if let main = directory.wanted { expected[mainPartPath] = main }
        for entry in directory.alsoWanted { expected[String(decoding: entry.name, as: UTF8.self)] = entry }
        var count = 0
        var found: [String: ZIPFoundation.Entry] = [:]
        for entry in archive {
            count += 1
            if count > directory.entryCount { break }
            if expected[entry.path] != nil && found[entry.path] == nil { found[entry.path] = entry }
        }
        guard count == directory.entryCount else {
            throw ExtractionError(
                .malformed,
                "The archive's directory reads as \(directory.entryCount) entries here but \(count) in ZIPFoundation.")
        }
        for (path, wanted) in expected.sorted(by: { $0.key < $1.key }) {
            guard let entry = found[path], entry.type == .file,
                entry.compressedSize == UInt64(wanted.compressedSize),
                entry.uncompressedSize == UInt64(wanted.uncompressedSize), entry.checksum == wanted.crc32,
                entry.isCompressed == (wanted.method != 0)
            else {
                throw ExtractionError(
                    .malformed, "ZIPFoundation reads \(path) differently (size, checksum or kind): refused.")
            }
        }
    }
}
