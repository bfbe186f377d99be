import AnnalsEvents
import AnnalsLog
import AnnalsProjections
import Logging
public import ServiceLifecycle

/// The service's background work as one `Service` of a `ServiceGroup`: recovery, then workers, the checkpointer
/// and the lease janitor; on graceful shutdown it stops taking work, writes a last checkpoint, appends
/// `service.stopped` and closes the log.
public struct AnnalsServiceRunner: Service {
    let core: AnnalsCore
    let onRecovered: @Sendable (RecoveryReport) -> Void

    public init(core: AnnalsCore, onRecovered: @escaping @Sendable (RecoveryReport) -> Void = { _ in }) {
        self.core = core
        self.onRecovered = onRecovered
    }

    public func run() async throws {
        let report = try await core.recover()
        onRecovered(report)
        core.setPhase(.ready)
        let tailing = Task { await core.engine.run() }
        core.engine.startGraphBuilder(restoringFrom: core.graphFiles)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<core.configuration.workers {
                let worker = Worker(core: core, workerId: "\(core.processId)/w\(index)")
                group.addTask { await worker.run() }
            }
            group.addTask { await core.runCheckpointer() }
            group.addTask { await core.runLeaseJanitor() }
            group.addTask {
                // Wait for a graceful shutdown (SIGTERM/SIGINT); the group's other tasks are cancelled after it.
                try? await gracefulShutdown()
            }
            _ = await group.next()
            core.setPhase(.draining)
            group.cancelAll()
        }
        do {
            try await core.checkpoint()
        } catch {
            core.logger.error("final checkpoint failed", metadata: ["error": "\(error)"])
        }
        var stopped = Annals_Events_V1_ServiceStopped()
        stopped.processID = core.processId
        stopped.reason = "graceful shutdown"
        stopped.clean = true
        stopped.uptimeMicros = core.uptimeMicros
        do {
            try await core.append(.serviceStopped(stopped))
        } catch {
            core.logger.error("could not record the stop", metadata: ["error": "\(error)"])
        }
        tailing.cancel()
        core.engine.stopGraphBuilder()
        await core.log.close()
    }
}
