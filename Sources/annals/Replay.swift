import AnnalsEvents
import AnnalsLog
import AnnalsProjections
import AnnalsVector
import ArgumentParser
import Foundation
import Logging

/// `annals replay`: rebuilds every projection from position 0, offline.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild every projection from position 0 and report the speed; --verify compares with a checkpoint.",
        discussion: """
            With --verify, the projections are rebuilt up to the newest checkpoint's position and each one's state
            digest is compared with the digest the checkpoint recorded: equal digests prove that replay is
            deterministic. Exit status 1 on a difference, 2 when the log cannot be read. Safe beside a running
            service (the log is opened read-only).

            --projections rebuilds (and verifies) only the projections named, for example documents,queue,metrics:
            the catalogue of a large log is checked in seconds, without rebuilding its vectors.
            """
    )

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Compare each projection's digest with the newest checkpoint's.")
    var verify = false
    @Option(
        help: ArgumentHelp(
            "Directory for the rebuilt vectors (unlinked files the kernel can page out); memory when omitted.",
            valueName: "DIR"))
    var scratch: String?
    @Option(
        help: ArgumentHelp(
            "The projections to rebuild, comma-separated (documents, queue, vectors, metrics, keys); all by default.",
            valueName: "LIST"))
    var projections: String?

    /// The projections asked for by `--projections`, every one without it.
    var selection: ProjectionSelection {
        get throws {
            guard let projections else { return .all }
            var selection: ProjectionSelection = []
            for name in projections.split(separator: ",", omittingEmptySubsequences: false) {
                let name = name.trimmingCharacters(in: .whitespaces)
                guard let one = ProjectionSelection(name: name) else {
                    let known = ProjectionSet.projectionNames.joined(separator: ", ")
                    throw ValidationError("--projections: unknown projection '\(name)'; known: \(known)")
                }
                selection.insert(one)
            }
            return selection
        }
    }

    func validate() throws {
        _ = try selection
        if let scratch {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: scratch, isDirectory: &isDirectory), isDirectory.boolValue,
                FileManager.default.isWritableFile(atPath: scratch)
            else { throw ValidationError("--scratch \(scratch) is not a writable directory") }
        }
    }

    func run() async throws {
        try await reportingErrors {
            let selection = try selection
            let log = try dataOptions.openLogReadOnly()
            var target = try log.head()
            var checkpoint: Annals_Events_V1_CheckpointWritten?
            if verify {
                if let newest = try Checkpoints.newestFirst(in: log).first {
                    checkpoint = newest.checkpoint
                    target = newest.checkpoint.position
                }
                if checkpoint == nil {
                    printError("annals: no checkpoint in the log to verify against; replaying to the head")
                }
            }
            let engine = ProjectionEngine(
                log: log, logger: Logger(label: "annals.replay"),
                vectorBacking: scratch.map { .file(directory: $0) } ?? .memory, selection: selection)
            let start = ContinuousClock.now
            let applied = try engine.catchUp(through: target)
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            let rate = seconds > 0 ? Double(applied) / seconds : 0
            let digests = engine.read { $0.digests }
            var mismatches: [String] = []
            if let checkpoint {
                for snapshot in checkpoint.snapshots {
                    // Only the projections rebuilt are compared.
                    if let one = ProjectionSelection(name: snapshot.projection), !selection.contains(one) { continue }
                    let live = digests[snapshot.projection]
                    if live != snapshot.stateDigest {
                        mismatches.append(
                            "\(snapshot.projection): replay \(live ?? "missing"), checkpoint \(snapshot.stateDigest)")
                    }
                }
            }
            if output.json {
                let fields = digests.sorted { $0.key < $1.key }.map { "\(jsonQuoted($0.key)):\(jsonQuoted($0.value))" }
                print(
                    "{\"events\":\(applied),\"position\":\(target),"
                        + String(format: "\"seconds\":%.3f,\"events_per_second\":%.0f,", seconds, rate)
                        + "\"verified\":\(checkpoint != nil && mismatches.isEmpty),"
                        + "\"mismatches\":\(mismatches.count),\"digests\":{\(fields.joined(separator: ","))}}")
            } else {
                print(
                    String(
                        format: "replayed %llu events to position %llu in %.3f s (%.0f events/s)", applied, target,
                        seconds, rate))
                for (name, digest) in digests.sorted(by: { $0.key < $1.key }) { print("  \(name): \(digest)") }
                if checkpoint != nil && mismatches.isEmpty {
                    print("verified: every digest rebuilt equals the checkpoint's at position \(target)")
                }
            }
            await log.close()
            if !mismatches.isEmpty {
                for mismatch in mismatches { printError("annals: digest differs: \(mismatch)") }
                throw ExitCode(1)
            }
        }
    }
}
