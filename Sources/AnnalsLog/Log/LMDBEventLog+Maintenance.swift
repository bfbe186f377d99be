internal import CLMDB
import Foundation

/// What `verify` found.
public struct VerifyReport: Sendable, Equatable {
    /// Records checked.
    public var records: UInt64 = 0
    /// Bytes of the records checked.
    public var bytes: UInt64 = 0
    /// Streams found.
    public var streams: Int = 0
    /// Idempotency keys found.
    public var idempotencyKeys: Int = 0
    /// The last position checked.
    public var head: UInt64 = 0
    /// The hash of the last record.
    public var chainHead: ChainHash?
    /// The first problem found, if any: its position (0 when it concerns no single record) and what it is.
    public var failure: (position: UInt64, reason: String)? {
        get { failurePosition.map { ($0, failureReason) } }
        set {
            failurePosition = newValue?.position
            failureReason = newValue?.reason ?? ""
        }
    }
    private var failurePosition: UInt64?
    private var failureReason = ""

    /// True when no problem was found.
    public var isSound: Bool { failurePosition == nil }

    public static func == (lhs: VerifyReport, rhs: VerifyReport) -> Bool {
        lhs.records == rhs.records && lhs.bytes == rhs.bytes && lhs.head == rhs.head
            && lhs.failurePosition == rhs.failurePosition && lhs.failureReason == rhs.failureReason
    }
}

/// Size and use of the log.
public struct LogStats: Sendable {
    /// Records in the log.
    public var records: UInt64
    /// The last position.
    public var head: UInt64
    /// The hash of the record at the head.
    public var chainHead: ChainHash
    /// The memory map's size.
    public var mapSizeBytes: Int
    /// Bytes of the map in use (pages up to the last one written).
    public var mapUsedBytes: Int
    /// The data file's size on disk.
    public var fileBytes: Int
    /// The page size.
    public var pageBytes: Int
    /// Entries of each named database.
    public var databaseEntries: [String: UInt64]
    /// Reader slots in use (processes or threads holding read transactions).
    public var readers: Int
    /// The log's id, hexadecimal.
    public var logId: String
}

extension LMDBEventLog {
    /// Checks the whole log: every record's checksum and structure, the sequence (from 1, no gap), the hash chain
    /// and the chain head in `meta`, each stream's chain of back links and the `streams` database, and the
    /// `idempotency` database.
    ///
    /// Stops at the first problem and reports its position. `progress` is called every `progressEvery` records.
    ///
    /// - Throws: only when the log cannot be read at all (storage errors); damage is reported, not thrown.
    public func verify(progressEvery: UInt64 = 100_000, progress: (UInt64) -> Void = { _ in }) throws
        -> VerifyReport
    {
        var report = VerifyReport()
        var previous = ChainHash.genesis(logId: logId)
        var streams: [[UInt8]: (version: UInt64, position: UInt64)] = [:]
        var keys = 0
        var expected: UInt64 = 1
        // The meta chain head is read first, in its own transaction: records committed after this are checked but
        // the head comparison uses the state at the end of the scan (read again below).
        var failure: (UInt64, String)?
        var stop = false
        while !stop {
            stop = try environment.withTransaction(write: false) { txn -> Bool in
                var cursor: OpaquePointer?
                try lmdbCheck(mdb_cursor_open(txn, databases.events, &cursor), "opening a cursor")
                defer { mdb_cursor_close(cursor) }
                var key = MDB_val()
                var value = MDB_val()
                var rc = withPositionKey(expected) { start in
                    let rc = mdb_cursor_get(cursor, &start, &value, MDB_SET_RANGE)
                    key = start
                    return rc
                }
                var count = 0
                var page: UInt = 0
                while rc == MDB_SUCCESS {
                    Self.prefetchNextPages(after: value, current: &page)
                    guard key.mv_size == 8 else {
                        failure = (expected, "a key of \(key.mv_size) bytes follows position \(expected - 1)")
                        return true
                    }
                    let position = UInt64(bigEndian: key.bytes.loadUnaligned(as: UInt64.self))
                    if position != expected {
                        failure = (expected, "position \(expected) is missing (the next record is at \(position))")
                        return true
                    }
                    let view: RecordView
                    do {
                        view = try RecordView(checking: value.bytes, position: position)
                    } catch let error as LogError {
                        failure = (position, error.message)
                        return true
                    }
                    if view.previousHash != previous {
                        failure = (
                            position,
                            "record \(position) does not link to its predecessor: the hash chain "
                                + "breaks here (it carries \(view.previousHash.hex.prefix(16))…, the chain has "
                                + "\(previous.hex.prefix(16))…)"
                        )
                        return true
                    }
                    if view.isDeflated {
                        do { _ = try view.payload() } catch let error as LogError {
                            failure = (position, error.message)
                            return true
                        }
                    }
                    previous = view.computeHash()
                    let stream = Array(view.streamIdBytes)
                    let version = (streams[stream]?.version ?? 0) + 1
                    if view.streamVersion != version {
                        failure = (
                            position,
                            "record \(position) has stream version \(view.streamVersion), but it "
                                + "is event \(version) of stream \(view.streamId)"
                        )
                        return true
                    }
                    let previousInStream = streams[stream]?.position ?? 0
                    if view.previousInStream != previousInStream {
                        failure = (
                            position,
                            "record \(position) links to position \(view.previousInStream) as the previous event of "
                                + "stream \(view.streamId), which is at \(previousInStream)"
                        )
                        return true
                    }
                    streams[stream] = (version, position)
                    if !view.idempotencyKeyBytes.isEmpty {
                        keys += 1
                        if let reason = try checkKey(view, txn) {
                            failure = (position, reason)
                            return true
                        }
                    }
                    report.records += 1
                    report.bytes += UInt64(value.mv_size)
                    report.head = position
                    if report.records % progressEvery == 0 { progress(report.records) }
                    expected += 1
                    count += 1
                    if count >= configuration.scanRenewCount { return false }
                    rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
                }
                if rc != MDB_NOTFOUND { try lmdbCheck(rc, "reading events") }
                return true
            }
        }
        report.chainHead = report.head == 0 ? nil : previous
        report.streams = streams.count
        report.idempotencyKeys = keys
        if let failure {
            report.failure = failure
            return report
        }
        // Whole-log checks, in one transaction that sees at least what was scanned. A writer in another process may
        // have appended since: the head in meta may be ahead, and then the new records are not part of this report.
        try environment.withTransaction(write: false) { txn in
            let chain = try readChain(txn)
            if chain.head == report.head && chain.hash != previous {
                report.failure = (
                    report.head, "the chain head in meta does not match the hash of record \(report.head)"
                )
                return
            }
            if chain.head < report.head {
                report.failure = (
                    chain.head + 1,
                    "meta says the log ends at \(chain.head), but records go on to "
                        + "\(report.head)"
                )
                return
            }
            guard chain.head == report.head else { return }
            let keyEntries = try entries(databases.idempotency, txn)
            if keyEntries != UInt64(keys) {
                report.failure = (0, "the idempotency index has \(keyEntries) keys, the records carry \(keys)")
                return
            }
            let streamEntries = try entries(databases.streams, txn)
            if streamEntries != UInt64(streams.count) {
                report.failure = (
                    0,
                    "the streams database has \(streamEntries) streams, the records name "
                        + "\(streams.count)"
                )
                return
            }
            for (stream, expected) in streams {
                let stored = try Self.streamState(txn, databases.streams, stream)
                if stored?.version != expected.version || stored?.position != expected.position {
                    report.failure = (
                        expected.position,
                        "the streams database says stream "
                            + "\(String(decoding: stream, as: UTF8.self)) is at version \(stored?.version ?? 0) "
                            + "(position \(stored?.position ?? 0)); its records say \(expected.version) "
                            + "(position \(expected.position))"
                    )
                    return
                }
            }
        }
        return report
    }

    /// Nil when the idempotency database maps the record's key to this record; otherwise what is wrong.
    private func checkKey(_ view: RecordView, _ txn: OpaquePointer) throws -> String? {
        var value = MDB_val()
        var key = MDB_val(view.idempotencyKeyBytes)
        let rc = mdb_get(txn, databases.idempotency, &key, &value)
        if rc == MDB_NOTFOUND { return "the idempotency index lacks the key of record \(view.position)" }
        try lmdbCheck(rc, "reading an idempotency key")
        let entry = try IdempotencyEntry.decode(value.bytes)
        if entry.0 != view.position {
            return "the idempotency index maps the key of record \(view.position) to position \(entry.0)"
        }
        return nil
    }

    private func entries(_ dbi: MDB_dbi, _ txn: OpaquePointer) throws -> UInt64 {
        var stat = MDB_stat()
        try lmdbCheck(mdb_stat(txn, dbi, &stat), "reading database statistics")
        return UInt64(stat.ms_entries)
    }

    /// Size and use of the log.
    public func stats() throws -> LogStats {
        try environment.withTransaction(write: false) { txn in
            var info = MDB_envinfo()
            mdb_env_info(environment.env, &info)
            let page = environment.pageSize
            var counts: [String: UInt64] = [:]
            for (name, dbi) in [
                ("events", databases.events), ("streams", databases.streams),
                ("idempotency", databases.idempotency),
                ("meta", databases.meta),
            ] {
                counts[name] = try entries(dbi, txn)
            }
            let chain = try readChain(txn)
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")
            return LogStats(
                records: counts["events"] ?? 0, head: chain.head, chainHead: chain.hash,
                mapSizeBytes: info.me_mapsize, mapUsedBytes: (Int(info.me_last_pgno) + 1) * page,
                fileBytes: (attributes?[.size] as? Int) ?? 0, pageBytes: page, databaseEntries: counts,
                readers: Int(info.me_numreaders),
                logId: logId.map { String(format: "%02x", $0) }.joined())
        }
    }

    /// Writes a compact, consistent copy of the log into `directory`, which must not exist or be empty. Safe while
    /// another thread or process appends: the copy is of one read transaction.
    ///
    /// - Throws: `.invalidArgument` when the target holds files, `.diskFull`, `.permissionDenied`, `.storage`.
    public func backup(to directory: String, compact: Bool = true) throws {
        let files = FileManager.default
        if files.fileExists(atPath: directory) {
            let entries = (try? files.contentsOfDirectory(atPath: directory)) ?? []
            guard entries.isEmpty else {
                throw LogError(.invalidArgument, "backup target \(directory) is not empty")
            }
        } else {
            do {
                try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw LogError(.permissionDenied, "cannot create \(directory): \(error.localizedDescription)")
            }
        }
        let rc = try environment.copy(to: directory, flags: compact ? UInt32(MDB_CP_COMPACT) : 0)
        if rc != MDB_SUCCESS { throw lmdbError(rc, "backing up the log", path: directory) }
    }
}
