import AnnalsEvents
import AnnalsLog
import AnnalsTesting
import Foundation

/// Runs the real `annals` binary.
func annals(_ arguments: String...) throws -> ProcessOutput {
    try run(Binaries.path("annals"), arguments)
}

/// Fills a log at `data`/log with a small, varied history: three documents, a failure, a key and a service start.
func writeSampleHistory(data: String) async throws {
    let log = try LMDBEventLog.open(directory: data + "/log")
    func draft(_ event: Event, attachment: [UInt8] = []) throws -> EventDraft {
        EventDraft(
            streamId: event.streamID, type: event.type.rawValue, schemaVersion: event.schemaVersion,
            payload: try event.serializedPayload(), attachment: attachment)
    }
    var started = Annals_Events_V1_ServiceStarted()
    started.processID = "4242"
    started.version = "test"
    _ = try await log.append(try draft(.serviceStarted(started)))
    for index in 1...3 {
        var upload = Annals_Events_V1_UploadReceived()
        upload.documentID = "d\(index)"
        upload.tenantID = "t1"
        upload.filename = "file-\(index).txt"
        upload.sizeBytes = UInt64(100 * index)
        _ = try await log.append(
            [try draft(.uploadReceived(upload))], expectedVersions: [:],
            idempotencyKey: "upload-d\(index)")
        var chunk = Annals_Events_V1_ChunkEmbedded()
        chunk.documentID = "d\(index)"
        chunk.text = "chunk text of document \(index)"
        chunk.dimension = 4
        _ = try await log.append(
            try draft(.chunkEmbedded(chunk), attachment: try EmbeddingAttachment.encode([1, 0, 0, 0])))
    }
    var failed = Annals_Events_V1_JobFailed()
    failed.documentID = "d2"
    failed.attempt = 1
    failed.code = "extract_failed"
    _ = try await log.append(try draft(.jobFailed(failed)))
    await log.close()
}

/// Parses JSON lines into dictionaries.
func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw LogError(.invalidArgument, "not a JSON object: \(line)")
        }
        return object
    }
}
