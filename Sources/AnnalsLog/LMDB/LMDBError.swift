internal import CLMDB
import Glibc

/// Turns an LMDB or `errno` return code into a `LogError` whose code says what the caller can do about it.
func lmdbError(_ rc: Int32, _ what: String, path: String? = nil) -> LogError {
    let text = String(cString: mdb_strerror(rc))
    let place = path.map { " (\($0))" } ?? ""
    switch rc {
    case ENOSPC, EDQUOT, EFBIG:
        return LogError(.diskFull, "\(what) failed: no space left for the log\(place): \(text)", systemCode: rc)
    case EACCES, EPERM, EROFS:
        return LogError(.permissionDenied, "\(what) failed: permission denied\(place): \(text)", systemCode: rc)
    case MDB_INVALID, MDB_VERSION_MISMATCH:
        return LogError(.notALog, "\(what) failed: not an LMDB environment\(place): \(text)", systemCode: rc)
    case MDB_MAP_FULL:
        return LogError(.mapFull, "\(what) failed: the log's memory map is full\(place)", systemCode: rc)
    case MDB_CORRUPTED, MDB_PAGE_NOTFOUND:
        return LogError(.corruptRecord, "\(what) failed: the LMDB file is damaged\(place): \(text)", systemCode: rc)
    default:
        return LogError(.storage, "\(what) failed\(place): \(text)", systemCode: rc)
    }
}

/// Throws the `LogError` for `rc` unless it is `MDB_SUCCESS`.
@inline(__always)
func lmdbCheck(_ rc: Int32, _ what: @autoclosure () -> String) throws(LogError) {
    if rc != MDB_SUCCESS { throw lmdbError(rc, what()) }
}
