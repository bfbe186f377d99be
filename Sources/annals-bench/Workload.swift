import AnnalsEvents
import AnnalsLog
import Foundation

/// Builds realistic events for the benchmarks: `chunk.embedded` payloads (the bulk of a real log) of a given size.
enum Workload {
    /// A `chunk.embedded` draft whose serialised payload is about `bytes` long.
    static func chunkEvent(document: Int, index: Int, bytes: Int, generator: inout some RandomNumberGenerator)
        -> EventDraft
    {
        let documentId = String(format: "bench%010d", document)
        var message = Annals_Events_V1_ChunkEmbedded()
        message.documentID = documentId
        message.chunkIndex = UInt32(index)
        message.embedder = "hashing-v1"
        message.dimension = 384
        message.attempt = 1
        let overhead = (try? EventCatalog.serializedBytes(message))?.count ?? 40
        let letters = Array("abcdefghijklmnopqrstuvwxyz      ".utf8)
        let textBytes = max(0, bytes - overhead - 3)
        message.text = String(
            decoding: (0..<textBytes).map { _ in letters.randomElement(using: &generator)! },
            as: UTF8.self)
        message.charLength = UInt32(textBytes)
        let payload = (try? EventCatalog.serializedBytes(message)) ?? []
        return EventDraft(
            streamId: EventStreamID.document(documentId), type: EventType.chunkEmbedded.rawValue,
            payload: payload)
    }
}

/// Latency percentiles in milliseconds.
struct Percentiles {
    var p50: Double
    var p90: Double
    var p99: Double
    var p999: Double
    var max: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        func at(_ quantile: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int((Double(sorted.count) * quantile).rounded(.down)))]
        }
        p50 = at(0.5)
        p90 = at(0.9)
        p99 = at(0.99)
        p999 = at(0.999)
        max = sorted.last ?? 0
    }

    var json: String {
        String(
            format: "{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}", p50, p90, p99, p999,
            max)
    }
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    var seconds: Double { milliseconds / 1000 }
}
