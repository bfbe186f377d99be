import AnnalsProjections
import AnnalsService
import AnnalsTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The hostile set of the issue, through the real API: each file ends in a 4xx at upload or a failed job with a
/// precise code, and the service stays healthy.
@Suite("Hostile uploads")
struct HostileUploadTests {
    /// How one hostile file must end.
    enum Outcome: CustomStringConvertible, Sendable {
        case refused(HTTPResponse.Status)
        case failed([String])

        var description: String {
            switch self {
            case .refused(let status): "refused with \(status.code)"
            case .failed(let codes): "failed with \(codes.joined(separator: " or "))"
            }
        }
    }

    /// Makes a file with a shell pipeline (python3 and gzip are on every machine the tests run on).
    private func make(_ name: String, in directory: TemporaryDirectory, _ script: String) throws -> [UInt8] {
        let path = directory.child(name)
        let result = try run("/bin/sh", ["-c", script.replacingOccurrences(of: "OUT", with: "'\(path)'")])
        #expect(result.status == 0, "making \(name): \(result.stderr)")
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    }

    private func pdfFixture(_ name: String) throws -> [UInt8] {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return try [UInt8](Data(contentsOf: here.appendingPathComponent("AnnalsExtractTests/Fixtures/pdf/\(name)")))
    }

    @Test("bombs, slips, polyglots, disguised executables, broken and pathological files")
    func hostileSet() async throws {
        let directory = TemporaryDirectory()
        let zipScript = { (entries: String) in
            "python3 -c \"import zipfile; z = zipfile.ZipFile(OUT_PY, 'w', zipfile.ZIP_DEFLATED); \(entries); z.close()\""
        }
        func zip(_ name: String, _ entries: String) throws -> [UInt8] {
            let path = directory.child(name)
            return try make(
                name, in: directory, zipScript(entries).replacingOccurrences(of: "OUT_PY", with: "'\(path)'"))
        }
        let contentTypes = "z.writestr('[Content_Types].xml', '<Types/>')"
        let ls = try pdfFixture("ls.pdf")
        var cases: [(name: String, bytes: [UInt8], contentType: String?, outcome: Outcome)] = [
            (
                "bomb.txt.gz",
                try make("bomb.txt.gz", in: directory, "head -c 300000000 /dev/zero | tr '\\0' a | gzip -9 > OUT"),
                nil, .failed(["compression_ratio", "decompressed_too_large"])
            ),
            (
                "bomb.docx",
                try zip(
                    "bomb.docx",
                    contentTypes
                        + "; z.writestr('word/document.xml', '<w:document>' + ' ' * 100000000 + '</w:document>')"),
                nil, .failed(["compression_ratio", "decompressed_too_large"])
            ),
            (
                "slip.docx",
                try zip(
                    "slip.docx",
                    contentTypes
                        + "; z.writestr('word/document.xml', '<w:document/>'); z.writestr('../../evil.sh', 'x')"),
                nil, .failed(["unsafe_path"])
            ),
            (
                "polyglot.pdf",
                ls + (try zip("inner.docx", contentTypes + "; z.writestr('word/document.xml', '<w:document/>')")), nil,
                .refused(.unsupportedMediaType)
            ),
            (
                "elf.pdf", try [UInt8](Data(contentsOf: URL(fileURLWithPath: "/bin/true"))), "application/pdf",
                .refused(.unsupportedMediaType)
            ),
            (
                "elf-undeclared.pdf", try [UInt8](Data(contentsOf: URL(fileURLWithPath: "/bin/true"))), nil,
                .refused(.unsupportedMediaType)
            ),
            ("truncated.pdf", Array(ls.prefix(ls.count / 3)), nil, .failed(["malformed"])),
            ("encrypted.pdf", try pdfFixture("true-encrypted.pdf"), nil, .failed(["encrypted"])),
            ("scanned.pdf", try pdfFixture("true-scanned.pdf"), nil, .failed(["no_text"])),
            (
                "deep.json",
                Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8), nil,
                .failed(["too_deep"])
            ),
            (
                "wide.csv", Array(("h\n" + String(repeating: "a,", count: 1_000_000) + "a\n").utf8), "text/csv",
                .failed(["too_many_columns"])
            ),
            (
                "invalid.txt", Array("valid text, then".utf8) + Array(repeating: 0x41, count: 5000) + [0xC3, 0x28], nil,
                .failed(["invalid_utf8"])
            ),
        ]
        // 100,000 nested tags are not an error: the text inside is extracted, in bounded memory.
        let nested =
            String(repeating: "<div>", count: 100_000) + "deeply nested words"
            + String(repeating: "</div>", count: 100_000)
        cases.append(("nested.html", Array(("<!doctype html>" + nested).utf8), nil, .failed([])))
        let hostile = cases
        try await withTestApp(configure: { $0.attemptsMax = 1 }) { app in
            for item in hostile {
                var headers: HTTPFields = [:]
                if let contentType = item.contentType { headers[.contentType] = contentType }
                let response = try await app.send(
                    .post, "/v1/documents?filename=\(item.name)", bytes: item.bytes, headers: headers)
                switch item.outcome {
                case .refused(let status):
                    #expect(response.status == status, "\(item.name): \(String(buffer: response.body))")
                    #expect(response.headers[.contentType] == "application/problem+json")
                case .failed(let codes):
                    #expect(response.status == .accepted, "\(item.name): \(String(buffer: response.body))")
                    guard let id = try response.json()["id"] as? String else { continue }
                    try await app.eventually("\(item.name) processed") {
                        let status = app.core.engine.read { $0.documents.document(id: id)?.status }
                        return status == .completed || status == .dead
                    }
                    let document = try await app.send(.get, "/v1/documents/\(id)").json()
                    if codes.isEmpty {
                        #expect(document["status"] as? String == "completed", "\(item.name): \(document)")
                    } else {
                        let code = (document["lastError"] as? [String: Any])?["code"] as? String ?? "none"
                        #expect(document["status"] as? String == "dead", "\(item.name): \(document)")
                        #expect(codes.contains(code), "\(item.name): \(code), expected \(item.outcome)")
                    }
                }
            }
            // Every refusal is an event, for audits.
            let rejected = app.core.engine.read { $0.metrics.uploadsRejectedTotal.values.reduce(0, +) }
            #expect(rejected == 3)
            // Healthy afterwards.
            #expect(try await app.send(.get, "/readyz", key: "").status == .ok)
            let after = try await app.send(.post, "/v1/documents?filename=ok.txt", body: "after the storm, calm seas")
            let id = try #require(try after.json()["id"] as? String)
            try await app.eventually("a normal document") {
                app.core.engine.read { $0.documents.document(id: id)?.status == .completed }
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: app.core.blobs.temporaryDirectory)
            #expect(leftovers.isEmpty)
        }
    }
}
