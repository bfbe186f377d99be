import AnnalsProjections
import Testing

@Suite("Job state machine")
struct JobStateMachineTests {
    func lease(_ attempt: UInt32, position: UInt64 = 10) -> JobLease {
        JobLease(
            attempt: attempt, expiresAt: 5_000, processId: "p", workerId: "w", startedAt: 1_000, position: position)
    }

    func failure(_ attempt: UInt32) -> JobFailure {
        JobFailure(stage: "embed", code: "embed.timeout", message: "slow", attempt: attempt, failedAt: 2_000)
    }

    @Test("happy path: pending, leased, done")
    func happyPath() {
        var job = JobStateMachine(enqueuedAt: 100, position: 1)
        #expect(job.phase == .pending(availableAt: 100, position: 1))
        #expect(job.nextAttempt == 1)
        #expect(job.start(lease(1)) == .applied)
        #expect(job.lease?.attempt == 1)
        #expect(job.attempts == 1)
        #expect(job.complete(attempt: 1) == .applied)
        #expect(job.phase == .done)
        #expect(job.lastFailure == nil)
    }

    @Test("a failure with a retry time retries; without one it waits for the dead letter")
    func failures() {
        var job = JobStateMachine(enqueuedAt: 100, position: 1)
        job.start(lease(1))
        #expect(job.fail(attempt: 1, failure: failure(1), retryAt: 9_000, position: 3) == .applied)
        #expect(job.phase == .retrying(availableAt: 9_000, position: 3))
        #expect(job.availability?.at == 9_000)
        #expect(job.lastFailure?.code == "embed.timeout")
        #expect(job.start(lease(2)) == .applied)
        #expect(job.fail(attempt: 2, failure: failure(2), retryAt: nil, position: 5) == .applied)
        #expect(job.phase == .awaitingDeadLetter)
        #expect(job.availability == nil)
        #expect(job.start(lease(3)) == .ignored)
        #expect(job.deadLetter(failure: failure(2)) == .applied)
        #expect(job.phase == .dead)
        #expect(job.deadLetter(failure: failure(2)) == .ignored)
        #expect(job.requeue(resetAttempts: true, at: 20_000, position: 8) == .applied)
        #expect(job.phase == .pending(availableAt: 20_000, position: 8))
        #expect(job.attempts == 0)
        #expect(job.enqueuedAt == 20_000)
    }

    @Test("outcomes of an attempt other than the leased one are ignored")
    func staleAttempts() {
        var job = JobStateMachine(enqueuedAt: 100, position: 1)
        #expect(job.complete(attempt: 1) == .ignored)
        #expect(job.fail(attempt: 1, failure: failure(1), retryAt: 1, position: 2) == .ignored)
        job.start(lease(2))
        #expect(job.complete(attempt: 1) == .ignored)
        #expect(job.abandon(attempt: 1, failure: failure(1), at: 3_000, position: 4) == .ignored)
        #expect(job.start(lease(3)) == .ignored)
        #expect(job.requeue(resetAttempts: true, at: 3_000, position: 4) == .ignored)
        #expect(job.lease?.attempt == 2)
        #expect(job.start(lease(0)) == .ignored)
    }

    @Test("abandoning makes the job pending again and keeps the attempt used")
    func abandon() {
        var job = JobStateMachine(enqueuedAt: 100, position: 1)
        job.start(lease(1))
        #expect(job.abandon(attempt: 1, failure: failure(1), at: 7_000, position: 6) == .applied)
        #expect(job.phase == .pending(availableAt: 7_000, position: 6))
        #expect(job.nextAttempt == 2)
        #expect(job.enqueuedAt == 100)
    }

    @Test("requeueing a pending job keeps its place; deletion is final")
    func requeueAndDelete() {
        var job = JobStateMachine(enqueuedAt: 100, position: 1)
        job.start(lease(1))
        job.abandon(attempt: 1, failure: failure(1), at: 7_000, position: 6)
        #expect(job.requeue(resetAttempts: true, at: 8_000, position: 7) == .applied)
        #expect(job.phase == .pending(availableAt: 7_000, position: 6))
        #expect(job.attempts == 0)
        #expect(job.delete() == .applied)
        #expect(job.delete() == .ignored)
        #expect(job.start(lease(1)) == .ignored)
        #expect(job.requeue(resetAttempts: false, at: 9_000, position: 9) == .ignored)
        #expect(job.deadLetter(failure: failure(1)) == .ignored)
        #expect(job.phase == .deleted)
    }

    @Test("a completed job can be requeued and run again")
    func reprocess() {
        var job = JobStateMachine(enqueuedAt: 100, position: 1)
        job.start(lease(1))
        job.complete(attempt: 1)
        #expect(job.deadLetter(failure: failure(1)) == .ignored)
        #expect(job.requeue(resetAttempts: false, at: 9_000, position: 9) == .applied)
        #expect(job.start(lease(2)) == .applied)
        #expect(job.complete(attempt: 2) == .applied)
    }
}
