import AnnalsExtract
import Testing

/// Checks what must hold of every chunking: offsets reproduce the text, sizes are in bounds, indexes run from 0.
func checkInvariants(_ chunks: [Chunk], of text: String, configuration: Chunker.Configuration) {
    for (position, chunk) in chunks.enumerated() {
        #expect(chunk.index == position)
        #expect(chunk.characterLength >= 1)
        #expect(chunk.characterLength <= configuration.targetCharacters)
        #expect(chunk.characterLength == chunk.text.unicodeScalars.count)
        #expect(scalars(of: text, offset: chunk.characterOffset, length: chunk.characterLength) == chunk.text)
        #expect(chunk.text.unicodeScalars.first.map { !$0.properties.isWhitespace } ?? false)
        #expect(chunk.text.unicodeScalars.last.map { !$0.properties.isWhitespace } ?? false)
        if position > 0 { #expect(chunk.characterOffset > chunks[position - 1].characterOffset) }
    }
}

@Suite("Chunker")
struct ChunkerTests {
    let small = try! Chunker.Configuration(targetCharacters: 120, overlapCharacters: 30, minimumCharacters: 40)

    @Test("empty and white-space-only texts give no chunks", arguments: ["", " ", "\n\n\t \u{3000}\n"])
    func empty(text: String) {
        #expect(Chunker().chunks(of: text).isEmpty)
        var streaming = Chunker()
        #expect(streaming.feed(text).isEmpty)
        #expect(streaming.finish().isEmpty)
    }

    @Test("a short text is one chunk, trimmed, with its offset")
    func short() {
        let chunks = Chunker().chunks(of: "\n\n  Hello, world.  \n")
        #expect(chunks == [Chunk(index: 0, text: "Hello, world.", characterOffset: 4, characterLength: 13)])
    }

    @Test("offsets reproduce the text and sizes stay within bounds")
    func invariants() {
        let texts = [
            prose(sentences: 300), paragraphs(40, sentencesEach: 5), mixedText, String(repeating: mixedText, count: 20),
        ]
        for configuration in [Chunker.Configuration(), small] {
            for text in texts {
                let chunks = Chunker(configuration: configuration).chunks(of: text)
                #expect(!chunks.isEmpty)
                checkInvariants(chunks, of: text, configuration: configuration)
            }
        }
    }

    @Test("every chunk but the last is at least the minimum, and the whole text is covered")
    func coverage() {
        let text = prose(sentences: 400)
        let configuration = Chunker.Configuration()
        let chunks = Chunker(configuration: configuration).chunks(of: text)
        for chunk in chunks.dropLast() {
            // Trimming removes at most the white space at the cut.
            #expect(chunk.characterLength >= configuration.minimumCharacters - 1)
        }
        #expect(chunks.first?.characterOffset == 0)
        let last = chunks.last!
        #expect(last.characterOffset + last.characterLength == text.unicodeScalars.count)
        for (previous, next) in zip(chunks, chunks.dropFirst()) {
            // No gap: the next chunk starts at or before the end of the previous one (plus the space at the cut).
            #expect(next.characterOffset <= previous.characterOffset + previous.characterLength + 1)
        }
    }

    @Test("the next chunk repeats the tail of the previous one, from a word start, within the overlap")
    func overlap() {
        let text = prose(sentences: 300)
        let configuration = Chunker.Configuration()
        let chunks = Chunker(configuration: configuration).chunks(of: text)
        let all = Array(text.unicodeScalars)
        for (previous, next) in zip(chunks, chunks.dropFirst()) {
            let previousEnd = previous.characterOffset + previous.characterLength
            #expect(next.characterOffset < previousEnd, "overlap present")
            #expect(previousEnd - next.characterOffset <= configuration.overlapCharacters)
            #expect(all[next.characterOffset - 1].properties.isWhitespace, "starts at a word boundary")
        }
    }

    @Test("without overlap, chunks meet end to end")
    func noOverlap() throws {
        let configuration = try Chunker.Configuration(targetCharacters: 200, overlapCharacters: 0)
        let text = prose(sentences: 100)
        let chunks = Chunker(configuration: configuration).chunks(of: text)
        for (previous, next) in zip(chunks, chunks.dropFirst()) {
            #expect(next.characterOffset >= previous.characterOffset + previous.characterLength)
        }
        #expect(chunks.map(\.text).joined(separator: " ") == text)
    }

    @Test("cuts fall at sentence ends when there are no paragraphs")
    func sentences() {
        let text = prose(sentences: 300)
        let chunks = Chunker().chunks(of: text)
        for chunk in chunks.dropLast() {
            #expect(["." as Character, "!", "?"].contains(chunk.text.last!), "\(chunk.text.suffix(30))")
            // Never after an abbreviation or an initial.
            for abbreviation in ["e.g.", "Dr.", "Jan."] { #expect(!chunk.text.hasSuffix(abbreviation)) }
        }
    }

    @Test("cuts fall at paragraph breaks when there are some")
    func paragraphBreaks() {
        let text = paragraphs(60, sentencesEach: 3)
        let chunks = Chunker().chunks(of: text)
        let all = Array(text.unicodeScalars)
        for chunk in chunks.dropLast() {
            let end = chunk.characterOffset + chunk.characterLength
            #expect(all[end] == "\n" && all[end + 1] == "\n", "chunk \(chunk.index) ends at a paragraph")
        }
    }

    @Test("an abbreviation near the limit does not end a chunk; the real sentence end before it does")
    func abbreviation() throws {
        let configuration = try Chunker.Configuration(targetCharacters: 60, overlapCharacters: 0, minimumCharacters: 10)
        let text = "This is the first sentence here. Then more words, e.g. these ones follow on and on."
        let chunks = Chunker(configuration: configuration).chunks(of: text)
        #expect(chunks.first?.text == "This is the first sentence here.")
    }

    @Test("line breaks are preferred to spaces, spaces to hard cuts")
    func lesserBoundaries() throws {
        let configuration = try Chunker.Configuration(targetCharacters: 30, overlapCharacters: 0, minimumCharacters: 5)
        let lines = "alpha beta gamma\ndelta epsilon zeta eta theta iota"
        #expect(Chunker(configuration: configuration).chunks(of: lines).first?.text == "alpha beta gamma")
        let words = "alpha beta gamma delta epsilon zeta eta theta"
        #expect(Chunker(configuration: configuration).chunks(of: words).first?.text == "alpha beta gamma delta")
    }

    @Test("a word longer than the target is cut hard, without overlap, and nothing is lost")
    func longWord() throws {
        let word = String(repeating: "abcdefghij", count: 250)
        let chunks = Chunker().chunks(of: word)
        #expect(chunks.map(\.characterLength) == [1000, 1000, 500])
        #expect(chunks.map(\.text).joined() == word)
        let configuration = try Chunker.Configuration(targetCharacters: 7, overlapCharacters: 3, minimumCharacters: 2)
        // Hard cuts do not separate a letter from its combining accent.
        let accented = String(repeating: "e\u{301}", count: 40)
        let pieces = Chunker(configuration: configuration).chunks(of: accented)
        #expect(pieces.map(\.text).joined() == accented)
        for piece in pieces { #expect(piece.text.unicodeScalars.first != "\u{301}") }
    }

    @Test("CJK sentences end at their full stops, without spaces")
    func cjk() throws {
        let configuration = try Chunker.Configuration(targetCharacters: 40, overlapCharacters: 0, minimumCharacters: 10)
        let text = String(repeating: "東京は日本の首都です。人口は約千四百万人です。", count: 10)
        let chunks = Chunker(configuration: configuration).chunks(of: text)
        checkInvariants(chunks, of: text, configuration: configuration)
        for chunk in chunks.dropLast() { #expect(chunk.text.hasSuffix("。")) }
    }

    @Test("a chunk never spans a section start")
    func sections() {
        let first = prose(sentences: 12)
        let second = prose(sentences: 30, seed: 9)
        let text = first + "\n" + second
        let start = first.unicodeScalars.count + 1
        let chunks = Chunker().chunks(of: text, sectionStarts: [start])
        #expect(chunks.contains { $0.characterOffset == start })
        for chunk in chunks {
            #expect(chunk.characterOffset >= start || chunk.characterOffset + chunk.characterLength <= start)
        }
    }

    @Test("chunks carry the page they start on")
    func pages() {
        let text = prose(sentences: 60)
        let pageStarts = [
            PageStart(offset: 0, page: 1), PageStart(offset: 2000, page: 2), PageStart(offset: 3500, page: 3),
        ]
        let chunks = Chunker().chunks(of: text, pageStarts: pageStarts)
        for chunk in chunks {
            let expected = pageStarts.last { $0.offset <= chunk.characterOffset }?.page
            #expect(chunk.page == expected)
        }
        #expect(Chunker().chunks(of: text).allSatisfy { $0.page == nil })
    }

    @Test("streaming in random pieces gives exactly the chunks of one call", arguments: [1, 2, 3, 4])
    func streaming(seed: UInt64) {
        let text = [prose(sentences: 200), paragraphs(20, sentencesEach: 4), String(repeating: mixedText, count: 8)]
            .joined(separator: "\n\n")
        for configuration in [Chunker.Configuration(), small] {
            let chunker = Chunker(configuration: configuration)
            let expected = chunker.chunks(of: text)
            var streaming = chunker
            var chunks: [Chunk] = []
            for piece in randomPieces(text, maxPiece: seed == 1 ? 3 : 700, seed: seed) {
                chunks += streaming.feed(piece)
            }
            chunks += streaming.finish()
            #expect(chunks == expected)
            // After `finish` the chunker starts over.
            var again: [Chunk] = []
            for piece in randomPieces(text, maxPiece: 5000, seed: seed + 100) { again += streaming.feed(piece) }
            again += streaming.finish()
            #expect(again == expected)
        }
    }

    @Test("streaming sections and pages match the one-shot API")
    func streamingMarks() {
        let parts = [prose(sentences: 20), prose(sentences: 3, seed: 4), prose(sentences: 40, seed: 5)]
        var streaming = Chunker()
        var chunks: [Chunk] = []
        var sectionStarts: [Int] = []
        var offset = 0
        for (number, part) in parts.enumerated() {
            if number > 0 {
                chunks += streaming.startSection()
                sectionStarts.append(offset)
            }
            streaming.startPage(number + 1)
            chunks += streaming.feed(part)
            offset += part.unicodeScalars.count
        }
        chunks += streaming.finish()
        let text = parts.joined()
        let pageStarts =
            [PageStart(offset: 0, page: 1)]
            + sectionStarts.enumerated().map { PageStart(offset: $0.element, page: $0.offset + 2) }
        #expect(chunks == Chunker().chunks(of: text, sectionStarts: sectionStarts, pageStarts: pageStarts))
    }

    @Test("configurations are checked")
    func configuration() throws {
        let defaults = Chunker.Configuration()
        #expect(defaults.targetCharacters == 1000)
        #expect(defaults.overlapCharacters == 150)
        #expect(defaults.minimumCharacters == 250)
        #expect(try Chunker.Configuration(targetCharacters: 500).minimumCharacters == 125)
        for (target, overlap, minimum) in [
            (0, 0, 1), (100, 100, 10), (100, -1, 10), (100, 10, 101), (100, 10, 0),
            (2_000_000, 10, 10),
        ] {
            let error = #expect(throws: ExtractionError.self) {
                try Chunker.Configuration(
                    targetCharacters: target, overlapCharacters: overlap, minimumCharacters: minimum)
            }
            #expect(error?.code == .invalidConfiguration)
        }
    }
}
