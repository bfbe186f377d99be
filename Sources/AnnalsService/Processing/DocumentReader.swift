package import AnnalsExtract
import Foundation

/// Reads one document's text a bounded amount at a time, whatever its format and wrapping.
///
/// Text formats stream: the blob is read a megabyte at a time through the format's extractor (and through gzip when
/// the upload was gzip). PDF and DOCX need random access (their indexes sit at the end of the file): they are read
/// through windows of the blob, a page or a few paragraphs at a time; a gzip-wrapped PDF or DOCX is first inflated
/// into a temporary file beside the blobs, within the same decompression limits, and that file is removed by
/// ``close()``.
///
/// Every format gets the same checks at the end: some text (`no_text`) and no more than the text limit
/// (`too_large`).
///
/// Package access, not public: `annals-bench ingest` measures the worker's path through this same reader.
package final class DocumentReader {
    /// Bytes of the blob read at a time.
    package static let readBytes = 1 << 20

    /// The blob and the streaming extractor of a text format. Separate optionals rather than one enum, so that the
    /// extractors are mutated in place rather than copied out and back.
    private var handle: FileHandle?
    private var stream: TextExtractor?
    private var pdf: PDFExtractor?
    private var docx: DOCXExtractor?
    private var finished = false
    private let configuration: TextExtractor.Configuration
    private var temporaryPath: String?
    private var textBytes = 0
    private var sawText = false
    private let checksText: Bool

    /// Opens the blob at `path`. `declaredContentType` is the upload's declared type, whose `charset` parameter
    /// HTML reads (the rest of an HTML page's character set is found again from its first bytes).
    ///
    /// - Throws: `ExtractionError`: `.malformed` when the blob cannot be read or the document's structure is
    ///   broken; the limit codes when a gzip-wrapped PDF or DOCX inflates past them; `.unsupportedType` for a
    ///   format or encoding this version does not know (an upload recorded by a newer version).
    package init(
        path: String, mediaType: String, encoding: String, declaredContentType: String? = nil,
        configuration: TextExtractor.Configuration, scratchDirectory: String
    ) throws(ExtractionError) {
        guard let format = DocumentFormat(rawValue: mediaType) else {
            throw ExtractionError(.unsupportedType, "Annals cannot extract \(mediaType).")
        }
        guard let wrapping = ContentEncoding(rawValue: encoding.isEmpty ? "identity" : encoding) else {
            throw ExtractionError(.unsupportedType, "Annals cannot read the content encoding \(encoding).")
        }
        self.configuration = configuration
        switch format {
        case .pdf, .docx:
            var file = path
            if wrapping == .gzip {
                file = try Self.inflate(path, into: scratchDirectory, configuration: configuration)
                temporaryPath = file
            }
            do {
                if format == .pdf {
                    pdf = try PDFExtractor(source: try FileByteSource(path: file), configuration: configuration)
                } else {
                    docx = try DOCXExtractor(path: file, configuration: configuration)
                }
            } catch {
                if let temporaryPath { unlink(temporaryPath) }
                throw error
            }
            checksText = true
        default:
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ExtractionError(.malformed, "The blob \(path) cannot be opened.")
            }
            self.handle = handle
            stream = TextExtractor(
                format: format, encoding: wrapping, declaredContentType: declaredContentType,
                configuration: configuration)
            // The text extractor checks the limit and the emptiness itself.
            checksText = false
        }
    }

    deinit { close() }

    /// Releases the file and removes a temporary inflated copy. Safe to call more than once.
    package func close() {
        try? handle?.close()
        handle = nil
        if let temporaryPath { unlink(temporaryPath) }
        temporaryPath = nil
    }

    /// The next pieces of text (possibly none), or nil at the end of the document.
    ///
    /// - Throws: `ExtractionError` with the format's codes; `.noText` at the end when the document had no text;
    ///   `.tooLarge` past the text limit.
    package func next() throws(ExtractionError) -> [TextPiece]? {
        if finished { return nil }
        let pieces: [TextPiece]?
        if stream != nil, let handle {
            let data: Data
            do {
                data = try handle.read(upToCount: Self.readBytes) ?? Data()
            } catch {
                throw ExtractionError(.malformed, "The blob cannot be read: \(error).")
            }
            if data.isEmpty {
                finished = true
                pieces = try stream!.finish()
                close()
            } else {
                pieces = try stream!.feed(data)
            }
        } else if pdf != nil {
            // A page at a time; the extractor throws `no_text` from the last page when no page had text.
            pieces = try pdf!.nextPage()
            if pieces == nil { finished = true }
        } else if docx != nil {
            pieces = try docx!.next()
            if pieces == nil { finished = true }
        } else {
            return nil
        }
        guard checksText else { return pieces }
        guard let pieces else {
            if !sawText { throw ExtractionError(.noText, "The document has no text.") }
            return nil
        }
        for case .text(let text) in pieces {
            textBytes += text.utf8.count
            if textBytes > configuration.textBytesMax {
                throw ExtractionError(
                    .tooLarge, "The extracted text exceeds the limit of \(configuration.textBytesMax) bytes.")
            }
            if !sawText { sawText = text.unicodeScalars.contains { !$0.properties.isWhitespace } }
        }
        return pieces
    }

    /// Inflates the gzip file at `path` into a new temporary file in `directory`, within the decompression limits.
    private static func inflate(
        _ path: String, into directory: String, configuration: TextExtractor.Configuration
    ) throws(ExtractionError) -> String {
        guard let input = FileHandle(forReadingAtPath: path) else {
            throw ExtractionError(.malformed, "The blob \(path) cannot be opened.")
        }
        defer { try? input.close() }
        let target = directory + "/inflate-\(UInt64.random(in: 0...UInt64.max)).tmp"
        guard FileManager.default.createFile(atPath: target, contents: nil),
            let output = FileHandle(forWritingAtPath: target)
        else {
            throw ExtractionError(.malformed, "Cannot create a temporary file in \(directory).")
        }
        defer { try? output.close() }
        do {
            let inflater = try Inflater(framing: .gzip)
            var budget = DecompressionBudget(configuration)
            while true {
                let data: Data
                do {
                    data = try input.read(upToCount: readBytes) ?? Data()
                } catch {
                    throw ExtractionError(.malformed, "The blob cannot be read: \(error).")
                }
                if data.isEmpty { break }
                try Array(data).withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
                    try inflater.feed(buffer, budget: &budget) { (piece) throws(ExtractionError) in
                        do {
                            try output.write(contentsOf: Data(piece))
                        } catch {
                            throw ExtractionError(.malformed, "Cannot write the inflated copy: \(error).")
                        }
                    }
                }
            }
            try inflater.finish()
            return target
        } catch let error as ExtractionError {
            unlink(target)
            throw error
        } catch {
            unlink(target)
            throw ExtractionError(.malformed, "Cannot inflate the document: \(error).")
        }
    }
}
