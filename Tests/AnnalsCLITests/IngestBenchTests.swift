import AnnalsTesting
import Foundation
import Testing

@Suite("annals-bench ingest, through the real binary")
struct IngestBenchTests {
    /// The media type each generated format is detected as, and its content encoding.
    static let expected: [String: (contentType: String, encoding: String)] = [
        "text": ("text/plain", "identity"),
        "markdown": ("text/markdown", "identity"),
        "html": ("text/html", "identity"),
        "json": ("application/json", "identity"),
        "csv": ("text/csv", "identity"),
        "pdf": ("application/pdf", "identity"),
        "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "identity"),
        "gzip": ("text/plain", "gzip"),
    ]

    @Test("every generated format is detected as itself, yields its text in chunks, and has timed stages")
    func generatedFormats() throws {
        let result = try run(
            Binaries.path("annals-bench"),
            ["ingest", "--megabytes", "0.04", "--passes", "1", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try jsonLines(result.stdout)
        #expect(
            rows.map { $0["format"] as? String ?? "" } == [
                "text", "markdown", "html", "json", "csv", "pdf", "docx", "gzip",
            ])
        for row in rows {
            let format = row["format"] as? String ?? ""
            #expect(row["content_type"] as? String == Self.expected[format]?.contentType, "\(row)")
            #expect(row["encoding"] as? String == Self.expected[format]?.encoding, "\(row)")
            #expect(row["workload"] as? String == "ingest")
            #expect(row["threads"] as? Int == 1)
            // 40 kB of generated text, give or take the markup each format adds or drops and the titles.
            let textBytes = row["text_bytes"] as? Int ?? 0
            #expect(textBytes > 30_000 && textBytes < 80_000, "\(format): \(textBytes) text bytes")
            // Chunks of 1,000 characters with 150 overlap: about one per 850 bytes of text.
            let chunks = row["chunks"] as? Int ?? 0
            #expect(chunks >= textBytes / 1_000 && chunks <= textBytes / 500 + 2, "\(format): \(chunks) chunks")
            #expect((row["input_bytes"] as? Int ?? 0) > 0)
            let cpu = row["cpu_seconds"] as? Double ?? 0
            #expect(cpu > 0 && (row["seconds"] as? Double ?? 0) > 0)
            #expect((row["mb_per_cpu_second"] as? Double ?? 0) > 0)
            #expect((row["chunks_per_cpu_second"] as? Double ?? 0) > 0)
            let stages = ["extract", "chunk", "embed"].map { row["\($0)_cpu_seconds"] as? Double ?? -1 }
            #expect(stages.allSatisfy { $0 >= 0 }, "\(row)")
            #expect(stages.reduce(0, +) <= cpu + 0.01, "\(row)")
            #expect(["extract", "chunk", "embed"].allSatisfy { row["\($0)_seconds"] is Double })
        }
    }

    @Test("--file: a text file's bytes all become text; a refused file stops the run with the upload's reason")
    func file() throws {
        let dir = TemporaryDirectory()
        var text = ""
        for index in 0..<40 {
            text += "Paragraph \(index) has a few sentences. Each one ends with a full stop. Here is the last one.\n\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir.child("notes.txt")))
        let result = try run(Binaries.path("annals-bench"), ["ingest", "--file", dir.child("notes.txt"), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try jsonLines(result.stdout)
        #expect(rows.count == 1)
        #expect(rows.first?["format"] as? String == "file")
        #expect(rows.first?["content_type"] as? String == "text/plain")
        #expect(rows.first?["input_bytes"] as? Int == text.utf8.count)
        #expect(rows.first?["text_bytes"] as? Int == text.utf8.count)
        #expect((rows.first?["chunks"] as? Int ?? 0) >= 4)

        // The first bytes of an ELF executable: refused at upload, so refused here.
        try Data([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 56))
            .write(to: URL(fileURLWithPath: dir.child("tool.txt")))
        let refused = try run(Binaries.path("annals-bench"), ["ingest", "--file", dir.child("tool.txt")])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("refused at upload"), "\(refused.stderr)")
    }

}
