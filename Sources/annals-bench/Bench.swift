import ArgumentParser

/// `annals-bench`: measurements of Annals' components, printed for people or as JSON for scripts.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annals-bench",
        abstract: "Benchmarks of Annals' components. Build with -c release before measuring.",
        subcommands: [
            AppendBench.self, ScanBench.self, ChunkBench.self, IngestBench.self, PDFBench.self, VectorBench.self,
            RestoreBench.self, ReplayBench.self, GraphRestoreBench.self,
            CrashWriter.self,
        ]
    )
}
