public import SwiftProtobuf

/// Reads event payloads back from what a log record holds: a type code, a schema version and protobuf bytes.
///
/// This is the one table from (type, schema version) to message type. The log module knows nothing of it: at the log
/// level an event is a stream id, a type code, a schema version, payload bytes and optional attachment bytes.
public enum EventCatalog {
    /// The event type with the code `code`.
    ///
    /// - Throws: `EventCodingError` with code `.unknownEventType` when no type has that code.
    public static func eventType(code: UInt16, schemaVersion: UInt16) throws(EventCodingError) -> EventType {
        guard let type = EventType(rawValue: code) else {
            throw EventCodingError(
                code: .unknownEventType,
                message: "no event type has code \(code); the record was written by a newer Annals",
                eventType: code,
                schemaVersion: schemaVersion
            )
        }
        return type
    }

    /// The message type holding payloads of `type` at `schemaVersion`.
    ///
    /// Every version ever written stays in this table, so that old records remain readable: a v2 adds a line, it
    /// does not replace the v1 line.
    ///
    /// - Throws: `EventCodingError` with code `.unsupportedSchemaVersion` when this build cannot read that version.
    public static func payloadType(
        for type: EventType,
        schemaVersion: UInt16
    ) throws(EventCodingError) -> any EventPayload.Type {
        switch (type, schemaVersion) {
        case (.uploadReceived, 1): Annals_Events_V1_UploadReceived.self
        case (.uploadRejected, 1): Annals_Events_V1_UploadRejected.self
        case (.jobStarted, 1): Annals_Events_V1_JobStarted.self
        case (.chunkEmbedded, 1): Annals_Events_V1_ChunkEmbedded.self
        case (.documentCompleted, 1): Annals_Events_V1_DocumentCompleted.self
        case (.jobFailed, 1): Annals_Events_V1_JobFailed.self
        case (.jobDeadLettered, 1): Annals_Events_V1_JobDeadLettered.self
        case (.jobAbandoned, 1): Annals_Events_V1_JobAbandoned.self
        case (.jobRequeued, 1): Annals_Events_V1_JobRequeued.self
        case (.documentDeleted, 1): Annals_Events_V1_DocumentDeleted.self
        case (.checkpointWritten, 1): Annals_Events_V1_CheckpointWritten.self
        case (.apiKeyCreated, 1): Annals_Events_V1_ApiKeyCreated.self
        case (.apiKeyRevoked, 1): Annals_Events_V1_ApiKeyRevoked.self
        case (.serviceStarted, 1): Annals_Events_V1_ServiceStarted.self
        case (.serviceStopped, 1): Annals_Events_V1_ServiceStopped.self
        default:
            throw EventCodingError(
                code: .unsupportedSchemaVersion,
                message: "\(type.name) has no schema version \(schemaVersion); this build reads "
                    + "\(type.supportedSchemaVersions.lowerBound)...\(type.supportedSchemaVersions.upperBound)",
                eventType: type.rawValue,
                schemaVersion: schemaVersion
            )
        }
    }

    /// Decodes the payload of a record of type `type` at `schemaVersion`.
    ///
    /// `payload` may be any collection of bytes; contiguous ones (`[UInt8]`, `ArraySlice<UInt8>`, `Data`, an
    /// `UnsafeRawBufferPointer` into an LMDB page) are decoded in place without a copy. The result is a copy, so a
    /// buffer borrowed from a read transaction may end right after the call. Fields unknown to this build are kept in
    /// the message and written back by `serializedBytes()`, so a newer writer's additions survive a round trip.
    ///
    /// - Throws: `EventCodingError` with code `.unknownEventType` when `type` is no known code,
    ///   `.unsupportedSchemaVersion` when the version cannot be read, `.malformedPayload` when the bytes are not a
    ///   valid message of that type.
    public static func decode(
        type: UInt16,
        schemaVersion: UInt16,
        payload: some Collection<UInt8>
    ) throws(EventCodingError) -> any EventPayload {
        let eventType = try eventType(code: type, schemaVersion: schemaVersion)
        let messageType = try payloadType(for: eventType, schemaVersion: schemaVersion)
        return try decode(messageType, payload: payload, schemaVersion: schemaVersion)
    }

    /// Decodes `payload` as the protobuf JSON mapping of the message: one compact line, field names in
    /// lowerCamelCase, enums as names, 64-bit integers as strings, default values left out.
    ///
    /// For display and export only (`annals audit`): JSON is far slower than binary, so keep it off the replay path.
    ///
    /// - Throws: what `decode(type:schemaVersion:payload:)` throws, or `.encodingFailed` if the message cannot be
    ///   written as JSON.
    public static func jsonString(
        type: UInt16,
        schemaVersion: UInt16,
        payload: some Collection<UInt8>,
        options: JSONEncodingOptions = JSONEncodingOptions()
    ) throws(EventCodingError) -> String {
        let message = try decode(type: type, schemaVersion: schemaVersion, payload: payload)
        return try jsonString(message, options: options)
    }

    /// The protobuf JSON mapping of `payload`, as one compact line (see `jsonString(type:schemaVersion:payload:)`).
    ///
    /// - Throws: `EventCodingError` with code `.encodingFailed` if the message cannot be written as JSON.
    public static func jsonString(
        _ payload: some EventPayload,
        options: JSONEncodingOptions = JSONEncodingOptions()
    ) throws(EventCodingError) -> String {
        do {
            return try payload.jsonString(options: options)
        } catch {
            throw EventCodingError(
                code: .encodingFailed,
                message: "cannot write \(type(of: payload).eventType.name) as JSON",
                eventType: type(of: payload).eventType.rawValue,
                schemaVersion: type(of: payload).schemaVersion,
                cause: error
            )
        }
    }

    /// Encodes `payload` in protobuf binary, as stored in a log record.
    ///
    /// - Throws: `EventCodingError` with code `.encodingFailed`; cannot happen with the v1 messages, which have no
    ///   required and no `Any` fields.
    public static func serializedBytes(_ payload: some EventPayload) throws(EventCodingError) -> [UInt8] {
        do {
            return try payload.serializedBytes()
        } catch {
            throw EventCodingError(
                code: .encodingFailed,
                message: "cannot encode \(type(of: payload).eventType.name)",
                eventType: type(of: payload).eventType.rawValue,
                schemaVersion: type(of: payload).schemaVersion,
                cause: error
            )
        }
    }

    static func decode<Payload: EventPayload>(
        _ messageType: Payload.Type,
        payload: some Collection<UInt8>,
        schemaVersion: UInt16
    ) throws(EventCodingError) -> Payload {
        do {
            // The contiguous path decodes straight from the caller's memory; the span lives only inside the closure,
            // which is all the decoder needs since it copies what it keeps.
            let decoded = try payload.withContiguousStorageIfAvailable { buffer in
                try Payload(serializedBytes: UnsafeRawBufferPointer(buffer).bytes)
            }
            if let decoded { return decoded }
            return try Payload(serializedBytes: Array(payload))
        } catch {
            throw EventCodingError(
                code: .malformedPayload,
                message: "\(payload.count) payload bytes are not a valid \(Payload.protoMessageName)",
                eventType: Payload.eventType.rawValue,
                schemaVersion: schemaVersion,
                cause: error
            )
        }
    }
}
