import AnnalsEvents
import SwiftProtobuf
import Testing

@Suite("Event types")
struct EventTypeTests {
    /// The released codes and names. They are part of the log format: this table may only grow, and a failure here
    /// means a code or a name was changed, which would make existing logs unreadable or misread.
    static let released: [(code: UInt16, name: String)] = [
        (1, "upload.received"),
        (2, "upload.rejected"),
        (3, "job.started"),
        (4, "chunk.embedded"),
        (5, "document.completed"),
        (6, "job.failed"),
        (7, "job.dead_lettered"),
        (8, "job.abandoned"),
        (9, "job.requeued"),
        (10, "document.deleted"),
        (11, "checkpoint.written"),
        (12, "apikey.created"),
        (13, "apikey.revoked"),
        (14, "service.started"),
        (15, "service.stopped"),
    ]

    @Test("released codes keep their names")
    func releasedCodesAreStable() throws {
        for (code, name) in Self.released {
            let type = try #require(EventType(rawValue: code), "code \(code) disappeared")
            #expect(type.name == name, "code \(code) was \(name), now \(type.name)")
        }
        #expect(EventType.allCases.count == Self.released.count, "a new type needs a line in `released`")
    }

    @Test("codes and names are unique")
    func codesAndNamesAreUnique() {
        #expect(Set(EventType.allCases.map(\.rawValue)).count == EventType.allCases.count)
        #expect(Set(EventType.allCases.map(\.name)).count == EventType.allCases.count)
        #expect(!EventType.allCases.map(\.rawValue).contains(0), "code 0 is what an unset header field reads as")
    }

    @Test("codes and names round-trip", arguments: EventType.allCases)
    func roundTrip(type: EventType) {
        #expect(EventType(rawValue: type.rawValue) == type)
        #expect(EventType(name: type.name) == type)
        #expect(type.description == "\(type.name)(\(type.rawValue))")
    }

    @Test("unknown names and codes give nil")
    func unknown() {
        #expect(EventType(name: "upload.Received") == nil)
        #expect(EventType(name: "") == nil)
        #expect(EventType(rawValue: 0) == nil)
        #expect(EventType(rawValue: 16) == nil)
    }

    @Test("every type is at schema version 1", arguments: EventType.allCases)
    func schemaVersions(type: EventType) throws {
        #expect(type.currentSchemaVersion == 1)
        #expect(type.supportedSchemaVersions == 1...1)
        let payloadType = try EventCatalog.payloadType(for: type, schemaVersion: type.currentSchemaVersion)
        #expect(payloadType.eventType == type)
        #expect(payloadType.schemaVersion == type.currentSchemaVersion)
        // A message's schema version is the N of its package `annals.events.vN` (docs/EVENTS.md, rule 4).
        #expect(payloadType.protoMessageName.hasPrefix("annals.events.v\(type.currentSchemaVersion)."))
    }

    @Test("stream kinds")
    func streamKinds() {
        #expect(EventType.uploadReceived.streamKind == .document)
        #expect(EventType.documentDeleted.streamKind == .document)
        #expect(EventType.checkpointWritten.streamKind == .checkpoint)
        #expect(EventType.apiKeyRevoked.streamKind == .apiKey)
        #expect(EventType.serviceStopped.streamKind == .service)
    }

    @Test("stream ids are spelled and parsed consistently")
    func streamIDs() {
        #expect(EventStreamID.document("d1") == "doc-d1")
        #expect(EventStreamID.apiKey("k1") == "key-k1")
        #expect(EventStreamID.kind(of: "doc-d1") == .document)
        #expect(EventStreamID.kind(of: "key-k1") == .apiKey)
        #expect(EventStreamID.kind(of: "service") == .service)
        #expect(EventStreamID.kind(of: "checkpoint") == .checkpoint)
        #expect(EventStreamID.kind(of: "doc-") == nil)
        #expect(EventStreamID.kind(of: "tenant-acme") == nil)
        #expect(EventStreamID.documentID(in: "doc-d1") == "d1")
        #expect(EventStreamID.documentID(in: "key-k1") == nil)
        #expect(EventStreamID.apiKeyID(in: "key-k1") == "k1")
    }
}
