/// One piece of a document's text, as embedded and stored in a `chunk.embedded` event.
///
/// `characterOffset` and `characterLength` count Unicode scalars of the extracted text, so that
/// `text == String(extracted.unicodeScalars.dropFirst(characterOffset).prefix(characterLength))`.
public struct Chunk: Sendable, Equatable {
    /// The chunk's position in the document, from 0, without gaps.
    public var index: Int
    /// The text: a slice of the extracted text without leading or trailing white space.
    public var text: String
    /// Where the text starts in the extracted text, in Unicode scalars.
    public var characterOffset: Int
    /// The text's length in Unicode scalars.
    public var characterLength: Int
    /// The page the text starts on, for formats with pages; nil otherwise.
    public var page: Int?

    /// Creates a chunk.
    public init(index: Int, text: String, characterOffset: Int, characterLength: Int, page: Int? = nil) {
        self.index = index
        self.text = text
        self.characterOffset = characterOffset
        self.characterLength = characterLength
        self.page = page
    }
}
