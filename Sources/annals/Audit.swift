import ArgumentParser

/// `annals audit`: inspect the event history.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the event log: verify its integrity, list events, show statistics.",
        subcommands: [AuditVerify.self, AuditEvents.self, AuditStats.self, AuditTrace.self]
    )
}
