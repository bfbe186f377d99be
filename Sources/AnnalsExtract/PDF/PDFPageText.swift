/// The text of one page as the content streams draw it: runs of text placed at positions, turned into words,
/// lines and paragraphs.
///
/// Runs are kept in drawing order (as `pdftotext -raw` does); where a run starts relative to where the previous one
/// ended decides what separates them: a line break when it moved across the line (by more than half the font
/// size), a space when it jumped along the line (by more than ``wordGapRatio`` of the font size). Whether a line
/// break is a paragraph break is decided at the end of the page, once the page's usual line pitch is known.
struct PDFPageText {
    /// A gap along the line wider than this fraction of the font size separates two words. Word spaces are about
    /// a quarter of the font size, kerning and italic corrections a tenth or less.
    static let wordGapRatio = 0.15
    /// A move across the line by more than this fraction of the font size starts a new line (a superscript moves
    /// by less).
    static let lineGapRatio = 0.5
    /// A line pitch this much larger than the page's usual one starts a paragraph.
    static let paragraphPitchRatio = 1.3
    /// Without a usual pitch (a page of few lines), a gap of this many font sizes starts a paragraph.
    static let paragraphGapRatio = 1.8
    /// Line gaps smaller than this fraction of the font size (a subscript's, overlapping lines') are no pitch.
    static let pitchSizeRatioMin = 0.8

    /// A point in device space.
    struct Point {
        var x: Double
        var y: Double
    }

    private struct LineBreak {
        var position: Int
        /// How far the line moved down (negative: up), in device space units.
        var gap: Double
        var size: Double
    }

    private struct Run {
        var end: Point
        var direction: Point
        var size: Double
    }

    /// The most bytes of text the page may hold; beyond it, `too_large`.
    let bytesMax: Int
    private var bytes: [UInt8] = []
    private var breaks: [LineBreak] = []
    private var pendingSpace = false
    private var lineHasText = false
    private var last: Run?

    init(bytesMax: Int) { self.bytesMax = bytesMax }

    /// Whether the page has any text.
    var isEmpty: Bool { bytes.isEmpty }

    /// Adds a run of UTF-8 text drawn from `start` to `end` along `direction` (a unit vector) at `size`.
    ///
    /// - Throws: `too_large` past `bytesMax`.
    mutating func add(_ run: [UInt8], start: Point, end: Point, direction: Point, size: Double)
        throws(ExtractionError)
    {
        if let last {
            let dx = start.x - last.end.x
            let dy = start.y - last.end.y
            let along = dx * last.direction.x + dy * last.direction.y
            let across = dy * last.direction.x - dx * last.direction.y
            var height = max(size, last.size)
            if !(height > 0.01) { height = 1 }
            let turned = direction.x * last.direction.x + direction.y * last.direction.y < 0.95
            if turned || abs(across) > Self.lineGapRatio * height {
                lineBreak(gap: -across, size: height)
            } else if along > Self.wordGapRatio * height || along < -height {
                if lineHasText { pendingSpace = true }
            }
        }
        append(run)
        guard bytes.count <= bytesMax else {
            throw ExtractionError(.tooLarge, "The extracted text exceeds the limit of \(bytesMax) bytes.")
        }
        last = Run(end: end, direction: direction, size: size)
    }

    /// Appends `run`, collapsing white space (and control characters) into single spaces inside a line.
    private mutating func append(_ run: [UInt8]) {
        for byte in run {
            if byte <= 0x20 || byte == 0x7F {
                if lineHasText { pendingSpace = true }
                continue
            }
            if pendingSpace {
                bytes.append(0x20)
                pendingSpace = false
            }
            bytes.append(byte)
            lineHasText = true
        }
    }

    private mutating func lineBreak(gap: Double, size: Double) {
        pendingSpace = false
        if !lineHasText {
            // No text since the previous break (a line of spaces): the two moves make one larger one.
            if let lastIndex = breaks.indices.last, breaks[lastIndex].position == bytes.count {
                breaks[lastIndex].gap += gap
                breaks[lastIndex].size = max(breaks[lastIndex].size, size)
            }
            return
        }
        breaks.append(LineBreak(position: bytes.count, gap: gap, size: size))
        lineHasText = false
    }

    /// The page's usual line pitch: the smallest downward line gap (to half a unit) that is common (a tenth of the
    /// gaps, and at least two), else the most common one; nil for a page without such gaps. The smallest, not the
    /// most common: in a list of short items, the gaps between items can outnumber those between lines.
    private func usualPitch() -> Double? {
        var counts: [Int: Int] = [:]
        var total = 0
        for lineBreak in breaks
        where lineBreak.gap >= Self.pitchSizeRatioMin * lineBreak.size && lineBreak.gap < 3 * lineBreak.size {
            counts[Int((lineBreak.gap * 2).rounded()), default: 0] += 1
            total += 1
        }
        let common = counts.filter { $0.value >= max(2, total / 10) }
        if let smallest = common.keys.min() { return Double(smallest) / 2 }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }.map {
            Double($0.key) / 2
        }
    }

    /// The page's text: lines separated by `\n`, paragraphs by a blank line, no white space at either end.
    func finish() -> [UInt8] {
        let pitch = usualPitch()
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count + 2 * breaks.count)
        var cursor = 0
        for lineBreak in breaks where lineBreak.position < bytes.count {
            result.append(contentsOf: bytes[cursor..<lineBreak.position])
            cursor = lineBreak.position
            let isParagraph: Bool
            if lineBreak.gap < -Self.lineGapRatio * lineBreak.size {
                // Up the page: a new column or block.
                isParagraph = true
            } else if let pitch, pitch > 0 {
                isParagraph = lineBreak.gap > pitch * Self.paragraphPitchRatio
            } else {
                isParagraph = lineBreak.gap > Self.paragraphGapRatio * lineBreak.size
            }
            result.append(0x0A)
            if isParagraph { result.append(0x0A) }
        }
        result.append(contentsOf: bytes[cursor...])
        return result
    }
}
