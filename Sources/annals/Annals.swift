import ArgumentParser

/// The `annals` command: the service and its operator tools.
@main
struct Annals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annals",
        abstract: "Annals: an event-sourced document-processing service.",
        discussion: """
            Every upload, chunk, failure and checkpoint is an event in one append-only log (LMDB, under DATA/log);
            queries are answered by projections rebuilt from it. These commands inspect and maintain that log.
            """,
        version: AnnalsVersion.current,
        subcommands: [Serve.self, Audit.self, Replay.self, Backup.self]
    )
}

/// The version printed by `--version`.
enum AnnalsVersion {
    static let current = "0.1.0"
}
