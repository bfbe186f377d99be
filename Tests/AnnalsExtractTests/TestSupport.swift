import AnnalsExtract
import AnnalsTesting

/// A small seeded generator (SplitMix64), so that "random" pieces are the same on every run.

/// The text of `length` scalars starting at scalar `offset`.
func scalars(of text: String, offset: Int, length: Int) -> String {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: text.unicodeScalars.dropFirst(offset).prefix(length))
    return String(view)
}

/// `text` cut at random scalar boundaries into pieces of 1 to `maxPiece` scalars.
func randomPieces(_ text: String, maxPiece: Int, seed: UInt64) -> [Substring] {
    var generator = SeededGenerator(seed: seed)
    var pieces: [Substring] = []
    var index = text.unicodeScalars.startIndex
    while index < text.unicodeScalars.endIndex {
        let length = Int.random(in: 1...maxPiece, using: &generator)
        let end =
            text.unicodeScalars.index(index, offsetBy: length, limitedBy: text.unicodeScalars.endIndex)
            ?? text.unicodeScalars.endIndex
        pieces.append(Substring(text.unicodeScalars[index..<end]))
        index = end
    }
    return pieces
}

/// `bytes` cut at random byte boundaries (through characters, CRLF pairs and byte-order marks).
func randomByteSplits(_ bytes: [UInt8], maxPiece: Int, seed: UInt64) -> [ArraySlice<UInt8>] {
    var generator = SeededGenerator(seed: seed)
    var pieces: [ArraySlice<UInt8>] = []
    var index = 0
    while index < bytes.count {
        let end = min(bytes.count, index + Int.random(in: 1...maxPiece, using: &generator))
        pieces.append(bytes[index..<end])
        index = end
    }
    return pieces
}

/// English prose without paragraph breaks: sentences of varying length.
let proseSentences = [
    "Annals keeps every change as an event in one append-only log.",
    "Projections are rebuilt from the log after a crash, so nothing acknowledged is ever lost.",
    "The worker extracts text, cuts it into chunks and embeds each chunk in batches.",
    "Search reads the chunk text back by key, e.g. from the position of its event.",
    "Is the log tamper-evident?",
    "Yes: each record carries the hash of its predecessor, and the audit command verifies the chain!",
    "Dr. Smith reviewed the design in Jan. and approved it without changes.",
    "Memory stays bounded because uploads, extraction and chunking all stream.",
]

/// About `count` sentences of prose, deterministic.
func prose(sentences count: Int, seed: UInt64 = 1) -> String {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in proseSentences.randomElement(using: &generator)! }.joined(separator: " ")
}

/// Paragraphs of prose separated by blank lines.
func paragraphs(_ count: Int, sentencesEach: Int) -> String {
    (0..<count).map { prose(sentences: sentencesEach, seed: UInt64($0) + 7) }.joined(separator: "\n\n")
}

/// A mixed text: prose, lists, code, Unicode (accents, Cyrillic, CJK, emoji with modifiers), odd white space.
let mixedText = """
    Ünïcödé text: café, naïve, résumé — and Cyrillic: Съешь же ещё этих мягких французских булок.
    東京は日本の首都です。人口は約千四百万人です。大阪は第二の都市です。

    - a list item
    - another one\twith a tab
      continued here\u{00A0}with a no-break space.

    ```swift
    let x = 1 // code stays
    ```
    Emoji: 👍🏽 👩‍👩‍👧 🇩🇪 and combining: e\u{301}e\u{301}e\u{301}.\u{3000}Ideographic space above.
    """

/// The scalar offset of the first occurrence of `needle` in `text`.
func scalarOffset(of needle: String, in text: String) -> Int? {
    let haystack = Array(text.unicodeScalars)
    let pattern = Array(needle.unicodeScalars)
    guard pattern.count <= haystack.count else { return nil }
    return (0...(haystack.count - pattern.count)).first { Array(haystack[$0..<($0 + pattern.count)]) == pattern }
}
