/// Markdown: the text unchanged (after UTF-8 checks and line-end normalisation), with a section start before each
/// heading, so that no chunk mixes two sections. Code fences are respected: a `#` line inside one is code.
struct MarkdownExtractor: FormatExtractor {
    private var decoder = UTF8TextDecoder()
    private var sections = MarkdownSections()

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) -> [TextPiece] {
        sections.feed(try decoder.decode(bytes, isFinal: false))
    }

    mutating func finish() throws(ExtractionError) -> [TextPiece] {
        var pieces = sections.feed(try decoder.decode(UnsafeBufferPointer(start: nil, count: 0), isFinal: true))
        pieces += sections.finish()
        return pieces
    }
}

/// Finds Markdown headings in normalised text, line by line, holding back at most two lines.
///
/// Recognised: ATX headings (`#` to `######` then a space or the line's end, indented at most three spaces) and
/// setext headings (a paragraph's first line followed by a line of `=` or `-`). Simplifications, chosen so that a
/// section never starts at a wrong place: a setext heading whose text spans several lines starts no section (its
/// underline reads as a thematic break), and a line longer than `lineBytesMax` is never a heading or a fence. Both
/// keep memory bounded: only the current line and one candidate heading line are ever held.
struct MarkdownSections: Sendable {
    /// Lines longer than this are passed through as they arrive instead of being held until their end.
    static let lineBytesMax = 64 * 1024

    enum LineKind: Equatable {
        case blank
        case paragraph
        case atxHeading
        case underline
        case thematicBreak
        case blockStart
        case indented
        case fenceOpen(character: UInt8, length: Int)
        case fenceClose
        case code
        case long
    }

    /// The current line without its newline, while it is no longer than `lineBytesMax`.
    private var line: [UInt8] = []
    /// Whether the current line outgrew `lineBytesMax` and is being passed through.
    private var lineIsLong = false
    /// A paragraph's first line, with its newline, that the next line may underline into a heading.
    private var held: [UInt8]?
    private var previousKind: LineKind = .blank
    private var fence: (character: UInt8, length: Int)?
    private var output: [UInt8] = []
    private var pieces: [TextPiece] = []
    private var emittedAny = false

    mutating func feed(_ text: String) -> [TextPiece] {
        var text = text
        text.withUTF8 { bytes in
            var index = 0
            let end = bytes.count
            while index < end {
                var newline = index
                while newline < end && bytes[newline] != 0x0A { newline += 1 }
                let segment = UnsafeBufferPointer(rebasing: bytes[index..<newline])
                if newline < end && line.isEmpty && !lineIsLong && segment.count <= Self.lineBytesMax {
                    // The common case: a whole line inside this piece, classified where it lies.
                    endLine(segment, hasNewline: true)
                    index = newline + 1
                    continue
                }
                if lineIsLong {
                    emit(segment)
                } else {
                    line.append(contentsOf: segment)
                    if line.count > Self.lineBytesMax {
                        flushHeld()
                        emit(line)
                        line.removeAll(keepingCapacity: false)
                        lineIsLong = true
                    }
                }
                if newline < end {
                    endHeldLine(hasNewline: true)
                    index = newline + 1
                } else {
                    index = end
                }
            }
        }
        return takePieces()
    }

    mutating func finish() -> [TextPiece] {
        if lineIsLong || !line.isEmpty { endHeldLine(hasNewline: false) }
        flushHeld()
        return takePieces()
    }

    /// Ends the line gathered in `line` (over several feeds, or longer than `lineBytesMax`).
    private mutating func endHeldLine(hasNewline: Bool) {
        defer {
            line.removeAll(keepingCapacity: true)
            lineIsLong = false
        }
        if lineIsLong {
            if hasNewline { output.append(0x0A) }
            previousKind = fence == nil ? .long : .code
            return
        }
        let gathered = line
        gathered.withUnsafeBufferPointer { endLine($0, hasNewline: hasNewline) }
    }

    /// Classifies a complete line (without its newline) and emits it, with a section start before a heading.
    private mutating func endLine(_ line: UnsafeBufferPointer<UInt8>, hasNewline: Bool) {
        let kind = classify(line)
        switch kind {
        case .fenceClose:
            fence = nil
            emit(line, hasNewline)
        case .code:
            emit(line, hasNewline)
        case .atxHeading:
            flushHeld()
            startSection()
            emit(line, hasNewline)
        case .fenceOpen(let character, let length):
            flushHeld()
            fence = (character, length)
            emit(line, hasNewline)
        case .underline where held != nil:
            startSection()
            flushHeld()
            emit(line, hasNewline)
        case .paragraph where hasNewline && held == nil && Self.mayPrecedeHeading(previousKind):
            held = Array(line) + [0x0A]
        default:
            flushHeld()
            emit(line, hasNewline)
        }
        previousKind = kind
    }

    /// Whether a paragraph line after a line of this kind begins a paragraph (and so may be a setext heading).
    private static func mayPrecedeHeading(_ kind: LineKind) -> Bool {
        switch kind {
        case .blank, .atxHeading, .underline, .thematicBreak, .fenceClose: true
        default: false
        }
    }

    private func classify(_ line: UnsafeBufferPointer<UInt8>) -> LineKind {
        let count = line.count
        var indent = 0
        while indent < count && (line[indent] == 0x20 || line[indent] == 0x09) {
            // A tab reaches the next multiple of four columns, so any tab in the indentation makes it four or more.
            indent += line[indent] == 0x09 ? 4 : 1
            if indent >= 4 { break }
        }
        // `indent` counts columns; find where the content starts in bytes.
        var start = 0
        while start < count && (line[start] == 0x20 || line[start] == 0x09) { start += 1 }
        if let fence {
            if indent < 4, run(of: fence.character, in: line, from: start) >= fence.length,
                onlyBlank(line, from: start + run(of: fence.character, in: line, from: start))
            {
                return .fenceClose
            }
            return .code
        }
        if start == count { return .blank }
        if indent >= 4 { return .indented }
        let first = line[start]
        let firstRun = run(of: first, in: line, from: start)
        switch first {
        case UInt8(ascii: "#"):
            let after = start + firstRun
            if firstRun <= 6 && (after == count || line[after] == 0x20 || line[after] == 0x09) { return .atxHeading }
        case UInt8(ascii: "`"), UInt8(ascii: "~"):
            if firstRun >= 3 {
                let infoHasBacktick = first == UInt8(ascii: "`") && line[(start + firstRun)...].contains(first)
                if !infoHasBacktick { return .fenceOpen(character: first, length: firstRun) }
            }
        case UInt8(ascii: "="), UInt8(ascii: "-"):
            if onlyBlank(line, from: start + firstRun) { return .underline }
            if first == UInt8(ascii: "-") && isThematicBreak(first, in: line, from: start) { return .thematicBreak }
            if first == UInt8(ascii: "-") && isMarkerEnd(line, start + 1) { return .blockStart }
        case UInt8(ascii: "*"), UInt8(ascii: "_"), UInt8(ascii: "+"):
            if isThematicBreak(first, in: line, from: start) { return .thematicBreak }
            if first != UInt8(ascii: "_") && isMarkerEnd(line, start + 1) { return .blockStart }
        case UInt8(ascii: ">"):
            return .blockStart
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            var digitsEnd = start
            while digitsEnd < count && digitsEnd - start < 9 && line[digitsEnd] >= 0x30 && line[digitsEnd] <= 0x39 {
                digitsEnd += 1
            }
            if digitsEnd < count && (line[digitsEnd] == UInt8(ascii: ".") || line[digitsEnd] == UInt8(ascii: ")"))
                && isMarkerEnd(line, digitsEnd + 1)
            {
                return .blockStart
            }
        default:
            break
        }
        return .paragraph
    }

    private func run(of byte: UInt8, in line: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var end = start
        while end < line.count && line[end] == byte { end += 1 }
        return end - start
    }

    private func onlyBlank(_ line: UnsafeBufferPointer<UInt8>, from start: Int) -> Bool {
        line[start...].allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }

    private func isMarkerEnd(_ line: UnsafeBufferPointer<UInt8>, _ index: Int) -> Bool {
        index == line.count || line[index] == 0x20 || line[index] == 0x09
    }

    /// Three or more of `marker`, and nothing else but spaces and tabs.
    private func isThematicBreak(_ marker: UInt8, in line: UnsafeBufferPointer<UInt8>, from start: Int) -> Bool {
        var markers = 0
        for byte in line[start...] {
            if byte == marker {
                markers += 1
            } else if byte != 0x20 && byte != 0x09 {
                return false
            }
        }
        return markers >= 3
    }

    private mutating func emit(_ line: UnsafeBufferPointer<UInt8>, _ hasNewline: Bool) {
        output.append(contentsOf: line)
        if hasNewline { output.append(0x0A) }
    }

    private mutating func emit(_ bytes: some Collection<UInt8>) {
        output.append(contentsOf: bytes)
    }

    private mutating func flushHeld() {
        if let held {
            output.append(contentsOf: held)
            self.held = nil
        }
    }

    /// Marks a section start, unless nothing came before it (a document that opens with a heading).
    private mutating func startSection() {
        if !output.isEmpty {
            pieces.append(.text(String(decoding: output, as: UTF8.self)))
            output.removeAll(keepingCapacity: true)
            emittedAny = true
        }
        if emittedAny { pieces.append(.sectionStart) }
    }

    private mutating func takePieces() -> [TextPiece] {
        if !output.isEmpty {
            pieces.append(.text(String(decoding: output, as: UTF8.self)))
            output.removeAll(keepingCapacity: true)
            emittedAny = true
        }
        defer { pieces.removeAll() }
        return pieces
    }
}
