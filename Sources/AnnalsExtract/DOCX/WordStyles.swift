/// Reads `word/styles.xml` for the paragraph styles that are headings, so that a document whose heading styles have
/// identifiers other than `Heading1`…`Heading9` (a localised Word writes `berschrift1`, `Titre1`, custom templates
/// `ChapterTitle`) still starts a section at each heading.
///
/// A paragraph style (`w:style w:type="paragraph"`, identified by `w:styleId`) is a heading when, looking at the
/// style and then up its `w:basedOn` chain (at most ``basedOnChainMax`` styles), the first that says anything has an
/// outline level 0 to 8 (`w:pPr/w:outlineLvl`; 9 is body text), or is named `heading 1` to `heading 9` or `Title`
/// (`w:name`, case and spaces ignored: the names Word uses for its built-in styles, whatever the language).
///
/// Bounded: at most ``stylesMax`` styles are kept, and identifiers, names and values longer than ``valueBytesMax``
/// bytes are ignored; a style beyond either limit is not recognised as a heading, and nothing else changes.
struct WordStyles: XMLTokenHandler, Sendable {
    /// The most styles kept; Word's own templates define a few hundred.
    static let stylesMax = 10_000
    /// The longest identifier, name or `basedOn` value kept.
    static let valueBytesMax = 256
    /// The most styles followed up a `basedOn` chain (which a hostile file may make circular).
    static let basedOnChainMax = 32

    private struct Style: Sendable {
        var name: [UInt8]?
        var basedOn: [UInt8]?
        var outlineLevel: [UInt8]?
    }

    private var namespaces = WordNamespaces()
    private var depth = 0
    private var styles: [[UInt8]: Style] = [:]
    /// The paragraph style being read: its identifier, what it says so far, and its depth.
    private var current: (id: [UInt8], style: Style, depth: Int)?
    /// The depth of the current style's `w:pPr`, while inside it.
    private var propertiesDepth: Int?

    mutating func startElement(_ tag: XMLTag) throws(ExtractionError) {
        depth += 1
        try namespaces.declare(tag, depth: depth)
        let (namespace, local) = namespaces.resolve(tag.name)
        guard namespace == .word else { return }
        if var current {
            defer { self.current = current }
            if depth == current.depth + 1 {
                if WordNamespaces.equals(local, "name") {
                    current.style.name = Self.value(tag)
                } else if WordNamespaces.equals(local, "basedOn") {
                    current.style.basedOn = Self.value(tag)
                } else if WordNamespaces.equals(local, "pPr") {
                    propertiesDepth = depth
                }
            } else if let propertiesDepth, depth == propertiesDepth + 1, WordNamespaces.equals(local, "outlineLvl") {
                current.style.outlineLevel = Self.value(tag)
            }
            return
        }
        guard WordNamespaces.equals(local, "style") else { return }
        let type = tag.attribute(localName: Array("type".utf8))
        guard type == nil || type == Array("paragraph".utf8),
            let id = tag.attribute(localName: Array("styleId".utf8)), id.count <= Self.valueBytesMax
        else { return }
        current = (id, Style(), depth)
    }

    mutating func endElement(_ tag: XMLTag) throws(ExtractionError) {
        defer {
            namespaces.end(depth: depth)
            depth -= 1
        }
        if propertiesDepth == depth { propertiesDepth = nil }
        guard let current, current.depth == depth else { return }
        self.current = nil
        // The first definition of an identifier wins, as in Word.
        if styles.count < Self.stylesMax && styles[current.id] == nil { styles[current.id] = current.style }
    }

    mutating func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) {}

    /// The identifiers of the paragraph styles that are headings.
    func headingStyleIDs() -> Set<[UInt8]> {
        var headings: Set<[UInt8]> = []
        for id in styles.keys where isHeading(id) { headings.insert(id) }
        return headings
    }

    private func isHeading(_ id: [UInt8]) -> Bool {
        var id = id
        for _ in 0..<Self.basedOnChainMax {
            guard let style = styles[id] else { return false }
            if let level = style.outlineLevel {
                return level.count == 1 && level[0] >= UInt8(ascii: "0") && level[0] <= UInt8(ascii: "8")
            }
            if let name = style.name, WordDocumentText.isHeadingStyle(name) { return true }
            guard let base = style.basedOn else { return false }
            id = base
        }
        return false
    }

    /// The `w:val` of a tag, when it is not too long.
    private static func value(_ tag: XMLTag) -> [UInt8]? {
        guard let value = tag.attribute(localName: Array("val".utf8)), value.count <= valueBytesMax else { return nil }
        return value
    }
}
