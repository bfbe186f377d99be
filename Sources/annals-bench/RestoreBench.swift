import AnnalsBenchSupport
import AnnalsEvents
import AnnalsProjections
import AnnalsVector
import ArgumentParser
import Foundation
import SwiftProtobuf

/// `annals-bench restore`: how long a large state takes to snapshot and to restore, the way the service does it.
struct RestoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Build a state of N chunk vectors in D dimensions over M documents (events applied to the "
            + "projections, vectors in file-backed arenas as in the service), write its snapshot files, and load "
            + "them back. Prints seconds for each step and the sizes."
    )

    @Option(help: "Chunk vectors in the state.")
    var vectors = 1_000_000
    @Option(help: "Dimension of the vectors.")
    var dim = 384
    @Option(help: "Documents the chunks are spread over.")
    var documents = 1000
    @Option(help: "Directory for the snapshot files and the arenas (a temporary one when omitted).")
    var directory: String?
    @Option(help: "Seed of the vectors.")
    var seed: UInt64 = 1
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard vectors > 0, documents > 0, documents <= vectors, (1...ExactIndex.dimensionMax).contains(dim) else {
            throw ValidationError("need 0 < --documents <= --vectors and --dim in 1...\(ExactIndex.dimensionMax)")
        }
    }

    func run() async throws {
        let root = directory ?? NSTemporaryDirectory() + "annals-restore-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: root) } }
        let backing = VectorArena.Backing.file(directory: root)
        let store = try SnapshotStore(directory: root + "/snapshots", vectorBacking: backing)

        var set = ProjectionSet(vectorBacking: backing)
        var generator = SplitMix64(state: seed)
        var position: UInt64 = 0
        let start = Date()
        func apply(_ event: Event, attachment: [UInt8] = []) {
            position += 1
            set.apply(
                ProjectedEvent(
                    position: position, timestamp: 1_700_000_000_000_000 + Int64(position), event: event,
                    attachment: attachment))
        }
        var vector = [Float](repeating: 0, count: dim)
        for document in 0..<documents {
            let id = "doc-\(document)"
            let chunks = vectors / documents + (document < vectors % documents ? 1 : 0)
            apply(
                .uploadReceived(
                    .with {
                        $0.documentID = id
                        $0.tenantID = "tenant"
                        $0.sha256 = "sha-\(document)"
                        $0.blobKey = "blob-\(document)"
                        $0.sizeBytes = UInt64(chunks) * 1000
                    }))
            apply(
                .jobStarted(
                    .with {
                        $0.documentID = id
                        $0.attempt = 1
                        $0.leaseExpiresAtMicros = Int64.max / 2
                    }))
            for chunk in 0..<chunks {
                var norm: Float = 0
                for index in 0..<dim {
                    vector[index] = generator.nextGaussian()
                    norm += vector[index] * vector[index]
                }
                let scale = 1 / norm.squareRoot()
                for index in 0..<dim { vector[index] *= scale }
                apply(
                    .chunkEmbedded(
                        .with {
                            $0.documentID = id
                            $0.attempt = 1
                            $0.chunkIndex = UInt32(chunk)
                            $0.embedder = "hashing-v1"
                            $0.dimension = UInt32(dim)
                        }), attachment: try EmbeddingAttachment.encode(vector))
            }
            apply(
                .documentCompleted(
                    .with {
                        $0.documentID = id
                        $0.attempt = 1
                        $0.chunkCount = UInt32(chunks)
                    }))
        }
        let applySeconds = Date().timeIntervalSince(start)

        var began = Date()
        let files = try store.write(set)
        let writeSeconds = Date().timeIntervalSince(began)
        let snapshotBytes = files.reduce(UInt64(0)) { $0 + $1.bytes }
        let stored = set.vectors.storedVectors
        let expectedDigest = files.first { $0.projection == VectorsProjection.name }?.stateDigest
        set = ProjectionSet()

        let cpuBefore = ProcessMemory.cpuSeconds()
        began = Date()
        let restored = try store.load(position: position, expected: files)
        let loadSeconds = Date().timeIntervalSince(began)
        let loadCPU = ProcessMemory.cpuSeconds() - cpuBefore
        // Before the digest check below, which reads every vector through the mapping.
        let resident = ProcessMemory.residentBytes() ?? 0
        let residentFile = ProcessMemory.residentFileBytes() ?? 0
        guard restored.vectors.chunkCount == vectors else {
            throw ValidationError("restored \(restored.vectors.chunkCount) chunks, expected \(vectors)")
        }
        // The check the load already made (the recorded digest), made again on the restored state.
        began = Date()
        let digestMatches = restored.vectors.digest == expectedDigest
        let digestSeconds = Date().timeIntervalSince(began)

        if json {
            let fields: [(String, String)] = [
                ("vectors", "\(vectors)"), ("dimension", "\(dim)"), ("documents", "\(documents)"),
                ("events", "\(position)"), ("apply_seconds", String(format: "%.3f", applySeconds)),
                ("snapshot_bytes", "\(snapshotBytes)"), ("vector_bytes", "\(stored.bytes)"),
                ("write_seconds", String(format: "%.3f", writeSeconds)),
                ("load_seconds", String(format: "%.3f", loadSeconds)),
                ("load_cpu_seconds", String(format: "%.3f", loadCPU)),
                ("digest_seconds", String(format: "%.3f", digestSeconds)), ("digest_matches", "\(digestMatches)"),
                ("resident_bytes", "\(resident)"), ("resident_file_bytes", "\(residentFile)"),
                ("segments_in_place", "\(restored.vectors.restoredSegments)"),
            ]
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            print("state: \(vectors) vectors × \(dim) over \(documents) documents, \(position) events")
            print(String(format: "  applied in %.2f s (%.0f events/s)", applySeconds, Double(position) / applySeconds))
            print(String(format: "  snapshot: %.1f MB written in %.2f s", Double(snapshotBytes) / 1e6, writeSeconds))
            print(String(format: "  restore: %.2f s wall, %.2f s CPU (files in the page cache)", loadSeconds, loadCPU))
            print("  arena segments used in place from the snapshot file: \(restored.vectors.restoredSegments)")
            print(String(format: "  digest of the restored state: %.2f s, matches: \(digestMatches)", digestSeconds))
            print(
                String(
                    format: "  resident after restore: %.0f MB (%.0f MB of it file pages)", Double(resident) / 1e6,
                    Double(residentFile) / 1e6))
        }
        guard digestMatches else { throw ValidationError("the restored state's digest differs from the written one") }
    }
}
