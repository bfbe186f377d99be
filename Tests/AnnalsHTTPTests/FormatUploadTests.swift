import AnnalsProjections
import AnnalsService
import AnnalsTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite("Formats through the API")
struct FormatUploadTests {
    /// Uploads `bytes`, waits for the outcome, and returns the document's JSON.
    private func process(
        _ app: TestApp, _ bytes: [UInt8], filename: String, contentType: String?
    ) async throws -> [String: Any] {
        var headers: HTTPFields = [:]
        if let contentType { headers[.contentType] = contentType }
        let response = try await app.send(
            .post, "/v1/documents?filename=\(filename)", bytes: bytes, headers: headers)
        #expect(response.status == .accepted, "\(filename): \(String(buffer: response.body))")
        let id = try #require(try response.json()["id"] as? String)
        try await app.eventually("\(filename) processed") {
            let status = app.core.engine.read { $0.documents.document(id: id)?.status }
            return status == .completed || status == .dead
        }
        return try await app.send(.get, "/v1/documents/\(id)").json()
    }

    private func topHit(_ app: TestApp, _ query: String) async throws -> String? {
        let body = try JSONSerialization.data(withJSONObject: ["query": query, "k": 1])
        let results = try await app.send(.post, "/v1/search", bytes: Array(body)).json()["results"] as? [[String: Any]]
        return results?.first?["text"] as? String
    }

    @Test("HTML, JSON, JSON Lines, CSV and gzip-wrapped text are processed and searchable")
    func textFormats() async throws {
        try await withTestApp { app in
            let html = """
                <!doctype html><html><head><title>Harbour log</title><style>p { color: red }</style></head>
                <body><h1>Tides</h1><p>The lighthouse keeper recorded &quot;spring tides&quot; &amp; gales.</p>
                <script>var hidden = "never indexed";</script></body></html>
                """
            let document = try await process(app, Array(html.utf8), filename: "log.html", contentType: nil)
            #expect(document["status"] as? String == "completed")
            #expect(document["contentType"] as? String == "text/html")
            let hit = try #require(try await topHit(app, "lighthouse keeper spring tides"))
            #expect(hit.contains(#"recorded "spring tides" & gales"#))
            #expect(!hit.contains("never indexed") && !hit.contains("color: red"))

            let json = #"{"ship": {"name": "Calypso", "crew": [{"role": "navigator", "name": "Ines"}]}}"#
            let jsonDocument = try await process(
                app, Array(json.utf8), filename: "ship.json", contentType: "application/json")
            #expect(jsonDocument["status"] as? String == "completed")
            #expect(try await topHit(app, "Calypso navigator Ines")?.contains("ship.crew[0].role: navigator") == true)

            let lines = "{\"event\": \"anchor dropped at dawn\"}\n{\"event\": \"sails mended\"}\n"
            let linesDocument = try await process(
                app, Array(lines.utf8), filename: "events.jsonl", contentType: "application/x-ndjson")
            #expect(linesDocument["status"] as? String == "completed")

            let csv = "port,cargo\r\n\"Valletta, Malta\",\"olive oil, \"\"extra\"\" virgin\"\r\n"
            let csvDocument = try await process(app, Array(csv.utf8), filename: "cargo.csv", contentType: "text/csv")
            #expect(csvDocument["status"] as? String == "completed")
            #expect(try await topHit(app, "Valletta olive oil")?.contains("port: Valletta, Malta") == true)

            let directory = TemporaryDirectory()
            let plain = directory.child("notes.md")
            try Data("# Ropes\n\nA bowline knot holds under load and unties easily.\n".utf8).write(
                to: URL(fileURLWithPath: plain))
            let gzip = try run("/bin/gzip", ["-k", "-9", plain])
            #expect(gzip.status == 0)
            let compressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: plain + ".gz")))
            let gzipped = try await process(app, compressed, filename: "notes.md.gz", contentType: "application/gzip")
            #expect(gzipped["status"] as? String == "completed")
            #expect(gzipped["contentType"] as? String == "text/markdown")
            #expect(try await topHit(app, "bowline knot")?.contains("bowline knot holds") == true)
        }
    }

    @Test("a JSON document nested too deep fails its job with too_deep; the service goes on")
    func deepJSON() async throws {
        try await withTestApp(configure: { $0.attemptsMax = 1 }) { app in
            let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            let document = try await process(app, Array(deep.utf8), filename: "deep.json", contentType: nil)
            #expect(document["status"] as? String == "dead")
            let lastError = document["lastError"] as? [String: Any]
            #expect(lastError?["code"] as? String == "too_deep")
            #expect(lastError?["stage"] as? String == "extract")
            let after = try await process(app, Array("still healthy".utf8), filename: "a.txt", contentType: nil)
            #expect(after["status"] as? String == "completed")
        }
    }

    /// A fixture of the extraction tests, read from the source tree.
    private func extractFixture(_ path: String) throws -> [UInt8] {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let url = here.deletingLastPathComponent().appendingPathComponent("AnnalsExtractTests/Fixtures/\(path)")
        return try [UInt8](Data(contentsOf: url))
    }

    @Test("DOCX, bare and gzip-wrapped, is processed and searchable; the inflated copy is removed")
    func docx() async throws {
        try await withTestApp { app in
            let bytes = try extractFixture("docx/sample.docx")
            let document = try await process(app, bytes, filename: "sample.docx", contentType: nil)
            #expect(document["status"] as? String == "completed", "\(document)")
            #expect(
                document["contentType"] as? String
                    == "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
            #expect(try await topHit(app, "the last paragraph after the table")?.contains("After the table") == true)

            let directory = TemporaryDirectory()
            let path = directory.child("sample.docx")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(try run("/bin/gzip", ["-9", path]).status == 0)
            let compressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + ".gz")))
            // Different bytes, so a new document (the same content would be deduplicated).
            let gzipped = try await process(app, compressed, filename: "sample.docx.gz", contentType: nil)
            #expect(gzipped["status"] as? String == "completed", "\(gzipped)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: app.core.blobs.temporaryDirectory)
            #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
        }
    }

    @Test("HTML in windows-1252 or a declared Latin-1 is processed and searchable; Shift_JIS is refused by name")
    func htmlCharsets() async throws {
        try await withTestApp { app in
            let page = try extractFixture("html/windows-1252.html")
            let document = try await process(app, page, filename: "menu.html", contentType: nil)
            #expect(document["status"] as? String == "completed", "\(document)")
            #expect(document["contentType"] as? String == "text/html")
            #expect(try await topHit(app, "crème brûlée")?.contains("Crème brûlée – 7 €") == true)

            // Declared only by the Content-Type: the worker reads the same declaration from the document's record.
            let latin1 = try extractFixture("html/latin1-undeclared.html")
            let declared = try await process(
                app, latin1, filename: "cafe.html", contentType: "text/html; charset=ISO-8859-1")
            #expect(declared["status"] as? String == "completed", "\(declared)")

            let shiftJIS = try await app.send(
                .post, "/v1/documents?filename=nihongo.html", bytes: try extractFixture("html/shift_jis.html"))
            #expect(shiftJIS.status == .unsupportedMediaType)
            #expect(String(buffer: shiftJIS.body).contains("shift_jis"))
        }
    }
}
