/// The byte layout of one record, format version 1. `docs/LOG-FORMAT.md` describes it for people; this type is the
/// single place in code that knows the offsets.
///
/// All integers are little-endian. The layout is: a 64-byte fixed header, the stream id, the idempotency key, the
/// stored payload, the attachment, the 32-byte SHA-256 hash of the previous record, and an 8-byte XXH64 checksum of
/// everything before it.
public enum RecordLayout {
    /// "ANLR": the first four bytes of every record.
    public static let magic: UInt32 = 0x524C_4E41
    /// The record format this build writes and the newest it reads.
    public static let formatVersion: UInt8 = 1

    static let offsetMagic = 0
    static let offsetFormat = 4
    static let offsetFlags = 5
    static let offsetType = 6
    static let offsetSequence = 8
    static let offsetTimestamp = 16
    static let offsetStreamVersion = 24
    static let offsetSchemaVersion = 32
    static let offsetStreamIdLength = 34
    static let offsetKeyLength = 36
    static let offsetReservedShort = 38
    static let offsetPayloadStoredLength = 40
    static let offsetPayloadLength = 44
    static let offsetAttachmentLength = 48
    static let offsetReserved = 52
    static let offsetPreviousInStream = 56
    /// Size of the fixed header.
    public static let headerBytes = 64
    /// Size of the previous-record hash.
    public static let hashBytes = 32
    /// Size of the trailing checksum.
    public static let checksumBytes = 8
    /// Bytes every record has besides its variable parts.
    public static let overheadBytes = headerBytes + hashBytes + checksumBytes

    /// Flag: the stored payload is zlib-deflated; `payloadLength` is its inflated size.
    static let flagDeflated: UInt8 = 1 << 0

    /// Stream ids are keys of the `streams` database; LMDB's default key limit is 511 bytes, and ids are names.
    public static let streamIdBytesMax = 200
    /// Idempotency keys are LMDB keys too.
    public static let idempotencyKeyBytesMax = 200
    /// A single record, payload and attachment included.
    public static let recordBytesMax = 64 * 1024 * 1024
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadLE<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}

/// Big-endian u64 keys make LMDB's byte order equal to numeric order, which `MDB_APPEND` relies on.
@inline(__always)
func positionKey(_ position: UInt64) -> UInt64 { position.bigEndian }
