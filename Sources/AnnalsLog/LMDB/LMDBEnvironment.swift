internal import CLMDB
import Foundation
import Glibc
import Synchronization

/// An open LMDB environment, the handles of its named databases, and the lock that makes map growth safe.
///
/// `@unchecked Sendable` is sound because: the environment is opened with `MDB_NOTLS`, so read transactions are not
/// tied to a thread; LMDB serialises write transactions itself; database handles are plain integers fixed after
/// open; and `mapSize` is only written while `resizeLock` is held exclusively, which also keeps every transaction of
/// this process out while the map is replaced (LMDB requires that no transaction be active during
/// `mdb_env_set_mapsize`).
final class LMDBEnvironment: @unchecked Sendable {
    let env: OpaquePointer
    let path: String
    /// The data file's path with symbolic links resolved, as `/proc/self/maps` names its mapping.
    let dataFilePath: String
    let readOnly: Bool
    private let resizeLock: UnsafeMutablePointer<pthread_rwlock_t>
    private var currentMapSize: Int
    /// The mapping of the data file as `/proc/self/maps` last showed it (start and end addresses), found once per map:
    /// reading and parsing that file each time was most of the cost of releasing pages during a replay. Emptied when
    /// the map is replaced.
    private let mappedRanges = Mutex<[(start: UInt, end: UInt)]?>(nil)

    /// Opens (and, unless `readOnly`, creates) the environment in the directory `path`.
    ///
    /// - Throws: `.notALog` when the files are not LMDB's, `.permissionDenied`, `.storage` for anything else.
    init(path: String, readOnly: Bool, mapSize: Int, maxDatabases: UInt32) throws {
        var handle: OpaquePointer?
        try lmdbCheck(mdb_env_create(&handle), "mdb_env_create")
        guard let handle else { throw LogError(.storage, "mdb_env_create returned no environment") }
        do {
            try lmdbCheck(mdb_env_set_maxdbs(handle, MDB_dbi(maxDatabases)), "mdb_env_set_maxdbs")
            try lmdbCheck(mdb_env_set_maxreaders(handle, 510), "mdb_env_set_maxreaders")
            try lmdbCheck(mdb_env_set_mapsize(handle, mapSize), "mdb_env_set_mapsize")
            // MDB_NOTLS: Swift tasks hop threads, so a read transaction must not be bound to the thread that began
            // it. Sync stays on (no MDB_NOSYNC / MDB_NOMETASYNC): a commit returns only once data and meta pages
            // are on disk, which is what "acknowledged means durable" rests on.
            var flags = UInt32(MDB_NOTLS)
            if readOnly { flags |= UInt32(MDB_RDONLY) }
            let rc = mdb_env_open(handle, path, flags, 0o644)
            if rc != MDB_SUCCESS { throw lmdbError(rc, "opening the log", path: path) }
            // A process that died inside a read transaction leaves its reader slot behind, which would pin old
            // pages forever; clearing stale slots at open is cheap.
            var dead: Int32 = 0
            _ = mdb_reader_check(handle, &dead)
        } catch {
            mdb_env_close(handle)
            throw error
        }
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        self.env = handle
        self.path = path
        dataFilePath = URL(fileURLWithPath: path + "/data.mdb").resolvingSymlinksInPath().path
        self.readOnly = readOnly
        self.currentMapSize = info.me_mapsize
        self.resizeLock = .allocate(capacity: 1)
        pthread_rwlock_init(resizeLock, nil)
    }

    deinit {
        mdb_env_close(env)
        pthread_rwlock_destroy(resizeLock)
        resizeLock.deallocate()
    }

    /// Drops the map's pages from the process's page tables (`MADV_DONTNEED`); they stay in the page cache.
    ///
    /// Sound because the map is read-only and shared (the environment is opened without `MDB_WRITEMAP`; writes go
    /// through `pwrite`): a dropped page is faulted in again from the page cache with the same bytes, and LMDB never
    /// rewrites a page a reader can still see. The resize lock, held shared, keeps the map from moving meanwhile.
    func releaseMappedPages() {
        pthread_rwlock_rdlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        let ranges =
            mappedRanges.withLock { $0 }
            ?? {
                let found = dataFileMappings()
                if !found.isEmpty { mappedRanges.withLock { $0 = found } }
                return found
            }()
        for range in ranges {
            guard let address = UnsafeMutableRawPointer(bitPattern: range.start) else { continue }
            // Advice only: when the kernel refuses, the pages stay mapped and nothing else changes.
            _ = madvise(address, Int(range.end - range.start), MADV_DONTNEED)
        }
    }

    /// The address ranges at which the data file is mapped, from `/proc/self/maps`.
    private func dataFileMappings() -> [(start: UInt, end: UInt)] {
        // LMDB tells the map's address only for fixed maps, so the mapping of the data file is found by its path.
        // Read to the end through a handle: `String(contentsOfFile:)` stops after the first page of a /proc file.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/maps") else { return [] }
        defer { try? handle.close() }
        let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        var ranges: [(start: UInt, end: UInt)] = []
        for line in maps.split(separator: "\n") where line.hasSuffix(" " + dataFilePath) {
            guard let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "),
                let start = UInt(line[..<dash], radix: 16),
                let end = UInt(line[line.index(after: dash)..<space], radix: 16), end > start
            else { continue }
            ranges.append((start, end))
        }
        return ranges
    }

    /// The size of the memory map in bytes.
    var mapSize: Int {
        pthread_rwlock_rdlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        return currentMapSize
    }

    /// The end of the last page in use and the map's size, in bytes, as of the last commit. Inside a write
    /// transaction that has not written yet, no other commit can move them.
    var extent: (usedBytes: Int, mapBytes: Int) {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return ((Int(info.me_last_pgno) + 1) * pageSize, info.me_mapsize)
    }

    /// The page size of the environment.
    var pageSize: Int {
        var stat = MDB_stat()
        mdb_env_stat(env, &stat)
        return Int(stat.ms_psize)
    }

    /// Bytes free for an unprivileged writer on the file system holding the environment, or nil if unknown.
    var freeBytes: Int? {
        var stat = statvfs()
        guard statvfs(path, &stat) == 0 else { return nil }
        return Int(stat.f_bavail) * Int(stat.f_frsize)
    }

    /// Runs `body` inside a transaction, holding the resize lock shared so that the map cannot move under it.
    ///
    /// A read-only transaction is aborted after `body`; a write transaction is committed when `body` returns and
    /// aborted when it throws. The body must not suspend: LMDB transactions are synchronous by design here.
    /// `keepHandles` commits a read-only transaction instead of aborting it: database handles opened in a
    /// transaction survive only its commit.
    func withTransaction<R>(write: Bool, keepHandles: Bool = false, _ body: (OpaquePointer) throws -> R) throws -> R {
        while true {
            pthread_rwlock_rdlock(resizeLock)
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, write ? 0 : UInt32(MDB_RDONLY), &txn)
            if rc == MDB_MAP_RESIZED {
                // Another process grew the map past our mapping: adopt its size, then try again.
                pthread_rwlock_unlock(resizeLock)
                try adoptMapSize()
                continue
            }
            guard rc == MDB_SUCCESS, let txn else {
                pthread_rwlock_unlock(resizeLock)
                throw lmdbError(rc, write ? "beginning a write transaction" : "beginning a read transaction")
            }
            defer { pthread_rwlock_unlock(resizeLock) }
            let result: R
            do {
                result = try body(txn)
            } catch {
                mdb_txn_abort(txn)
                throw error
            }
            if write || keepHandles {
                let commit = mdb_txn_commit(txn)
                if commit != MDB_SUCCESS { throw lmdbError(commit, "committing to the log", path: path) }
            } else {
                mdb_txn_abort(txn)
            }
            return result
        }
    }

    /// Grows the map to `newSize` bytes. The caller must hold no transaction.
    func grow(to newSize: Int) throws {
        pthread_rwlock_wrlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        guard newSize > currentMapSize else { return }
        try lmdbCheck(mdb_env_set_mapsize(env, newSize), "growing the log's map to \(newSize) bytes")
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        currentMapSize = info.me_mapsize
        mappedRanges.withLock { $0 = nil }
    }

    /// Copies the environment into `directory` (`mdb_env_copy2`: one read transaction, so consistent while others
    /// write), holding the resize lock shared like a transaction. When another process grew the map past this
    /// process's mapping (`MDB_MAP_RESIZED`), takes on the new size, removes the partial copy and tries again.
    /// Returns LMDB's code.
    func copy(to directory: String, flags: UInt32) throws -> Int32 {
        while true {
            pthread_rwlock_rdlock(resizeLock)
            let rc = mdb_env_copy2(env, directory, flags)
            pthread_rwlock_unlock(resizeLock)
            guard rc == MDB_MAP_RESIZED else { return rc }
            unlink(directory + "/data.mdb")
            try adoptMapSize()
        }
    }

    /// Takes on the map size another process set.
    private func adoptMapSize() throws {
        pthread_rwlock_wrlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        try lmdbCheck(mdb_env_set_mapsize(env, 0), "adopting the log's new map size")
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        currentMapSize = info.me_mapsize
        mappedRanges.withLock { $0 = nil }
    }

    /// Opens (creating unless read-only) the named database `name` with `flags`.
    func openDatabase(_ name: String, flags: Int32, in txn: OpaquePointer) throws -> MDB_dbi {
        var dbi: MDB_dbi = 0
        let create = readOnly ? 0 : MDB_CREATE
        let rc = mdb_dbi_open(txn, name, UInt32(flags | create), &dbi)
        if rc == MDB_NOTFOUND {
            throw LogError(.notALog, "\(path) is an LMDB environment but not an Annals log (no '\(name)' database)")
        }
        if rc == MDB_INCOMPATIBLE {
            throw LogError(.notALog, "\(path) is an LMDB environment but not an Annals log ('\(name)' has other flags)")
        }
        try lmdbCheck(rc, "opening database '\(name)'")
        return dbi
    }
}

extension MDB_val {
    /// A value pointing at `buffer`; valid only while `buffer` is.
    init(_ buffer: UnsafeRawBufferPointer) {
        self.init(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
    }

    /// The bytes this value points at; valid only inside the transaction that produced it.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: mv_data, count: mv_size) }
}

/// Calls `body` with an `MDB_val` holding `position` as a big-endian key, valid for the duration of the call.
@inline(__always)
func withPositionKey<R>(_ position: UInt64, _ body: (inout MDB_val) throws -> R) rethrows -> R {
    var keyValue = positionKey(position)
    return try withUnsafeMutableBytes(of: &keyValue) { raw in
        var key = MDB_val(mv_size: 8, mv_data: raw.baseAddress)
        return try body(&key)
    }
}
