import AnnalsLog
import ArgumentParser
import Foundation

/// Options every command that reads the data directory shares.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The data directory (its log is in DATA/log).", valueName: "DIR"))
    var data: String = ProcessInfo.processInfo.environment["ANNALS_DATA"] ?? "./data"

    /// The log directory inside the data directory.
    var logDirectory: String { (data as NSString).appendingPathComponent("log") }

    /// Opens the log read-only, so that tools can run beside a service that writes.
    func openLogReadOnly() throws -> LMDBEventLog {
        try LMDBEventLog.open(directory: logDirectory, configuration: .readOnly)
    }
}

/// Options for commands that print either a table for people or JSON lines for scripts.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON lines instead of a table.")
    var json = false
}

/// Runs `body`, turning a `LogError` into one line on standard error and exit status 2 ("could not run").
func reportingErrors<R>(_ body: () async throws -> R) async throws -> R {
    do {
        return try await body()
    } catch let error as LogError {
        printError("annals: \(error.message)")
        throw ExitCode(2)
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Formats event timestamps (microseconds since the epoch) as RFC 3339 in UTC.
enum Timestamps {
    static func rfc3339(_ micros: Int64) -> String {
        let seconds = micros / 1_000_000
        let fraction = micros % 1_000_000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.tm_year + 1900, parts.tm_mon + 1,
            parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, Int(fraction))
    }

    /// Parses RFC 3339 (`2026-11-29T04:00:00Z`, fractions and offsets allowed), a date (`2026-11-29`), or a Unix
    /// time in seconds, into microseconds since the epoch.
    static func parse(_ text: String) -> Int64? {
        if let seconds = Double(text) { return Int64(seconds * 1_000_000) }
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        for formatter in [withFraction, plain, day] {
            if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1_000_000) }
        }
        return nil
    }
}

/// Left-aligned columns for people.
struct Table {
    var header: [String]
    var rows: [[String]] = []

    func render() -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// JSON text for a string value.
func jsonQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
