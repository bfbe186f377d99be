import AnnalsChecksum

/// A checked view of one stored record, borrowed from the storage engine: valid only inside the call that handed
/// it out. Copy what must outlive the call (`LogRecord(view)` copies everything).
public struct RecordView {
    /// The record's bytes.
    public let raw: UnsafeRawBufferPointer
    /// The record's log position (its sequence number, from 1).
    public let position: UInt64

    /// Checks `raw` as the record at `position` and returns a view of it.
    ///
    /// Checked: length, magic, format version, flags, lengths of the parts, sequence number against the position,
    /// and the XXH64 checksum. The hash chain is not checked here (that needs the predecessor): `verify` does it.
    ///
    /// - Throws: `.corruptRecord` naming the position for any failed check; `.newerFormat` for a record written by
    ///   a newer format.
    public init(checking raw: UnsafeRawBufferPointer, position: UInt64) throws {
        func corrupt(_ what: String) -> LogError {
            LogError(.corruptRecord, "record \(position) is damaged: \(what)", position: position)
        }
        guard raw.count >= RecordLayout.overheadBytes else { throw corrupt("\(raw.count) bytes is too short") }
        guard raw.loadLE(RecordLayout.offsetMagic, as: UInt32.self) == RecordLayout.magic else {
            throw corrupt("bad magic")
        }
        let format = raw[RecordLayout.offsetFormat]
        guard format <= RecordLayout.formatVersion, format > 0 else {
            if format > RecordLayout.formatVersion {
                throw LogError(
                    .newerFormat,
                    "record \(position) has format \(format); this build reads format \(RecordLayout.formatVersion)",
                    position: position)
            }
            throw corrupt("format version 0")
        }
        let body = raw.count - RecordLayout.checksumBytes
        // Hash first, then load the stored checksum: the record's last bytes are then in cache, brought in by the
        // hash's own reads. Loaded first, they were a cache miss per record, two thirds of this check in profiles.
        let computed = XXH64.hash(UnsafeRawBufferPointer(rebasing: raw[..<body]))
        guard raw.loadLE(body, as: UInt64.self) == computed else {
            throw corrupt("checksum mismatch")
        }
        guard raw[RecordLayout.offsetFlags] & ~RecordLayout.flagDeflated == 0 else { throw corrupt("unknown flags") }
        guard
            raw.loadLE(RecordLayout.offsetReserved, as: UInt32.self) == 0,
            raw.loadLE(RecordLayout.offsetReservedShort, as: UInt16.self) == 0
        else { throw corrupt("reserved bytes are set") }
        let parts =
            Int(raw.loadLE(RecordLayout.offsetStreamIdLength, as: UInt16.self))
            + Int(raw.loadLE(RecordLayout.offsetKeyLength, as: UInt16.self))
            + Int(raw.loadLE(RecordLayout.offsetPayloadStoredLength, as: UInt32.self))
            + Int(raw.loadLE(RecordLayout.offsetAttachmentLength, as: UInt32.self))
        guard parts + RecordLayout.overheadBytes == raw.count else { throw corrupt("part lengths do not add up") }
        guard raw.loadLE(RecordLayout.offsetSequence, as: UInt64.self) == position else {
            throw corrupt("it holds sequence \(raw.loadLE(RecordLayout.offsetSequence, as: UInt64.self))")
        }
        self.raw = raw
        self.position = position
    }

    /// The event type's numeric code.
    public var type: UInt16 { raw.loadLE(RecordLayout.offsetType, as: UInt16.self) }
    /// The payload schema version.
    public var schemaVersion: UInt16 { raw.loadLE(RecordLayout.offsetSchemaVersion, as: UInt16.self) }
    /// When the writer committed the event, in microseconds since 1970-01-01 UTC.
    public var timestamp: Int64 { raw.loadLE(RecordLayout.offsetTimestamp, as: Int64.self) }
    /// The event's version within its stream, from 1.
    public var streamVersion: UInt64 { raw.loadLE(RecordLayout.offsetStreamVersion, as: UInt64.self) }
    /// The position of the previous event of the same stream; 0 for a stream's first event.
    public var previousInStream: UInt64 { raw.loadLE(RecordLayout.offsetPreviousInStream, as: UInt64.self) }
    /// True when the payload is stored deflated.
    public var isDeflated: Bool { raw[RecordLayout.offsetFlags] & RecordLayout.flagDeflated != 0 }

    private var streamIdLength: Int { Int(raw.loadLE(RecordLayout.offsetStreamIdLength, as: UInt16.self)) }
    private var keyLength: Int { Int(raw.loadLE(RecordLayout.offsetKeyLength, as: UInt16.self)) }
    private var storedLength: Int { Int(raw.loadLE(RecordLayout.offsetPayloadStoredLength, as: UInt32.self)) }
    /// The inflated payload's length.
    public var payloadLength: Int { Int(raw.loadLE(RecordLayout.offsetPayloadLength, as: UInt32.self)) }
    private var attachmentLength: Int { Int(raw.loadLE(RecordLayout.offsetAttachmentLength, as: UInt32.self)) }

    /// The stream id's UTF-8 bytes.
    public var streamIdBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: raw[RecordLayout.headerBytes..<RecordLayout.headerBytes + streamIdLength])
    }
    /// The stream id.
    public var streamId: String { String(decoding: streamIdBytes, as: UTF8.self) }

    /// The idempotency key's bytes; empty unless this record is the first of a batch appended with a key.
    public var idempotencyKeyBytes: UnsafeRawBufferPointer {
        let start = RecordLayout.headerBytes + streamIdLength
        return UnsafeRawBufferPointer(rebasing: raw[start..<start + keyLength])
    }

    /// The payload as stored (deflated when `isDeflated`).
    public var storedPayload: UnsafeRawBufferPointer {
        let start = RecordLayout.headerBytes + streamIdLength + keyLength
        return UnsafeRawBufferPointer(rebasing: raw[start..<start + storedLength])
    }

    /// The payload, inflated when needed.
    ///
    /// - Throws: `.corruptRecord` when a deflated payload does not inflate to its recorded length.
    public func payload() throws -> [UInt8] {
        if isDeflated { return try Deflate.decompress(storedPayload, length: payloadLength, position: position) }
        return Array(storedPayload)
    }

    /// The attachment's bytes (empty when there is none).
    public var attachment: UnsafeRawBufferPointer {
        let start = RecordLayout.headerBytes + streamIdLength + keyLength + storedLength
        return UnsafeRawBufferPointer(rebasing: raw[start..<start + attachmentLength])
    }

    /// The hash of the previous record, as this record carries it.
    public var previousHash: ChainHash {
        ChainHash(raw, at: raw.count - RecordLayout.hashBytes - RecordLayout.checksumBytes)
    }

    /// Computes this record's own hash (SHA-256 of everything but the checksum).
    public func computeHash() -> ChainHash {
        ChainHash.of(UnsafeRawBufferPointer(rebasing: raw[..<(raw.count - RecordLayout.checksumBytes)]))
    }
}

/// One record, decoded and owned.
public struct LogRecord: Sendable, Equatable {
    /// The record's log position (its sequence number, from 1).
    public var position: UInt64
    /// When the writer committed the event, in microseconds since 1970-01-01 UTC.
    public var timestamp: Int64
    /// The stream the event belongs to.
    public var streamId: String
    /// The event's version within its stream, from 1.
    public var streamVersion: UInt64
    /// The event type's numeric code.
    public var type: UInt16
    /// The payload schema version.
    public var schemaVersion: UInt16
    /// The payload, inflated.
    public var payload: [UInt8]
    /// The attachment (empty when there is none).
    public var attachment: [UInt8]
    /// The position of the previous event of the same stream; 0 for a stream's first event.
    public var previousInStream: UInt64
    /// The idempotency key of the batch this record starts, if any.
    public var idempotencyKey: String?
    /// Bytes the record takes in the log.
    public var storedBytes: Int

    /// Copies everything out of `view`.
    ///
    /// - Throws: `.corruptRecord` when the payload does not inflate.
    public init(_ view: RecordView) throws {
        position = view.position
        timestamp = view.timestamp
        streamId = view.streamId
        streamVersion = view.streamVersion
        previousInStream = view.previousInStream
        type = view.type
        schemaVersion = view.schemaVersion
        payload = try view.payload()
        attachment = Array(view.attachment)
        idempotencyKey =
            view.idempotencyKeyBytes.isEmpty
            ? nil
            : String(
                decoding: view.idempotencyKeyBytes,
                as: UTF8.self)
        storedBytes = view.raw.count
    }
}
