import AnnalsBenchSupport
import AnnalsEmbedding
import AnnalsExtract
import ArgumentParser
import Foundation

/// `annals-bench chunk`: the chunker's throughput on a text, whole and streamed, and optionally the worker's whole
/// path (extraction, chunking, embedding).
struct ChunkBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chunk",
        abstract: "Chunk a text (a file, or a generated English-like corpus): whole and fed in 64 KiB pieces; "
            + "optionally extraction + chunking + the hashing embedder too. Prints MB/s and chunk counts."
    )

    @Option(help: "A UTF-8 text file, or a .docx document, to chunk. A generated English-like corpus when omitted.")
    var file: String?
    @Option(help: "Size of the generated corpus, in megabytes (10^6 bytes).")
    var megabytes = 64
    @Option(help: "Seed of the generated corpus.")
    var seed: UInt64 = 1
    @Option(help: "Write the corpus (the file's or the generated one) to this path and stop, for other splitters.")
    var writeCorpus: String?
    @Option(help: "Chunk target in characters (Unicode scalars).")
    var chunkSize = Chunker.Configuration.targetCharactersDefault
    @Option(help: "Chunk overlap in characters.")
    var overlap = Chunker.Configuration.overlapCharactersDefault
    @Option(help: "Passes over the text per measurement; the best is reported.")
    var passes = 3
    @Flag(help: "Also time the worker's path: extraction (text in 1 MiB reads, or DOCX), chunking, embedding.")
    var withExtract = false
    @Flag(help: "Print JSON lines.")
    var json = false

    /// Bytes fed to the streaming chunker at a time.
    static let pieceBytes = 64 * 1024
    /// Bytes fed to the extractor at a time, as the worker reads a blob.
    static let readBytes = 1 << 20

    func validate() throws {
        guard megabytes > 0, passes > 0 else { throw ValidationError("--megabytes and --passes must be positive") }
        do {
            _ = try Chunker.Configuration(targetCharacters: chunkSize, overlapCharacters: overlap)
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// One timed measurement.
    private struct Measurement {
        var workload: String
        var label: String
        var seconds: Double
        var cpuSeconds: Double
        var chunks: Int
        var meanCharacters: Double
    }

    func run() async throws {
        var bytes: [UInt8]
        let source: String
        let isDOCX = file?.lowercased().hasSuffix(".docx") == true
        if let file {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            source = "file \(file)"
        } else {
            bytes = EnglishCorpus.generate(bytes: megabytes * 1_000_000, seed: seed)
            source = "generated English-like text (seed \(seed))"
        }
        if let writeCorpus {
            try Data(bytes).write(to: URL(fileURLWithPath: writeCorpus))
            if !json {
                print(String(format: "wrote %@: %.1f MB of %@", writeCorpus, Double(bytes.count) / 1e6, source))
            }
            return
        }
        // A DOCX document: its text is what the chunker measurements use, without its section marks (rates are
        // per byte of text throughout).
        let document = bytes
        if isDOCX { bytes = Array(try DOCXExtractor.extract(bytes: bytes).text.utf8) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ValidationError("the text is not valid UTF-8")
        }
        let configuration = try Chunker.Configuration(targetCharacters: chunkSize, overlapCharacters: overlap)
        let pieces = Self.pieces(of: text, bytes: Self.pieceBytes)
        var results: [Measurement] = []
        results.append(
            measure("chunk-whole", "chunker, whole text") {
                Chunker(configuration: configuration).chunks(of: text)
            })
        results.append(
            measure("chunk-64k", "chunker, 64 KiB pieces") {
                var chunker = Chunker(configuration: configuration)
                var chunks: [Chunk] = []
                for piece in pieces { chunks += chunker.feed(piece) }
                chunks += chunker.finish()
                return chunks
            })
        if withExtract {
            results.append(
                try measure("extract", isDOCX ? "DOCX extraction alone" : "plain-text extraction alone") {
                    var characters = 0
                    try extract(bytes: bytes, document: isDOCX ? document : nil) { piece in
                        if case .text(let text) = piece { characters += text.utf8.count }
                    }
                    // No chunks; the count keeps the extraction from being optimised away.
                    return characters < 0 ? [Chunk(index: 0, text: "", characterOffset: 0, characterLength: 0)] : []
                })
            let embedder = HashingEmbedder()
            var checksum: Float = 0
            results.append(
                try measure("extract-chunk-embed", "extract + chunk + embed (\(embedder.identifier))") {
                    var chunker = Chunker(configuration: configuration)
                    var chunks: [Chunk] = []
                    func take(_ new: [Chunk]) {
                        for chunk in new {
                            checksum += embedder.embed(chunk.text)[0]
                            chunks.append(chunk)
                        }
                    }
                    try extract(bytes: bytes, document: isDOCX ? document : nil) { take(chunker.feed($0)) }
                    take(chunker.finish())
                    return chunks
                })
            // Printed nowhere; keeps the embedding from being optimised away.
            if checksum.isNaN { print("") }
        }
        report(results, bytes: bytes.count, source: source)
    }

    /// Extracts a DOCX `document`, or else plain text `bytes` as the worker reads a blob (1 MiB at a time).
    private func extract(bytes: [UInt8], document: [UInt8]?, _ take: (TextPiece) -> Void) throws {
        if let document {
            var extractor = try DOCXExtractor(bytes: document)
            while let pieces = try extractor.next() { pieces.forEach(take) }
            return
        }
        var extractor = TextExtractor(format: .plainText)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + Self.readBytes)
            try extractor.feed(bytes[offset..<end]).forEach(take)
            offset = end
        }
        try extractor.finish().forEach(take)
    }

    /// The best of `passes` runs of `body` in wall-clock and in CPU time, with the chunks of the last.
    ///
    /// CPU time (of the process; the work runs on one thread) is the figure per core that stays meaningful on a
    /// machine shared with other work; wall-clock time is what a caller waits.
    private func measure(_ workload: String, _ label: String, _ body: () throws -> [Chunk]) rethrows -> Measurement {
        let clock = ContinuousClock()
        var best = Double.infinity
        var bestCPU = Double.infinity
        var chunks: [Chunk] = []
        for _ in 0..<passes {
            chunks = []
            let start = clock.now
            let startCPU = Self.cpuSeconds()
            chunks = try body()
            bestCPU = min(bestCPU, Self.cpuSeconds() - startCPU)
            best = min(best, (clock.now - start).seconds)
        }
        let characters = chunks.reduce(0) { $0 + $1.characterLength }
        return Measurement(
            workload: workload, label: label, seconds: best, cpuSeconds: bestCPU, chunks: chunks.count,
            meanCharacters: chunks.isEmpty ? 0 : Double(characters) / Double(chunks.count))
    }

    /// The CPU time the process has used, in seconds.
    private static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private func report(_ results: [Measurement], bytes: Int, source: String) {
        if !json {
            print(
                String(
                    format: "corpus: %@, %.1f MB; chunks of %d with %d overlap", source, Double(bytes) / 1e6,
                    chunkSize, overlap))
        }
        for result in results {
            let rate = Double(bytes) / result.seconds / 1e6
            let cpuRate = Double(bytes) / result.cpuSeconds / 1e6
            if json {
                print(
                    String(
                        format: "{\"system\":\"annals\",\"workload\":\"%@\",\"bytes\":%d,\"chunk_size\":%d,"
                            + "\"overlap\":%d,\"seconds\":%.4f,\"mb_per_second\":%.1f,\"cpu_seconds\":%.4f,"
                            + "\"mb_per_cpu_second\":%.1f,\"chunks\":%d,\"mean_chunk_chars\":%.1f}",
                        result.workload, bytes, chunkSize, overlap, result.seconds, rate, result.cpuSeconds, cpuRate,
                        result.chunks, result.meanCharacters))
            } else if result.chunks == 0 {
                print(
                    String(
                        format: "%@: %.3f s: %.0f MB/s (%.0f MB per CPU second)", result.label, result.seconds, rate,
                        cpuRate))
            } else {
                print(
                    String(
                        format: "%@: %d chunks, mean %.0f characters, %.3f s: %.0f MB/s (%.0f MB per CPU second)",
                        result.label, result.chunks, result.meanCharacters, result.seconds, rate, cpuRate))
            }
        }
    }

    /// `text` cut into pieces of about `bytes` UTF-8 bytes, at scalar boundaries.
    private static func pieces(of text: String, bytes: Int) -> [Substring] {
        var pieces: [Substring] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        while start < utf8.endIndex {
            var end = utf8.index(start, offsetBy: bytes, limitedBy: utf8.endIndex) ?? utf8.endIndex
            while end < utf8.endIndex && utf8[end] & 0xC0 == 0x80 { end = utf8.index(before: end) }
            pieces.append(text[start..<end])
            start = end
        }
        return pieces
    }
}

/// A seeded English-like text: sentences of common words in a skewed (Zipf-like) mix, with commas, questions,
/// abbreviations and paragraphs, so that the chunker meets the boundaries it looks for as often as in prose.
enum EnglishCorpus {
    static let words: [String] = """
        the of and to a in is that it for was on are as with his they be at one have this from or had by not but \
        what some we can out other were all there when up use your how said an each she which do their time if \
        will way about many then them write would like so these her long make thing see him two has look more day \
        could go come did number sound no most people my over know water than call first who may down side been \
        now find any new work part take get place made live where after back little only round man year came show \
        every good me give our under name very through just form sentence great think say help low line differ \
        turn cause much mean before move right boy old too same tell does set three want air well also play small \
        end put home read hand port large spell add even land here must big high such follow act why ask men \
        change went light kind off need house picture try us again animal point mother world near build self earth \
        father head stand own page should country found answer school grow study still learn plant cover food sun \
        four between state keep eye never last let thought city tree cross farm hard start might story saw far sea \
        draw left late run while press close night real life few north open seem together next white children \
        begin got walk example ease paper group always music those both mark often letter until mile river car \
        feet care second book carry took science eat room friend began idea fish mountain stop once base hear \
        horse cut sure watch color face wood main enough plain girl usual young ready above ever red list though \
        feel talk bird soon body dog family direct pose leave song measure door product black short numeral class \
        wind question happen complete ship area half rock order fire south problem piece told knew pass since top \
        whole king space heard best hour better true during hundred five remember step early hold west ground \
        interest reach fast verb sing listen six table travel less morning ten simple several vowel toward war lay \
        against pattern slow center love person money serve appear road map rain rule govern pull cold notice \
        voice unit power town fine certain fly fall lead cry dark machine note wait plan figure star box noun \
        field rest correct able pound done beauty drive stood contain front teach week final gave green oh quick \
        develop ocean warm free minute strong special mind behind clear tail produce fact street inch multiply \
        nothing course stay wheel full force blue object decide surface deep moon island foot system busy test \
        record boat common gold possible plane stead dry wonder laugh thousand ago ran check game shape equate \
        miss brought heat snow tire bring yes distant fill east paint language among
        """.split(separator: " ").map(String.init)

    static let abbreviations = ["e.g.", "i.e.", "Dr.", "Mr.", "St.", "approx.", "cf.", "vs."]

    /// At least `bytes` bytes of text (it stops after the sentence that reaches the count).
    static func generate(bytes: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(state: seed)
        var output: [UInt8] = []
        output.reserveCapacity(bytes + 1024)
        func roll(_ count: Int) -> Int { Int(generator.next() % UInt64(count)) }
        func word() -> String {
            // Skewed towards the front of the list, as word frequencies are.
            let unit = Double(generator.next() >> 11) / Double(1 << 53)
            return words[min(words.count - 1, Int(pow(Double(words.count), unit)) - 1)]
        }
        while output.count < bytes {
            let sentences = 3 + roll(6)
            for sentence in 0..<sentences {
                if sentence > 0 { output.append(0x20) }
                let length = 6 + roll(19)
                for index in 0..<length {
                    if index > 0 { output.append(0x20) }
                    var token = roll(50) == 0 ? abbreviations[roll(abbreviations.count)] : word()
                    if index == 0 { token = token.prefix(1).uppercased() + token.dropFirst() }
                    output += token.utf8
                    if index < length - 1 && roll(10) == 0 { output.append(UInt8(ascii: ",")) }
                }
                let end = roll(100)
                output.append(end < 85 ? UInt8(ascii: ".") : end < 93 ? UInt8(ascii: "?") : UInt8(ascii: "!"))
            }
            output += [0x0A, 0x0A]
        }
        return output
    }
}
