import AnnalsBenchSupport
import AnnalsExtract
import ArgumentParser
import Foundation

/// `annals-bench pdf`: text extraction from PDF files, read through a `FileByteSource` as the worker reads them.
struct PDFBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pdf",
        abstract: "Extract the text of PDF files; print pages, text bytes and MB/s of PDF read (wall and CPU time)."
    )

    @Argument(help: "PDF files to extract.")
    var files: [String]
    @Option(help: "Passes over each file; the fastest is reported.")
    var passes = 3
    @Flag(help: "Print JSON lines.")
    var json = false

    func validate() throws {
        guard passes > 0 else { throw ValidationError("--passes must be positive") }
    }

    func run() async throws {
        let clock = ContinuousClock()
        for path in files {
            var best = (wall: Double.infinity, cpu: Double.infinity)
            var pages = 0
            var textBytes = 0
            var size = 0
            for _ in 0..<passes {
                let start = clock.now
                let cpuStart = ProcessMemory.cpuSeconds()
                let source = try FileByteSource(path: path)
                size = source.size
                var extractor = try PDFExtractor(source: source)
                textBytes = 0
                while let pieces = try extractor.nextPage() {
                    for case .text(let text) in pieces { textBytes += text.utf8.count }
                }
                pages = extractor.pageCount
                let wall = (clock.now - start).seconds
                let cpu = ProcessMemory.cpuSeconds() - cpuStart
                if wall < best.wall { best = (wall, cpu) }
            }
            let megabytes = Double(size) / 1e6
            if json {
                print(
                    String(
                        format: "{\"system\":\"annals\",\"workload\":\"pdf\",\"file\":\"%@\",\"bytes\":%d,\"pages\":%d,"
                            + "\"text_bytes\":%d,\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"mb_per_second\":%.1f,"
                            + "\"mb_per_cpu_second\":%.1f}",
                        path, size, pages, textBytes, best.wall, best.cpu, megabytes / best.wall, megabytes / best.cpu))
            } else {
                print(
                    String(
                        format: "pdf %@: %.1f MB, %d pages, %d text bytes in %.3f s (%.3f s CPU): %.1f MB/s "
                            + "(%.1f MB per CPU second)",
                        path, megabytes, pages, textBytes, best.wall, best.cpu, megabytes / best.wall,
                        megabytes / best.cpu))
            }
        }
    }
}
