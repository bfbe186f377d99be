/// A piece of an extractor's output, in document order: text, or a mark between two runs of text.
public enum TextPiece: Sendable, Equatable {
    /// The next run of text: valid, newline-normalised (LF only).
    case text(String)
    /// A new section starts here (a Markdown heading, say); no chunk spans two sections.
    case sectionStart
    /// Page `number` (1-based) starts here, for formats with pages.
    case pageStart(Int)
}

/// Where a page starts in an extracted text.
public struct PageStart: Sendable, Equatable {
    /// The offset of the page's first character, in Unicode scalars from the start of the text.
    public var offset: Int
    /// The page number, starting at 1.
    public var page: Int

    /// Creates a page start.
    public init(offset: Int, page: Int) {
        self.offset = offset
        self.page = page
    }
}

/// The whole text of a document, with its section and page starts; what the one-shot APIs pass around.
///
/// Offsets count Unicode scalars (not `Character`s, not bytes), like every offset of this module: scalars are what
/// other languages index strings by (Python's `str`), cost nothing to count in UTF-8, and do not depend on the
/// Unicode version's grapheme rules.
public struct ExtractedText: Sendable, Equatable {
    /// The text: valid UTF-8, without a byte-order mark, with LF line ends.
    public var text: String
    /// Where new sections start, in Unicode scalars, ascending, each above 0.
    public var sectionStarts: [Int]
    /// Where pages start, ascending by offset; empty for formats without pages.
    public var pageStarts: [PageStart]

    /// Creates an extracted text.
    public init(text: String, sectionStarts: [Int] = [], pageStarts: [PageStart] = []) {
        self.text = text
        self.sectionStarts = sectionStarts
        self.pageStarts = pageStarts
    }

    /// The length of the text in Unicode scalars (computed, O(n)).
    public var characterCount: Int { ScalarTraits.scalarCount(text) }
}
