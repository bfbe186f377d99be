import AnnalsProjections
import AnnalsService
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("The service with an HTTP embedder")
struct HTTPEmbedderServiceTests {
    @Test("a failing embedder fails the attempt (stage embed), the retry succeeds, search embeds through it")
    func failThenRecover() async throws {
        // The first three requests fail (the first attempt and its two in-request retries); then it works.
        try await withEmbedderStub(answer: { number, _ in
            number <= 3 ? .status(503, retryAfter: nil) : .vectors(dimension: 16)
        }) { stub in
            try await withTestApp(configure: { configuration in
                configuration.embedder = .http
                configuration.embedderURL = stub.url.absoluteString
                configuration.embedderModel = "stub-model"
                configuration.embeddingDimension = 16
                configuration.embedderRetries = 2
                configuration.workers = 1
            }) { app in
                let response = try await app.send(
                    .post, "/v1/documents?filename=a.txt", body: APITests.text, headers: [.contentType: "text/plain"])
                let id = try #require(try response.json()["id"] as? String)
                try await app.eventually("completion") {
                    app.core.engine.read { $0.documents.document(id: id)?.status == .completed }
                }
                let document = try await app.send(.get, "/v1/documents/\(id)").json()
                #expect(document["attempts"] as? Int == 2)
                let lastError = document["lastError"] as? [String: Any]
                #expect(lastError?["stage"] as? String == "embed")
                #expect(lastError?["code"] as? String == "unavailable")
                let search = try await app.send(.post, "/v1/search", body: #"{"query": "replay of the log", "k": 2}"#)
                #expect(search.status == .ok)
                let results = try #require(try search.json()["results"] as? [[String: Any]])
                #expect(results.first?["documentId"] as? String == id)
                // The query went through the stub too.
                #expect(stub.inputs().last == ["replay of the log"])
            }
        }
    }
}
