import AnnalsEmbedding
import AnnalsExtract
import AnnalsHTTP
import AnnalsProjections
import AnnalsService
import AnnalsTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@Suite("HTTP API")
struct APITests {
    static let text = """
        Annals keeps every event in an append-only log.

        Projections answer queries: the queue, the documents, the vectors. A crash loses nothing that was \
        acknowledged, because recovery is a replay of the log.
        """

    @Test("probes answer without a key; data routes require one (problem+json)")
    func probesAndAuth() async throws {
        try await withTestApp { app in
            #expect(try await app.send(.get, "/livez", key: "").status == .ok)
            #expect(try await app.send(.get, "/readyz", key: "").status == .ok)
            let missing = try await app.send(.get, "/v1/queue", key: "")
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.contentType] == "application/problem+json")
            #expect(try missing.json()["status"] as? Int == 401)
            #expect(try await app.send(.get, "/v1/queue", key: "ank_wrong").status == .unauthorized)
            #expect(try await app.send(.get, "/v1/queue").status == .ok)
        }
    }

    @Test("upload, read your write, processing, search")
    func uploadAndSearch() async throws {
        try await withTestApp { app in
            let response = try await app.send(
                .post, "/v1/documents?filename=notes.txt", body: Self.text, headers: [.contentType: "text/plain"])
            #expect(response.status == .accepted)
            let json = try response.json()
            let id = try #require(json["id"] as? String)
            #expect(json["status"] as? String == "queued")
            #expect((json["sha256"] as? String)?.count == 64)
            #expect(json["size"] as? Int == Self.text.utf8.count)
            // Read your writes: the document is there at once.
            let document = try await app.send(.get, "/v1/documents/\(id)")
            #expect(document.status == .ok)
            #expect(try document.json()["filename"] as? String == "notes.txt")
            try await app.eventually("completion") {
                app.core.engine.read { $0.documents.document(id: id)?.status == .completed }
            }
            let search = try await app.send(
                .post, "/v1/search", body: #"{"query": "recovery replay of the log", "k": 3}"#)
            #expect(search.status == .ok)
            let results = try #require(try search.json()["results"] as? [[String: Any]])
            #expect(results.first?["documentId"] as? String == id)
            #expect((results.first?["text"] as? String)?.contains("log") == true)
            let completed = try await app.send(.get, "/v1/documents/\(id)").json()
            #expect(completed["status"] as? String == "completed")
            #expect((completed["chunks"] as? Int ?? 0) >= 1)
        }
    }

    @Test("the same idempotency key, or the same content, returns the existing document")
    func deduplication() async throws {
        try await withTestApp { app in
            let first = try await app.send(
                .post, "/v1/documents", body: "first body", headers: [HTTPField.Name("Idempotency-Key")!: "abc"])
            let again = try await app.send(
                .post, "/v1/documents", body: "other body", headers: [HTTPField.Name("Idempotency-Key")!: "abc"])
            #expect(first.status == .accepted)
            #expect(again.status == .ok)
            #expect(try first.json()["id"] as? String == (try again.json()["id"] as? String))
            let copy = try await app.send(.post, "/v1/documents", body: "first body")
            #expect(try copy.json()["id"] as? String == (try first.json()["id"] as? String))
        }
    }

    @Test("bad input: empty body 400, unknown document 404, bad k or JSON 400, executable 415, too large 413")
    func badInput() async throws {
        try await withTestApp(configure: { $0.uploadBytesMax = 10_000 }) { app in
            #expect(try await app.send(.post, "/v1/documents", body: "").status == .badRequest)
            let unknown = try await app.send(.get, "/v1/documents/nope")
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[.contentType] == "application/problem+json")
            #expect(try await app.send(.post, "/v1/search", body: #"{"query": "x", "k": 0}"#).status == .badRequest)
            #expect(try await app.send(.post, "/v1/search", body: #"{"query": "x", "k": 1000}"#).status == .badRequest)
            #expect(try await app.send(.post, "/v1/search", body: "{not json").status == .badRequest)
            #expect(try await app.send(.post, "/v1/search", body: #"{"k": 3}"#).status == .badRequest)
            let elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + Array(repeating: 0, count: 100)
            let executable = try await app.send(.post, "/v1/documents?filename=x.txt", bytes: elf)
            #expect(executable.status == .unsupportedMediaType)
            let large = try await app.send(.post, "/v1/documents", body: String(repeating: "a", count: 20_000))
            #expect(large.status == .contentTooLarge)
            // Refusals are events, so abuse can be audited.
            #expect(app.core.engine.read { $0.metrics.uploadsRejectedTotal.values.reduce(0, +) } >= 2)
        }
    }

    @Test("a document whose extraction fails is retried, then dead-lettered, visible in its status and the queue")
    func deadLetter() async throws {
        try await withTestApp(configure: { $0.attemptsMax = 2 }) { app in
            // Valid text for the first 4 KiB the upload checks, invalid UTF-8 after it: extraction fails.
            let bytes = Array(String(repeating: "valid text ", count: 500).utf8) + [0xFF, 0xFE, 0x00, 0xC3]
            let response = try await app.send(.post, "/v1/documents", bytes: bytes)
            #expect(response.status == .accepted)
            let id = try #require(try response.json()["id"] as? String)
            try await app.eventually("dead letter") {
                app.core.engine.read { $0.documents.document(id: id)?.status == .dead }
            }
            let document = try await app.send(.get, "/v1/documents/\(id)").json()
            #expect(document["status"] as? String == "dead")
            #expect(document["attempts"] as? Int == 2)
            let lastError = try #require(document["lastError"] as? [String: Any])
            #expect(lastError["code"] as? String == "invalid_utf8")
            let queue = try await app.send(.get, "/v1/queue").json()
            #expect(queue["deadLettered"] as? Int == 1)
            let letters = try #require(queue["deadLetters"] as? [[String: Any]])
            #expect(letters.first?["documentId"] as? String == id)
        }
    }

    @Test("a tenant sees nothing of another tenant's documents")
    func tenantIsolation() async throws {
        try await withTestApp { app in
            let response = try await app.send(.post, "/v1/documents", body: Self.text)
            let id = try #require(try response.json()["id"] as? String)
            try await app.eventually("completion") {
                app.core.engine.read { $0.documents.document(id: id)?.status == .completed }
            }
            let other = try await KeyManager.create(
                core: app.core, tenant: "other", name: "other", scopes: [], createdBy: "test")
            #expect(try await app.send(.get, "/v1/documents/\(id)", key: other.secret).status == .notFound)
            let search = try await app.send(
                .post, "/v1/search", body: #"{"query": "log replay", "k": 5}"#, key: other.secret)
            #expect((try search.json()["results"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("/metrics: Prometheus text with counters derived from the log and live queue gauges")
    func metrics() async throws {
        try await withTestApp { app in
            let response = try await app.send(.post, "/v1/documents", body: Self.text)
            let id = try #require(try response.json()["id"] as? String)
            try await app.eventually("completion") {
                app.core.engine.read { $0.documents.document(id: id)?.status == .completed }
            }
            let metrics = try await app.send(.get, "/metrics", key: "")
            #expect(metrics.status == .ok)
            let text = String(buffer: metrics.body)
            #expect(text.contains("annals_uploads_received_total 1\n"))
            #expect(text.contains("annals_documents_completed_total 1\n"))
            #expect(text.contains("# TYPE annals_processing_duration_seconds histogram"))
            #expect(text.contains("annals_processing_duration_seconds_count 1\n"))
            #expect(text.contains("annals_uploads_rejected_total{reason=\"too_large\"} 0\n"))
            #expect(text.contains("annals_queue_depth 0\n"))
            // Every sample line is NAME{LABELS} VALUE with a numeric value.
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 2 && Double(parts[1]) != nil, "bad sample line: \(line)")
            }
            // Prometheus' own linter: names, units, help texts, histogram layout. `tools/setup` installs it.
            let directory = TemporaryDirectory()
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory.child("metrics.txt")))
            let lint = try run("/bin/sh", ["-c", "promtool check metrics < '\(directory.child("metrics.txt"))'"])
            #expect(lint.status == 0, "promtool (installed by tools/setup): \(lint.stdout)\(lint.stderr)")
            // The Grafana dashboard we ship plots only metrics the service exports.
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            let dashboard = try String(
                contentsOf: root.appendingPathComponent("dashboards/annals.json"), encoding: .utf8)
            let names = Set(dashboard.matches(of: /annals_[a-z_]+/).map { String($0.output) })
            #expect(names.count >= 20)
            for name in names {
                let family = name.hasSuffix("_bucket") ? String(name.dropLast("_bucket".count)) : name
                #expect(text.contains("# TYPE \(family) "), "the dashboard plots \(name), which /metrics lacks")
            }
        }
    }

    @Test("a document larger than one read is processed in a stream: the same chunks as the one-shot chunker")
    func streamedProcessing() async throws {
        try await withTestApp { app in
            var text = ""
            var index = 0
            while text.utf8.count < 3 << 20 {
                text += "Paragraph \(index) tells how the log keeps every event and how replay rebuilds state. "
                if index % 7 == 6 { text += "\n\n" }
                index += 1
            }
            let response = try await app.send(.post, "/v1/documents?filename=big.txt", body: text)
            #expect(response.status == .accepted)
            let id = try #require(try response.json()["id"] as? String)
            try await app.eventually("completion") {
                app.core.engine.read { $0.documents.document(id: id)?.status == .completed }
            }
            let expected = try Chunker(
                configuration: Chunker.Configuration(targetCharacters: 1000, overlapCharacters: 150)
            )
            .chunks(of: text)
            let document = try await app.send(.get, "/v1/documents/\(id)").json()
            #expect(document["chunks"] as? Int == expected.count)
            let chunks = app.core.engine.read { $0.vectors.chunks(of: id) }
            #expect(chunks.map(\.chunkIndex).sorted() == (0..<UInt32(expected.count)).map { $0 })
        }
    }
}

@Suite("Search by vector")
struct VectorSearchTests {
    @Test("a vector query finds what the same text finds; bad vectors get 400")
    func vectorQueries() async throws {
        try await withTestApp { app in
            let response = try await app.send(
                .post, "/v1/documents?filename=notes.txt", body: APITests.text, headers: [.contentType: "text/plain"])
            let id = try #require(try response.json()["id"] as? String)
            try await app.eventually("completion") {
                app.core.engine.read { $0.documents.document(id: id)?.status == .completed }
            }
            let vector = try #require(try await app.core.embedder.embed(["recovery replay of the log"]).first)
            // Scaled: the service normalises a client's vector, so the scores are the same cosines.
            let scaled = vector.map { Double($0) * 3 }
            let body = try JSONSerialization.data(withJSONObject: ["vector": scaled, "k": 3])
            // k = 1 is a number, not a boolean (JSON numbers 0 and 1 look like booleans to `is Bool` on Linux).
            let one = try await app.send(.post, "/v1/search", body: #"{"query": "log", "k": 1}"#)
            #expect(one.status == .ok)
            #expect((try one.json()["results"] as? [Any])?.count == 1)
            #expect(
                try await app.send(.post, "/v1/search", body: #"{"query": "log", "k": true}"#).status == .badRequest)
            let byVector = try await app.send(.post, "/v1/search", bytes: Array(body))
            #expect(byVector.status == .ok)
            let byText = try await app.send(
                .post, "/v1/search", body: #"{"query": "recovery replay of the log", "k": 3}"#)
            let vectorResults = try #require(try byVector.json()["results"] as? [[String: Any]])
            let textResults = try #require(try byText.json()["results"] as? [[String: Any]])
            #expect(vectorResults.count == textResults.count)
            #expect(vectorResults.first?["documentId"] as? String == id)
            for (a, b) in zip(vectorResults, textResults) {
                #expect(a["chunkIndex"] as? Int == b["chunkIndex"] as? Int)
                #expect(abs((a["score"] as? Double ?? 0) - (b["score"] as? Double ?? 1)) < 1e-4)
            }
            for mode in ["auto", "exact", "approximate"] {
                let answer = try await app.send(
                    .post, "/v1/search", body: #"{"query": "replay", "k": 2, "mode": "\#(mode)", "efSearch": 32}"#)
                #expect(answer.status == .ok, "mode \(mode)")
            }
            let zeros = "[" + Array(repeating: "0", count: vector.count).joined(separator: ",") + "]"
            for bad in [
                #"{"query": "x", "vector": [1, 2]}"#, #"{}"#, #"{"vector": "x"}"#, #"{"vector": [1, 2, 3]}"#,
                #"{"vector": ["a"]}"#, #"{"vector": \#(zeros)}"#, #"{"vector": [true]}"#,
                #"{"query": "x", "mode": "fast"}"#, #"{"query": "x", "efSearch": 0}"#,
                #"{"query": "x", "efSearch": 100000}"#,
            ] {
                let answer = try await app.send(.post, "/v1/search", body: bad)
                #expect(answer.status == .badRequest, "\(bad)")
                #expect(answer.headers[.contentType] == "application/problem+json")
            }
        }
    }
}

@Suite("Vector graphs in the service")
struct ServiceGraphTests {
    /// A document of about `paragraphs` chunks of distinct text.
    static func document(_ number: Int, paragraphs: Int) -> String {
        (0..<paragraphs).map { paragraph in
            (0..<40).map { word in "d\(number)p\(paragraph)w\(word % 7) topic\((number * 31 + paragraph) % 97)" }
                .joined(separator: " ")
        }.joined(separator: "\n\n")
    }

    /// Uploads `documents` documents `d0.txt`, `d1.txt`, ... (see `document`) and waits until every one is completed.
    static func uploadAndComplete(_ app: TestApp, documents: Int, paragraphs: Int) async throws {
        var ids: [String] = []
        for number in 0..<documents {
            let response = try await app.send(
                .post, "/v1/documents?filename=d\(number).txt", body: document(number, paragraphs: paragraphs),
                headers: [.contentType: "text/plain"])
            ids.append(try #require(try response.json()["id"] as? String))
        }
        try await app.eventually("completion") {
            app.core.engine.read { set in ids.allSatisfy { set.documents.document(id: $0)?.status == .completed } }
        }
    }

    @Test(
        "past the threshold a space is searched through its graph, built in the background and restored after a restart"
    )
    func graphsSurviveARestart() async throws {
        let directory = TemporaryDirectory()
        let configure: (inout ServiceConfiguration) -> Void = { $0.vectorGraphThreshold = 40 }
        let query = #"{"query": "d3p2w1 topic", "k": 5, "mode": "approximate"}"#
        let firstAnswer = Mutex<[String]>([])
        try await withTestApp(directory: directory, configure: configure) { app in
            try await Self.uploadAndComplete(app, documents: 6, paragraphs: 20)
            try await app.eventually("the graph to catch up") {
                let status = app.core.engine.read { $0.vectors.graphStatus }
                return status.graphs == 1 && status.indexedSlots == status.slots && status.slots >= 40
            }
            #expect(app.core.engine.graphSlotsInserted > 0)
            let metrics = String(buffer: try await app.send(.get, "/metrics", key: "").body)
            #expect(metrics.contains("annals_vectors_graphs 1\n"))
            #expect(metrics.contains("annals_vectors_graph_unindexed_slots 0\n"))
            let answer = try await app.send(.post, "/v1/search", body: query)
            let results = try #require(try answer.json()["results"] as? [[String: Any]])
            #expect(results.count == 5)
            firstAnswer.withLock { $0 = results.map { "\($0["documentId"] ?? "")/\($0["chunkIndex"] ?? "")" } }
        }
        // The graceful stop saved the graph: the restart restores it instead of inserting anything.
        try await withTestApp(directory: directory, configure: configure) { app in
            try await app.eventually("the graph to be restored") {
                let status = app.core.engine.read { $0.vectors.graphStatus }
                return status.graphs == 1 && status.indexedSlots == status.slots
            }
            #expect(app.core.engine.graphSlotsInserted == 0)
            let answer = try await app.send(.post, "/v1/search", body: query)
            let results = try #require(try answer.json()["results"] as? [[String: Any]])
            #expect(
                results.map { "\($0["documentId"] ?? "")/\($0["chunkIndex"] ?? "")" } == firstAnswer.withLock { $0 })
        }
    }
}

@Suite("Checkpoints in the service")
struct ServiceCheckpointTests {
    @Test("checkpoints keep the snapshot files of projections that did not change; a restart restores from them")
    func checkpointsKeepUnchangedFiles() async throws {
        let directory = TemporaryDirectory()
        let snapshotFiles: @Sendable (String) throws -> [String] = { prefix in
            try FileManager.default.contentsOfDirectory(atPath: directory.child("snapshots")).filter {
                $0.hasPrefix(prefix + "-") && $0.hasSuffix(".snap")
            }.sorted()
        }
        let vectorsFile = Mutex<[String]>([])
        try await withTestApp(directory: directory) { app in
            try await ServiceGraphTests.uploadAndComplete(app, documents: 2, paragraphs: 4)
            let first = try #require(try await app.core.checkpoint())
            // The checkpoint's own event changes the metrics only.
            try await app.eventually("the checkpoint event applied") { app.core.engine.appliedPosition > first }
            let second = try #require(try await app.core.checkpoint(after: first))
            #expect(second > first)
            #expect(try snapshotFiles("vectors") == ["vectors-\(first).snap"])
            #expect(try snapshotFiles("metrics") == ["metrics-\(first).snap", "metrics-\(second).snap"])
            vectorsFile.withLock { $0 = try! snapshotFiles("vectors") }
        }
        // The graceful stop wrote a third checkpoint, which still lists the first vectors file.
        try await withTestApp(directory: directory) { app in
            #expect(try snapshotFiles("vectors") == vectorsFile.withLock { $0 })
            let answer = try await app.send(.post, "/v1/search", body: #"{"query": "d1p2w1 topic", "k": 3}"#)
            #expect((try answer.json()["results"] as? [[String: Any]])?.count == 3)
            // What was restored from the kept files plus the tail equals a replay of the whole log.
            let replayed = ProjectionEngine(log: app.core.log, logger: Logger(label: "test"))
            try replayed.catchUp(through: app.core.engine.appliedPosition)
            #expect(replayed.read(\.digests) == app.core.engine.read(\.digests))
        }
    }
}
