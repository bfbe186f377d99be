/// Builds an extractor's output from runs of UTF-8 bytes and requests for breaks, so that every markup format
/// lays its text out the same way: paragraphs separated by one blank line, lines by one newline, no break before
/// the first text or after the last, a section start right before the text that begins the section.
///
/// Breaks and spaces are owed, not written, until more text arrives: a paragraph break followed by a line break is
/// still one paragraph break, white space at the end of a line disappears, and the output does not depend on where
/// the input was split. Runs must consist of whole UTF-8 characters (the ``UTF8Gate`` sees to that).
struct TextAssembler: Sendable {
    /// Output gathered since the last piece was cut.
    private var output: [UInt8] = []
    private var pieces: [TextPiece] = []
    /// Newlines owed before the next text: 0, 1 (a line break) or 2 (a paragraph break).
    private var owedNewlines = 0
    /// Whether a space is owed before the next text (collapsed white space).
    private var owedSpace = false
    /// Whether a section starts with the next text.
    private var owedSection = false
    /// Whether any text was written; breaks and sections before the first text are dropped.
    private var hasText = false
    /// The newlines at the end of what was written, up to 2.
    private var trailingNewlines = 0

    /// Owes a line break before the next text (a paragraph break owed already stays one).
    mutating func lineBreak() {
        owedNewlines = max(owedNewlines, 1)
        owedSpace = false
    }

    /// Owes a paragraph break (a blank line) before the next text.
    mutating func paragraphBreak() {
        owedNewlines = 2
        owedSpace = false
    }

    /// Owes one more newline, up to a paragraph break: what HTML's `<br>` means.
    mutating func extraLineBreak() {
        owedNewlines = min(owedNewlines + 1, 2)
        owedSpace = false
    }

    /// Owes a space before the next text, unless a line starts there.
    mutating func space() {
        owedSpace = true
    }

    /// Starts a section with the next text, after a paragraph break.
    mutating func sectionStart() {
        paragraphBreak()
        owedSection = true
    }

    /// Writes `run` as it is (the caller has normalised line ends).
    mutating func write(_ run: UnsafeBufferPointer<UInt8>) {
        guard !run.isEmpty else { return }
        payDebts()
        output.append(contentsOf: run)
        noteTrailingNewlines(run)
    }

    /// Writes `bytes` as they are (the caller has normalised line ends).
    mutating func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { write($0) }
    }

    /// Writes one ASCII byte.
    mutating func write(byte: UInt8) {
        payDebts()
        output.append(byte)
        trailingNewlines = byte == 0x0A ? min(trailingNewlines + 1, 2) : 0
    }

    /// Writes `run` with white space collapsed: each run of ASCII white space becomes one owed space.
    mutating func writeCollapsing(_ run: UnsafeBufferPointer<UInt8>) {
        guard let base = run.baseAddress else { return }
        let end = run.count
        var index = 0
        while index < end {
            if Self.isWhitespace(base[index]) {
                owedSpace = true
                index += 1
                while index < end && Self.isWhitespace(base[index]) { index += 1 }
                continue
            }
            // A span of words separated by single spaces is already collapsed: copied in one go.
            var stop = index + 1
            while stop < end {
                let byte = base[stop]
                if !Self.isWhitespace(byte) {
                    stop += 1
                } else if byte == 0x20 && stop + 1 < end && !Self.isWhitespace(base[stop + 1]) {
                    stop += 2
                } else {
                    break
                }
            }
            payDebts()
            output.append(contentsOf: UnsafeBufferPointer(rebasing: run[index..<stop]))
            trailingNewlines = 0
            index = stop
        }
    }

    /// The pieces completed so far: the section marks met and the text gathered since the last call.
    mutating func takePieces() -> [TextPiece] {
        cutPiece()
        defer { pieces.removeAll() }
        return pieces
    }

    /// ASCII white space as HTML defines it (space, tab, LF, FF, CR), which CSV values and JSON share.
    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        // One test for all five: bits 9, 10, 12, 13 and 32 of the mask.
        byte <= 0x20 && (UInt64(1) << UInt64(byte)) & 0x1_0000_3600 != 0
    }

    /// Writes the breaks, the space and the section mark owed before new text.
    @inline(__always)
    private mutating func payDebts() {
        if hasText {
            if owedNewlines > trailingNewlines {
                for _ in trailingNewlines..<owedNewlines { output.append(0x0A) }
                trailingNewlines = owedNewlines
            } else if owedSpace && trailingNewlines == 0 {
                output.append(0x20)
            }
            if owedSection {
                cutPiece()
                pieces.append(.sectionStart)
            }
        }
        owedNewlines = 0
        owedSpace = false
        owedSection = false
        hasText = true
    }

    private mutating func noteTrailingNewlines(_ run: UnsafeBufferPointer<UInt8>) {
        var count = 0
        var index = run.count - 1
        while index >= 0 && count < 2 && run[index] == 0x0A {
            count += 1
            index -= 1
        }
        trailingNewlines = index < 0 ? min(trailingNewlines + count, 2) : count
    }

    private mutating func cutPiece() {
        guard !output.isEmpty else { return }
        pieces.append(.text(String(decoding: output, as: UTF8.self)))
        output.removeAll(keepingCapacity: true)
    }
}
