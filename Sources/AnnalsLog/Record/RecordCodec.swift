import AnnalsChecksum

/// A record encoded on the appender's side, with the fields only the writer knows (sequence, time, stream version,
/// previous hash, checksum) still zero. Doing the encoding and compression here keeps the single writer thread
/// to the work that must be serial.
struct PreparedRecord: Sendable {
    var bytes: [UInt8]
    var streamId: [UInt8]
}

enum RecordCodec {
    /// Encodes `draft` into a prepared record.
    ///
    /// - Throws: `.invalidArgument` when the stream id or key is empty or too long, or the record too large.
    static func prepare(_ draft: EventDraft, idempotencyKey: [UInt8], deflateThreshold: Int) throws -> PreparedRecord {
        let stream = Array(draft.streamId.utf8)
        guard !stream.isEmpty, stream.count <= RecordLayout.streamIdBytesMax else {
            throw LogError(
                .invalidArgument,
                "stream id must have 1 to \(RecordLayout.streamIdBytesMax) bytes, got \(stream.count)")
        }
        guard idempotencyKey.count <= RecordLayout.idempotencyKeyBytesMax else {
            throw LogError(
                .invalidArgument,
                "idempotency key must have at most \(RecordLayout.idempotencyKeyBytesMax) bytes")
        }
        var flags: UInt8 = 0
        var stored = draft.payload
        if draft.payload.count >= deflateThreshold, let deflated = Deflate.compress(draft.payload) {
            stored = deflated
            flags |= RecordLayout.flagDeflated
        }
        let total =
            RecordLayout.overheadBytes + stream.count + idempotencyKey.count + stored.count
            + draft.attachment.count
        guard total <= RecordLayout.recordBytesMax, draft.payload.count <= Int(UInt32.max) else {
            throw LogError(
                .invalidArgument,
                "event of \(total) bytes exceeds the record limit of \(RecordLayout.recordBytesMax) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: total)
        bytes.withUnsafeMutableBytes { out in
            out.storeLE(RecordLayout.magic, at: RecordLayout.offsetMagic)
            out[RecordLayout.offsetFormat] = RecordLayout.formatVersion
            out[RecordLayout.offsetFlags] = flags
            out.storeLE(draft.type, at: RecordLayout.offsetType)
            out.storeLE(draft.schemaVersion, at: RecordLayout.offsetSchemaVersion)
            out.storeLE(UInt16(stream.count), at: RecordLayout.offsetStreamIdLength)
            out.storeLE(UInt16(idempotencyKey.count), at: RecordLayout.offsetKeyLength)
            out.storeLE(UInt32(stored.count), at: RecordLayout.offsetPayloadStoredLength)
            out.storeLE(UInt32(draft.payload.count), at: RecordLayout.offsetPayloadLength)
            out.storeLE(UInt32(draft.attachment.count), at: RecordLayout.offsetAttachmentLength)
            // Stream id, key, payload and attachment follow the header, each copied once. (A loop over an array
            // of the four allocated that array for every record.)
            var offset = RecordLayout.headerBytes
            func append(_ part: [UInt8]) {
                part.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[offset...]).copyMemory(from: $0) }
                offset += part.count
            }
            append(stream)
            append(idempotencyKey)
            append(stored)
            append(draft.attachment)
        }
        return PreparedRecord(bytes: bytes, streamId: stream)
    }

    /// Fills in the writer's fields of a prepared record copied into `out` and returns the record's hash.
    ///
    /// The hash covers every byte but the checksum, the previous hash included: that is the chain.
    static func seal(
        _ out: UnsafeMutableRawBufferPointer, sequence: UInt64, timestamp: Int64, streamVersion: UInt64,
        previousInStream: UInt64, previous: ChainHash
    ) -> ChainHash {
        out.storeLE(sequence, at: RecordLayout.offsetSequence)
        out.storeLE(timestamp, at: RecordLayout.offsetTimestamp)
        out.storeLE(streamVersion, at: RecordLayout.offsetStreamVersion)
        out.storeLE(previousInStream, at: RecordLayout.offsetPreviousInStream)
        let hashOffset = out.count - RecordLayout.hashBytes - RecordLayout.checksumBytes
        previous.write(to: out, at: hashOffset)
        let covered = UnsafeRawBufferPointer(rebasing: out[..<(out.count - RecordLayout.checksumBytes)])
        let hash = ChainHash.of(covered)
        out.storeLE(XXH64.hash(covered), at: out.count - RecordLayout.checksumBytes)
        return hash
    }
}
