import AnnalsEvents
import AnnalsLog
import AnnalsProjections
import ArgumentParser
import Foundation

/// `annals audit trace`: one document's life.
struct AuditTrace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Print one document's timeline: every event, its attempts with their durations, and errors."
    )

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The document id.")
    var documentId: String

    func run() async throws {
        try await reportingErrors {
            let log = try dataOptions.openLogReadOnly()
            let positions = try log.streamPositions(EventStreamID.document(documentId), fromVersion: 1)
            guard !positions.isEmpty else {
                printError("annals: no events for document \(documentId)")
                throw ExitCode(1)
            }
            var attemptStarts: [UInt32: Int64] = [:]
            var chunks: [UInt32: Int] = [:]
            var table = Table(header: ["POSITION", "TIME", "EVENT", "DETAIL"])
            var lines: [String] = []
            for position in positions {
                guard let record = try log.record(at: position) else { continue }
                let time = Timestamps.rfc3339(record.timestamp)
                let event = try? record.event()
                let name = EventType(rawValue: record.type)?.name ?? "type-\(record.type)"
                var detail = ""
                switch event {
                case .uploadReceived(let upload):
                    detail =
                        "\(upload.filename) \(upload.detectedContentType) \(upload.sizeBytes) bytes sha256 "
                        + String(upload.sha256.prefix(12))
                case .uploadRejected(let rejected):
                    detail = "\(rejected.reason): \(rejected.detail)"
                case .jobStarted(let started):
                    attemptStarts[started.attempt] = record.timestamp
                    detail = "attempt \(started.attempt) by \(started.workerID)"
                case .chunkEmbedded(let chunk):
                    chunks[chunk.attempt, default: 0] += 1
                    if output.json {
                        detail = "chunk \(chunk.chunkIndex) of attempt \(chunk.attempt)"
                    } else {
                        continue
                    }
                case .documentCompleted(let completed):
                    detail =
                        "attempt \(completed.attempt): \(completed.chunkCount) chunks, "
                        + "\(completed.extractedChars) characters" + duration(attemptStarts[completed.attempt], record)
                case .jobFailed(let failed):
                    detail =
                        "attempt \(failed.attempt) failed in \(failed.stage) [\(failed.code)] \(failed.message)"
                        + duration(attemptStarts[failed.attempt], record)
                        + (failed.hasRetryAtMicros ? "; retry at \(Timestamps.rfc3339(failed.retryAtMicros))" : "")
                case .jobDeadLettered(let dead):
                    detail = "after \(dead.attempts) attempts: [\(dead.lastCode)] \(dead.lastMessage)"
                case .jobAbandoned(let abandoned):
                    detail =
                        "attempt \(abandoned.attempt) of process \(abandoned.previousProcessID): \(abandoned.reason)"
                case .jobRequeued(let requeued):
                    detail = "\(requeued.reason) by \(requeued.requestedBy)"
                case .documentDeleted(let deleted):
                    detail = "\(deleted.reason) by \(deleted.requestedBy)"
                default:
                    detail = event == nil ? "(undecodable)" : ""
                }
                if output.json {
                    lines.append(
                        "{\"position\":\(position),\"time\":\"\(time)\",\"type\":\(jsonQuoted(name)),"
                            + "\"stream_version\":\(record.streamVersion),\"detail\":\(jsonQuoted(detail))}")
                } else {
                    table.rows.append([String(position), time, name, detail])
                }
            }
            if output.json {
                print(lines.joined(separator: "\n"))
            } else {
                print("document \(documentId): \(positions.count) events")
                for (attempt, count) in chunks.sorted(by: { $0.key < $1.key }) {
                    print("  attempt \(attempt): \(count) chunk events")
                }
                print(table.render())
            }
            await log.close()
        }
    }

    private func duration(_ start: Int64?, _ record: LogRecord) -> String {
        guard let start else { return "" }
        return String(format: " in %.3f s", Double(record.timestamp - start) / 1e6)
    }
}
