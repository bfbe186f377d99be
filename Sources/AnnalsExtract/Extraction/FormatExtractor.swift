/// Turns one format's bytes into text, a feed at a time, so that memory stays bounded whatever the document's size.
///
/// Implementation requirements:
/// - Deterministic: the pieces' concatenated text and the positions of the marks depend only on the bytes, never
///   on how they were split into feeds.
/// - Bounded: hold back only what is needed to decide what comes next (an incomplete character, one line), never
///   the whole document; formats that need random access (PDF) buffer up to a documented limit.
/// - Text pieces are valid UTF-8 with LF line ends and no byte-order mark.
/// - Bad input throws an ``ExtractionError`` with a code (and the byte offset when there is one); never crash.
public protocol FormatExtractor: Sendable {
    /// Consumes the next bytes of the document; returns the pieces they complete, in document order.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) -> [TextPiece]
    /// Ends the document; returns the pieces still held back.
    mutating func finish() throws(ExtractionError) -> [TextPiece]
}
