/// The XML namespaces in scope while a WordprocessingML part is read, so that elements are matched by namespace,
/// not by prefix: prefixes are resolved through the `xmlns` declarations in scope (an undeclared `w` counts as
/// WordprocessingML).
struct WordNamespaces: Sendable {
    /// The namespaces the handlers tell apart.
    enum Namespace: Sendable {
        case word, markupCompatibility, other

        init(uri: UnsafeBufferPointer<UInt8>) {
            if uri.elementsEqual("http://schemas.openxmlformats.org/wordprocessingml/2006/main".utf8)
                || uri.elementsEqual("http://purl.oclc.org/ooxml/wordprocessingml/main".utf8)
            {
                self = .word
            } else if uri.elementsEqual("http://schemas.openxmlformats.org/markup-compatibility/2006".utf8) {
                self = .markupCompatibility
            } else {
                self = .other
            }
        }
    }

    private struct Binding: Sendable {
        var prefix: [UInt8]
        var namespace: Namespace
        var depth: Int
    }

    /// The most namespace declarations in scope at once; Word declares about 30 on the root element.
    static let bindingsMax = 4096

    private var bindings: [Binding] = []
    /// The last prefix resolved and its namespace, valid until the bindings change.
    private var cachedPrefix: [UInt8] = []
    private var cachedNamespace: Namespace?

    /// Records the `xmlns` and `xmlns:prefix` declarations of a start tag, scoped to the element at `depth`.
    ///
    /// - Throws: `malformed` past ``bindingsMax`` declarations in scope.
    mutating func declare(_ tag: XMLTag, depth: Int) throws(ExtractionError) {
        guard Self.contains(tag.bytes, "xmlns") else { return }
        var declared: [Binding] = []
        tag.forEachAttribute { name, value in
            guard name.starts(with: "xmlns".utf8) else { return }
            let prefix: [UInt8]
            if name.count == 5 {
                prefix = []
            } else if name[5] == UInt8(ascii: ":") {
                prefix = Array(name[6...])
            } else {
                return
            }
            declared.append(Binding(prefix: prefix, namespace: Namespace(uri: value), depth: depth))
        }
        guard !declared.isEmpty else { return }
        bindings += declared
        cachedNamespace = nil
        guard bindings.count <= Self.bindingsMax else {
            throw ExtractionError(
                .malformed, "The XML declares more than \(Self.bindingsMax) namespaces in one scope.")
        }
    }

    /// Forgets the declarations of the element at `depth`, which ends.
    mutating func end(depth: Int) {
        while let last = bindings.last, last.depth == depth {
            bindings.removeLast()
            cachedNamespace = nil
        }
    }

    /// The namespace of a qualified name, and its local name.
    mutating func resolve(_ name: UnsafeBufferPointer<UInt8>) -> (Namespace, UnsafeBufferPointer<UInt8>) {
        let colon = name.firstIndex(of: UInt8(ascii: ":"))
        let prefix = UnsafeBufferPointer(rebasing: name[0..<(colon ?? 0)])
        let local = UnsafeBufferPointer(rebasing: name[(colon.map { $0 + 1 } ?? 0)...])
        if let cachedNamespace, Self.equals(cachedPrefix, prefix) { return (cachedNamespace, local) }
        let namespace: Namespace
        if let binding = bindings.last(where: { Self.equals($0.prefix, prefix) }) {
            namespace = binding.namespace
        } else {
            namespace = Self.equals(prefix, "w") ? .word : .other
        }
        cachedPrefix = Array(prefix)
        cachedNamespace = namespace
        return (namespace, local)
    }

    /// Whether `bytes` are the ASCII `literal` (a plain comparison: `elementsEqual` against a `String.UTF8View` is a
    /// slow generic path here, where every element name is compared).
    @inline(__always)
    static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        for index in 0..<bytes.count where bytes[index] != literal.utf8Start[index] { return false }
        return true
    }

    @inline(__always)
    static func equals(_ array: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard array.count == bytes.count else { return false }
        for index in 0..<bytes.count where bytes[index] != array[index] { return false }
        return true
    }

    /// Whether `needle` (ASCII) occurs in `bytes`.
    static func contains(_ bytes: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        let count = needle.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let first = needle.utf8Start[0]
        var index = 0
        while index <= bytes.count - count {
            if bytes[index] == first {
                var matched = 1
                while matched < count && bytes[index + matched] == needle.utf8Start[matched] { matched += 1 }
                if matched == count { return true }
            }
            index += 1
        }
        return false
    }
}
