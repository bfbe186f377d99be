/// Runs a page's content streams (ISO 32000-1 §8, §9) far enough to know which text is drawn where: the text
/// operators, the graphics state they depend on, fonts, and form XObjects.
///
/// Content streams are decoded and interpreted a piece at a time (never held whole), and forms are entered with an
/// explicit stack of frames, not recursion, so a hostile file can neither exhaust memory nor the call stack.
struct PDFContentInterpreter {
    /// The decoded bytes fetched per refill at least.
    static let refillBytes = 64 * 1024
    /// The most bytes one operator with its operands (or an inline image) may span.
    static let operatorBytesMax = 16 * 1024 * 1024
    /// The most operands kept for one operator; a stream that piles up more is damaged, and the excess dropped.
    static let operandsMax = 4096
    /// The most graphics states saved (`q`) at once; further saves are counted, not stored.
    static let savedStatesMax = 1024

    private struct GraphicsState {
        var ctm = PDFMatrix.identity
        var font = PDFFont.fallback
        var fontSize = 0.0
        var charSpacing = 0.0
        var wordSpacing = 0.0
        var horizontalScaling = 1.0
        var leading = 0.0
        var rise = 0.0
    }

    /// A content stream being read: the page's contents (possibly several streams) or a form's.
    private struct Frame {
        var lexer = PDFLexer(bytes: [], isComplete: false)
        /// Streams still to read after the current one.
        var pending: [PDFObject]
        var reader: PDFStreamReader?
        var resources: PDFDictionary
        /// The number of saved states when the frame started: `Q` never pops below it.
        var stateFloor: Int
        /// Whether the frame saved the graphics state when it started (forms do), to restore it at its end.
        var restoresState: Bool
        /// Fonts already looked up in this frame's resources, by name.
        var fonts: [String: PDFFont] = [:]
        /// Where the current operator's operands start in the lexer's bytes: kept when more bytes are read.
        var operandsStart = 0
    }

    private let configuration: TextExtractor.Configuration
    private let pageNumber: Int
    private var frames: [Frame] = []
    private var graphics = GraphicsState()
    private var savedStates: [GraphicsState] = []
    private var droppedSaves = 0
    private var textMatrix = PDFMatrix.identity
    private var lineMatrix = PDFMatrix.identity
    private var operands: [PDFObject] = []
    private var operatorCount = 0
    private var run: [UInt8] = []
    /// The page's text.
    private(set) var text: PDFPageText
    /// Whether the page draws an image (for the message about scanned documents).
    private(set) var sawImage = false
    /// The first damage found in the page's content streams (which end there), if any.
    private(set) var damage: ExtractionError?

    /// Prepares to interpret `page` (numbered `pageNumber` from 1, for messages).
    init(
        page: PDFPage, pageNumber: Int, document: inout PDFDocument, configuration: TextExtractor.Configuration,
        textBytesMax: Int
    ) throws(ExtractionError) {
        assert(
            Operator.allCases.allSatisfy { $0.rawValue == PDFKeyword($0.spelling).raw }, "An operator is packed wrong.")
        self.configuration = configuration
        self.pageNumber = pageNumber
        self.text = PDFPageText(bytesMax: textBytesMax)
        guard let dictionary = try document.resolve(page.object).dictionary else { return }
        let resources = try document.resolve(page.resources).dictionary ?? PDFDictionary()
        let contents: [PDFObject]
        switch try document.resolve(dictionary["Contents"]) {
        case .array(let list): contents = list
        case .stream(let stream): contents = [.stream(stream)]
        default: contents = []
        }
        guard !contents.isEmpty else { return }
        frames.append(Frame(pending: contents, resources: resources, stateFloor: 0, restoresState: false))
    }

    /// Interprets the page to its end.
    ///
    /// - Throws: `too_many_objects` past `pdfObjectsMax` operators; `too_deep` past `nestingDepthMax` nested forms
    ///   or containers; `too_large` past the text limit; `malformed` for damaged streams; decompression limits.
    mutating func run(document: inout PDFDocument) throws(ExtractionError) {
        while let top = frames.indices.last {
            let token: PDFToken
            do {
                token = try frames[top].lexer.next()
            } catch {
                try handle(error, frame: top, document: &document)
                continue
            }
            switch token {
            case .end:
                endFrame()
            case .arrayStart, .dictionaryStart:
                do {
                    let object = try PDFObjectParser.parse(
                        startingWith: token, lexer: &frames[top].lexer, depthMax: configuration.nestingDepthMax,
                        elementsMax: configuration.pdfObjectsMax)
                    push(object)
                } catch {
                    try handle(error, frame: top, document: &document)
                }
            case .integer(let value):
                push(.integer(value))
            case .real(let value):
                push(.real(value))
            case .string(let bytes):
                push(.string(bytes))
            case .name(let name):
                push(.name(name))
            case .arrayEnd, .dictionaryEnd:
                continue
            case .keyword(let keyword):
                operatorCount += 1
                guard operatorCount <= configuration.pdfObjectsMax else {
                    throw ExtractionError(
                        .tooManyObjects,
                        "Page \(pageNumber) has more than \(configuration.pdfObjectsMax) content operators.")
                }
                if keyword.raw == Operator.beginImage.rawValue {
                    do {
                        try skipInlineImage(frame: top)
                    } catch {
                        try handle(error, frame: top, document: &document)
                        continue
                    }
                    operands.removeAll(keepingCapacity: true)
                    frames[top].operandsStart = frames[top].lexer.position
                    continue
                }
                frames[top].operandsStart = frames[top].lexer.position
                try execute(keyword, document: &document)
                operands.removeAll(keepingCapacity: true)
            }
        }
    }

    private mutating func push(_ operand: PDFObject) {
        if operands.count >= Self.operandsMax { operands.removeAll(keepingCapacity: true) }
        operands.append(operand)
    }

    /// Reacts to a lexing failure: reads more bytes when the window ended, skips a damaged operator, or fails.
    private mutating func handle(_ error: PDFSyntaxError, frame: Int, document: inout PDFDocument)
        throws(ExtractionError)
    {
        switch error {
        case .needMore:
            try refill(frame, document: &document)
        case .failed(let failure):
            guard failure.code == .malformed else { throw failure }
            // A damaged operator (an unterminated string inside an array, say): drop its operands and go on after
            // it, as viewers do; the rest of the page is still good text.
            operands.removeAll(keepingCapacity: true)
            let lexer = frames[frame].lexer
            if lexer.position >= lexer.bytes.count {
                frames[frame].lexer.isComplete = true
            } else {
                frames[frame].lexer.position += 1
            }
            frames[frame].operandsStart = frames[frame].lexer.position
        }
    }

    /// Reads more of a frame's content: keeps the bytes from the start of the current operator's operands (they
    /// are parsed again) and appends at least as many new ones.
    private mutating func refill(_ index: Int, document: inout PDFDocument) throws(ExtractionError) {
        let keep = frames[index].operandsStart
        operands.removeAll(keepingCapacity: true)
        frames[index].lexer.bytes.removeSubrange(0..<keep)
        frames[index].lexer.position = 0
        frames[index].lexer.baseOffset = 0
        frames[index].operandsStart = 0
        let target = max(Self.refillBytes, frames[index].lexer.bytes.count)
        var appended = 0
        while appended < target {
            guard let piece = try nextPiece(index, document: &document) else {
                frames[index].lexer.isComplete = true
                break
            }
            frames[index].lexer.bytes.append(contentsOf: piece)
            appended += piece.count
        }
        guard frames[index].lexer.bytes.count <= Self.operatorBytesMax else {
            throw ExtractionError(
                .malformed, "A content operator on page \(pageNumber) spans more than \(Self.operatorBytesMax) bytes.")
        }
    }

    /// The next decoded piece of a frame's streams; a line feed between two streams (a page's contents may be
    /// split anywhere between tokens); nil after the last.
    ///
    /// A stream that cannot be decoded (corrupt compressed data, no end, a filter that holds no text) ends where
    /// the damage starts, and the page goes on with its next stream: the text before the damage is good text.
    /// ``damage`` records it, so that a document with no text at all is reported as damaged, not as empty.
    private mutating func nextPiece(_ index: Int, document: inout PDFDocument) throws(ExtractionError) -> [UInt8]? {
        while true {
            if frames[index].reader != nil {
                do {
                    if let piece = try frames[index].reader?.next(source: document.source, budget: &document.budget) {
                        return piece
                    }
                } catch {
                    guard error.code == .malformed else { throw error }
                    damage = damage ?? error
                }
                frames[index].reader = nil
                if frames[index].pending.isEmpty { return nil }
                return [0x0A]
            }
            guard !frames[index].pending.isEmpty else { return nil }
            let object = frames[index].pending.removeFirst()
            guard let stream = try document.resolve(object).stream else { continue }
            do {
                frames[index].reader = try document.streamReader(stream)
            } catch {
                guard error.code == .malformed else { throw error }
                damage = damage ?? error
            }
        }
    }

    private mutating func endFrame() {
        let frame = frames.removeLast()
        droppedSaves = 0
        if savedStates.count > frame.stateFloor { savedStates.removeLast(savedStates.count - frame.stateFloor) }
        if frame.restoresState, let saved = savedStates.popLast() { graphics = saved }
    }

    // MARK: - Operators

    /// The operators that matter to text, by their packed keyword (written out: a `switch` over an enum's raw
    /// values compiles to a jump, where comparing with `PDFKeyword("Tj")` constants would initialise each lazily and
    /// check it on every use).
    enum Operator: UInt64, CaseIterable {
        /// `q`
        case save = 0x71
        /// `Q`
        case restore = 0x51
        /// `cm`
        case concatenate = 0x636D
        /// `BT`
        case beginText = 0x4254
        /// `Tc`
        case charSpacing = 0x5463
        /// `Tw`
        case wordSpacing = 0x5477
        /// `Tz`
        case horizontalScaling = 0x547A
        /// `TL`
        case leading = 0x544C
        /// `Tf`
        case font = 0x5466
        /// `Ts`
        case rise = 0x5473
        /// `Td`
        case moveText = 0x5464
        /// `TD`
        case moveTextSettingLeading = 0x5444
        /// `Tm`
        case textMatrix = 0x546D
        /// `T*`
        case nextLine = 0x542A
        /// `Tj`
        case show = 0x546A
        /// `TJ`
        case showArray = 0x544A
        /// `'`
        case nextLineShow = 0x27
        /// `"`
        case nextLineSpacingShow = 0x22
        /// `Do`
        case drawObject = 0x446F
        /// `gs`
        case graphicsState = 0x6773
        /// `BI`
        case beginImage = 0x4249
        /// `ID`
        case imageData = 0x4944

        /// The spelling of each operator, for the check that the packing is right.
        var spelling: String {
            switch self {
            case .save: "q"
            case .restore: "Q"
            case .concatenate: "cm"
            case .beginText: "BT"
            case .charSpacing: "Tc"
            case .wordSpacing: "Tw"
            case .horizontalScaling: "Tz"
            case .leading: "TL"
            case .font: "Tf"
            case .rise: "Ts"
            case .moveText: "Td"
            case .moveTextSettingLeading: "TD"
            case .textMatrix: "Tm"
            case .nextLine: "T*"
            case .show: "Tj"
            case .showArray: "TJ"
            case .nextLineShow: "'"
            case .nextLineSpacingShow: "\""
            case .drawObject: "Do"
            case .graphicsState: "gs"
            case .beginImage: "BI"
            case .imageData: "ID"
            }
        }
    }

    /// The `index`-th of the last `count` operands as a number (0 when missing or not a number).
    private func number(_ index: Int, of count: Int) -> Double {
        let position = operands.count - count + index
        guard position >= 0 && position < operands.count, let value = operands[position].number, value.isFinite
        else { return 0 }
        return value
    }

    private func matrixOperand() -> PDFMatrix? {
        guard operands.count >= 6 else { return nil }
        return PDFMatrix((0..<6).map { number($0, of: 6) })
    }

    private mutating func execute(_ keyword: PDFKeyword, document: inout PDFDocument) throws(ExtractionError) {
        guard let operation = Operator(rawValue: keyword.raw) else { return }
        switch operation {
        case .save:
            if savedStates.count < Self.savedStatesMax {
                savedStates.append(graphics)
            } else {
                droppedSaves += 1
            }
        case .restore:
            if droppedSaves > 0 {
                droppedSaves -= 1
            } else if let floor = frames.last?.stateFloor, savedStates.count > floor, let saved = savedStates.popLast()
            {
                graphics = saved
            }
        case .concatenate:
            if let matrix = matrixOperand() { graphics.ctm = matrix.concatenating(graphics.ctm) }
        case .beginText:
            textMatrix = .identity
            lineMatrix = .identity
        case .charSpacing:
            graphics.charSpacing = number(0, of: 1)
        case .wordSpacing:
            graphics.wordSpacing = number(0, of: 1)
        case .horizontalScaling:
            graphics.horizontalScaling = number(0, of: 1) / 100
        case .leading:
            graphics.leading = number(0, of: 1)
        case .rise:
            graphics.rise = number(0, of: 1)
        case .font:
            if operands.count >= 2, case .name(let name) = operands[operands.count - 2] {
                graphics.font = try font(named: name, document: &document)
            }
            graphics.fontSize = number(1, of: 2)
        case .moveText:
            moveText(number(0, of: 2), number(1, of: 2))
        case .moveTextSettingLeading:
            graphics.leading = -number(1, of: 2)
            moveText(number(0, of: 2), number(1, of: 2))
        case .textMatrix:
            if let matrix = matrixOperand() {
                textMatrix = matrix
                lineMatrix = matrix
            }
        case .nextLine:
            moveText(0, -graphics.leading)
        case .show:
            if case .string(let bytes) = operands.last { try show(bytes) }
        case .nextLineShow:
            moveText(0, -graphics.leading)
            if case .string(let bytes) = operands.last { try show(bytes) }
        case .nextLineSpacingShow:
            if operands.count >= 3 {
                graphics.wordSpacing = number(0, of: 3)
                graphics.charSpacing = number(1, of: 3)
            }
            moveText(0, -graphics.leading)
            if case .string(let bytes) = operands.last { try show(bytes) }
        case .showArray:
            guard case .array(let items) = operands.last else { return }
            for item in items {
                switch item {
                case .string(let bytes):
                    try show(bytes)
                case .integer, .real:
                    // A number moves the next glyph back by thousandths of the font size (forward when negative).
                    let adjustment = -(item.number ?? 0) / 1000 * graphics.fontSize * graphics.horizontalScaling
                    if adjustment.isFinite {
                        textMatrix = PDFMatrix.translation(adjustment, 0).concatenating(textMatrix)
                    }
                default:
                    continue
                }
            }
        case .drawObject:
            if case .name(let name) = operands.last { try drawObject(named: name, document: &document) }
        case .graphicsState:
            if case .name(let name) = operands.last { try applyGraphicsState(named: name, document: &document) }
        case .beginImage, .imageData:
            // `BI` is handled by the loop (it reads the image's bytes); a stray `ID` means nothing.
            break
        }
    }

    private mutating func moveText(_ x: Double, _ y: Double) {
        lineMatrix = PDFMatrix.translation(x, y).concatenating(lineMatrix)
        textMatrix = lineMatrix
    }

    /// Shows a string: its text goes to the page, placed where the text matrix says, which then advances.
    private mutating func show(_ bytes: [UInt8]) throws(ExtractionError) {
        let spacing = graphics.charSpacing * graphics.horizontalScaling
        guard bytes.count > 1, spacing > PDFPageText.wordGapRatio * abs(graphics.fontSize) else {
            try showRun(bytes)
            return
        }
        // Character spacing as wide as a word space spreads the letters apart (some writers make word spaces so):
        // each glyph is placed on its own, as a reader sees them.
        var index = 0
        while index < bytes.count {
            let length = graphics.font.codeLength(bytes, at: index)
            try showRun(Array(bytes[index..<(index + length)]))
            index += length
        }
    }

    private mutating func showRun(_ bytes: [UInt8]) throws(ExtractionError) {
        let state = graphics
        let matrix = textMatrix.concatenating(state.ctm)
        run.removeAll(keepingCapacity: true)
        let spacing = PDFFont.Spacing(
            fontSize: state.fontSize, charSpacing: state.charSpacing, wordSpacing: state.wordSpacing,
            narrowSpaceMax: PDFPageText.wordGapRatio * abs(state.fontSize))
        let shown = state.font.show(bytes, spacing: spacing, into: &run)
        var advance = shown.advance * state.horizontalScaling
        if !advance.isFinite { advance = 0 }
        if !run.isEmpty {
            // The run ends where its last glyph ends: the spacing after it belongs to the gap before the next.
            let trailing = shown.trailing * state.horizontalScaling
            let start = matrix.apply(0, state.rise)
            let end = matrix.apply(trailing.isFinite ? advance - trailing : advance, state.rise)
            let xLength = (matrix.a * matrix.a + matrix.b * matrix.b).squareRoot()
            let direction =
                xLength > 0 && xLength.isFinite
                ? PDFPageText.Point(x: matrix.a / xLength, y: matrix.b / xLength) : PDFPageText.Point(x: 1, y: 0)
            let size = abs(state.fontSize) * (matrix.c * matrix.c + matrix.d * matrix.d).squareRoot()
            try text.add(
                run, start: PDFPageText.Point(x: start.x, y: start.y), end: PDFPageText.Point(x: end.x, y: end.y),
                direction: direction, size: size.isFinite ? size : 0)
        }
        textMatrix = PDFMatrix.translation(advance, 0).concatenating(textMatrix)
    }

    private mutating func font(named name: String, document: inout PDFDocument) throws(ExtractionError) -> PDFFont {
        guard let top = frames.indices.last else { return .fallback }
        if let font = frames[top].fonts[name] { return font }
        let font: PDFFont
        if let object = try document.resolve(frames[top].resources["Font"]).dictionary?[name] {
            font = try document.font(object)
        } else {
            font = .fallback
        }
        frames[top].fonts[name] = font
        return font
    }

    /// `gs`: of an external graphics state, only `/Font [font size]` matters to text.
    private mutating func applyGraphicsState(named name: String, document: inout PDFDocument)
        throws(ExtractionError)
    {
        guard let top = frames.indices.last else { return }
        let states = try document.resolve(frames[top].resources["ExtGState"]).dictionary
        guard let state = try document.resolve(states?[name]).dictionary,
            let setting = try document.resolve(state["Font"]).array, setting.count == 2
        else { return }
        graphics.font = try document.font(setting[0])
        graphics.fontSize = try document.resolve(setting[1]).number ?? graphics.fontSize
    }

    /// `Do`: an image is noted; a form's content stream is entered with its own resources and matrix.
    private mutating func drawObject(named name: String, document: inout PDFDocument) throws(ExtractionError) {
        guard let top = frames.indices.last,
            let object = try document.resolve(frames[top].resources["XObject"]).dictionary?[name],
            let stream = try document.resolve(object).stream
        else { return }
        switch stream.dictionary.name("Subtype") {
        case "Image":
            sawImage = true
        case "Form":
            guard frames.count < configuration.nestingDepthMax else {
                throw ExtractionError(
                    .tooDeep,
                    "Forms on page \(pageNumber) nest deeper than the limit of \(configuration.nestingDepthMax).")
            }
            let resources = try document.resolve(stream.dictionary["Resources"]).dictionary ?? frames[top].resources
            savedStates.append(graphics)
            if let values = try document.resolve(stream.dictionary["Matrix"]).array,
                let matrix = PDFMatrix(values.compactMap(\.number))
            {
                graphics.ctm = matrix.concatenating(graphics.ctm)
            }
            frames.append(
                Frame(
                    pending: [.stream(stream)], resources: resources, stateFloor: savedStates.count,
                    restoresState: true))
        default:
            break
        }
    }

    /// Skips an inline image, `BI` (already read) … `ID` data `EI`.
    ///
    /// - Throws: `needMore` when the image does not end within the bytes at hand.
    private mutating func skipInlineImage(frame index: Int) throws(PDFSyntaxError) {
        sawImage = true
        // The image's dictionary: keys and values up to `ID`.
        while true {
            let token = try frames[index].lexer.next()
            switch token {
            case .keyword(let keyword) where keyword.raw == Operator.imageData.rawValue:
                break
            case .end:
                return
            case .arrayStart, .dictionaryStart:
                _ = try PDFObjectParser.parse(
                    startingWith: token, lexer: &frames[index].lexer, depthMax: configuration.nestingDepthMax,
                    elementsMax: configuration.pdfObjectsMax)
                continue
            default:
                continue
            }
            break
        }
        // The data: binary, ended by `EI` between white space (the usual heuristic: the data's length is not
        // given unless it is unfiltered).
        let lexer = frames[index].lexer
        let bytes = lexer.bytes
        var position = lexer.position + 1
        while position + 1 < bytes.count {
            if bytes[position] == UInt8(ascii: "E"), bytes[position + 1] == UInt8(ascii: "I"),
                PDFLexer.isWhitespace(bytes[position - 1])
            {
                let after = position + 2
                if after < bytes.count ? PDFLexer.isBoundary(bytes[after]) : lexer.isComplete {
                    frames[index].lexer.position = after
                    return
                }
            }
            position += 1
        }
        if !lexer.isComplete { throw .needMore }
        frames[index].lexer.position = bytes.count
    }
}
