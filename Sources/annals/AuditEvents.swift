import AnnalsEvents
import AnnalsLog
import ArgumentParser
import Foundation

/// `annals audit events`: lists events, filtered.
struct AuditEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "List events, filtered by position, type, stream and time.",
        discussion: """
            A table by default; with --json one JSON object per line: the envelope (position, time, type, stream,
            stream_version, ...) and the payload in the protobuf JSON mapping. --follow keeps printing new events
            as they are committed (also while another process writes), until interrupted.
            """
    )

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "First position to show.")
    var from: UInt64 = 1
    @Option(help: "Last position to show.")
    var to: UInt64?
    @Option(name: .customLong("type"), help: "Only events of this type (name like job.failed, or code); repeatable.")
    var types: [String] = []
    @Option(help: "Only events of this stream (for example doc-<id>).")
    var stream: String?
    @Option(help: "Only events at or after this time (RFC 3339, a date, or Unix seconds).")
    var since: String?
    @Option(help: "Only events before this time (RFC 3339, a date, or Unix seconds).")
    var until: String?
    @Option(help: "Stop after this many events.")
    var limit: Int?
    @Flag(help: "Keep printing new events as they are committed.")
    var follow = false

    private var typeCodes: Set<UInt16> {
        Set(types.compactMap { EventType(name: $0)?.rawValue ?? UInt16($0) })
    }

    func validate() throws {
        for type in types where EventType(name: type) == nil && UInt16(type) == nil {
            let names = EventType.allCases.map(\.name).joined(separator: ", ")
            throw ValidationError("unknown event type '\(type)'; known types: \(names)")
        }
        if let since, Timestamps.parse(since) == nil { throw ValidationError("cannot read --since '\(since)'") }
        if let until, Timestamps.parse(until) == nil { throw ValidationError("cannot read --until '\(until)'") }
        if let to, to < from { throw ValidationError("--to \(to) is before --from \(from)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        try await reportingErrors {
            let log = try dataOptions.openLogReadOnly()
            let printer = EventPrinter(json: output.json)
            defer { printer.flush() }
            let filter = Filter(
                types: typeCodes, since: since.flatMap(Timestamps.parse),
                until: until.flatMap(Timestamps.parse))
            var remaining = limit ?? Int.max
            let last = to ?? .max
            var next = from
            // Timestamps never decrease along the log, so --since can start at the first matching position.
            if let start = filter.since, stream == nil { next = max(next, try firstPosition(atOrAfter: start, log)) }
            var streamVersion: UInt64 = 1
            while true {
                if let stream {
                    // One walk of the stream's chain, then one read per event.
                    for position in try log.streamPositions(stream, fromVersion: streamVersion) {
                        guard let record = try log.record(at: position) else { continue }
                        streamVersion = record.streamVersion + 1
                        guard position >= next, position <= last, filter.matches(record) else { continue }
                        printer.print(record)
                        remaining -= 1
                        if remaining == 0 { return }
                    }
                } else {
                    let visited = try log.scan(from: next, through: last) { view in
                        guard filter.matches(view) else { return true }
                        printer.print(try LogRecord(view))
                        remaining -= 1
                        return remaining > 0
                    }
                    if remaining == 0 { return }
                    next = visited + 1
                }
                guard follow, next <= last else { return }
                printer.flush()
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// The first position whose timestamp is at or after `micros` (binary search: timestamps never decrease).
    private func firstPosition(atOrAfter micros: Int64, _ log: LMDBEventLog) throws -> UInt64 {
        var low: UInt64 = 1
        var high = try log.head() + 1
        while low < high {
            let middle = low + (high - low) / 2
            let stamp = try log.record(at: middle)?.timestamp ?? .max
            if stamp < micros { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// The type and time filters of `audit events`.
struct Filter {
    var types: Set<UInt16>
    var since: Int64?
    var until: Int64?

    func matches(_ view: RecordView) -> Bool { matches(type: view.type, timestamp: view.timestamp) }
    func matches(_ record: LogRecord) -> Bool { matches(type: record.type, timestamp: record.timestamp) }

    private func matches(type: UInt16, timestamp: Int64) -> Bool {
        if !types.isEmpty && !types.contains(type) { return false }
        if let since, timestamp < since { return false }
        if let until, timestamp >= until { return false }
        return true
    }
}

/// Prints events as table rows or JSON lines, buffered.
final class EventPrinter {
    var json: Bool
    private var headerPrinted = false
    private var buffer = ""

    init(json: Bool) { self.json = json }

    func print(_ record: LogRecord) {
        let typeName = EventType(rawValue: record.type)?.name ?? "type-\(record.type)"
        let payload: String
        var payloadError: String?
        do {
            payload = try EventCatalog.jsonString(
                type: record.type, schemaVersion: record.schemaVersion,
                payload: record.payload)
        } catch {
            payload = "null"
            payloadError = error.message
        }
        if json {
            var fields = [
                "\"position\":\(record.position)", "\"time\":\"\(Timestamps.rfc3339(record.timestamp))\"",
                "\"timestamp_us\":\(record.timestamp)", "\"type\":\(jsonQuoted(typeName))",
                "\"type_code\":\(record.type)", "\"schema_version\":\(record.schemaVersion)",
                "\"stream\":\(jsonQuoted(record.streamId))", "\"stream_version\":\(record.streamVersion)",
            ]
            if let key = record.idempotencyKey { fields.append("\"idempotency_key\":\(jsonQuoted(key))") }
            if !record.attachment.isEmpty { fields.append("\"attachment_bytes\":\(record.attachment.count)") }
            fields.append("\"payload\":\(payload)")
            if let payloadError { fields.append("\"payload_error\":\(jsonQuoted(payloadError))") }
            buffer += "{" + fields.joined(separator: ",") + "}\n"
        } else {
            if !headerPrinted {
                buffer += row(["POSITION", "TIME", "TYPE", "STREAM", "VER", "PAYLOAD"]) + "\n"
                headerPrinted = true
            }
            var summary = payloadError.map { "(undecodable: \($0))" } ?? payload
            if summary.count > 100 { summary = String(summary.prefix(99)) + "…" }
            buffer +=
                row([
                    String(record.position), Timestamps.rfc3339(record.timestamp), typeName, record.streamId,
                    String(record.streamVersion), summary,
                ]) + "\n"
        }
        if buffer.utf8.count > 64 << 10 { flush() }
    }

    private func row(_ cells: [String]) -> String {
        let widths = [10, 27, 18, 28, 5]
        return cells.enumerated().map { index, cell in
            index < widths.count
                ? cell.padding(toLength: max(widths[index], cell.count), withPad: " ", startingAt: 0)
                : cell
        }.joined(separator: " ")
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }
}
