/// A reference to an indirect object (`12 0 R`): its object number and generation.
struct PDFReference: Hashable, Sendable {
    /// The object number.
    var number: Int
    /// The generation number.
    var generation: Int
}

/// A PDF object (ISO 32000-1 §7.3), as parsed from the file or from a content stream.
///
/// Streams keep only their dictionary and where their data starts in the file; the data is decoded on demand, a
/// window at a time, so that a parsed object never holds a stream's bytes.
enum PDFObject: Sendable {
    case null
    case boolean(Bool)
    case integer(Int)
    case real(Double)
    /// A literal or hexadecimal string, as bytes (its encoding depends on where it is used).
    case string([UInt8])
    /// A name, without its slash, `#xx` escapes decoded.
    case name(String)
    case array([PDFObject])
    case dictionary(PDFDictionary)
    case stream(PDFStream)
    case reference(PDFReference)

    /// The number, for integers and reals.
    var number: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .real(let value): value
        default: nil
        }
    }

    /// The integer, for integers and for reals with an integral value (some writers put `12.0` where an integer
    /// belongs).
    var integer: Int? {
        switch self {
        case .integer(let value): value
        case .real(let value): value.rounded() == value && abs(value) < 1e15 ? Int(value) : nil
        default: nil
        }
    }

    /// The name, for names.
    var name: String? {
        if case .name(let value) = self { return value }
        return nil
    }

    /// The bytes, for strings.
    var string: [UInt8]? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The elements, for arrays.
    var array: [PDFObject]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The dictionary, for dictionaries and streams (a stream's dictionary describes it).
    var dictionary: PDFDictionary? {
        switch self {
        case .dictionary(let value): value
        case .stream(let value): value.dictionary
        default: nil
        }
    }

    /// The stream, for streams.
    var stream: PDFStream? {
        if case .stream(let value) = self { return value }
        return nil
    }

    /// The reference, for references.
    var reference: PDFReference? {
        if case .reference(let value) = self { return value }
        return nil
    }
}

/// A PDF dictionary: names to objects. Order does not matter in PDF, so a Swift dictionary holds it.
struct PDFDictionary: Sendable {
    /// The entries, keyed by name without the slash.
    var entries: [String: PDFObject]

    /// Creates a dictionary.
    init(_ entries: [String: PDFObject] = [:]) { self.entries = entries }

    /// The value of `key`, unresolved; nil when absent.
    subscript(key: String) -> PDFObject? { entries[key] }

    /// The name stored directly under `key`.
    func name(_ key: String) -> String? { entries[key]?.name }

    /// The integer stored directly under `key`.
    func integer(_ key: String) -> Int? { entries[key]?.integer }
}

/// A stream object: its dictionary and where its (encoded) data starts in the file.
struct PDFStream: Sendable {
    /// The stream dictionary (`/Length`, `/Filter`, `/DecodeParms`, and what the stream is).
    var dictionary: PDFDictionary
    /// The offset in the file of the first data byte, just after the end of line that follows `stream`.
    var dataOffset: Int
}

/// A 2-D affine transformation `[a b c d e f]`, applied to row vectors as PDF does: `[x y 1] × M`.
struct PDFMatrix: Sendable, Equatable {
    var a: Double
    var b: Double
    var c: Double
    var d: Double
    var e: Double
    var f: Double

    static let identity = PDFMatrix(a: 1, b: 0, c: 0, d: 1, e: 0, f: 0)

    /// A translation by `(x, y)`.
    static func translation(_ x: Double, _ y: Double) -> PDFMatrix {
        PDFMatrix(a: 1, b: 0, c: 0, d: 1, e: x, f: y)
    }

    /// A matrix from six numbers (a PDF array or six operands); nil when they are not six finite numbers.
    init?(_ values: [Double]) {
        guard values.count == 6, values.allSatisfy(\.isFinite) else { return nil }
        self.init(a: values[0], b: values[1], c: values[2], d: values[3], e: values[4], f: values[5])
    }

    init(a: Double, b: Double, c: Double, d: Double, e: Double, f: Double) {
        self.a = a
        self.b = b
        self.c = c
        self.d = d
        self.e = e
        self.f = f
    }

    /// `self × other`: the transformation that applies `self` first, then `other`.
    func concatenating(_ other: PDFMatrix) -> PDFMatrix {
        PDFMatrix(
            a: a * other.a + b * other.c, b: a * other.b + b * other.d,
            c: c * other.a + d * other.c, d: c * other.b + d * other.d,
            e: e * other.a + f * other.c + other.e, f: e * other.b + f * other.d + other.f)
    }

    /// The image of the point `(x, y)`.
    func apply(_ x: Double, _ y: Double) -> (x: Double, y: Double) {
        (a * x + c * y + e, b * x + d * y + f)
    }
}
