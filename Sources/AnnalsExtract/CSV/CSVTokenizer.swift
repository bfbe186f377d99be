/// CSV (RFC 4180): the first record names the columns, and each following record becomes a paragraph of
/// `name: value` lines.
///
/// Quoted fields may hold delimiters, doubled quotes and line breaks; records end with CRLF, LF or CR. The delimiter
/// is `,` unless the first line (outside quotes) holds more `;` or tabs, as spreadsheets in many locales write
/// them. Values have their white space collapsed (line breaks inside a quoted field become spaces) and trimmed;
/// empty values are left out, and a record with no value left yields nothing. Fields beyond the header's are
/// named `column N` (1-based), as are fields whose header is empty. Blank lines are skipped.
///
/// Lenient where RFC 4180 is strict but the intent is plain: a quote inside an unquoted field is text, and text
/// after a closing quote is appended to the field (`"a"b` is `ab`). Strict where leniency would swallow the file:
/// a quoted field still open at the end of the document is `malformed`, and so is a field longer than
/// ``fieldBytesMax`` (both are what an unbalanced quote looks like). A record with more fields than
/// `csvColumnsMax` is `too_many_columns`.
///
/// Memory: values stream to the output; only the header's names are held (each cut to ``headerNameBytesMax``), and
/// the first line until its end (at most ``detectionBytesMax``) to choose the delimiter.
struct CSVTokenizer: UTF8Tokenizer {
    /// The longest field; beyond it the document is `malformed`.
    static let fieldBytesMax = 1024 * 1024
    /// Bytes of a column name kept from the header.
    static let headerNameBytesMax = 256
    /// Bytes of the first line examined to choose the delimiter.
    static let detectionBytesMax = 64 * 1024

    private enum State: Sendable {
        case fieldStart
        case unquoted
        case quoted
        /// After a quote inside a quoted field: a second quote, the field's end, or (leniently) more text.
        case quoteInQuoted
        /// After a CR that ended a record, where an LF belongs to the same line end.
        case afterCR
    }

    private static let quote = UInt8(ascii: "\"")
    private static let separator: [UInt8] = Array(": ".utf8)

    private let columnsMax: Int
    private var assembler = TextAssembler()
    private var state = State.fieldStart

    // The delimiter, and the first line held until it is chosen.
    private var delimiter: UInt8 = 0
    private var held: [UInt8] = []
    private var heldOffset = 0
    private var heldInQuotes = false

    // The record and field being read.
    private var header: [[UInt8]] = []
    private var headerName: [UInt8] = []
    private var inHeader = true
    private var record = 1
    private var column = 0
    private var fieldLength = 0
    private var fieldOffset = 0
    private var fieldQuoted = false
    private var valueStarted = false
    private var recordStarted = false

    /// Creates a tokenizer that refuses records of more than `columnsMax` fields.
    init(columnsMax: Int) {
        self.columnsMax = columnsMax
    }

    mutating func consume(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws(ExtractionError) {
        guard delimiter == 0 else {
            try tokenize(bytes, offset: offset)
            return
        }
        if held.isEmpty { heldOffset = offset }
        var lineEnd: Int?
        for index in 0..<bytes.count {
            let byte = bytes[index]
            if byte == Self.quote {
                heldInQuotes.toggle()
            } else if (byte == 0x0A || byte == 0x0D) && !heldInQuotes {
                lineEnd = index + 1
                break
            }
        }
        let room = Self.detectionBytesMax - held.count
        if lineEnd == nil && bytes.count < room {
            held.append(contentsOf: bytes)
            return
        }
        let taken = min(lineEnd ?? room, room)
        held.append(contentsOf: bytes[..<taken])
        try releaseHeld()
        try tokenize(UnsafeBufferPointer(rebasing: bytes[taken...]), offset: offset + taken)
    }

    mutating func finish(offset: Int) throws(ExtractionError) {
        if delimiter == 0 { try releaseHeld() }
        switch state {
        case .quoted:
            throw ExtractionError(
                .malformed,
                "The CSV is malformed: the quoted field that starts at byte \(fieldOffset) never closes.",
                byteOffset: fieldOffset)
        case .fieldStart where column == 0:
            break
        case .afterCR:
            break
        default:
            endRecord()
        }
    }

    mutating func takePieces() -> [TextPiece] {
        assembler.takePieces()
    }

    // MARK: Delimiter

    /// Chooses the delimiter from the held first line, then tokenizes it.
    private mutating func releaseHeld() throws(ExtractionError) {
        var counts: [UInt8: Int] = [UInt8(ascii: ","): 0, UInt8(ascii: ";"): 0, 0x09: 0]
        var inQuotes = false
        for byte in held {
            if byte == Self.quote {
                inQuotes.toggle()
            } else if !inQuotes, let count = counts[byte] {
                counts[byte] = count + 1
            }
        }
        delimiter = UInt8(ascii: ",")
        for candidate in [UInt8(ascii: ";"), 0x09] where counts[candidate, default: 0] > counts[delimiter, default: 0] {
            delimiter = candidate
        }
        let bytes = held
        held = []
        try bytes.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
            try tokenize(buffer, offset: heldOffset)
        }
    }

    // MARK: Records and fields

    private mutating func tokenize(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws(ExtractionError) {
        guard let base = bytes.baseAddress else { return }
        let end = bytes.count
        let delimiter = self.delimiter
        var index = 0
        while index < end {
            switch state {
            case .fieldStart:
                let byte = base[index]
                fieldOffset = offset + index
                if byte == Self.quote {
                    fieldQuoted = true
                    state = .quoted
                    index += 1
                } else if byte == delimiter || byte == 0x0A || byte == 0x0D {
                    try endField(terminator: byte, at: offset + index)
                    index += 1
                } else {
                    state = .unquoted
                }
            case .unquoted:
                var stop = index
                while stop < end {
                    let byte = base[stop]
                    if byte == delimiter || byte == 0x0A || byte == 0x0D { break }
                    stop += 1
                }
                try content(UnsafeBufferPointer(rebasing: bytes[index..<stop]))
                if stop == end { return }
                try endField(terminator: base[stop], at: offset + stop)
                index = stop + 1
            case .quoted:
                var stop = index
                while stop < end && base[stop] != Self.quote { stop += 1 }
                try content(UnsafeBufferPointer(rebasing: bytes[index..<stop]))
                if stop == end { return }
                state = .quoteInQuoted
                index = stop + 1
            case .quoteInQuoted:
                let byte = base[index]
                if byte == Self.quote {
                    state = .quoted
                    try withUnsafePointer(to: Self.quote) { (pointer) throws(ExtractionError) in
                        try content(UnsafeBufferPointer(start: pointer, count: 1))
                    }
                    index += 1
                } else if byte == delimiter || byte == 0x0A || byte == 0x0D {
                    try endField(terminator: byte, at: offset + index)
                    index += 1
                } else {
                    state = .unquoted
                }
            case .afterCR:
                if base[index] == 0x0A { index += 1 }
                state = .fieldStart
            }
        }
    }

    /// Ends the field at a delimiter or a line end.
    private mutating func endField(terminator: UInt8, at offset: Int) throws(ExtractionError) {
        if terminator == delimiter {
            guard column + 1 < columnsMax else {
                throw ExtractionError(
                    .tooManyColumns,
                    "A CSV record has more than \(columnsMax) fields (record \(record), at byte \(offset)).",
                    byteOffset: offset)
            }
            closeField()
            column += 1
            state = .fieldStart
        } else {
            endRecord()
            state = terminator == 0x0D ? .afterCR : .fieldStart
        }
    }

    private mutating func endRecord() {
        let isBlank = column == 0 && fieldLength == 0 && !fieldQuoted
        if !isBlank {
            closeField()
            if inHeader { inHeader = false }
            record += 1
        }
        column = 0
        recordStarted = false
        state = .fieldStart
    }

    /// Finishes the current field's name (in the header) and resets the field.
    private mutating func closeField() {
        if inHeader {
            header.append(Self.normalisedName(headerName))
            headerName.removeAll(keepingCapacity: true)
        }
        fieldLength = 0
        fieldQuoted = false
        valueStarted = false
    }

    /// Field content (quotes removed): kept for a header name, or written as the value of the current column.
    private mutating func content(_ run: UnsafeBufferPointer<UInt8>) throws(ExtractionError) {
        guard !run.isEmpty else { return }
        fieldLength += run.count
        guard fieldLength <= Self.fieldBytesMax else {
            throw ExtractionError(
                .malformed,
                "The CSV is malformed: the field that starts at byte \(fieldOffset) is longer than "
                    + "\(Self.fieldBytesMax) bytes (is a quote unbalanced?).",
                byteOffset: fieldOffset)
        }
        if inHeader {
            // A few bytes over the limit are kept, so that the cut can find a character boundary.
            let room = Self.headerNameBytesMax + 4 - headerName.count
            if room > 0 { headerName.append(contentsOf: UnsafeBufferPointer(rebasing: run.prefix(room))) }
            return
        }
        var start = 0
        if !valueStarted {
            while start < run.count && TextAssembler.isWhitespace(run[start]) { start += 1 }
            if start == run.count { return }
            valueStarted = true
            if recordStarted {
                assembler.lineBreak()
            } else {
                assembler.paragraphBreak()
                recordStarted = true
            }
            if column < header.count && !header[column].isEmpty {
                assembler.write(header[column])
            } else {
                assembler.write(Array("column \(column + 1)".utf8))
            }
            assembler.write(Self.separator)
        }
        assembler.writeCollapsing(UnsafeBufferPointer(rebasing: run[start...]))
    }

    /// A header name with its white space collapsed and trimmed, cut to the limit at a character boundary.
    private static func normalisedName(_ bytes: [UInt8]) -> [UInt8] {
        var name: [UInt8] = []
        var owedSpace = false
        for byte in bytes {
            if TextAssembler.isWhitespace(byte) {
                owedSpace = !name.isEmpty
                continue
            }
            if owedSpace { name.append(0x20) }
            owedSpace = false
            name.append(byte)
        }
        if name.count > headerNameBytesMax {
            var cut = headerNameBytesMax
            while cut > 0 && name[cut] & 0xC0 == 0x80 { cut -= 1 }
            name.removeSubrange(cut...)
        }
        return name
    }
}
