/// HTML (and XHTML) in UTF-8: the text a reader sees, laid out in paragraphs, with a section start at each heading.
///
/// A streaming tokenizer over bytes, following the HTML tokenizer's states as far as text extraction needs them:
/// tags (attributes skipped, quoted values may hold `>`), comments, `<!doctype>` and other declarations, processing
/// instructions, CDATA sections (their content is text), and raw-text elements (`script`, `style`, `iframe`, …,
/// whose content is dropped; `title` and `textarea`, whose content is kept). `template` and `noscript` content is
/// dropped. Character references are decoded: the names of ``HTMLEntities``, decimal and hexadecimal numbers; an
/// unknown or malformed one stays as written.
///
/// Layout: block elements end paragraphs, `li`, `tr`, `dt`, `dd` start lines, `br` adds a newline, table cells are
/// separated by a space; white space collapses except inside `pre`. The `title` comes out as a paragraph of its own
/// where it stands, which in a well-formed page is first.
///
/// Nesting is not tracked with a stack: only counters of open `pre` and hidden elements are kept, so any depth of
/// nesting costs no memory and `nestingDepthMax` never applies. Unbalanced tags cannot make extraction fail, only
/// change the layout. HTML never fails as malformed: browsers show every input, and so does this tokenizer.
///
/// Charset: the tokenizer reads UTF-8; ``HTMLExtractor`` in front of it finds a page's declared character set and
/// transcodes other sets (UTF-16, windows-1252, ISO-8859-15) to UTF-8 first.
struct HTMLTokenizer: UTF8Tokenizer {
    private enum State: Sendable {
        /// Text.
        case data
        /// After `<`.
        case tagOpen
        /// After `</`.
        case endTagOpen
        /// In a tag's name.
        case tagName
        /// In a tag after its name, outside attribute values.
        case attributes
        /// After an attribute's `=`.
        case attributeValueStart
        /// In a quoted attribute value.
        case attributeValueQuoted
        /// In an unquoted attribute value.
        case attributeValueUnquoted
        /// After `<!`: a comment, CDATA, or a declaration such as `<!doctype html>`.
        case declarationOpen
        /// In a comment.
        case comment
        /// In a declaration, a processing instruction or a malformed comment, up to the next `>`.
        case bogusComment
        /// In a CDATA section.
        case cdata
        /// In a raw-text element, looking for its end tag.
        case rawText
        /// After `&`.
        case reference
    }

    private enum Declaration {
        case undecided
        case comment
        case cdata
    }

    private static let cdataOpen = Array("[CDATA[".utf8)

    private var assembler = TextAssembler()
    private var state = State.data

    // The tag being read.
    private var isEndTag = false
    private var tagPacked: UInt64 = 0
    private var tagLength = 0
    private var quote: UInt8 = 0

    // Declarations, comments, CDATA.
    private var declaration = Declaration.undecided
    private var declarationMatched = 0
    private var commentDashes = 0
    private var cdataBrackets = 0

    // The raw-text element being read.
    private var rawName: [UInt8] = []
    private var rawKeep = false
    private var rawDecodes = false
    private var rawMatched = 0

    // The character reference being read.
    private var referenceReturn = State.data
    private var referenceName: [UInt8] = []
    private var referenceIsNumeric = false
    private var referenceIsHex = false
    private var referenceDigits = 0
    private var referenceValue: UInt32 = 0

    // Layout.
    private var preDepth = 0
    private var hiddenDepth = 0
    private var skipLeadingNewline = false
    private var previousWasCR = false

    mutating func consume(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws(ExtractionError) {
        guard let base = bytes.baseAddress else { return }
        let end = bytes.count
        var index = 0
        while index < end {
            switch state {
            case .data:
                var stop = index
                while stop < end && base[stop] != UInt8(ascii: "<") && base[stop] != UInt8(ascii: "&") { stop += 1 }
                text(UnsafeBufferPointer(rebasing: bytes[index..<stop]))
                if stop == end { return }
                if base[stop] == UInt8(ascii: "<") {
                    state = .tagOpen
                } else {
                    startReference(returningTo: .data)
                }
                index = stop + 1

            case .tagOpen:
                let byte = base[index]
                if Self.isASCIILetter(byte) {
                    startTag(isEnd: false)
                } else if byte == UInt8(ascii: "/") {
                    state = .endTagOpen
                    index += 1
                } else if byte == UInt8(ascii: "!") {
                    state = .declarationOpen
                    declaration = .undecided
                    declarationMatched = 0
                    index += 1
                } else if byte == UInt8(ascii: "?") {
                    state = .bogusComment
                    index += 1
                } else {
                    // Not a tag: the `<` is text, and the byte is read again as text.
                    textByte(UInt8(ascii: "<"))
                    state = .data
                }

            case .endTagOpen:
                let byte = base[index]
                if Self.isASCIILetter(byte) {
                    startTag(isEnd: true)
                } else if byte == UInt8(ascii: ">") {
                    state = .data
                    index += 1
                } else {
                    state = .bogusComment
                }

            case .tagName:
                while index < end {
                    let byte = base[index]
                    if TextAssembler.isWhitespace(byte) || byte == UInt8(ascii: "/") {
                        state = .attributes
                        break
                    }
                    if byte == UInt8(ascii: ">") {
                        index += 1
                        finishTag()
                        break
                    }
                    let lowered = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                    if tagLength < 8 { tagPacked |= UInt64(lowered) << (8 * UInt64(tagLength)) }
                    // Saturating: only "longer than any known name" matters.
                    if tagLength < 64 { tagLength += 1 }
                    index += 1
                }

            case .attributes:
                while index < end {
                    let byte = base[index]
                    index += 1
                    if byte == UInt8(ascii: ">") {
                        finishTag()
                        break
                    }
                    if byte == UInt8(ascii: "=") {
                        state = .attributeValueStart
                        break
                    }
                }

            case .attributeValueStart:
                let byte = base[index]
                if TextAssembler.isWhitespace(byte) {
                    index += 1
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    quote = byte
                    state = .attributeValueQuoted
                    index += 1
                } else if byte == UInt8(ascii: ">") {
                    index += 1
                    finishTag()
                } else {
                    state = .attributeValueUnquoted
                }

            case .attributeValueQuoted:
                while index < end && base[index] != quote { index += 1 }
                if index < end {
                    state = .attributes
                    index += 1
                }

            case .attributeValueUnquoted:
                while index < end {
                    let byte = base[index]
                    if TextAssembler.isWhitespace(byte) {
                        state = .attributes
                        break
                    }
                    index += 1
                    if byte == UInt8(ascii: ">") {
                        finishTag()
                        break
                    }
                }

            case .declarationOpen:
                index = declarationStep(base[index], at: index)

            case .comment:
                while index < end {
                    let byte = base[index]
                    index += 1
                    if byte == UInt8(ascii: "-") {
                        commentDashes += 1
                    } else if byte == UInt8(ascii: ">") && commentDashes >= 2 {
                        state = .data
                        break
                    } else {
                        commentDashes = 0
                    }
                }

            case .bogusComment:
                while index < end && base[index] != UInt8(ascii: ">") { index += 1 }
                if index < end {
                    state = .data
                    index += 1
                }

            case .cdata:
                let byte = base[index]
                if byte == UInt8(ascii: "]") {
                    cdataBrackets += 1
                    index += 1
                } else if byte == UInt8(ascii: ">") && cdataBrackets >= 2 {
                    flushBrackets(keeping: 2)
                    state = .data
                    index += 1
                } else {
                    flushBrackets(keeping: 0)
                    var stop = index + 1
                    while stop < end && base[stop] != UInt8(ascii: "]") { stop += 1 }
                    text(UnsafeBufferPointer(rebasing: bytes[index..<stop]))
                    index = stop
                }

            case .rawText:
                index = rawTextStep(bytes, from: index)

            case .reference:
                if referenceStep(base[index]) { index += 1 }
            }
        }
    }

    mutating func finish(offset: Int) throws(ExtractionError) {
        switch state {
        case .reference:
            resolveReference(terminator: nil)
        case .tagOpen:
            textByte(UInt8(ascii: "<"))
        case .endTagOpen:
            textByte(UInt8(ascii: "<"))
            textByte(UInt8(ascii: "/"))
        case .rawText:
            if rawMatched > 0 { flushRawMatch() }
        case .cdata:
            flushBrackets(keeping: 0)
        default:
            // A tag or comment cut off by the end of the document is dropped, as browsers do.
            break
        }
        state = .data
    }

    mutating func takePieces() -> [TextPiece] {
        assembler.takePieces()
    }

    // MARK: Text

    /// Writes text of the document: dropped inside hidden elements, kept as written inside `pre`, collapsed
    /// elsewhere.
    private mutating func text(_ run: UnsafeBufferPointer<UInt8>) {
        guard hiddenDepth == 0, !run.isEmpty else { return }
        if preDepth > 0 {
            writePreformatted(run)
        } else {
            assembler.writeCollapsing(run)
        }
    }

    private mutating func textByte(_ byte: UInt8) {
        withUnsafePointer(to: byte) { text(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    private mutating func textScalar(_ scalar: Unicode.Scalar) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4)
        UTF8.encode(scalar) { bytes.append($0) }
        bytes.withUnsafeBufferPointer { rawOrText($0) }
    }

    /// Writes text read inside a kept raw-text element (collapsed), or elsewhere (as ``text(_:)``).
    private mutating func rawOrText(_ run: UnsafeBufferPointer<UInt8>) {
        if state == .rawText || (state == .reference && referenceReturn == .rawText) {
            guard hiddenDepth == 0 else { return }
            assembler.writeCollapsing(run)
        } else {
            text(run)
        }
    }

    /// Writes preformatted text with CR and CRLF turned into LF, dropping the newline right after `<pre>`.
    private mutating func writePreformatted(_ run: UnsafeBufferPointer<UInt8>) {
        var start = 0
        if skipLeadingNewline {
            skipLeadingNewline = false
            if run[0] == 0x0A {
                start = 1
            } else if run[0] == 0x0D {
                start = 1
                previousWasCR = true
            }
        }
        var index = start
        while index < run.count {
            let byte = run[index]
            if byte == 0x0D {
                assembler.write(UnsafeBufferPointer(rebasing: run[start..<index]))
                assembler.write(byte: 0x0A)
                previousWasCR = true
                index += 1
                start = index
            } else if byte == 0x0A && previousWasCR {
                assembler.write(UnsafeBufferPointer(rebasing: run[start..<index]))
                previousWasCR = false
                index += 1
                start = index
            } else {
                previousWasCR = false
                index += 1
            }
        }
        assembler.write(UnsafeBufferPointer(rebasing: run[start..<run.count]))
    }

    // MARK: Tags

    private mutating func startTag(isEnd: Bool) {
        isEndTag = isEnd
        tagPacked = 0
        tagLength = 0
        state = .tagName
    }

    /// Acts on a complete tag: its layout, and the content model it opens.
    private mutating func finishTag() {
        state = .data
        previousWasCR = false
        let key = HTMLTag.Key(packed: tagPacked, length: tagLength)
        let tag = HTMLTag.of(key)
        if isEndTag {
            endTag(tag)
            return
        }
        let visible = hiddenDepth == 0
        switch tag {
        case .inline:
            break
        case .block:
            if visible { assembler.paragraphBreak() }
        case .line:
            if visible { assembler.lineBreak() }
        case .lineBreak:
            if visible { assembler.extraLineBreak() }
        case .cell:
            if visible { assembler.space() }
        case .heading:
            if visible { assembler.sectionStart() }
        case .preformatted:
            if visible { assembler.paragraphBreak() }
            preDepth += 1
            skipLeadingNewline = true
        case .hidden:
            hiddenDepth += 1
        case .rawDropped, .rawKept, .rawLiteral:
            if visible && tag != .rawDropped { assembler.paragraphBreak() }
            state = .rawText
            rawName = HTMLTag.rawName(key)
            rawKeep = tag != .rawDropped
            rawDecodes = tag == .rawKept
            rawMatched = 0
        }
    }

    private mutating func endTag(_ tag: HTMLTag) {
        let visible = hiddenDepth == 0
        switch tag {
        case .inline, .rawDropped:
            break
        case .block, .heading, .rawKept, .rawLiteral:
            if visible { assembler.paragraphBreak() }
        case .line:
            if visible { assembler.lineBreak() }
        case .lineBreak:
            if visible { assembler.extraLineBreak() }
        case .cell:
            if visible { assembler.space() }
        case .preformatted:
            preDepth = max(0, preDepth - 1)
            if visible { assembler.paragraphBreak() }
        case .hidden:
            hiddenDepth = max(0, hiddenDepth - 1)
        }
    }

    // MARK: Declarations and CDATA

    /// Reads one byte after `<!`; returns the index of the next byte to read.
    private mutating func declarationStep(_ byte: UInt8, at index: Int) -> Int {
        switch declaration {
        case .undecided:
            if byte == UInt8(ascii: "-") {
                declaration = .comment
            } else if byte == UInt8(ascii: "[") {
                declaration = .cdata
            } else {
                // `<!doctype …>` and anything else: skipped to `>` (the byte is read again, it may be `>`).
                state = .bogusComment
                return index
            }
            declarationMatched = 1
            return index + 1
        case .comment:
            guard byte == UInt8(ascii: "-") else {
                state = .bogusComment
                return index
            }
            state = .comment
            // `<!-->` and `<!--->` end at once, as in browsers: the opening dashes count towards the closing ones.
            commentDashes = 2
            return index + 1
        case .cdata:
            guard byte == Self.cdataOpen[declarationMatched] else {
                state = .bogusComment
                return index
            }
            declarationMatched += 1
            if declarationMatched == Self.cdataOpen.count {
                state = .cdata
                cdataBrackets = 0
            }
            return index + 1
        }
    }

    /// Writes the `]` of a CDATA section that did not end it, beyond the `keeping` that did.
    private mutating func flushBrackets(keeping: Int) {
        let extra = cdataBrackets - keeping
        cdataBrackets = 0
        for _ in 0..<max(0, extra) { textByte(UInt8(ascii: "]")) }
    }

    // MARK: Raw text

    /// Reads raw text from `index`, looking for the element's end tag; returns the index of the next byte to read.
    private mutating func rawTextStep(_ bytes: UnsafeBufferPointer<UInt8>, from index: Int) -> Int {
        let end = bytes.count
        if rawMatched == 0 {
            var stop = index
            while stop < end && bytes[stop] != UInt8(ascii: "<") && !(rawDecodes && bytes[stop] == UInt8(ascii: "&")) {
                stop += 1
            }
            if rawKeep { rawOrText(UnsafeBufferPointer(rebasing: bytes[index..<stop])) }
            if stop == end { return end }
            if bytes[stop] == UInt8(ascii: "&") {
                startReference(returningTo: .rawText)
            } else {
                rawMatched = 1
            }
            return stop + 1
        }
        let byte = bytes[index]
        let lowered = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
        if rawMatched == 1 {
            if byte == UInt8(ascii: "/") {
                rawMatched = 2
                return index + 1
            }
        } else if rawMatched - 2 < rawName.count {
            if lowered == rawName[rawMatched - 2] {
                rawMatched += 1
                return index + 1
            }
        } else if TextAssembler.isWhitespace(byte) || byte == UInt8(ascii: "/") || byte == UInt8(ascii: ">") {
            // The end tag: read the rest of it as a tag, whose `>` ends the element.
            rawMatched = 0
            isEndTag = true
            tagPacked = HTMLTag.Key(String(decoding: rawName, as: UTF8.self)).packed
            tagLength = rawName.count
            state = .attributes
            return index
        }
        // Not the end tag: what matched so far is text, and the byte is read again.
        flushRawMatch()
        return index
    }

    /// Writes the start of an end tag that turned out not to be one (as text, when the element's text is kept).
    private mutating func flushRawMatch() {
        let matched = rawMatched
        rawMatched = 0
        guard rawKeep else { return }
        var bytes: [UInt8] = [UInt8(ascii: "<")]
        if matched >= 2 { bytes.append(UInt8(ascii: "/")) }
        if matched > 2 { bytes.append(contentsOf: rawName.prefix(matched - 2)) }
        bytes.withUnsafeBufferPointer { rawOrText($0) }
    }

    // MARK: Character references

    private mutating func startReference(returningTo returnState: State) {
        referenceReturn = returnState
        referenceName.removeAll(keepingCapacity: true)
        referenceIsNumeric = false
        referenceIsHex = false
        referenceDigits = 0
        referenceValue = 0
        state = .reference
    }

    /// Reads one byte of a character reference; returns whether it was consumed (otherwise it is read again in the
    /// state the reference returns to).
    private mutating func referenceStep(_ byte: UInt8) -> Bool {
        if referenceIsNumeric {
            if referenceDigits == 0 && !referenceIsHex && referenceName.count == 1
                && (byte == UInt8(ascii: "x") || byte == UInt8(ascii: "X"))
            {
                referenceIsHex = true
                referenceName.append(byte)
                return true
            }
            if let digit = Self.digitValue(byte, hex: referenceIsHex) {
                referenceDigits += 1
                let base: UInt32 = referenceIsHex ? 16 : 10
                // Saturating: any value beyond U+10FFFF is as invalid as any other.
                referenceValue = min(referenceValue * base + digit, 0x11_0000)
                return true
            }
            return resolveReference(terminator: byte)
        }
        if referenceName.isEmpty && byte == UInt8(ascii: "#") {
            referenceIsNumeric = true
            referenceName.append(byte)
            return true
        }
        if Self.isASCIIAlphanumeric(byte) && referenceName.count < HTMLEntities.nameBytesMax {
            referenceName.append(byte)
            return true
        }
        return resolveReference(terminator: byte)
    }

    /// Ends the reference at `terminator` (nil at the end of the document): writes the character it stands for,
    /// or what was written when it stands for none. Returns whether the terminator (a `;`) was consumed.
    @discardableResult
    private mutating func resolveReference(terminator: UInt8?) -> Bool {
        let returnState = referenceReturn
        let isSemicolon = terminator == UInt8(ascii: ";")
        var scalar: Unicode.Scalar?
        if referenceIsNumeric {
            if referenceDigits > 0 { scalar = HTMLEntities.scalar(code: referenceValue) }
        } else if !referenceName.isEmpty && !(terminator.map(Self.isASCIIAlphanumeric) ?? false) {
            let name = String(decoding: referenceName, as: UTF8.self)
            if isSemicolon || HTMLEntities.isLegacy(name) { scalar = HTMLEntities.scalar(named: name) }
        }
        if let scalar {
            textScalar(scalar)
            state = returnState
            return isSemicolon
        }
        var literal: [UInt8] = [UInt8(ascii: "&")]
        literal.append(contentsOf: referenceName)
        literal.withUnsafeBufferPointer { rawOrText($0) }
        state = returnState
        return false
    }

    // MARK: Bytes

    @inline(__always)
    private static func isASCIILetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    @inline(__always)
    private static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        isASCIILetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    private static func digitValue(_ byte: UInt8, hex: Bool) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f") where hex: UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F") where hex: UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
