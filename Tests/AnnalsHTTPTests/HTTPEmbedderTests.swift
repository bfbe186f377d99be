import AnnalsEmbedding
import AnnalsService
import Foundation
import Testing

@Suite("HTTP embedder against a local stub server")
struct HTTPEmbedderTests {
    private func embedder(
        _ url: URL, dimension: Int = 8, batchSize: Int = 3, timeout: Duration = .seconds(5), retries: Int = 2
    ) throws -> HTTPEmbedder {
        try HTTPEmbedder(
            configuration: .init(
                baseURL: url, model: "stub-model", apiKey: "secret", dimension: dimension, batchSize: batchSize,
                timeout: timeout, retries: retries, retryDelayBase: .milliseconds(10),
                retryDelayMax: .milliseconds(50)))
    }

    @Test("batches, keeps input order, normalises")
    func batches() async throws {
        try await withEmbedderStub(answer: { _, _ in .vectors(dimension: 8) }) { stub in
            let texts = (0..<7).map { "text number \($0)" }
            let vectors = try await embedder(stub.url).embed(texts)
            #expect(stub.requests() == 3)
            #expect(stub.inputs() == [Array(texts[0..<3]), Array(texts[3..<6]), [texts[6]]])
            #expect(vectors.count == 7)
            for (text, vector) in zip(texts, vectors) {
                let raw = stubVector(text, dimension: 8)
                let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
                for (got, want) in zip(vector, raw) { #expect(abs(Double(got) - want / norm) < 1e-5) }
            }
            #expect(try embedder(stub.url).identifier == "http:stub-model")
        }
    }

    @Test("429 and 503 are retried, then succeed")
    func retriesThenSucceeds() async throws {
        try await withEmbedderStub(answer: { number, _ in
            switch number {
            case 1: .status(429, retryAfter: 0)
            case 2: .status(503, retryAfter: nil)
            default: .vectors(dimension: 8)
            }
        }) { stub in
            let vectors = try await embedder(stub.url).embed(["one"])
            #expect(vectors.count == 1)
            #expect(stub.requests() == 3)
        }
    }

    @Test("failures once retries are spent: codes say what happened, and which are retryable")
    func failureCodes() async throws {
        let cases: [(StubAnswer, EmbeddingError.Code, Bool)] = [
            (.status(500, retryAfter: nil), .unavailable, true),
            (.status(429, retryAfter: nil), .rateLimited, true),
            (.status(400, retryAfter: nil), .invalidInput, false),
            (.garbage, .badResponse, false),
            (.vectors(dimension: 5), .badResponse, false),
        ]
        for (answer, code, retryable) in cases {
            try await withEmbedderStub(answer: { _, _ in answer }) { stub in
                do {
                    _ = try await embedder(stub.url, retries: 1).embed(["x"])
                    Issue.record("\(answer) did not fail")
                } catch let error as EmbeddingError {
                    #expect(error.code == code)
                    #expect(error.isRetryable == retryable)
                    #expect(stub.requests() == (retryable ? 2 : 1))
                }
            }
        }
    }

    @Test("a slow server times out")
    func timeout() async throws {
        try await withEmbedderStub(answer: { _, _ in .delayed(.seconds(30), .vectors(dimension: 8)) }) { stub in
            let started = ContinuousClock.now
            do {
                _ = try await embedder(stub.url, timeout: .milliseconds(300), retries: 0).embed(["slow"])
                Issue.record("a slow answer did not time out")
            } catch let error as EmbeddingError {
                #expect(error.code == .timeout, "\(error)")
            }
            // The request waited for its timeout rather than failing at once, and did not wait for the 30 s answer.
            // The upper bound is loose because a loaded test runner can delay any wake-up by seconds.
            let waited = ContinuousClock.now - started
            #expect(waited >= .milliseconds(250) && waited < .seconds(15), "waited \(waited)")
        }
    }

    @Test("a refused connection is unavailable; bad settings are refused at once")
    func unavailableAndConfiguration() async throws {
        let closed = try embedder(URL(string: "http://127.0.0.1:1")!, retries: 0)
        do {
            _ = try await closed.embed(["x"])
            Issue.record("a refused connection succeeded")
        } catch let error as EmbeddingError {
            #expect(error.code == .unavailable)
        }
        #expect(throws: EmbeddingError.self) { try embedder(URL(string: "ftp://127.0.0.1")!) }
        #expect(throws: EmbeddingError.self) { try embedder(URL(string: "http://127.0.0.1")!, batchSize: 0) }
    }
}
