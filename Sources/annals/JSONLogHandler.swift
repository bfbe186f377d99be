import Foundation
import Logging

/// Writes one JSON object per log line to standard error: time, level, label, message, metadata.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata { fields[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { fields[key] = "\(value)" }
        var line = "{\"time\":\"\(Timestamps.rfc3339(Int64(Date().timeIntervalSince1970 * 1_000_000)))\","
        line +=
            "\"level\":\"\(event.level)\",\"label\":\(jsonQuoted(label)),\"message\":\(jsonQuoted("\(event.message)"))"
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            line += ",\(jsonQuoted(key)):\(jsonQuoted(value))"
        }
        line += "}\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
