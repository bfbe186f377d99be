internal import CAnnalsKernels
internal import CLMDB
import Foundation
public import Logging
import Synchronization

/// The default event log: an LMDB environment with one writer thread doing group commit.
///
/// `@unchecked Sendable` is sound because every stored property is either immutable after `open`, a `Mutex`, or
/// the `Writer`, which confines LMDB write transactions to its own thread and is itself synchronised.
public final class LMDBEventLog: EventLog, @unchecked Sendable {
    /// The on-disk format this build writes, and the newest it opens.
    public static let formatVersion: UInt32 = 1

    let environment: LMDBEnvironment
    let databases: Databases
    let configuration: LogConfiguration
    let logger: Logger
    /// A random id fixed when the log is created; it seeds the hash chain.
    public let logId: [UInt8]
    private var writer: Writer?
    private let subscribers = Mutex<Subscribers>(Subscribers())

    struct Databases {
        var events: MDB_dbi
        var streams: MDB_dbi
        var idempotency: MDB_dbi
        var meta: MDB_dbi
    }

    struct Subscribers {
        var nextId = 0
        var continuations: [Int: AsyncStream<UInt64>.Continuation] = [:]
        var closed = false
    }

    /// The committed head and chain state, as kept in the `meta` database.
    struct ChainState: Equatable {
        var head: UInt64
        var hash: ChainHash
    }

    static let metaFormatKey = "format"
    static let metaLogIdKey = "log_id"
    static let metaChainHeadKey = "chain_head"

    /// The directory of the LMDB environment.
    public var path: String { environment.path }

    /// Opens the log in `directory`, creating it there unless `configuration.readOnly`.
    ///
    /// A directory is created only when it does not exist or is empty, so that pointing `--data` at the wrong place
    /// fails instead of scattering files.
    ///
    /// - Throws: `.notALog` (missing, or not an Annals log), `.newerFormat` (upgrade Annals),
    ///   `.permissionDenied`, `.storage`.
    public static func open(
        directory: String, configuration: LogConfiguration = LogConfiguration(),
        logger: Logger = Logger(label: "annals.log")
    ) throws -> LMDBEventLog {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = files.fileExists(atPath: directory, isDirectory: &isDirectory)
        if exists && !isDirectory.boolValue {
            throw LogError(.notALog, "\(directory) is a file, not an Annals log directory")
        }
        if exists && access(directory, R_OK | X_OK) != 0 && (errno == EACCES || errno == EPERM) {
            throw LogError(.permissionDenied, "cannot read \(directory): permission denied", systemCode: errno)
        }
        let dataFile = directory + "/data.mdb"
        if !files.fileExists(atPath: dataFile) {
            if configuration.readOnly {
                throw LogError(.notALog, "no Annals log at \(directory) (no data.mdb); check --data")
            }
            if exists {
                if !files.isReadableFile(atPath: directory) {
                    throw LogError(.permissionDenied, "cannot read \(directory): permission denied")
                }
                let entries = (try? files.contentsOfDirectory(atPath: directory)) ?? []
                if !entries.isEmpty {
                    throw LogError(
                        .notALog,
                        "\(directory) is not empty but holds no Annals log (no data.mdb); refusing to create one")
                }
            } else {
                do {
                    try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
                } catch {
                    let code = (error as NSError).code
                    if code == NSFileWriteNoPermissionError || code == Int(EACCES) {
                        throw LogError(.permissionDenied, "cannot create \(directory): permission denied")
                    }
                    throw LogError(.storage, "cannot create \(directory): \(error.localizedDescription)")
                }
            }
        }
        if files.fileExists(atPath: dataFile) && !files.isReadableFile(atPath: dataFile) {
            throw LogError(.permissionDenied, "cannot read \(dataFile): permission denied")
        }
        let creating = !files.fileExists(atPath: dataFile)
        let environment = try LMDBEnvironment(
            path: directory, readOnly: configuration.readOnly,
            mapSize: configuration.mapSizeInitialBytes, maxDatabases: 8)
        let (databases, logId, chain) = try environment.withTransaction(
            write: !configuration.readOnly, keepHandles: true
        ) { txn in
            try openDatabases(environment, txn)
        }
        if creating {
            // LMDB syncs its files, not the directories that name them: make the new log's entries durable before
            // anything is acknowledged from it.
            try syncDirectory(directory)
            try syncDirectory((directory as NSString).deletingLastPathComponent)
        }
        let log = LMDBEventLog(
            environment: environment, databases: databases, configuration: configuration,
            logger: logger, logId: logId)
        if !configuration.readOnly {
            // Timestamps never decrease along the log (tools binary-search them), even if the clock steps back
            // across a restart: the writer starts from the last record's time.
            let lastTimestamp = chain.head == 0 ? 0 : try log.record(at: chain.head)?.timestamp ?? 0
            log.writer = Writer(log: log, chain: chain, lastTimestamp: lastTimestamp)
        }
        return log
    }

    private init(
        environment: LMDBEnvironment, databases: Databases, configuration: LogConfiguration,
        logger: Logger, logId: [UInt8]
    ) {
        self.environment = environment
        self.databases = databases
        self.configuration = configuration
        self.logger = logger
        self.logId = logId
    }

    /// Opens the named databases and reads (or, in a new log, writes) the meta records.
    private static func openDatabases(_ environment: LMDBEnvironment, _ txn: OpaquePointer) throws
        -> (Databases, [UInt8], ChainState)
    {
        let meta = try environment.openDatabase("meta", flags: 0, in: txn)
        let format = try getValue(txn, meta, key: metaFormatKey)
        let events: MDB_dbi
        if let format {
            guard format.count == 4 else {
                throw LogError(.notALog, "\(environment.path) is not an Annals log (malformed format record)")
            }
            let version = format.withUnsafeBytes { $0.loadLE(0, as: UInt32.self) }
            if version > formatVersion {
                throw LogError(
                    .newerFormat,
                    "the log at \(environment.path) has format version \(version); this annals reads format "
                        + "\(formatVersion) at most: upgrade annals")
            }
            events = try environment.openDatabase("events", flags: 0, in: txn)
        } else {
            if environment.readOnly {
                throw LogError(.notALog, "\(environment.path) is an LMDB environment but not an Annals log")
            }
            events = try environment.openDatabase("events", flags: 0, in: txn)
            var stat = MDB_stat()
            mdb_stat(txn, events, &stat)
            guard stat.ms_entries == 0 else {
                throw LogError(.notALog, "\(environment.path) holds events but no format record; not an Annals log")
            }
            var id = [UInt8](repeating: 0, count: 16)
            var generator = SystemRandomNumberGenerator()
            for index in id.indices { id[index] = UInt8.random(in: 0...255, using: &generator) }
            var version = formatVersion.littleEndian
            try putValue(txn, meta, key: metaFormatKey, value: withUnsafeBytes(of: &version) { Array($0) })
            try putValue(txn, meta, key: metaLogIdKey, value: id)
            try putValue(
                txn, meta, key: metaChainHeadKey,
                value: encodeChain(ChainState(head: 0, hash: ChainHash.genesis(logId: id))))
        }
        let databases = Databases(
            events: events,
            streams: try environment.openDatabase("streams", flags: 0, in: txn),
            idempotency: try environment.openDatabase("idempotency", flags: 0, in: txn),
            meta: meta)
        guard let logId = try getValue(txn, meta, key: metaLogIdKey), logId.count == 16,
            let chainBytes = try getValue(txn, meta, key: metaChainHeadKey), let chain = decodeChain(chainBytes)
        else {
            throw LogError(.notALog, "\(environment.path) is not an Annals log (missing or malformed meta records)")
        }
        return (databases, logId, chain)
    }

    // MARK: Appending

    public func append(
        _ events: [EventDraft], expectedVersions: [String: ExpectedVersion],
        idempotencyKey: String?
    ) async throws -> AppendResult {
        guard let writer else { throw LogError(.invalidArgument, "the log was opened read-only") }
        guard !events.isEmpty else { throw LogError(.invalidArgument, "an append needs at least one event") }
        guard events.count <= configuration.batchCountMax else {
            throw LogError(
                .invalidArgument,
                "a batch of \(events.count) events exceeds the limit of \(configuration.batchCountMax)")
        }
        let key = Array((idempotencyKey ?? "").utf8)
        if idempotencyKey != nil && key.isEmpty {
            throw LogError(.invalidArgument, "an idempotency key must not be empty")
        }
        var records: [PreparedRecord] = []
        records.reserveCapacity(events.count)
        var bytes = 0
        for (index, event) in events.enumerated() {
            let record = try RecordCodec.prepare(
                event, idempotencyKey: index == 0 ? key : [],
                deflateThreshold: configuration.deflateThresholdBytes)
            bytes += record.bytes.count
            records.append(record)
        }
        guard bytes <= configuration.batchBytesMax else {
            throw LogError(
                .invalidArgument,
                "a batch of \(bytes) bytes exceeds the limit of \(configuration.batchBytesMax) bytes")
        }
        var expectations: [([UInt8], ExpectedVersion)] = []
        for (stream, expected) in expectedVersions {
            let id = Array(stream.utf8)
            guard !id.isEmpty, id.count <= RecordLayout.streamIdBytesMax else {
                throw LogError(.invalidArgument, "expected version given for an invalid stream id")
            }
            expectations.append((id, expected))
        }
        // Unchecked: the writer resumes every batch exactly once (after its commit, or with the commit's error, or
        // at once when the log is closed), and the checked form costs an allocation per append.
        return try await withUnsafeThrowingContinuation { continuation in
            writer.submit(
                Writer.Batch(
                    records: records, expectations: expectations, idempotencyKey: key, bytes: bytes,
                    submitted: ContinuousClock.now, continuation: continuation))
        }
    }

    // MARK: Reading

    public func head() throws -> UInt64 {
        if let writer { return writer.committedHead }
        return try environment.withTransaction(write: false) { txn in try self.lastPosition(txn) }
    }

    /// The chain state as committed in `meta`: the head position and the hash of the record at it.
    public func chainHead() throws -> (position: UInt64, hash: ChainHash) {
        let chain = try environment.withTransaction(write: false) { txn in try self.readChain(txn) }
        return (chain.head, chain.hash)
    }

    func readChain(_ txn: OpaquePointer) throws -> ChainState {
        guard let bytes = try Self.getValue(txn, databases.meta, key: Self.metaChainHeadKey),
            let chain = Self.decodeChain(bytes)
        else { throw LogError(.corruptRecord, "the log's chain head record is missing or malformed") }
        return chain
    }

    func lastPosition(_ txn: OpaquePointer) throws -> UInt64 {
        var cursor: OpaquePointer?
        try lmdbCheck(mdb_cursor_open(txn, databases.events, &cursor), "opening a cursor")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        let rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST)
        if rc == MDB_NOTFOUND { return 0 }
        try lmdbCheck(rc, "reading the last event")
        return try Self.position(of: key)
    }

    /// Asks the CPU to load the two pages after the one `value` starts in, once per page: a scan checks every
    /// record's bytes, and the hardware prefetcher does not cross pages, so each new page stalled the checksum on
    /// memory. Records follow one another through the file in ascending pages (the log only appends), so the next
    /// pages are almost always the ones read next; a wrong guess costs a few loads, and a prefetch never faults.
    @inline(__always)
    static func prefetchNextPages(after value: MDB_val, current page: inout UInt) {
        guard let data = value.mv_data else { return }
        let start = UInt(bitPattern: data) & ~UInt(4095)
        guard start != page else { return }
        page = start
        guard let next = UnsafeRawPointer(bitPattern: start &+ 4096) else { return }
        for line in stride(from: 0, to: 8192, by: 64) { annals_prefetch(next + line) }
    }

    static func position(of key: MDB_val) throws -> UInt64 {
        guard key.mv_size == 8 else {
            throw LogError(.corruptRecord, "the events database holds a key of \(key.mv_size) bytes")
        }
        return UInt64(bigEndian: key.bytes.loadUnaligned(as: UInt64.self))
    }

    public func read(from position: UInt64, limit: Int) throws -> [LogRecord] {
        var records: [LogRecord] = []
        guard limit > 0 else { return records }
        _ = try scan(from: position, through: .max) { view in
            records.append(try LogRecord(view))
            return records.count < limit
        }
        return records
    }

    public func scan(from position: UInt64, through last: UInt64, _ body: (RecordView) throws -> Bool) throws
        -> UInt64
    {
        var next = max(position, 1)
        var visited = next - 1
        var more = true
        while more && next <= last {
            more = try environment.withTransaction(write: false) { txn -> Bool in
                var cursor: OpaquePointer?
                try lmdbCheck(mdb_cursor_open(txn, databases.events, &cursor), "opening a cursor")
                defer { mdb_cursor_close(cursor) }
                var key = MDB_val()
                var value = MDB_val()
                var rc = withPositionKey(next) { start in
                    let rc = mdb_cursor_get(cursor, &start, &value, MDB_SET_RANGE)
                    key = start
                    return rc
                }
                var count = 0
                var page: UInt = 0
                while rc == MDB_SUCCESS {
                    let found = try Self.position(of: key)
                    if found > last { return false }
                    Self.prefetchNextPages(after: value, current: &page)
                    let view = try RecordView(checking: value.bytes, position: found)
                    visited = found
                    next = found + 1
                    if try !body(view) { return false }
                    count += 1
                    if count >= configuration.scanRenewCount { return true }
                    rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
                }
                if rc != MDB_NOTFOUND { try lmdbCheck(rc, "reading events") }
                return false
            }
        }
        return visited
    }

    public func readStream(_ streamId: String, fromVersion version: UInt64, limit: Int) throws -> [LogRecord] {
        guard limit > 0 else { return [] }
        let positions = try streamPositions(streamId, fromVersion: version).prefix(limit)
        return try environment.withTransaction(write: false) { txn in
            try positions.map { position in
                guard let record = try get(position, txn) else {
                    throw LogError(
                        .corruptRecord, "stream \(streamId) links to position \(position), which is not in the log",
                        position: position)
                }
                return record
            }
        }
    }

    /// The positions of a stream's events from stream version `version` on, oldest first.
    ///
    /// Each record carries the position of its stream's previous event, and the `streams` database the position of
    /// the last one, so a stream is a chain walked backwards from its end. That costs one lookup per event, and
    /// spares every append the index pages a per-stream B-tree would dirty (see docs/LOG-FORMAT.md).
    ///
    /// - Throws: `.corruptRecord` when the chain does not hold together (a link to a missing record, or to a record
    ///   of another stream or version).
    public func streamPositions(_ streamId: String, fromVersion version: UInt64) throws -> [UInt64] {
        let id = Array(streamId.utf8)
        guard !id.isEmpty, id.count <= RecordLayout.streamIdBytesMax else { return [] }
        return try environment.withTransaction(write: false) { txn in
            guard let state = try Self.streamState(txn, databases.streams, id) else { return [] }
            let first = max(version, 1)
            var positions: [UInt64] = []
            var position = state.position
            var expected = state.version
            while expected >= first {
                var value = MDB_val()
                let rc = withPositionKey(position) { key in mdb_get(txn, databases.events, &key, &value) }
                if rc == MDB_NOTFOUND {
                    throw LogError(
                        .corruptRecord,
                        "stream \(streamId) links to position \(position), which is not in the log",
                        position: position)
                }
                try lmdbCheck(rc, "reading event \(position)")
                let view = try RecordView(checking: value.bytes, position: position)
                guard view.streamVersion == expected, view.streamIdBytes.elementsEqual(id) else {
                    throw LogError(
                        .corruptRecord,
                        "stream \(streamId) links to position \(position), which holds version "
                            + "\(view.streamVersion) of stream \(view.streamId), not version \(expected)",
                        position: position)
                }
                positions.append(position)
                position = view.previousInStream
                expected -= 1
            }
            return positions.reversed()
        }
    }

    public func earlierAppend(idempotencyKey key: String) throws -> AppendResult? {
        let bytes = Array(key.utf8)
        guard !bytes.isEmpty, bytes.count <= RecordLayout.idempotencyKeyBytesMax else { return nil }
        return try environment.withTransaction(write: false) { txn in
            try bytes.withUnsafeBytes { keyBytes -> AppendResult? in
                var keyValue = MDB_val(keyBytes)
                var value = MDB_val()
                let rc = mdb_get(txn, databases.idempotency, &keyValue, &value)
                if rc == MDB_NOTFOUND { return nil }
                try lmdbCheck(rc, "reading an idempotency key")
                let (first, count) = try IdempotencyEntry.decode(value.bytes)
                return AppendResult(firstPosition: first, count: count, deduplicated: true)
            }
        }
    }

    /// The record at `position` inside `txn`, or nil.
    func get(_ position: UInt64, _ txn: OpaquePointer) throws -> LogRecord? {
        var value = MDB_val()
        let rc = withPositionKey(position) { key in mdb_get(txn, databases.events, &key, &value) }
        if rc == MDB_NOTFOUND { return nil }
        try lmdbCheck(rc, "reading event \(position)")
        return try LogRecord(RecordView(checking: value.bytes, position: position))
    }

    public func streamHead(_ streamId: String) throws -> (version: UInt64, position: UInt64)? {
        let id = Array(streamId.utf8)
        guard !id.isEmpty, id.count <= RecordLayout.streamIdBytesMax else { return nil }
        return try environment.withTransaction(write: false) { txn in
            try Self.streamState(txn, databases.streams, id)
        }
    }

    public func streamVersion(_ streamId: String) throws -> UInt64 {
        let id = Array(streamId.utf8)
        guard !id.isEmpty, id.count <= RecordLayout.streamIdBytesMax else { return 0 }
        return try environment.withTransaction(write: false) { txn in
            try Self.streamState(txn, databases.streams, id)?.version ?? 0
        }
    }

    /// A stream's last version and last position, as stored in the `streams` database.
    static func streamState(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ id: [UInt8]) throws
        -> (version: UInt64, position: UInt64)?
    {
        try id.withUnsafeBytes { idBytes in
            var key = MDB_val(idBytes)
            var value = MDB_val()
            let rc = mdb_get(txn, dbi, &key, &value)
            if rc == MDB_NOTFOUND { return nil }
            try lmdbCheck(rc, "reading a stream's version")
            guard value.mv_size == 16 else {
                throw LogError(.corruptRecord, "the streams database holds a value of \(value.mv_size) bytes")
            }
            return (value.bytes.loadLE(0, as: UInt64.self), value.bytes.loadLE(8, as: UInt64.self))
        }
    }

    // MARK: Subscriptions

    /// Drops the log's pages from this process's resident set; see `EventLog.releaseMappedPages()`.
    public func releaseMappedPages() { environment.releaseMappedPages() }

    public func subscribe() -> AsyncStream<UInt64> {
        let (stream, continuation) = AsyncStream.makeStream(of: UInt64.self, bufferingPolicy: .bufferingNewest(1))
        let id: Int? = subscribers.withLock { state in
            if state.closed { return nil }
            let id = state.nextId
            state.nextId += 1
            state.continuations[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.continuations.removeValue(forKey: id) }
        }
        if let head = try? head() { continuation.yield(head) }
        return stream
    }

    /// Tells every subscriber the new head. Called by the writer after each commit.
    func publish(head: UInt64) {
        subscribers.withLock { state in
            for continuation in state.continuations.values { continuation.yield(head) }
        }
    }

    public func close() async {
        if let writer { await writer.stop() }
        let continuations = subscribers.withLock { state in
            state.closed = true
            defer { state.continuations.removeAll() }
            return Array(state.continuations.values)
        }
        for continuation in continuations { continuation.finish() }
    }

    // MARK: Meta helpers

    static func getValue(_ txn: OpaquePointer, _ dbi: MDB_dbi, key: String) throws -> [UInt8]? {
        try Array(key.utf8).withUnsafeBytes { keyBytes in
            var keyValue = MDB_val(keyBytes)
            var value = MDB_val()
            let rc = mdb_get(txn, dbi, &keyValue, &value)
            if rc == MDB_NOTFOUND { return nil }
            try lmdbCheck(rc, "reading meta '\(key)'")
            return Array(value.bytes)
        }
    }

    static func putValue(_ txn: OpaquePointer, _ dbi: MDB_dbi, key: String, value: [UInt8]) throws {
        try Array(key.utf8).withUnsafeBytes { keyBytes in
            try value.withUnsafeBytes { valueBytes in
                var keyValue = MDB_val(keyBytes)
                var data = MDB_val(valueBytes)
                try lmdbCheck(mdb_put(txn, dbi, &keyValue, &data, 0), "writing meta '\(key)'")
            }
        }
    }

    static func encodeChain(_ chain: ChainState) -> [UInt8] {
        var bytes = withUnsafeBytes(of: chain.head.littleEndian) { Array($0) }
        bytes += chain.hash.array
        return bytes
    }

    static func decodeChain(_ bytes: [UInt8]) -> ChainState? {
        guard bytes.count == 40 else { return nil }
        return bytes.withUnsafeBytes { raw in
            ChainState(head: raw.loadLE(0, as: UInt64.self), hash: ChainHash(raw, at: 8))
        }
    }
}

/// fsyncs a directory, so that the entries created in it survive a power loss.
private func syncDirectory(_ path: String) throws {
    let descriptor = Glibc.open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else {
        throw LogError(
            .storage, "cannot open \(path) to sync it: \(String(cString: strerror(errno)))", systemCode: errno)
    }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 else {
        throw LogError(.storage, "cannot sync \(path): \(String(cString: strerror(errno)))", systemCode: errno)
    }
}
