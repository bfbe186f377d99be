import AnnalsLog
internal import CLMDB
public import Foundation

/// Changes a log behind the log's back, as damage or a newer Annals would, for tests of how it is refused.
public enum LogSurgery {
    /// The ranges of every occurrence of `marker` in `data`.
    ///
    /// LMDB is copy-on-write: a page rewritten by a later commit leaves its old copy in a free page, so the same
    /// record can stand in the file more than once, and only one copy is live. Tests that damage a record damage
    /// every copy.
    public static func occurrences(of marker: String, in data: Data) -> [Range<Data.Index>] {
        var ranges: [Range<Data.Index>] = []
        var start = data.startIndex
        while let range = data.range(of: Data(marker.utf8), in: start..<data.endIndex) {
            ranges.append(range)
            start = range.upperBound
        }
        return ranges
    }

    /// Flips one bit of the byte at `offset` inside every occurrence of `marker` in `file` (a log's `data.mdb`).
    public static func flipByte(in file: String, inside marker: String, offset: Int = 3) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: file))
        let ranges = occurrences(of: marker, in: data)
        guard !ranges.isEmpty else { throw LogError(.invalidArgument, "marker \(marker) not found in \(file)") }
        for range in ranges { data[range.lowerBound + offset] ^= 0x20 }
        try data.write(to: URL(fileURLWithPath: file))
    }

    /// Writes `value` under `key` in the `meta` database of the LMDB environment in `directory`.
    public static func overwriteMeta(_ directory: String, key: String, value: [UInt8]) throws {
        try overwrite(directory, database: "meta", key: Array(key.utf8), value: value)
    }

    /// Writes `value` under `key` in the named database `database` of the LMDB environment in `directory`.
    public static func overwrite(_ directory: String, database: String, key: [UInt8], value: [UInt8]) throws {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        defer { mdb_env_close(env) }
        try check(mdb_env_set_maxdbs(env, 8), "mdb_env_set_maxdbs")
        try check(mdb_env_open(env, directory, 0, 0o644), "mdb_env_open")
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin")
        var dbi: MDB_dbi = 0
        var keyBytes = key
        var valueBytes = value
        do {
            try check(mdb_dbi_open(txn, database, 0, &dbi), "mdb_dbi_open")
            try keyBytes.withUnsafeMutableBytes { keyRaw in
                try valueBytes.withUnsafeMutableBytes { valueRaw in
                    var keyValue = MDB_val(mv_size: keyRaw.count, mv_data: keyRaw.baseAddress)
                    var data = MDB_val(mv_size: valueRaw.count, mv_data: valueRaw.baseAddress)
                    try check(mdb_put(txn, dbi, &keyValue, &data, 0), "mdb_put")
                }
            }
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        try check(mdb_txn_commit(txn), "mdb_txn_commit")
    }

    private static func check(_ rc: Int32, _ what: String) throws {
        if rc != 0 { throw LogError(.storage, "\(what) failed: \(String(cString: mdb_strerror(rc)))") }
    }
}
