/// Cuts text into overlapping chunks at natural boundaries: in one call, or streaming with bounded memory.
///
/// A chunk holds at most `targetCharacters` Unicode scalars and never spans two sections. Among the cuts that
/// leave a chunk of at least `minimumCharacters`, the chunker takes the last paragraph break (a blank line), else
/// the last sentence end (`.` `!` `?` followed by white space, not after an abbreviation such as "e.g." or an
/// initial; CJK full stops need no space), else the last line break, else the last white space, and only then cuts
/// hard at the target (never inside a combining sequence it can recognise). The next chunk repeats up to
/// `overlapCharacters` of the previous one, starting at the earliest word start in that tail. Chunks are trimmed
/// of surrounding white space and white-space-only text yields none.
///
/// Every decision reads only the text from the current chunk's start to the target, so the chunks depend on the
/// text and the section starts alone: feeding a text in any pieces gives exactly the chunks of one call. The
/// streaming chunker holds about one chunk of text plus the piece being fed.
///
/// It works on UTF-8 bytes and searches backwards from the target, skipping eight bytes at a time where it can:
/// about 450 to 1,000 MB per CPU second on English text in release builds (ASCII text is the fast end), four to six
/// times LangChain's `RecursiveCharacterTextSplitter` with the same sizes (`tools/bench/chunker-peers`).
public struct Chunker: Sendable {
    /// A large feed is appended this many bytes at a time, so that the buffer stays small.
    static let feedSliceBytes = 64 * 1024
    /// Consumed bytes at the front of the buffer are dropped once there are this many (or half the buffer).
    static let compactBytesMin = 16 * 1024
    /// The most scalars a hard cut moves back to avoid splitting a combining sequence.
    static let hardCutBacktrackMax = 32

    /// A place in the buffered text: a byte index into the buffer and an absolute offset in scalars.
    struct Position: Equatable {
        var byte: Int
        var scalar: Int
    }

    /// The sizes of chunks.
    public let configuration: Configuration
    /// The buffered text, from the start of the current chunk (or the last cut, if earlier) to the end of what was
    /// fed.
    private var buffer: [UInt8] = []
    /// The absolute scalar offset of `buffer[0]`.
    private var bufferScalarBase = 0
    /// The number of scalars in `buffer`.
    private var bufferScalarCount = 0
    /// Where the next chunk starts.
    private var start = Position(byte: 0, scalar: 0)
    /// Where the last chunk of the current section was cut (the section's start before the first cut).
    private var lastCut = Position(byte: 0, scalar: 0)
    private var nextIndex = 0
    private var pendingPages: [PageStart] = []
    private var currentPage: Int?

    /// Creates a chunker; the default configuration cuts at 1,000 scalars with 150 of overlap.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    // MARK: One shot

    /// The chunks of a whole text, with sections starting at the given scalar offsets.
    public func chunks(of text: String, sectionStarts: [Int] = [], pageStarts: [PageStart] = []) -> [Chunk] {
        var chunker = Chunker(configuration: configuration)
        var marks = sectionStarts.map { (offset: $0, page: Int?.none) }
        marks += pageStarts.map { (offset: $0.offset, page: Int?.some($0.page)) }
        marks.sort { $0.offset < $1.offset }
        var result: [Chunk] = []
        var text = text
        text.withUTF8 { bytes in
            var byte = 0
            var scalar = 0
            for mark in marks {
                let from = byte
                while scalar < mark.offset && byte < bytes.count {
                    byte += 1
                    while byte < bytes.count && bytes[byte] & 0xC0 == 0x80 { byte += 1 }
                    scalar += 1
                }
                result += chunker.feedBytes(UnsafeBufferPointer(rebasing: bytes[from..<byte]))
                if let page = mark.page {
                    chunker.startPage(page)
                } else {
                    result += chunker.startSection()
                }
            }
            result += chunker.feedBytes(UnsafeBufferPointer(rebasing: bytes[byte...]))
        }
        result += chunker.finish()
        return result
    }

    /// The chunks of an extracted document, honouring its sections and pages.
    public func chunks(of extracted: ExtractedText) -> [Chunk] {
        chunks(of: extracted.text, sectionStarts: extracted.sectionStarts, pageStarts: extracted.pageStarts)
    }

    // MARK: Streaming

    /// Adds the next text of the current section; returns the chunks it completes.
    public mutating func feed(_ text: Substring) -> [Chunk] {
        var text = text
        return text.withUTF8 { feedBytes($0) }
    }

    /// Adds the next text of the current section; returns the chunks it completes.
    public mutating func feed(_ text: String) -> [Chunk] {
        feed(text[...])
    }

    /// Adds an extractor's piece: text, a section start or a page start; returns the chunks it completes.
    public mutating func feed(_ piece: TextPiece) -> [Chunk] {
        switch piece {
        case .text(let text):
            return feed(text)
        case .sectionStart:
            return startSection()
        case .pageStart(let number):
            startPage(number)
            return []
        }
    }

    /// Ends the current section; returns its remaining chunks. The next text starts a new section.
    public mutating func startSection() -> [Chunk] {
        process(final: true)
    }

    /// Records that page `number` starts at the current end of the text; chunks starting after it carry it.
    public mutating func startPage(_ number: Int) {
        pendingPages.append(PageStart(offset: bufferScalarBase + bufferScalarCount, page: number))
    }

    /// Ends the text; returns the remaining chunks and makes the chunker ready for another document.
    public mutating func finish() -> [Chunk] {
        let chunks = process(final: true)
        self = Chunker(configuration: configuration)
        return chunks
    }

    /// Appends valid UTF-8 (whole scalars only), slice by slice, cutting what can be cut after each.
    mutating func feedBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> [Chunk] {
        var chunks: [Chunk] = []
        var from = 0
        while from < bytes.count {
            var to = min(bytes.count, from + Self.feedSliceBytes)
            while to < bytes.count && bytes[to] & 0xC0 == 0x80 { to -= 1 }
            let slice = UnsafeBufferPointer(rebasing: bytes[from..<to])
            buffer.append(contentsOf: slice)
            bufferScalarCount += Self.scalarCount(slice)
            chunks += process(final: false)
            from = to
        }
        return chunks
    }

    // MARK: Cutting

    /// Cuts every chunk the buffer allows; with `final`, also the section's last one, and ends the section.
    private mutating func process(final: Bool) -> [Chunk] {
        var chunks: [Chunk] = []
        // A local copy shares the storage (no copy is made) and lets the loop mutate the other properties while
        // reading the bytes; it is gone before `compact` mutates the buffer, so that never copies either.
        do {
            let bytes = buffer
            bytes.withUnsafeBufferPointer { text in
                let end = Position(byte: text.count, scalar: bufferScalarBase + bufferScalarCount)
                while true {
                    start = Self.skipWhitespace(text, from: start, to: end)
                    let available = end.scalar - start.scalar
                    if available > configuration.targetCharacters {
                        let cut = findCut(text)
                        appendChunk(text, from: start, to: cut, into: &chunks)
                        lastCut = cut
                        start = overlapStart(text, cut: cut)
                        continue
                    }
                    if final {
                        let fresh = lastCut.scalar > start.scalar ? lastCut : start
                        if available > 0 && Self.hasNonWhitespace(text, from: fresh, to: end) {
                            appendChunk(text, from: start, to: end, into: &chunks)
                        }
                        start = end
                        lastCut = end
                    }
                    break
                }
            }
        }
        compact()
        return chunks
    }

    /// The best cut after `start`: see the type's documentation for the order of preference.
    ///
    /// Each kind of boundary is defined by what comes before it, never after, and never before `start`; that is
    /// what makes the result independent of how the text was fed. The search runs backwards from the target, so
    /// the last boundary of each kind is the first one met: once a sentence end is found, only a paragraph break
    /// could beat it, and the rest of the window is searched for line feeds alone, eight bytes at a time.
    private func findCut(_ text: UnsafeBufferPointer<UInt8>) -> Position {
        // A cut must leave the minimum, and must lie beyond the last cut so that every chunk brings new text.
        let lowest = start.scalar + max(configuration.minimumCharacters, lastCut.scalar - start.scalar + 1)
        let limit = position(after: configuration.targetCharacters, in: text)
        var word: Position?
        var line: Position?
        var sentence: Position?
        var position = limit
        // Every boundary down to the last sentence end.
        while position.scalar >= lowest {
            let (previous, value) = Self.before(text, position)
            if ScalarTraits.isWhitespace(value) {
                if word == nil { word = position }
                if value == 0x0A {
                    if line == nil { line = position }
                    if isParagraphBreak(text, newlineAt: previous.byte) { return position }
                }
                if Self.maySentenceEnd(before: previous, in: text, start: start) && endsSentence(text, before: previous)
                {
                    sentence = position
                    position = previous
                    break
                }
            } else if ScalarTraits.isCJKTerminator(value)
                || (ScalarTraits.isCloser(value) && followsCJKTerminator(text, previous))
            {
                sentence = position
                position = previous
                break
            }
            position = previous
        }
        // Only a paragraph break can beat a sentence end: look for line feeds. `scalar` counts the lead bytes
        // before `byte`, which is the scalar offset wherever a line feed is found.
        if sentence != nil {
            var byte = position.byte
            var scalar = position.scalar
            while scalar >= lowest && byte > start.byte {
                if byte - 8 >= start.byte {
                    let block = UnsafeRawPointer(text.baseAddress! + byte - 8).loadUnaligned(as: UInt64.self)
                    if !Self.hasZeroByte(block ^ 0x0A0A_0A0A_0A0A_0A0A) {
                        scalar -= Self.leadBytes(block)
                        byte -= 8
                        continue
                    }
                }
                let value = text[byte - 1]
                if value == 0x0A && isParagraphBreak(text, newlineAt: byte - 1) {
                    return Position(byte: byte, scalar: scalar)
                }
                if value & 0xC0 != 0x80 { scalar -= 1 }
                byte -= 1
            }
        }
        if let boundary = sentence ?? line ?? word { return boundary }
        return hardCut(text, at: limit, lowest: lowest)
    }

    /// The position `count` scalars after `start`; the buffer holds more than that.
    private func position(after count: Int, in text: UnsafeBufferPointer<UInt8>) -> Position {
        // As many bytes as scalars from `start` to the end of the buffer: all ASCII (the common case in English),
        // where a scalar offset is a byte offset, so nothing needs counting.
        if text.count - start.byte == bufferScalarBase + bufferScalarCount - start.scalar {
            return Position(byte: start.byte + count, scalar: start.scalar + count)
        }
        var byte = start.byte
        var counted = 0
        // Eight bytes hold at most eight scalars, so whole blocks can be counted while eight more are wanted.
        while counted + 8 <= count && byte + 8 <= text.count {
            counted += Self.leadBytes(UnsafeRawPointer(text.baseAddress! + byte).loadUnaligned(as: UInt64.self))
            byte += 8
        }
        while byte < text.count && (counted < count || text[byte] & 0xC0 == 0x80) {
            if text[byte] & 0xC0 != 0x80 { counted += 1 }
            byte += 1
        }
        return Position(byte: byte, scalar: start.scalar + counted)
    }

    /// Whether the line feed at byte `newline` ends a blank line: one of only spaces and tabs that follows another
    /// line feed within the chunk.
    private func isParagraphBreak(_ text: UnsafeBufferPointer<UInt8>, newlineAt newline: Int) -> Bool {
        var byte = newline - 1
        while byte >= start.byte {
            switch text[byte] {
            case 0x0A: return true
            case 0x09, 0x0B, 0x0C, 0x0D, 0x20: byte -= 1
            default: return false
            }
        }
        return false
    }

    /// A quick test that rules out most white space as a sentence end: the byte before it is ASCII and neither a
    /// terminator, a closer nor white space.
    @inline(__always)
    private static func maySentenceEnd(before position: Position, in text: UnsafeBufferPointer<UInt8>, start: Position)
        -> Bool
    {
        guard position.byte > start.byte else { return false }
        let byte = text[position.byte - 1]
        if byte >= 0x80 { return true }
        switch byte {
        case 0x2E, 0x21, 0x3F, 0x22, 0x27, 0x29, 0x5D, 0x7D, 0x09...0x0D, 0x20: return true
        default: return false
        }
    }

    /// Whether white space starting at `position` follows the end of a sentence: a terminator, maybe closing quotes
    /// or brackets, then white space (a full stop only when it ends no abbreviation).
    private func endsSentence(_ text: UnsafeBufferPointer<UInt8>, before position: Position) -> Bool {
        var position = position
        var value: UInt32 = 0x20
        while ScalarTraits.isWhitespace(value) {
            guard position.scalar > start.scalar else { return false }
            (position, value) = Self.before(text, position)
        }
        while ScalarTraits.isCloser(value) {
            guard position.scalar > start.scalar else { return false }
            (position, value) = Self.before(text, position)
        }
        if value == 0x2E { return !isAbbreviation(text, fullStop: position.byte) }
        return ScalarTraits.isSentenceTerminator(value) || ScalarTraits.isCJKTerminator(value)
    }

    /// Whether the closers ending at `position` follow a CJK terminator.
    private func followsCJKTerminator(_ text: UnsafeBufferPointer<UInt8>, _ position: Position) -> Bool {
        var position = position
        while position.scalar > start.scalar {
            let (previous, value) = Self.before(text, position)
            if ScalarTraits.isCJKTerminator(value) { return true }
            guard ScalarTraits.isCloser(value) else { return false }
            position = previous
        }
        return false
    }

    /// Whether the full stop at byte `fullStop` ends an abbreviation or an initial rather than a sentence.
    ///
    /// Looks back (not before the chunk's start) at the ASCII letters and dots before it: one letter is an
    /// initial ("J. Smith"), a word with inner dots an abbreviation ("e.g.", "U.S."), and otherwise the word must
    /// be in ``ScalarTraits/abbreviations``. A word with digits or non-ASCII letters is none.
    private func isAbbreviation(_ text: UnsafeBufferPointer<UInt8>, fullStop: Int) -> Bool {
        var first = fullStop
        var hasDot = false
        while first > start.byte && fullStop - first < 9 {
            let byte = text[first - 1]
            let lowered = byte | 0x20
            if lowered >= 0x61 && lowered <= 0x7A {
                first -= 1
            } else if byte == 0x2E {
                first -= 1
                hasDot = true
            } else if byte >= 0x80 || (byte >= 0x30 && byte <= 0x39) {
                return false
            } else {
                break
            }
        }
        let length = fullStop - first
        if length == 0 || length > 8 { return false }
        if length == 1 { return text[first] != 0x2E }
        if hasDot { return true }
        var packed: UInt64 = 0
        for index in first..<fullStop { packed = packed << 8 | UInt64(text[index] | 0x20) }
        return ScalarTraits.abbreviations.contains(packed)
    }

    /// Moves a hard cut back (not below the scalar offset `lowest`) while it would separate a scalar from the
    /// combining marks or joiner that go with it.
    private func hardCut(_ text: UnsafeBufferPointer<UInt8>, at position: Position, lowest: Int) -> Position {
        var cut = position
        var steps = 0
        // There is always a scalar at `cut`: a hard cut happens only when more than the target is buffered.
        while steps < Self.hardCutBacktrackMax && cut.scalar > lowest && cut.byte < text.count {
            let next = Self.decode(text, at: cut.byte).value
            let (previous, previousValue) = Self.before(text, cut)
            guard ScalarTraits.extendsPrevious(next) || previousValue == 0x200D else { break }
            cut = previous
            steps += 1
        }
        return cut
    }

    /// Where the next chunk starts: the earliest word start among the last `overlapCharacters` before `cut` (and
    /// after `start`), or `cut` itself when there is none.
    private func overlapStart(_ text: UnsafeBufferPointer<UInt8>, cut: Position) -> Position {
        let floor = max(cut.scalar - configuration.overlapCharacters, start.scalar + 1)
        guard floor < cut.scalar else { return cut }
        var position = cut
        while position.scalar > floor { position = Self.before(text, position).0 }
        var previousIsSpace = ScalarTraits.isWhitespace(Self.before(text, position).1)
        while position.scalar < cut.scalar {
            let (value, length) = Self.decode(text, at: position.byte)
            let isSpace = ScalarTraits.isWhitespace(value)
            if previousIsSpace && !isSpace { return position }
            previousIsSpace = isSpace
            position.byte += length
            position.scalar += 1
        }
        return cut
    }

    private mutating func appendChunk(
        _ text: UnsafeBufferPointer<UInt8>, from: Position, to: Position, into chunks: inout [Chunk]
    ) {
        var end = to
        while end.scalar > from.scalar {
            let (previous, value) = Self.before(text, end)
            guard ScalarTraits.isWhitespace(value) else { break }
            end = previous
        }
        guard end.scalar > from.scalar else { return }
        while let page = pendingPages.first, page.offset <= from.scalar {
            currentPage = page.page
            pendingPages.removeFirst()
        }
        chunks.append(
            Chunk(
                index: nextIndex,
                text: String(decoding: UnsafeBufferPointer(rebasing: text[from.byte..<end.byte]), as: UTF8.self),
                characterOffset: from.scalar,
                characterLength: end.scalar - from.scalar,
                page: currentPage
            )
        )
        nextIndex += 1
    }

    /// Drops the bytes before the current chunk and the last cut once they are worth the move.
    private mutating func compact() {
        let keep = start.scalar <= lastCut.scalar ? start : lastCut
        let drop = keep.byte
        guard drop > 0, drop == buffer.count || drop >= Self.compactBytesMin || drop * 2 >= buffer.count else {
            return
        }
        buffer.removeSubrange(0..<drop)
        let droppedScalars = keep.scalar - bufferScalarBase
        bufferScalarBase += droppedScalars
        bufferScalarCount -= droppedScalars
        start.byte -= drop
        lastCut.byte -= drop
    }

    // MARK: Scalars in UTF-8

    /// The scalar starting at `index`. The buffer holds whole scalars of valid UTF-8 (it is filled from strings, cut
    /// only at scalar boundaries), so every continuation byte read here exists.
    @inline(__always)
    static func decode(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> (value: UInt32, length: Int) {
        let lead = text[index]
        if lead < 0x80 { return (UInt32(lead), 1) }
        if lead < 0xE0 { return (UInt32(lead & 0x1F) << 6 | UInt32(text[index + 1] & 0x3F), 2) }
        if lead < 0xF0 {
            return (
                UInt32(lead & 0x0F) << 12 | UInt32(text[index + 1] & 0x3F) << 6 | UInt32(text[index + 2] & 0x3F), 3
            )
        }
        return (
            UInt32(lead & 0x07) << 18 | UInt32(text[index + 1] & 0x3F) << 12 | UInt32(text[index + 2] & 0x3F) << 6
                | UInt32(text[index + 3] & 0x3F), 4
        )
    }

    /// The position of the scalar before `position`, and that scalar.
    @inline(__always)
    static func before(_ text: UnsafeBufferPointer<UInt8>, _ position: Position) -> (Position, UInt32) {
        var byte = position.byte - 1
        while text[byte] & 0xC0 == 0x80 { byte -= 1 }
        return (Position(byte: byte, scalar: position.scalar - 1), decode(text, at: byte).value)
    }

    /// The number of scalars in whole UTF-8 `bytes`: their lead bytes, counted eight at a time.
    static func scalarCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        var count = 0
        var index = 0
        // 32 bytes at a time: all of them when none has its top bit set (ASCII), else the lead bytes of each word.
        while index + 32 <= bytes.count {
            let raw = UnsafeRawPointer(base + index)
            let a = raw.loadUnaligned(as: UInt64.self)
            let b = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            let c = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
            let d = raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            if (a | b | c | d) & 0x8080_8080_8080_8080 == 0 {
                count += 32
            } else {
                count += leadBytes(a) + leadBytes(b) + leadBytes(c) + leadBytes(d)
            }
            index += 32
        }
        while index + 8 <= bytes.count {
            count += leadBytes(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            index += 8
        }
        while index < bytes.count {
            if base[index] & 0xC0 != 0x80 { count += 1 }
            index += 1
        }
        return count
    }

    /// The number of bytes of `block` that start a scalar (that are not continuation bytes, `10xxxxxx`).
    @inline(__always)
    static func leadBytes(_ block: UInt64) -> Int {
        // A continuation byte has its top bit set and the next one clear; shifting left by one lines each byte's
        // bit 6 up under its bit 7 (bits crossing into the next byte land outside the mask).
        8 - (block & ~(block &<< 1) & 0x8080_8080_8080_8080).nonzeroBitCount
    }

    /// Whether any byte of `block` is zero (exact; the classic bit trick).
    @inline(__always)
    static func hasZeroByte(_ block: UInt64) -> Bool {
        (block &- 0x0101_0101_0101_0101) & ~block & 0x8080_8080_8080_8080 != 0
    }

    static func skipWhitespace(_ text: UnsafeBufferPointer<UInt8>, from: Position, to end: Position) -> Position {
        var position = from
        while position.byte < end.byte {
            let (value, length) = decode(text, at: position.byte)
            guard ScalarTraits.isWhitespace(value) else { break }
            position.byte += length
            position.scalar += 1
        }
        return position
    }

    static func hasNonWhitespace(_ text: UnsafeBufferPointer<UInt8>, from: Position, to end: Position) -> Bool {
        skipWhitespace(text, from: from, to: end).byte < end.byte
    }
}
