import SwiftProtobuf

/// Hand-written decoders of the v1 lifecycle events every document has: `upload.received`, `job.started` and
/// `document.completed`.
///
/// A replay decodes three of these per document, and SwiftProtobuf's general decoder (a visitor per field, a string
/// per field through its own UTF-8 path) was a fifth of a replay's decoding thread in profiles. These read the wire
/// format directly. They decline (return nil) anything they do not fully understand — a field this build does not
/// know (SwiftProtobuf would keep it among the message's unknown fields), a wire type other than the field's,
/// invalid UTF-8, a truncated payload — and the caller then decodes the ordinary way. So the message they return is
/// always the one SwiftProtobuf would return, and the outcome for anything else is unchanged; the tests hold them
/// to that on random and malformed payloads.
enum WireDecoders {
    static func uploadReceived(_ bytes: UnsafeRawBufferPointer) -> Annals_Events_V1_UploadReceived? {
        decode(bytes) { message, number, field in
            switch (number, field) {
            case (1, .text(let text)): message.documentID = text
            case (2, .text(let text)): message.tenantID = text
            case (3, .text(let text)): message.filename = text
            case (4, .text(let text)): message.declaredContentType = text
            case (5, .text(let text)): message.detectedContentType = text
            case (6, .text(let text)): message.contentEncoding = text
            case (7, .varint(let value)): message.sizeBytes = value
            case (8, .text(let text)): message.sha256 = text
            case (9, .text(let text)): message.blobKey = text
            case (10, .text(let text)): message.idempotencyKey = text
            case (11, .text(let text)): message.apiKeyID = text
            default: return false
            }
            return true
        }
    }

    static func jobStarted(_ bytes: UnsafeRawBufferPointer) -> Annals_Events_V1_JobStarted? {
        decode(bytes) { message, number, field in
            switch (number, field) {
            case (1, .text(let text)): message.documentID = text
            case (2, .varint(let value)): message.attempt = UInt32(truncatingIfNeeded: value)
            case (3, .varint(let value)): message.leaseExpiresAtMicros = Int64(bitPattern: value)
            case (4, .text(let text)): message.workerID = text
            case (5, .text(let text)): message.processID = text
            default: return false
            }
            return true
        }
    }

    static func documentCompleted(_ bytes: UnsafeRawBufferPointer) -> Annals_Events_V1_DocumentCompleted? {
        decode(bytes) { message, number, field in
            switch (number, field) {
            case (1, .text(let text)): message.documentID = text
            case (2, .varint(let value)): message.attempt = UInt32(truncatingIfNeeded: value)
            case (3, .varint(let value)): message.chunkCount = UInt32(truncatingIfNeeded: value)
            case (4, .varint(let value)): message.extractedChars = value
            case (5, .varint(let value)): message.durationMicros = Int64(bitPattern: value)
            case (6, .varint(let value)): message.pageCount = UInt32(truncatingIfNeeded: value)
            default: return false
            }
            return true
        }
    }

    /// A field's value: a varint, or a length-delimited field read as a string (the only kind these messages have).
    enum Value {
        case varint(UInt64)
        case text(String)
    }

    /// Reads `bytes` field by field into a default message through `set`, which returns false for a field it does
    /// not know (a number, or a number with another wire type); nil then, and for anything `WireReader` does not
    /// support or a string that is not UTF-8.
    @inline(__always)
    private static func decode<Message: EventPayload>(
        _ bytes: UnsafeRawBufferPointer, _ set: (inout Message, UInt64, Value) -> Bool
    ) -> Message? {
        var message = Message()
        var reader = WireReader(bytes)
        while true {
            switch reader.next() {
            case .end:
                return message
            case .unsupported, .fixed:
                return nil
            case .varint(let number, let value):
                guard set(&message, number, .varint(value)) else { return nil }
            case .length(let number, let range):
                guard let text = reader.string(range), set(&message, number, .text(text)) else { return nil }
            }
        }
    }
}

/// Reads protobuf fields from contiguous bytes as SwiftProtobuf's binary decoder reads them: varints and
/// length-delimited fields with their values, fixed-size fields skipped. Groups, a field number of 0, a tag
/// SwiftProtobuf would refuse, or a field that runs past the end are `unsupported`. The hand-written decoders of
/// the most frequent events (`WireDecoders`, and the projections' decoder of `chunk.embedded`) all read through it.
package struct WireReader {
    package enum Step {
        /// A varint field: its number and value.
        case varint(UInt64, UInt64)
        /// A length-delimited field: its number and where its bytes are.
        case length(UInt64, Range<Int>)
        /// A fixed64 or fixed32 field, skipped: its number.
        case fixed(UInt64)
        case end
        case unsupported
    }

    let bytes: UnsafeRawBufferPointer
    package private(set) var offset = 0

    package init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    package mutating func next() -> Step {
        guard offset < bytes.count else { return .end }
        // A tag is a 32-bit varint of at most five bytes, as SwiftProtobuf reads it (it refuses longer ones, even
        // when their value is small).
        let tagStart = offset
        guard let tag = varint(), offset - tagStart <= 5, tag <= UInt64(UInt32.max), tag >> 3 != 0 else {
            return .unsupported
        }
        switch tag & 7 {
        case 0:
            guard let value = varint() else { return .unsupported }
            return .varint(tag >> 3, value)
        case 2:
            // SwiftProtobuf also refuses lengths from 2^31 - 1 up.
            guard let length = varint(), length < 0x7FFF_FFFF, length <= UInt64(bytes.count - offset) else {
                return .unsupported
            }
            let start = offset
            offset += Int(length)
            return .length(tag >> 3, start..<offset)
        case 1, 5:
            let size = tag & 7 == 1 ? 8 : 4
            guard size <= bytes.count - offset else { return .unsupported }
            offset += size
            return .fixed(tag >> 3)
        default:
            return .unsupported
        }
    }

    /// The bytes at `range` as a string, or nil when they are not valid UTF-8 (SwiftProtobuf rejects those too).
    package func string(_ range: Range<Int>) -> String? {
        let field = UnsafeRawBufferPointer(rebasing: bytes[range])
        // Ids, names and hashes are nearly always ASCII, which needs no validation beyond the check for high bits;
        // `String(validating:)` is generic and, unspecialised here, went through the runtime's metadata lookups.
        if Self.isASCII(field) { return String(decoding: field, as: UTF8.self) }
        return String(validating: field, as: UTF8.self)
    }

    /// Whether the bytes at `range` are valid UTF-8, without making a string of them when they are ASCII.
    package func isUTF8(_ range: Range<Int>) -> Bool {
        let field = UnsafeRawBufferPointer(rebasing: bytes[range])
        return Self.isASCII(field) || String(validating: field, as: UTF8.self) != nil
    }

    private static func isASCII(_ field: UnsafeRawBufferPointer) -> Bool {
        var high: UInt8 = 0
        for byte in field { high |= byte }
        return high < 0x80
    }

    /// A varint of at most ten bytes, as SwiftProtobuf reads it: bits past the 64th are dropped.
    private mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 70 {
            let byte = bytes[offset]
            offset += 1
            if shift < 64 { value |= UInt64(byte & 0x7F) << shift }
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
