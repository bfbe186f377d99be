import AnnalsLog
import ArgumentParser
import Foundation

/// `annals audit verify`: checks every record, the hash chain and the indexes.
struct AuditVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check checksums, the hash chain, sequence continuity, and the stream and idempotency indexes.",
        discussion: """
            Exit status: 0 when the log is sound; 1 when it is damaged (the message names the first bad position);
            2 when the log could not be read at all.
            """
    )

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let start = ContinuousClock.now
        let report = try await reportingErrors {
            let log = try dataOptions.openLogReadOnly()
            let report = try log.verify()
            await log.close()
            return report
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        if output.json {
            var fields = [
                "\"sound\":\(report.isSound)", "\"records\":\(report.records)", "\"bytes\":\(report.bytes)",
                "\"head\":\(report.head)", "\"streams\":\(report.streams)",
                "\"idempotency_keys\":\(report.idempotencyKeys)",
                "\"chain_head\":\(report.chainHead.map { jsonQuoted($0.hex) } ?? "null")",
                "\"seconds\":\(String(format: "%.3f", seconds))",
            ]
            if let failure = report.failure {
                fields.append("\"first_bad_position\":\(failure.position)")
                fields.append("\"reason\":\(jsonQuoted(failure.reason))")
            }
            print("{" + fields.joined(separator: ",") + "}")
        } else if let failure = report.failure {
            printError("annals: the log is damaged at position \(failure.position): \(failure.reason)")
        } else {
            let rate = seconds > 0 ? Double(report.records) / seconds : 0
            print(
                """
                log sound: \(report.records) records (\(report.bytes) bytes), positions 1...\(report.head), \
                \(report.streams) streams, \(report.idempotencyKeys) idempotency keys
                chain head: \(report.chainHead?.hex ?? "(empty log)")
                checked in \(String(format: "%.2f", seconds)) s (\(Int(rate)) records/s)
                """)
        }
        if !report.isSound { throw ExitCode(1) }
    }
}
