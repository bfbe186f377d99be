import CZlibShim
import Foundation
import ZIPFoundation

/// Extracts the text of a DOCX (Office Open XML word-processing) document, a few paragraphs at a time.
///
/// Opening checks the whole archive before anything is inflated: the central directory is read and checked by
/// ``ZIPDirectory`` (entry count, zip-slip paths, encryption, bounds), then opened with ZIPFoundation, whose own
/// reading of the directory must agree on the number of entries and on `word/document.xml` (size, checksum, kind);
/// two readers that disagree about an archive are a sign of a crafted file, and it is refused.
///
/// ``next()`` then streams `word/document.xml`: its compressed bytes are read 16 KiB at a time from the source and
/// inflated with ``Inflater``, charged to one ``DecompressionBudget`` (zip bombs stop with
/// `decompressed_too_large` or `compression_ratio`), and tokenized as they come (see ``WordDocumentText`` for what
/// becomes text). ZIPFoundation's `extract(_:consumer:)` is not used for this: it pushes the whole entry through a
/// callback in one call, so a pull-style `next()` would have to buffer all of it; reading the entry's bytes here
/// keeps memory at one window of compressed input and what it inflates to (at most about 1,000 times the window,
/// deflate's largest ratio), whatever the document's size. Where the bytes start comes from ``ZIPDirectory``, since
/// ZIPFoundation keeps an entry's offsets internal. The entry's CRC-32 and size are checked at its end.
///
/// `Sendable`: the extractor is a value holding a byte source (itself `Sendable`) and an ``Inflater``, a class
/// whose state a copy shares. Use one copy of an extractor (it may move between tasks); two copies stepping the
/// same extraction would corrupt each other's inflation.
public struct DOCXExtractor: Sendable {
    /// The part that holds a DOCX document's body.
    static let mainPartPath = "word/document.xml"
    /// The compressed bytes read and inflated per step.
    static let windowBytes = 16 * 1024

    /// The limits applied.
    public let configuration: TextExtractor.Configuration
    private let source: any ByteSource
    private let entry: ZIPDirectory.Entry
    /// The inflater of a deflated entry; nil for a stored one.
    private let inflater: Inflater?
    private var budget: DecompressionBudget
    private var tokenizer: XMLTokenizer
    private var text: WordDocumentText
    /// The next compressed byte to read, and how many are left.
    private var position: Int
    private var remaining: Int
    /// The CRC-32 and length of the entry's bytes so far, checked against the directory at the end.
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
        guard let entry = directory.wanted else {
            throw ExtractionError(.malformed, "The archive has no \(Self.mainPartPath): it is not a DOCX document.")
        }
        // The local header: the same name as the directory's, not encrypted, and its data before the directory.
        let header = try source.read(offset: entry.localHeaderOffset, count: ZIPDirectory.localHeaderBytes)
        guard header.count == ZIPDirectory.localHeaderBytes, ZIPDirectory.u32(header, 0) == 0x0403_4B50 else {
            throw ExtractionError(
                .malformed, "The local header of \(Self.mainPartPath) is missing.", byteOffset: entry.localHeaderOffset)
        }
        if ZIPDirectory.u16(header, 6) & 0x0041 != 0 {
            throw ExtractionError(.encrypted, "\(Self.mainPartPath) is encrypted; its text cannot be read.")
        }
        let nameLength = Int(ZIPDirectory.u16(header, 26))
        let extraLength = Int(ZIPDirectory.u16(header, 28))
        let name = try source.read(offset: entry.localHeaderOffset + ZIPDirectory.localHeaderBytes, count: nameLength)
        guard name == entry.name else {
            throw ExtractionError(
                .malformed, "The local header of \(Self.mainPartPath) names \(ZIPDirectory.printable(name)).")
        }
        let dataOffset = entry.localHeaderOffset + ZIPDirectory.localHeaderBytes + nameLength + extraLength
        guard dataOffset <= directory.centralDirectoryOffset,
            entry.compressedSize <= directory.centralDirectoryOffset - dataOffset
        else {
            throw ExtractionError(
                .malformed, "The data of \(Self.mainPartPath) runs into the central directory (truncated?).")
        }
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw ExtractionError(
                    .malformed, "The stored entry \(Self.mainPartPath) has different compressed and plain sizes.")
            }
            inflater = nil
        case 8:
            inflater = try Inflater(framing: .raw)
        default:
            throw ExtractionError(
                .malformed, "\(Self.mainPartPath) uses compression method \(entry.method); only deflate is read.")
        }
        self.configuration = configuration
        self.source = source
        self.entry = entry
        self.budget = DecompressionBudget(configuration)
        self.tokenizer = XMLTokenizer(depthMax: configuration.nestingDepthMax)
        self.text = WordDocumentText(textBytesMax: configuration.textBytesMax)
        self.position = dataOffset
        self.remaining = entry.compressedSize
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
            while remaining > 0 {
                let count = min(remaining, Self.windowBytes)
                let window = try source.read(offset: position, count: count)
                guard window.count == count else {
                    throw ExtractionError(
                        .malformed, "\(Self.mainPartPath) is cut off (the file is truncated).", byteOffset: position)
                }
                position += count
                remaining -= count
                try window.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in try consume(buffer) }
                let pieces = try text.takePieces(final: false)
                if !pieces.isEmpty { return pieces }
            }
            try finishEntry()
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

    /// Inflates (or passes on, when stored) one window of the entry's compressed bytes into the tokenizer.
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

    /// The entry's next plain bytes: checksummed, counted and tokenized.
    private mutating func take(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        checksum = crc32(checksum, base, UInt32(bytes.count))
        produced += bytes.count
        guard produced <= entry.uncompressedSize else {
            throw ExtractionError(
                .malformed, "\(Self.mainPartPath) inflates to more than the \(entry.uncompressedSize) bytes recorded.")
        }
        try tokenizer.feed(bytes, into: &text)
    }

    /// Checks the end of the entry: the compressed stream ended, its size and checksum match, the XML is complete.
    private mutating func finishEntry() throws(ExtractionError) {
        try inflater?.finish()
        guard produced == entry.uncompressedSize else {
            throw ExtractionError(
                .malformed,
                "\(Self.mainPartPath) inflates to \(produced) bytes, not the \(entry.uncompressedSize) recorded.")
        }
        guard UInt32(truncatingIfNeeded: checksum) == entry.crc32 else {
            throw ExtractionError(.malformed, "The CRC-32 of \(Self.mainPartPath) does not match: the file is damaged.")
        }
        try tokenizer.finish()
    }

    // MARK: Opening

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
        return try ZIPDirectory(source: source, wanted: mainPartPath, entriesMax: configuration.archiveEntriesMax)
    }

    /// Checks that ZIPFoundation reads the same directory: as many entries, and the main part with the same sizes,
    /// checksum and compression, as a regular file.
    private static func crossCheck(_ archive: Archive, _ directory: ZIPDirectory) throws(ExtractionError) {
        var count = 0
        var main: ZIPFoundation.Entry?
        for entry in archive {
            count += 1
            if count > directory.entryCount { break }
            if main == nil && entry.path == mainPartPath { main = entry }
        }
        guard count == directory.entryCount else {
            throw ExtractionError(
                .malformed,
                "The archive's directory reads as \(directory.entryCount) entries here but \(count) in ZIPFoundation.")
        }
        guard let wanted = directory.wanted else { return }
        guard let main, main.type == .file, main.compressedSize == UInt64(wanted.compressedSize),
            main.uncompressedSize == UInt64(wanted.uncompressedSize), main.checksum == wanted.crc32,
            main.isCompressed == (wanted.method != 0)
        else {
            throw ExtractionError(
                .malformed, "ZIPFoundation reads \(mainPartPath) differently (size, checksum or kind): refused.")
        }
    }
}
