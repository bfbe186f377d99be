import AnnalsEvents
import Foundation
import SwiftProtobuf
import Testing

@Suite("Event catalogue: encoding, decoding, JSON")
struct EventCatalogTests {
    @Test("the fixtures cover every type once")
    func fixturesCoverEveryType() {
        #expect(Fixtures.events.map(\.type) == EventType.allCases)
    }

    @Test("binary round trip", arguments: Fixtures.events)
    func binaryRoundTrip(event: Event) throws {
        let bytes = try event.serializedPayload()
        let decoded = try Event(type: event.type.rawValue, schemaVersion: event.schemaVersion, payload: bytes)
        #expect(decoded == event)
        #expect(decoded.type == event.type)
        #expect(event.schemaVersion == event.type.currentSchemaVersion)

        let message = try EventCatalog.decode(
            type: event.type.rawValue,
            schemaVersion: event.schemaVersion,
            payload: bytes
        )
        #expect(Event(message) == event)
        #expect(message.isEqualTo(message: event.payload))
    }

    @Test("decoding accepts contiguous and non-contiguous byte collections", arguments: Fixtures.events)
    func byteCollections(event: Event) throws {
        let bytes = try event.serializedPayload()
        let code = event.type.rawValue
        let version = event.schemaVersion
        // A slice that does not start at index 0, as a record codec would hand out.
        let record = [0xAA, 0xBB] + bytes + [0xCC]
        #expect(try Event(type: code, schemaVersion: version, payload: record[2..<(2 + bytes.count)]) == event)
        #expect(try Event(type: code, schemaVersion: version, payload: Data(bytes)) == event)
        #expect(try bytes.withUnsafeBytes { try Event(type: code, schemaVersion: version, payload: $0) } == event)
        // A lazy map has no contiguous storage, which takes the copying path.
        #expect(try Event(type: code, schemaVersion: version, payload: bytes.lazy.map { $0 }) == event)
    }

    @Test("every event maps to one line of protobuf JSON", arguments: Fixtures.events)
    func json(event: Event) throws {
        let bytes = try event.serializedPayload()
        let json = try EventCatalog.jsonString(
            type: event.type.rawValue,
            schemaVersion: event.schemaVersion,
            payload: bytes
        )
        #expect(json == (try event.jsonString()))
        #expect(!json.contains("\n"), "one event must be one line")
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8))
        let dictionary = try #require(object as? [String: Any])
        #expect(!dictionary.isEmpty)

        // The JSON mapping is lossless: parsing it back gives the same message.
        let messageType = try EventCatalog.payloadType(for: event.type, schemaVersion: event.schemaVersion)
        let parsed = try messageType.init(jsonString: json)
        #expect(parsed.isEqualTo(message: event.payload))
    }

    @Test("JSON uses the protobuf mapping: lowerCamelCase, enum names, 64-bit integers as strings")
    func jsonMapping() throws {
        let json = try Event.uploadRejected(
            .with {
                $0.documentID = "d1"
                $0.reason = .tooLarge
                $0.sizeBytes = 5
            }
        ).jsonString()
        #expect(json == #"{"documentId":"d1","reason":"UPLOAD_REJECT_REASON_TOO_LARGE","sizeBytes":"5"}"#)

        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        let snake = try Event.jobStarted(.with { $0.documentID = "d1" }).jsonString(options: options)
        #expect(snake == #"{"document_id":"d1"}"#)
    }

    @Test("each payload names its stream", arguments: Fixtures.events)
    func streams(event: Event) {
        #expect(EventStreamID.kind(of: event.streamID) == event.type.streamKind)
        switch event.type.streamKind {
        case .document: #expect(event.streamID == "doc-\(Fixtures.documentID)")
        case .apiKey: #expect(event.streamID == "key-\(Fixtures.keyID)")
        case .service: #expect(event.streamID == "service")
        case .checkpoint: #expect(event.streamID == "checkpoint")
        }
    }

    @Test("an empty payload decodes to the default message")
    func emptyPayload() throws {
        let event = try Event(type: EventType.serviceStopped.rawValue, schemaVersion: 1, payload: [UInt8]())
        #expect(event == .serviceStopped(Annals_Events_V1_ServiceStopped()))
    }

    @Test("fields unknown to this build survive a round trip")
    func unknownFieldsArePreserved() throws {
        let event = Fixtures.events[0]
        // Field 100, varint 150: what a newer writer's added field looks like to this build.
        let newer = try event.serializedPayload() + [0xA0, 0x06, 0x96, 0x01]
        let decoded = try Event(type: event.type.rawValue, schemaVersion: 1, payload: newer)
        #expect(decoded.payload.unknownFields.data == Data([0xA0, 0x06, 0x96, 0x01]))
        #expect(try decoded.serializedPayload() == newer)
    }

    @Test("unknown type codes are refused", arguments: [0, 16, 999, UInt16.max] as [UInt16])
    func unknownType(code: UInt16) throws {
        let error = #expect(throws: EventCodingError.self) {
            try EventCatalog.decode(type: code, schemaVersion: 1, payload: [UInt8]())
        }
        #expect(error?.code == .unknownEventType)
        #expect(error?.eventType == code)
        let eventError = #expect(throws: EventCodingError.self) {
            try Event(type: code, schemaVersion: 1, payload: [UInt8]())
        }
        #expect(eventError?.code == .unknownEventType)
    }

    @Test("unsupported schema versions are refused", arguments: [0, 2, UInt16.max] as [UInt16])
    func unsupportedVersion(version: UInt16) throws {
        for type in EventType.allCases {
            let error = #expect(throws: EventCodingError.self) {
                try EventCatalog.decode(type: type.rawValue, schemaVersion: version, payload: [UInt8]())
            }
            #expect(error?.code == .unsupportedSchemaVersion)
            #expect(error?.eventType == type.rawValue)
            #expect(error?.schemaVersion == version)
        }
    }

    @Test(
        "malformed payloads are refused",
        arguments: [
            [0x0A, 0xFF],  // field 1, length 255, but nothing follows
            [0x00],  // field number 0 does not exist
            [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // an 11-byte varint
            [0x0F],  // wire type 7 does not exist
        ] as [[UInt8]]
    )
    func malformedPayload(bytes: [UInt8]) throws {
        for type in EventType.allCases {
            let error = #expect(throws: EventCodingError.self) {
                try EventCatalog.decode(type: type.rawValue, schemaVersion: 1, payload: bytes)
            }
            #expect(error?.code == .malformedPayload)
            #expect(error?.cause != nil)
            #expect(error?.location.file == "AnnalsEvents/EventCatalog.swift")
        }
        let jsonError = #expect(throws: EventCodingError.self) {
            try EventCatalog.jsonString(type: EventType.uploadReceived.rawValue, schemaVersion: 1, payload: bytes)
        }
        #expect(jsonError?.code == .malformedPayload)
    }

    @Test(
        "invalid UTF-8 in a string field is refused",
        // Field 1 is a string in every message but CheckpointWritten, where it is the position (a varint).
        arguments: EventType.allCases.filter { $0 != .checkpointWritten }
    )
    func invalidUTF8(type: EventType) throws {
        let bytes: [UInt8] = [0x0A, 0x02, 0xC3, 0x28]
        let error = #expect(throws: EventCodingError.self) {
            try EventCatalog.decode(type: type.rawValue, schemaVersion: 1, payload: bytes)
        }
        #expect(error?.code == .malformedPayload)
    }

    @Test("errors describe themselves on one line")
    func errorDescription() {
        let error = EventCodingError(code: .unknownEventType, message: "no type", eventType: 99, schemaVersion: 1)
        #expect(error.description == "unknownEventType: type 99 version 1: no type")
        #expect(error.code != .malformedPayload)
    }
}
