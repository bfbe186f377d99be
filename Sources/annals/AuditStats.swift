import AnnalsEvents
import AnnalsLog
import ArgumentParser
import Foundation

/// `annals audit stats`: counts and sizes.
struct AuditStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Counts and bytes by event type, head position, chain head, map size and use."
    )

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await reportingErrors {
            let log = try dataOptions.openLogReadOnly()
            var counts: [UInt16: (events: UInt64, bytes: UInt64)] = [:]
            var first: Int64?
            var last: Int64?
            // Statistics of the engine are read first, the scan stops at their head: the two agree even while
            // another process appends.
            let stats = try log.stats()
            _ = try log.scan(from: 1, through: stats.head) { view in
                counts[view.type, default: (0, 0)].events += 1
                counts[view.type, default: (0, 0)].bytes += UInt64(view.raw.count)
                if first == nil { first = view.timestamp }
                last = view.timestamp
                return true
            }
            let ordered = counts.sorted { $0.key < $1.key }
            func name(_ code: UInt16) -> String { EventType(rawValue: code)?.name ?? "type-\(code)" }
            if output.json {
                let types = ordered.map { code, value in
                    "{\"type\":\(jsonQuoted(name(code))),\"type_code\":\(code),\"events\":\(value.events),"
                        + "\"bytes\":\(value.bytes)}"
                }.joined(separator: ",")
                let databases = stats.databaseEntries.sorted { $0.key < $1.key }
                    .map { "\(jsonQuoted($0.key)):\($0.value)" }.joined(separator: ",")
                print(
                    "{\"log_id\":\"\(stats.logId)\",\"head\":\(stats.head),\"records\":\(stats.records),"
                        + "\"chain_head\":\"\(stats.chainHead.hex)\",\"map_size_bytes\":\(stats.mapSizeBytes),"
                        + "\"map_used_bytes\":\(stats.mapUsedBytes),\"file_bytes\":\(stats.fileBytes),"
                        + "\"page_bytes\":\(stats.pageBytes),\"readers\":\(stats.readers),"
                        + "\"first_time\":\(first.map { "\"\(Timestamps.rfc3339($0))\"" } ?? "null"),"
                        + "\"last_time\":\(last.map { "\"\(Timestamps.rfc3339($0))\"" } ?? "null"),"
                        + "\"databases\":{\(databases)},\"types\":[\(types)]}")
            } else {
                var table = Table(header: ["TYPE", "CODE", "EVENTS", "BYTES"])
                for (code, value) in ordered {
                    table.rows.append([name(code), String(code), String(value.events), String(value.bytes)])
                }
                let total = ordered.reduce((UInt64(0), UInt64(0))) { ($0.0 + $1.value.events, $0.1 + $1.value.bytes) }
                table.rows.append(["total", "", String(total.0), String(total.1)])
                let used = Double(stats.mapUsedBytes) / Double(max(stats.mapSizeBytes, 1)) * 100
                print(
                    """
                    log \(stats.logId) at \(log.path)
                    head: \(stats.head)   records: \(stats.records)   readers: \(stats.readers)
                    chain head: \(stats.chainHead.hex)
                    time: \(first.map(Timestamps.rfc3339) ?? "-") … \(last.map(Timestamps.rfc3339) ?? "-")
                    map: \(stats.mapUsedBytes) of \(stats.mapSizeBytes) bytes used (\(String(format: "%.1f", used))%), \
                    file \(stats.fileBytes) bytes, page \(stats.pageBytes) bytes
                    databases: \(stats.databaseEntries.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                        .joined(separator: ", "))

                    \(table.render())
                    """)
            }
            await log.close()
        }
    }
}
