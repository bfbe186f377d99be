import AnnalsLog
import ArgumentParser
import Foundation

/// `annals backup`: a consistent copy of the log, taken while the service runs.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a compact, consistent copy of the log to a new directory, safe while another process writes.",
        discussion: """
            The copy is of one read transaction (LMDB's mdb_env_copy2), so it is a log that ends at a commit. It is
            verified afterwards unless --no-verify is given. Restore by pointing --data at a directory whose log/
            is the copy.
            """
    )

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("The directory to write (must not exist, or be empty).", valueName: "PATH"))
    var to: String

    @Flag(inversion: .prefixedNo, help: "Compact the copy (omit free pages, renumber them).")
    var compact = true

    @Flag(inversion: .prefixedNo, help: "Verify the copy after writing it.")
    var verify = true

    func run() async throws {
        try await reportingErrors {
            let start = ContinuousClock.now
            let log = try dataOptions.openLogReadOnly()
            try log.backup(to: to, compact: compact)
            await log.close()
            let copy = try LMDBEventLog.open(directory: to, configuration: .readOnly)
            let stats = try copy.stats()
            var sound = true
            if verify {
                let report = try copy.verify()
                if let failure = report.failure {
                    printError(
                        "annals: the backup at \(to) fails verification at \(failure.position): "
                            + failure.reason)
                    sound = false
                }
            }
            await copy.close()
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            if output.json {
                print(
                    "{\"path\":\(jsonQuoted(to)),\"head\":\(stats.head),\"records\":\(stats.records),"
                        + "\"file_bytes\":\(stats.fileBytes),\"chain_head\":\"\(stats.chainHead.hex)\","
                        + "\"verified\":\(verify && sound),\"seconds\":\(String(format: "%.3f", seconds))}")
            } else if sound {
                print(
                    "backup written to \(to): \(stats.records) records up to position \(stats.head), "
                        + "\(stats.fileBytes) bytes\(verify ? ", verified" : ""), in \(String(format: "%.2f", seconds)) s"
                )
            }
            if !sound { throw ExitCode(1) }
        }
    }
}
