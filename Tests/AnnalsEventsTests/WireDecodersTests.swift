import Foundation
import SwiftProtobuf
import Testing

@testable import AnnalsEvents

/// The hand-written decoders must return exactly what SwiftProtobuf returns, or decline.
@Suite("Wire decoders of the lifecycle events")
struct WireDecodersTests {
    /// A deterministic generator, so that a failure can be replayed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func text(_ generator: inout Generator) -> String {
        let pieces = [
            "", "a", "doc-0001", "tenant", "ü", "日本語", "🙂", "file name.pdf", String(repeating: "x", count: 200),
        ]
        return (0..<Int.random(in: 0...3, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }
            .joined()
    }

    static func number(_ generator: inout Generator) -> UInt64 {
        switch Int.random(in: 0..<4, using: &generator) {
        case 0: 0
        case 1: UInt64.random(in: 0..<128, using: &generator)
        case 2: UInt64.max - UInt64.random(in: 0..<3, using: &generator)
        default: generator.next()
        }
    }

    static func uploads(_ count: Int) -> [Annals_Events_V1_UploadReceived] {
        var generator = Generator(state: 1)
        return (0..<count).map { _ in
            var message = Annals_Events_V1_UploadReceived()
            message.documentID = text(&generator)
            message.tenantID = text(&generator)
            message.filename = text(&generator)
            message.declaredContentType = text(&generator)
            message.detectedContentType = text(&generator)
            message.contentEncoding = text(&generator)
            message.sizeBytes = number(&generator)
            message.sha256 = text(&generator)
            message.blobKey = text(&generator)
            message.idempotencyKey = text(&generator)
            message.apiKeyID = text(&generator)
            return message
        }
    }

    static func starts(_ count: Int) -> [Annals_Events_V1_JobStarted] {
        var generator = Generator(state: 2)
        return (0..<count).map { _ in
            var message = Annals_Events_V1_JobStarted()
            message.documentID = text(&generator)
            message.attempt = UInt32(truncatingIfNeeded: number(&generator))
            message.leaseExpiresAtMicros = Int64(bitPattern: number(&generator))
            message.workerID = text(&generator)
            message.processID = text(&generator)
            return message
        }
    }

    static func completions(_ count: Int) -> [Annals_Events_V1_DocumentCompleted] {
        var generator = Generator(state: 3)
        return (0..<count).map { _ in
            var message = Annals_Events_V1_DocumentCompleted()
            message.documentID = text(&generator)
            message.attempt = UInt32(truncatingIfNeeded: number(&generator))
            message.chunkCount = UInt32(truncatingIfNeeded: number(&generator))
            message.extractedChars = number(&generator)
            message.durationMicros = Int64(bitPattern: number(&generator))
            if Bool.random(using: &generator) { message.pageCount = UInt32(truncatingIfNeeded: number(&generator)) }
            return message
        }
    }

    /// What `decode` makes of `bytes`, and what SwiftProtobuf makes of them (nil when it throws).
    static func both<Message: SwiftProtobuf.Message & Equatable>(
        _ bytes: [UInt8], _ decode: (UnsafeRawBufferPointer) -> Message?
    ) -> (fast: Message?, full: Message?) {
        (bytes.withUnsafeBytes { decode($0) }, try? Message(serializedBytes: bytes))
    }

    /// The serialized fields of `message`, each on its own: concatenated in any order they decode as a message
    /// whose last occurrence of each field wins.
    static func fields<Message: SwiftProtobuf.Message>(of message: Message) throws -> [[UInt8]] {
        let whole: [UInt8] = try message.serializedBytes()
        var fields: [[UInt8]] = []
        try whole.withUnsafeBytes { raw in
            var reader = WireReader(raw)
            var start = 0
            loop: while true {
                switch reader.next() {
                case .end: break loop
                case .unsupported: throw CocoaError(.coderReadCorrupt)
                case .varint, .length, .fixed:
                    fields.append(Array(whole[start..<reader.offset]))
                    start = reader.offset
                }
            }
        }
        return fields
    }

    @Test("random messages decode as SwiftProtobuf decodes them")
    func randomMessages() throws {
        for message in Self.uploads(300) {
            let (fast, full) = Self.both(try message.serializedBytes(), WireDecoders.uploadReceived)
            #expect(fast == message && full == message)
        }
        for message in Self.starts(300) {
            let (fast, full) = Self.both(try message.serializedBytes(), WireDecoders.jobStarted)
            #expect(fast == message && full == message)
        }
        for message in Self.completions(300) {
            let (fast, full) = Self.both(try message.serializedBytes(), WireDecoders.documentCompleted)
            #expect(fast == message && full == message)
            #expect(fast?.hasPageCount == message.hasPageCount)
        }
    }

    @Test("fields in any order, repeated: the last one wins, as in SwiftProtobuf")
    func shuffledAndRepeated() throws {
        var generator = Generator(state: 4)
        let uploads = Self.uploads(50)
        for (index, message) in uploads.enumerated() {
            // Fields of this message and the next, interleaved and shuffled.
            var parts = try Self.fields(of: message) + Self.fields(of: uploads[(index + 1) % uploads.count])
            parts.shuffle(using: &generator)
            let (fast, full) = Self.both(Array(parts.joined()), WireDecoders.uploadReceived)
            #expect(fast != nil && fast == full)
        }
        for message in Self.completions(50) {
            var parts = try Self.fields(of: message)
            parts += parts.shuffled(using: &generator)
            parts.shuffle(using: &generator)
            let (fast, full) = Self.both(Array(parts.joined()), WireDecoders.documentCompleted)
            #expect(fast != nil && fast == full && fast?.hasPageCount == full?.hasPageCount)
        }
    }

    @Test("unknown fields, other wire types, invalid UTF-8 and truncation are declined")
    func declined() throws {
        var start = Annals_Events_V1_JobStarted()
        start.documentID = "doc-1"
        start.attempt = 2
        let bytes: [UInt8] = try start.serializedBytes()
        // An unknown field (number 99, varint): SwiftProtobuf keeps it, so the fast path must not drop it.
        let unknown = bytes + [0x98, 0x06, 0x01]
        #expect(Self.both(unknown, WireDecoders.jobStarted).fast == nil)
        #expect(Self.both(unknown, WireDecoders.jobStarted).full?.unknownFields.data.isEmpty == false)
        // Field 1 (a string) as a varint, field 2 (a varint) as bytes.
        #expect(Self.both(bytes + [0x08, 0x01], WireDecoders.jobStarted).fast == nil)
        #expect(Self.both(bytes + [0x12, 0x01, 0x41], WireDecoders.jobStarted).fast == nil)
        // A fixed64 and a fixed32 field; a field number of 0.
        #expect(Self.both(bytes + [0x19] + [UInt8](repeating: 0, count: 8), WireDecoders.jobStarted).fast == nil)
        #expect(Self.both(bytes + [0x1D, 0, 0, 0, 0], WireDecoders.jobStarted).fast == nil)
        #expect(Self.both(bytes + [0x00, 0x01], WireDecoders.jobStarted).fast == nil)
        // Invalid UTF-8 in the id: SwiftProtobuf rejects it too.
        let badText: [UInt8] = [0x0A, 0x02, 0xC3, 0x28]
        #expect(Self.both(badText, WireDecoders.jobStarted).fast == nil)
        #expect(Self.both(badText, WireDecoders.jobStarted).full == nil)
        #expect(Self.both(badText, WireDecoders.uploadReceived).fast == nil)
        #expect(Self.both(badText, WireDecoders.documentCompleted).fast == nil)
        // Every truncation of a valid payload is either a valid shorter message (cut between fields) or declined.
        for message in Self.uploads(20) {
            let whole: [UInt8] = try message.serializedBytes()
            for cut in 0..<whole.count {
                let (fast, full) = Self.both(Array(whole[..<cut]), WireDecoders.uploadReceived)
                if let fast { #expect(fast == full) }
            }
        }
        // Overlong tags: five bytes are read as SwiftProtobuf reads them, six or more (even of a small value) and a
        // fifth byte past 32 bits are refused by both.
        let fiveByteTag: [UInt8] = [0x8A, 0x80, 0x80, 0x80, 0x00, 0x01, 0x61]
        #expect(Self.both(fiveByteTag, WireDecoders.jobStarted).fast?.documentID == "a")
        #expect(Self.both(fiveByteTag, WireDecoders.jobStarted).full?.documentID == "a")
        for overlong: [UInt8] in [
            [0x8A, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x61], [0x8A, 0x80, 0x80, 0x80, 0x10, 0x01, 0x61],
            [0xB2, 0x80, 0x80, 0x80, 0x80, 0x00, 0x04, 0xF0, 0x9F, 0x98, 0x80],
        ] {
            #expect(Self.both(overlong, WireDecoders.jobStarted).fast == nil)
            #expect(Self.both(overlong, WireDecoders.jobStarted).full == nil)
            #expect(Self.both(overlong, WireDecoders.uploadReceived).fast == nil)
            #expect(Self.both(overlong, WireDecoders.uploadReceived).full == nil)
        }
        // A varint of more than ten bytes.
        let longVarint: [UInt8] = [0x10] + [UInt8](repeating: 0xFF, count: 10) + [0x01]
        #expect(Self.both(longVarint, WireDecoders.jobStarted).fast == nil)
        #expect(Self.both(longVarint, WireDecoders.jobStarted).full == nil)
    }

    /// The fields of `message` in the schemas: (number, is it a string).
    static func schemaFields(of message: String, in file: String) throws -> [(number: UInt8, isString: Bool)] {
        let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(
            contentsOf: root.appending(path: "schemas/annals/events/v1/\(file)"), encoding: .utf8)
        let body = try #require(text.components(separatedBy: "message \(message) {").dropFirst().first)
            .prefix { $0 != "}" }
        return body.split(separator: "\n").compactMap { line in
            // `[optional] type name = number;`, comments aside.
            let words = line.split(separator: "//")[0].split(whereSeparator: { " =;".contains($0) })
            guard words.count >= 3, let number = UInt8(words[words.count - 1]) else { return nil }
            return (number, words[words.count - 3] == "string")
        }
    }

    @Test("every field of the three schemas is one the decoders read: a new field needs teaching them")
    func everySchemaFieldIsRead() throws {
        let cases: [(String, String, (UnsafeRawBufferPointer) -> Bool)] = [
            ("UploadReceived", "upload.proto", { WireDecoders.uploadReceived($0) != nil }),
            ("JobStarted", "job.proto", { WireDecoders.jobStarted($0) != nil }),
            ("DocumentCompleted", "document.proto", { WireDecoders.documentCompleted($0) != nil }),
        ]
        for (message, file, decodes) in cases {
            let fields = try Self.schemaFields(of: message, in: file)
            #expect(fields.count >= 5, "found too few fields of \(message) in \(file)")
            for field in fields {
                // The field alone: a one-byte string, or the varint 1.
                let payload: [UInt8] =
                    field.isString ? [field.number << 3 | 2, 1, 0x61] : [field.number << 3, 1]
                #expect(
                    payload.withUnsafeBytes(decodes),
                    "WireDecoders does not read field \(field.number) of \(message): teach it the field")
            }
        }
    }

    @Test("Event decodes a record's memory and a byte array alike, with or without the fast path")
    func eventFromMemory() throws {
        var upload = Annals_Events_V1_UploadReceived()
        upload.documentID = "doc-2"
        upload.filename = "naïve.txt"
        upload.sizeBytes = 12
        let events: [Event] = [
            .uploadReceived(upload), .jobStarted(Self.starts(1)[0]), .documentCompleted(Self.completions(1)[0]),
        ]
        for event in events {
            let bytes = try event.serializedPayload()
            let fromMemory = try bytes.withUnsafeBytes {
                try Event(type: event.type.rawValue, schemaVersion: 1, payload: $0)
            }
            let fromArray = try Event(type: event.type.rawValue, schemaVersion: 1, payload: bytes)
            #expect(fromMemory == event && fromArray == event)
            // With an unknown field, the full decoder takes over and keeps it.
            let extended = bytes + [0x98, 0x06, 0x07]
            let kept = try extended.withUnsafeBytes {
                try Event(type: event.type.rawValue, schemaVersion: 1, payload: $0)
            }
            #expect(try kept.serializedPayload() == extended)
        }
        // A malformed payload fails the same way from memory as from an array.
        let bad: [UInt8] = [0x0A, 0x05, 0x41]
        #expect(throws: EventCodingError.self) {
            try bad.withUnsafeBytes { try Event(type: EventType.jobStarted.rawValue, schemaVersion: 1, payload: $0) }
        }
    }
}
