import Foundation
import Testing

@testable import AnnalsEmbedding

/// The cosine of two vectors (both already normalised by the embedder, but computed in full to be safe).
func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0
    var normA = 0.0
    var normB = 0.0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        normA += Double(x) * Double(x)
        normB += Double(y) * Double(y)
    }
    return dot / (normA.squareRoot() * normB.squareRoot())
}

func norm(_ vector: [Float]) -> Double {
    vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
}

func bitPatterns(_ vector: [Float]) -> [UInt32] {
    vector.map(\.bitPattern)
}

let sampleSentences = [
    "The quick brown fox jumps over the lazy dog.",
    "Event sourcing stores every change as an immutable event in an append-only log.",
    "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "東京は日本の首都です。人口は約千四百万人です。",
    "x",
    String(repeating: "Annals replays its log after a crash and rebuilds every projection. ", count: 300),
]

@Suite("Hashing embedder")
struct HashingEmbedderTests {
    @Test("the same text gives the same vector bit for bit, across instances and batches")
    func determinism() async {
        let first = HashingEmbedder()
        let second = HashingEmbedder()
        for text in sampleSentences {
            #expect(bitPatterns(first.embed(text)) == bitPatterns(second.embed(text)))
        }
        // A batch reuses one workspace; its results must not depend on the texts embedded before.
        let batch = await first.embed(sampleSentences + sampleSentences.reversed())
        let singles = sampleSentences.map { second.embed($0) }
        #expect(batch.map(bitPatterns) == (singles + singles.reversed()).map(bitPatterns))
    }

    @Test("vectors of non-empty texts have norm 1")
    func unitNorm() {
        let embedder = HashingEmbedder()
        for text in sampleSentences {
            let vector = embedder.embed(text)
            #expect(abs(norm(vector) - 1) < 1e-5, "\(text.prefix(20))")
        }
    }

    @Test("empty and separator-only texts give the zero vector", arguments: ["", " ", "\n\t  ", "!?.,;-- — …", "🙂🙂"])
    func zeroVector(text: String) {
        let vector = HashingEmbedder().embed(text)
        #expect(vector.count == 384)
        #expect(vector.allSatisfy { $0 == 0 })
    }

    @Test("the dimension is respected", arguments: [1, 16, 384, 1000])
    func dimension(size: Int) async throws {
        let embedder = try HashingEmbedder(dimension: size)
        #expect(embedder.dimension == size)
        #expect(embedder.embed("some words here").count == size)
        let batch = await embedder.embed(["a", "", "b c"])
        #expect(batch.map(\.count) == [size, size, size])
    }

    @Test("a dimension out of range is refused with invalid_configuration", arguments: [0, -3, 65_537])
    func invalidDimension(size: Int) {
        let error = #expect(throws: EmbeddingError.self) { try HashingEmbedder(dimension: size) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.code.description == "invalid_configuration")
        #expect(error?.isRetryable == false)
    }

    @Test("similar texts are closer than unrelated ones")
    func similarity() {
        let embedder = HashingEmbedder()
        let query = embedder.embed("How do I restore the database from a backup after a crash?")
        let related = embedder.embed("Restoring the database from the latest backup after the server crashed.")
        let unrelated = embedder.embed("Preheat the oven and whisk the eggs with sugar until fluffy.")
        #expect(cosine(query, related) > cosine(query, unrelated) + 0.2)

        let fox = embedder.embed("The quick brown fox jumps over the lazy dog")
        let foxes = embedder.embed("Quick brown foxes jumped over lazy dogs")
        let finance = embedder.embed("Quarterly revenue grew by twelve percent year over year")
        #expect(cosine(fox, foxes) > cosine(fox, finance))
        // Character n-grams make inflected forms close even though the words differ.
        let embedding = embedder.embed("embedding")
        #expect(cosine(embedding, embedder.embed("embeddings")) > cosine(embedding, embedder.embed("kitchen")))
    }

    @Test("case, punctuation and Unicode case mapping do not change the vector")
    func normalisation() {
        let embedder = HashingEmbedder()
        #expect(embedder.embed("Hello, World!") == embedder.embed("hello world"))
        #expect(embedder.embed("hello-world") == embedder.embed("hello   world"))
        #expect(embedder.embed("ÜBER GRÖSSE") == embedder.embed("über grösse"))
        #expect(embedder.embed("ΣΟΦΙΑ") == embedder.embed("σοφια"))
        // "İ" lowercases to two scalars (i and a combining dot above).
        #expect(embedder.embed("İstanbul") == embedder.embed("i\u{307}stanbul"))
        #expect(embedder.embed("word") != embedder.embed("words"))
        #expect(embedder.embed("a b") != embedder.embed("b a"))
    }

    @Test("long texts, repeated words and every identifier in use stay finite and normalised")
    func extremes() {
        let embedder = HashingEmbedder()
        let repeated = embedder.embed(String(repeating: "word ", count: 5000))
        #expect(abs(norm(repeated) - 1) < 1e-5)
        // Many distinct words fill every identifier of every family.
        let distinct = (0..<40_000).map { String($0, radix: 36) + "q" }.joined(separator: " ")
        let vector = embedder.embed(distinct)
        #expect(vector.allSatisfy { $0.isFinite })
        #expect(abs(norm(vector) - 1) < 1e-5)
    }

    @Test("a batch after a huge text gives the same vectors as alone")
    func batchAfterHugeText() async {
        let embedder = HashingEmbedder()
        let huge = (0..<40_000).map { String($0, radix: 36) + "q" }.joined(separator: " ")
        let vectors = await embedder.embed([huge] + sampleSentences)
        #expect(Array(vectors.dropFirst()).map(bitPatterns) == sampleSentences.map { bitPatterns(embedder.embed($0)) })
    }

    @Test("is usable through the Embedder protocol")
    func protocolUse() async throws {
        let embedder: any Embedder = HashingEmbedder()
        #expect(embedder.identifier == "hashing-v1")
        #expect(embedder.dimension == 384)
        let vectors = try await embedder.embed(["one", "two"])
        #expect(vectors.count == 2)
        #expect(vectors[0] == HashingEmbedder().embed("one"))
    }

    @Test("golden vector: the hashing has not changed (change the identifier if it must)")
    func golden() {
        let vector = HashingEmbedder().embed(
            "Annals is an event-sourced document-processing service: every upload, chunk and failure is an event."
        )
        var checksum = FeatureHash.fnvOffset
        for value in vector {
            checksum = (checksum ^ UInt64(value.bitPattern)) &* FeatureHash.fnvPrime
        }
        let sum = vector.reduce(0.0) { $0 + Double($1) }
        #expect(vector.filter { $0 != 0 }.count == 147)
        #expect(abs(sum - -1.157449647784233) < 1e-12)
        #expect(Array(vector.prefix(5)) == [-0.0995497, 0, 0.04262842, 0.04262842, 0.16855231])
        #expect(checksum == 0xE721_0A27_457D_70C7)
    }
}

@Suite("Feature hashing arithmetic")
struct FeatureHashTests {
    @Test("the IEEE-only logarithm matches the C library's to the last bits")
    func naturalLog() {
        for x in [1.0, 1.5, 2, 2.718281828459045, 3, 7, 10, 100, 255, 1000, 65_535, 1e9, 1e15] {
            let ours = FeatureHash.naturalLog(x)
            #expect(abs(ours - Foundation.log(x)) <= 4e-16 * max(1, abs(Foundation.log(x))), "ln \(x)")
        }
        #expect(FeatureHash.naturalLog(1) == 0)
    }

    @Test("the mixer is MurmurHash3's finaliser")
    func mix() {
        #expect(FeatureHash.mix(0) == 0)
        #expect(FeatureHash.mix(1) == 0xB456_BCFC_34C2_CB2C)
    }

    @Test("embedding errors carry their code and say whether a retry may help")
    func errors() {
        let error = EmbeddingError(.timeout, "The embedding service did not answer within 30 s.")
        #expect(error.isRetryable)
        #expect(error.description == "The embedding service did not answer within 30 s.")
        #expect(EmbeddingError(.badResponse, "x").isRetryable == false)
        #expect(EmbeddingError.Code.rateLimited.description == "rate_limited")
    }
}
