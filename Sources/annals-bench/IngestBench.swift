import AnnalsBenchSupport
import AnnalsEmbedding
import AnnalsExtract
import AnnalsService
import ArgumentParser
import Foundation

/// `annals-bench ingest`: the worker's whole processing path (format detection, the document reader, the chunker,
/// the built-in hashing embedder in the worker's batches) over one document per format, on one thread.
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Process documents as the worker does (detect, extract, chunk, hashing-embed) on one thread; print "
            + "MB of input per CPU second and per second, chunks/s, and the time of each stage."
    )

    @Option(help: "A document to process (its format detected from its bytes and name, as at upload).")
    var file: String?
    @Option(help: "Formats of the generated documents when no --file: \(IngestCorpus.Kind.allNames).")
    var formats = IngestCorpus.Kind.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Text in each generated document, in megabytes (10^6 bytes); compressed formats are smaller.")
    var megabytes = 16.0
    @Option(help: "Seed of the generated documents.")
    var seed: UInt64 = 1
    @Option(help: "Passes over each document; the one with the least CPU time is reported.")
    var passes = 3
    @Option(help: "Keep the generated documents in this directory (created if needed) instead of a temporary one.")
    var keepCorpora: String?
    @Flag(help: "Print JSON lines.")
    var json = false

    func validate() throws {
        guard megabytes > 0, passes > 0 else { throw ValidationError("--megabytes and --passes must be positive") }
        if file == nil {
            _ = try kinds()
        }
    }

    private func kinds() throws -> [IngestCorpus.Kind] {
        try formats.split(separator: ",").map { name in
            guard let kind = IngestCorpus.Kind(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown format '\(name)'; known: \(IngestCorpus.Kind.allNames)")
            }
            return kind
        }
    }

    func run() async throws {
        // The service's settings (chunk size and overlap, batch, embedder dimension), with the limits on extracted
        // and decompressed bytes lifted so that any size can be measured; the other limits stay as served.
        var settings = ServiceConfiguration()
        settings.extractedTextBytesMax = 1 << 40
        settings.decompressedBytesMax = 1 << 40
        let directory = try keepCorpora ?? Self.makeTemporaryDirectory()
        defer { if keepCorpora == nil { try? FileManager.default.removeItem(atPath: directory) } }
        if keepCorpora != nil {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var documents: [(label: String, path: String)] = []
        if let file {
            documents.append((label: "file", path: file))
        } else {
            for kind in try kinds() {
                let path = directory + "/" + kind.fileName
                try IngestCorpus.write(kind, textBytes: Int(megabytes * 1e6), seed: seed, to: path)
                documents.append((label: kind.rawValue, path: path))
            }
        }
        if !json {
            print(
                "one thread; settings as served: chunks of \(settings.chunkCharacters) with "
                    + "\(settings.chunkOverlapCharacters) overlap, batches of \(settings.chunkBatchCountMax), "
                    + "\(HashingEmbedder.identifierV1) in \(settings.embeddingDimension) dimensions; best of \(passes)")
        }
        for document in documents {
            var best: IngestRun?
            for _ in 0..<passes {
                let result = try await IngestRun.measure(
                    path: document.path, settings: settings, scratchDirectory: directory)
                if best == nil || result.cpu.total < best!.cpu.total { best = result }
            }
            report(best!, label: document.label)
        }
    }

    private func report(_ result: IngestRun, label: String) {
        let megabytes = Double(result.inputBytes) / 1e6
        let mbPerCPU = megabytes / result.cpu.total
        let mbPerSecond = megabytes / result.wall.total
        let chunksPerCPU = Double(result.chunks) / result.cpu.total
        if json {
            var row = "{\"system\":\"annals\",\"workload\":\"ingest\",\"format\":\"\(label)\","
            row += "\"content_type\":\"\(result.contentType)\",\"encoding\":\"\(result.encoding)\",\"threads\":1,"
            row += String(
                format: "\"input_bytes\":%d,\"text_bytes\":%d,\"chunks\":%d,\"seconds\":%.4f,\"cpu_seconds\":%.4f,"
                    + "\"mb_per_second\":%.2f,\"mb_per_cpu_second\":%.2f,\"text_mb_per_cpu_second\":%.2f,"
                    + "\"chunks_per_second\":%.1f,\"chunks_per_cpu_second\":%.1f,",
                result.inputBytes, result.textBytes, result.chunks, result.wall.total, result.cpu.total, mbPerSecond,
                mbPerCPU, Double(result.textBytes) / 1e6 / result.cpu.total,
                Double(result.chunks) / result.wall.total, chunksPerCPU)
            row += String(
                format: "\"extract_cpu_seconds\":%.4f,\"chunk_cpu_seconds\":%.4f,\"embed_cpu_seconds\":%.4f,"
                    + "\"extract_seconds\":%.4f,\"chunk_seconds\":%.4f,\"embed_seconds\":%.4f}",
                result.cpu.extract, result.cpu.chunk, result.cpu.embed, result.wall.extract, result.wall.chunk,
                result.wall.embed)
            print(row)
        } else {
            let encoding = result.encoding == "identity" ? "" : " in \(result.encoding)"
            print(
                String(
                    format: "%@ (%@%@): %.1f MB in, %.1f MB of text, %d chunks; %.2f MB per CPU second, %.2f MB/s, "
                        + "%.0f chunks per CPU second; CPU: extract %.0f%%, chunk %.0f%%, embed %.0f%%",
                    label, result.contentType, encoding, megabytes, Double(result.textBytes) / 1e6, result.chunks,
                    mbPerCPU, mbPerSecond, chunksPerCPU, 100 * result.cpu.extract / result.cpu.total,
                    100 * result.cpu.chunk / result.cpu.total, 100 * result.cpu.embed / result.cpu.total))
        }
    }

    private static func makeTemporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "/annals-ingest-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// One timed pass of the processing path over one document.
struct IngestRun {
    /// Seconds spent in each stage, and in all of them.
    struct Stages {
        var extract = 0.0
        var chunk = 0.0
        var embed = 0.0
        var total = 0.0
    }

    var contentType: String
    var encoding: String
    var inputBytes: Int
    var textBytes = 0
    var chunks = 0
    var wall = Stages()
    var cpu = Stages()

    /// Detects the document at `path` as an upload is detected, then reads, chunks and embeds it as the worker does
    /// (`Worker.run`), timing each stage in wall-clock and CPU time.
    ///
    /// The work runs on one thread: the reader, the chunker and the embedder are called in turn, never at once.
    /// Appending the chunk events to the log, which the worker also does, is not part of this path.
    static func measure(path: String, settings: ServiceConfiguration, scratchDirectory: String) async throws
        -> IngestRun
    {
        let detection = try detect(path: path)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        var run = IngestRun(
            contentType: detection.contentType, encoding: detection.encoding.rawValue, inputBytes: size)
        let embedder = try HashingEmbedder(dimension: settings.embeddingDimension)
        let clock = ContinuousClock()
        var checksum: Float = 0

        // Each stage is timed around its calls; the sum of the stages is the whole, less the loop's bookkeeping.
        var wallMark = clock.now
        var cpuMark = ProcessMemory.cpuSeconds()
        let wallStart = wallMark
        let cpuStart = cpuMark
        func lap(_ stage: WritableKeyPath<Stages, Double>) {
            let wallNow = clock.now
            let cpuNow = ProcessMemory.cpuSeconds()
            run.wall[keyPath: stage] += (wallNow - wallMark).seconds
            run.cpu[keyPath: stage] += cpuNow - cpuMark
            wallMark = wallNow
            cpuMark = cpuNow
        }

        let reader = try DocumentReader(
            path: path, mediaType: detection.contentType, encoding: detection.encoding.rawValue,
            configuration: settings.extraction, scratchDirectory: scratchDirectory)
        defer { reader.close() }
        var chunker = try Chunker(
            configuration: Chunker.Configuration(
                targetCharacters: settings.chunkCharacters, overlapCharacters: settings.chunkOverlapCharacters))
        lap(\.extract)
        let batchSize = settings.chunkBatchCountMax
        var pending: [Chunk] = []
        var finished = false
        while !finished {
            let next = try reader.next()
            lap(\.extract)
            finished = next == nil
            for piece in next ?? [] {
                if case .text(let text) = piece { run.textBytes += text.utf8.count }
                pending += chunker.feed(piece)
            }
            if finished { pending += chunker.finish() }
            lap(\.chunk)
            while pending.count >= batchSize || (finished && !pending.isEmpty) {
                let batch = Array(pending.prefix(batchSize))
                pending.removeFirst(batch.count)
                let vectors = await embedder.embed(batch.map(\.text))
                checksum += vectors.first?.first ?? 0
                run.chunks += batch.count
            }
            lap(\.embed)
        }
        run.wall.total = (clock.now - wallStart).seconds
        run.cpu.total = ProcessMemory.cpuSeconds() - cpuStart
        // Printed nowhere; keeps the embedding from being optimised away.
        if checksum.isNaN { print("") }
        return run
    }

    /// What the upload path decides the document is, from its first bytes and its file name.
    static func detect(path: String) throws -> FormatDetection {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ValidationError("cannot open \(path)")
        }
        defer { try? handle.close() }
        let prefix = try handle.read(upToCount: FormatDetector.prefixBytesMax) ?? Data()
        let isComplete = try handle.read(upToCount: 1)?.isEmpty ?? true
        let detection = FormatDetector.detect(
            prefix: prefix, declaredContentType: nil, filename: URL(fileURLWithPath: path).lastPathComponent,
            isComplete: isComplete)
        if let refusal = detection.refusal {
            throw ValidationError("\(path) would be refused at upload: \(refusal.message)")
        }
        return detection
    }
}
