/// One decoding step of a stream's filter chain (`/FlateDecode`, a predictor, `/ASCII85Decode`…), fed a piece of
/// input at a time.
///
/// A class, because a chain is a list of stages that each keep state between pieces (zlib's stream, a predictor's
/// previous row); stages belong to one stream reader and are never shared.
protocol PDFDecodeStage: AnyObject {
    /// Decodes the next piece of input; `isFinal` marks the last call, which flushes what is held back.
    ///
    /// - Throws: `malformed` for corrupt data; `decompressed_too_large` or `compression_ratio` from `budget`.
    func decode(_ input: [UInt8], isFinal: Bool, budget: inout DecompressionBudget) throws(ExtractionError) -> [UInt8]
}

/// The decoding stages for a stream dictionary's `/Filter` and `/DecodeParms` (already resolved).
enum PDFFilters {
    /// The most filters one stream may chain.
    static let chainLengthMax = 8

    /// Makes the stages for `filters` (names) and their parameters (dictionaries or nulls, in the same order).
    ///
    /// - Throws: `malformed` for a filter that cannot yield text (image codecs) or that is unknown, or too long a
    ///   chain.
    static func stages(filters: [String], parameters: [PDFDictionary?]) throws(ExtractionError) -> [any PDFDecodeStage]
    {
        guard filters.count <= chainLengthMax else {
            throw ExtractionError(.malformed, "A stream chains \(filters.count) filters; at most \(chainLengthMax).")
        }
        var stages: [any PDFDecodeStage] = []
        for (index, filter) in filters.enumerated() {
            let parameters = index < parameters.count ? parameters[index] : nil
            switch filter {
            case "FlateDecode", "Fl":
                stages.append(PDFFlateStage(try Inflater(framing: .zlib)))
                if let predictor = try PDFPredictorStage.make(parameters) { stages.append(predictor) }
            case "LZWDecode", "LZW":
                let earlyChange = parameters?.integer("EarlyChange") ?? 1
                stages.append(PDFLZWStage(earlyChange: earlyChange != 0))
                if let predictor = try PDFPredictorStage.make(parameters) { stages.append(predictor) }
            case "ASCIIHexDecode", "AHx":
                stages.append(PDFASCIIHexStage())
            case "ASCII85Decode", "A85":
                stages.append(PDFASCII85Stage())
            case "RunLengthDecode", "RL":
                stages.append(PDFRunLengthStage())
            case "Crypt":
                // Only the identity crypt filter can appear in a document we read: encrypted ones are refused.
                continue
            default:
                throw ExtractionError(.malformed, "A stream uses the \(filter) filter, which holds no text.")
            }
        }
        return stages
    }
}

/// `/FlateDecode` through the shared ``Inflater``.
final class PDFFlateStage: PDFDecodeStage {
    private let inflater: Inflater

    init(_ inflater: Inflater) { self.inflater = inflater }

    func decode(_ input: [UInt8], isFinal: Bool, budget: inout DecompressionBudget) throws(ExtractionError) -> [UInt8] {
        var output: [UInt8] = []
        try input.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
            try inflater.feed(buffer, budget: &budget) { output.append(contentsOf: $0) }
        }
        // A stream cut before zlib's end marker keeps what it yielded: many writers omit the checksum, and the
        // text decoded so far is good text. Corrupt data in the middle still fails in `feed`.
        return output
    }
}

/// The PNG (10–15) and TIFF (2) predictors of `/DecodeParms`, undone row by row.
final class PDFPredictorStage: PDFDecodeStage {
    /// The longest row a predictor may declare.
    static let rowBytesMax = 1 << 20

    private let isPNG: Bool
    private let bytesPerPixel: Int
    private let rowBytes: Int
    private var previous: [UInt8]
    private var pending: [UInt8] = []

    private init(isPNG: Bool, bytesPerPixel: Int, rowBytes: Int) {
        self.isPNG = isPNG
        self.bytesPerPixel = bytesPerPixel
        self.rowBytes = rowBytes
        self.previous = [UInt8](repeating: 0, count: rowBytes)
    }

    /// The stage the parameters ask for, or nil for none (`/Predictor 1` or absent).
    static func make(_ parameters: PDFDictionary?) throws(ExtractionError) -> PDFPredictorStage? {
        guard let parameters, let predictor = parameters.integer("Predictor"), predictor >= 2 else { return nil }
        let colors = parameters.integer("Colors") ?? 1
        let bitsPerComponent = parameters.integer("BitsPerComponent") ?? 8
        let columns = parameters.integer("Columns") ?? 1
        guard (1...64).contains(colors), [1, 2, 4, 8, 16].contains(bitsPerComponent), columns >= 1,
            columns <= rowBytesMax
        else {
            throw ExtractionError(.malformed, "A stream's predictor parameters are out of range.")
        }
        let rowBytes = (columns * colors * bitsPerComponent + 7) / 8
        guard rowBytes <= rowBytesMax else {
            throw ExtractionError(.malformed, "A stream's predictor rows are longer than \(rowBytesMax) bytes.")
        }
        let bytesPerPixel = max(1, (colors * bitsPerComponent + 7) / 8)
        if predictor == 2 {
            // The TIFF predictor on 8-bit components; other depths hold images, never text structures.
            guard bitsPerComponent == 8 else {
                throw ExtractionError(.malformed, "The TIFF predictor is supported for 8-bit components only.")
            }
            return PDFPredictorStage(isPNG: false, bytesPerPixel: bytesPerPixel, rowBytes: rowBytes)
        }
        guard predictor >= 10 && predictor <= 15 else {
            throw ExtractionError(.malformed, "A stream names the unknown predictor \(predictor).")
        }
        return PDFPredictorStage(isPNG: true, bytesPerPixel: bytesPerPixel, rowBytes: rowBytes)
    }

    func decode(_ input: [UInt8], isFinal: Bool, budget: inout DecompressionBudget) throws(ExtractionError) -> [UInt8] {
        pending.append(contentsOf: input)
        let stride = isPNG ? rowBytes + 1 : rowBytes
        var output: [UInt8] = []
        output.reserveCapacity(pending.count)
        var start = 0
        while pending.count - start >= stride || (isFinal && pending.count > start) {
            let available = min(stride, pending.count - start)
            var row = [UInt8](repeating: 0, count: rowBytes)
            if isPNG {
                let type = pending[start]
                let count = available - 1
                for index in 0..<count { row[index] = pending[start + 1 + index] }
                undoPNG(type: type, row: &row, count: count)
                output.append(contentsOf: row[0..<count])
            } else {
                for index in 0..<available {
                    let left = index >= bytesPerPixel ? row[index - bytesPerPixel] : 0
                    row[index] = pending[start + index] &+ left
                }
                output.append(contentsOf: row[0..<available])
            }
            previous = row
            start += available
        }
        pending.removeFirst(start)
        return output
    }

    private func undoPNG(type: UInt8, row: inout [UInt8], count: Int) {
        let bpp = bytesPerPixel
        switch type {
        case 1:
            for index in bpp..<max(bpp, count) { row[index] = row[index] &+ row[index - bpp] }
        case 2:
            for index in 0..<count { row[index] = row[index] &+ previous[index] }
        case 3:
            for index in 0..<count {
                let left = index >= bpp ? Int(row[index - bpp]) : 0
                row[index] = row[index] &+ UInt8((left + Int(previous[index])) / 2)
            }
        case 4:
            for index in 0..<count {
                let left = index >= bpp ? Int(row[index - bpp]) : 0
                let up = Int(previous[index])
                let upLeft = index >= bpp ? Int(previous[index - bpp]) : 0
                let estimate = left + up - upLeft
                let distanceLeft = abs(estimate - left)
                let distanceUp = abs(estimate - up)
                let distanceUpLeft = abs(estimate - upLeft)
                let predictor =
                    distanceLeft <= distanceUp && distanceLeft <= distanceUpLeft
                    ? left : (distanceUp <= distanceUpLeft ? up : upLeft)
                row[index] = row[index] &+ UInt8(predictor)
            }
        default:
            // Type 0 (none), and unknown types, which are read as none.
            break
        }
    }
}

/// `/LZWDecode`, with `/EarlyChange` (ISO 32000-1 §7.4.4).
final class PDFLZWStage: PDFDecodeStage {
    private static let clearCode = 256
    private static let endCode = 257
    private static let firstFreeCode = 258
    private static let tableSizeMax = 4096

    private let earlyChange: Int
    private var prefix = [Int32](repeating: -1, count: PDFLZWStage.tableSizeMax)
    private var suffix = [UInt8](repeating: 0, count: PDFLZWStage.tableSizeMax)
    private var lengths = [Int32](repeating: 1, count: PDFLZWStage.tableSizeMax)
    private var nextCode = PDFLZWStage.firstFreeCode
    private var codeBits = 9
    private var previousCode = -1
    private var bitBuffer: UInt32 = 0
    private var bitCount = 0
    private var ended = false

    init(earlyChange: Bool) {
        self.earlyChange = earlyChange ? 1 : 0
        for code in 0..<256 { suffix[code] = UInt8(code) }
    }

    func decode(_ input: [UInt8], isFinal: Bool, budget: inout DecompressionBudget) throws(ExtractionError) -> [UInt8] {
        budget.consumed += input.count
        var output: [UInt8] = []
        var charged = 0
        for byte in input where !ended {
            bitBuffer = bitBuffer << 8 | UInt32(byte)
            bitCount += 8
            while bitCount >= codeBits && !ended {
                let code = Int((bitBuffer >> UInt32(bitCount - codeBits)) & ((1 << UInt32(codeBits)) - 1))
                bitCount -= codeBits
                try handle(code, output: &output)
            }
            // Charge as the output grows, so that a bomb stops at the budget rather than after the whole piece.
            if output.count - charged >= Inflater.outputChunkBytes {
                try budget.charge(output.count - charged)
                charged = output.count
            }
        }
        try budget.charge(output.count - charged)
        return output
    }

    private func handle(_ code: Int, output: inout [UInt8]) throws(ExtractionError) {
        if code == Self.clearCode {
            nextCode = Self.firstFreeCode
            codeBits = 9
            previousCode = -1
            return
        }
        if code == Self.endCode {
            ended = true
            return
        }
        guard previousCode >= 0 else {
            guard code < 256 else { throw ExtractionError(.malformed, "An LZW stream holds an invalid code.") }
            output.append(UInt8(code))
            previousCode = code
            return
        }
        let first: UInt8
        if code < nextCode && code != Self.clearCode && code != Self.endCode {
            first = emit(code, into: &output)
        } else if code == nextCode {
            // The code being defined: the previous string followed by its own first byte.
            first = emit(previousCode, into: &output)
            output.append(first)
        } else {
            throw ExtractionError(.malformed, "An LZW stream holds an invalid code.")
        }
        if nextCode < Self.tableSizeMax {
            prefix[nextCode] = Int32(previousCode)
            suffix[nextCode] = first
            lengths[nextCode] = lengths[previousCode] + 1
            nextCode += 1
        }
        previousCode = code
        let threshold = nextCode + earlyChange
        codeBits = threshold >= 2048 ? 12 : threshold >= 1024 ? 11 : threshold >= 512 ? 10 : 9
    }

    /// Appends the string of `code`; returns its first byte.
    private func emit(_ code: Int, into output: inout [UInt8]) -> UInt8 {
        let length = Int(lengths[code])
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: length))
        var current = code
        var index = start + length - 1
        while index >= start && current >= 0 {
            output[index] = suffix[current]
            current = Int(prefix[current])
            index -= 1
        }
        return output[start]
    }
}

/// `/ASCIIHexDecode`: pairs of hexadecimal digits up to `>`.
final class PDFASCIIHexStage: PDFDecodeStage {
    private var high: UInt8?
    private var ended = false

    func decode(_ input: [UInt8], isFinal: Bool, budget: inout DecompressionBudget) throws(ExtractionError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 2)
        for byte in input where !ended {
            if byte == UInt8(ascii: ">") {
                ended = true
                break
            }
            guard let value = PDFLexer.hexValue(byte) else {
                if PDFLexer.isWhitespace(byte) { continue }
                throw ExtractionError(.malformed, "An ASCIIHex stream holds a byte that is not a hexadecimal digit.")
            }
            if let pending = high {
                output.append(pending << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        if isFinal, let pending = high {
            output.append(pending << 4)
            high = nil
        }
        return output
    }
}

/// `/ASCII85Decode`: groups of five base-85 digits up to `~>`, `z` for four zero bytes.
final class PDFASCII85Stage: PDFDecodeStage {
    private var group: UInt64 = 0
    private var count = 0
    private var ended = false

    func decode(_ input: [UInt8], isFinal: Bool, budget: inout DecompressionBudget) throws(ExtractionError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        for byte in input where !ended {
            switch byte {
            case UInt8(ascii: "~"):
                ended = true
            case UInt8(ascii: "z") where count == 0:
                output.append(contentsOf: [0, 0, 0, 0])
            case UInt8(ascii: "!")...UInt8(ascii: "u"):
                group = group * 85 + UInt64(byte - UInt8(ascii: "!"))
                count += 1
                if count == 5 {
                    guard group <= UInt64(UInt32.max) else {
                        throw ExtractionError(.malformed, "An ASCII85 stream holds a group beyond 32 bits.")
                    }
                    output.append(contentsOf: [
                        UInt8(group >> 24 & 0xFF), UInt8(group >> 16 & 0xFF), UInt8(group >> 8 & 0xFF),
                        UInt8(group & 0xFF),
                    ])
                    group = 0
                    count = 0
                }
            default:
                if PDFLexer.isWhitespace(byte) { continue }
                throw ExtractionError(.malformed, "An ASCII85 stream holds a byte outside its alphabet.")
            }
        }
        if (isFinal || ended) && count > 0 {
            // A final partial group of n digits stands for n - 1 bytes, padded with the highest digit.
            let digits = count
            for _ in digits..<5 { group = group * 85 + 84 }
            let bytes = [UInt8(group >> 24 & 0xFF), UInt8(group >> 16 & 0xFF), UInt8(group >> 8 & 0xFF)]
            output.append(contentsOf: bytes.prefix(digits - 1))
            group = 0
            count = 0
        }
        return output
    }
}

/// `/RunLengthDecode`: a length byte, then that many literal bytes or one byte repeated.
final class PDFRunLengthStage: PDFDecodeStage {
    private var pending: [UInt8] = []
    private var ended = false

    func decode(_ input: [UInt8], isFinal: Bool, budget: inout DecompressionBudget) throws(ExtractionError) -> [UInt8] {
        budget.consumed += input.count
        pending.append(contentsOf: input)
        var output: [UInt8] = []
        var index = 0
        while index < pending.count && !ended {
            let length = Int(pending[index])
            if length == 128 {
                ended = true
            } else if length < 128 {
                guard index + 1 + length + 1 <= pending.count else { break }
                output.append(contentsOf: pending[(index + 1)...(index + 1 + length)])
                index += length + 2
                continue
            } else {
                guard index + 1 < pending.count else { break }
                output.append(contentsOf: repeatElement(pending[index + 1], count: 257 - length))
                index += 2
                continue
            }
            index += 1
        }
        pending.removeFirst(min(index, pending.count))
        if ended || isFinal { pending.removeAll() }
        try budget.charge(output.count)
        return output
    }
}

/// Reads a stream's data from the file and decodes it a piece at a time, so that memory holds one piece, not the
/// stream.
struct PDFStreamReader {
    /// The encoded bytes read from the file per step: small enough that a bomb's first piece stays small before
    /// the budget's ratio check applies.
    static let readBytes = 16 * 1024

    private var offset: Int
    private let end: Int
    private let stages: [any PDFDecodeStage]
    private var finished = false

    /// A reader of the `length` bytes at `offset`, decoded through `stages`.
    init(offset: Int, length: Int, stages: [any PDFDecodeStage]) {
        self.offset = offset
        self.end = offset + max(0, length)
        self.stages = stages
    }

    /// The next piece of decoded data (possibly empty), or nil after the end.
    ///
    /// - Throws: whatever reading the source or a stage throws.
    mutating func next(source: any ByteSource, budget: inout DecompressionBudget) throws(ExtractionError) -> [UInt8]? {
        if finished { return nil }
        if offset < end {
            let piece = try source.read(offset: offset, count: min(Self.readBytes, end - offset))
            guard !piece.isEmpty else {
                throw ExtractionError(.malformed, "A stream's data ends before its length.", byteOffset: offset)
            }
            offset += piece.count
            var data = piece
            for stage in stages { data = try stage.decode(data, isFinal: false, budget: &budget) }
            return data
        }
        finished = true
        var data: [UInt8] = []
        for stage in stages { data = try stage.decode(data, isFinal: true, budget: &budget) }
        return data
    }

    /// The whole decoded data, refused past `bytesMax`.
    ///
    /// - Throws: `malformed` past `bytesMax` (with `what` naming the stream), and whatever ``next(source:budget:)``
    ///   throws.
    mutating func readAll(
        source: any ByteSource, budget: inout DecompressionBudget, bytesMax: Int, what: String
    ) throws(ExtractionError) -> [UInt8] {
        var result: [UInt8] = []
        while let piece = try next(source: source, budget: &budget) {
            result.append(contentsOf: piece)
            if result.count > bytesMax {
                throw ExtractionError(.malformed, "\(what) decodes to more than \(bytesMax) bytes.")
            }
        }
        return result
    }
}
