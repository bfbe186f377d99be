import AnnalsEvents

/// Decodes the fields of a v1 `chunk.embedded` payload that projections use, without its text.
///
/// Chunk events are most of a real log, and most of their bytes are the chunk's text, which no projection reads
/// (search reads it back from the log by position). Decoding it through SwiftProtobuf validates and copies every
/// text into a String, which profiles showed as the largest cost of a replay. This reads the protobuf wire format
/// directly and skips field 3. It returns nil for anything it does not fully understand (a malformed payload,
/// invalid UTF-8 in an id), and the caller then decodes the ordinary way, so the outcome for odd payloads is the
/// same as before.
///
/// Without `strings`, the document id and the embedder are checked (valid UTF-8, as SwiftProtobuf requires) but not
/// copied into the message: a replay that maintains no vectors has no projection that reads them, and allocating a
/// string per chunk was a fifth of decoding one.
enum ChunkEmbeddedDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, strings: Bool = true) -> Annals_Events_V1_ChunkEmbedded? {
        var message = Annals_Events_V1_ChunkEmbedded()
        var offset = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while offset < bytes.count, shift < 64 {
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        func string(_ length: Int, _ start: Int) -> String? {
            String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<start + length]), as: UTF8.self)
        }
        func isUTF8(_ length: Int, _ start: Int) -> Bool {
            let field = UnsafeRawBufferPointer(rebasing: bytes[start..<start + length])
            // Ids are ASCII: check that without allocating; anything else is validated as a string would be.
            return !field.contains(where: { $0 >= 0x80 }) || String(validating: field, as: UTF8.self) != nil
        }
        while offset < bytes.count {
            guard let tag = varint() else { return nil }
            let field = tag >> 3
            switch tag & 7 {
            case 0:
                guard let value = varint() else { return nil }
                switch field {
                case 2: message.chunkIndex = UInt32(truncatingIfNeeded: value)
                case 4: message.charOffset = value
                case 5: message.charLength = UInt32(truncatingIfNeeded: value)
                case 6: message.page = UInt32(truncatingIfNeeded: value)
                case 8: message.dimension = UInt32(truncatingIfNeeded: value)
                case 9: message.attempt = UInt32(truncatingIfNeeded: value)
                default: break
                }
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - offset) else { return nil }
                let start = offset
                offset += Int(length)
                switch field {
                case 1 where !strings, 7 where !strings:
                    guard isUTF8(Int(length), start) else { return nil }
                case 1:
                    guard let id = string(Int(length), start) else { return nil }
                    message.documentID = id
                case 7:
                    guard let embedder = string(Int(length), start) else { return nil }
                    message.embedder = embedder
                default: break  // Field 3, the text, and any field this build does not know.
                }
            case 1:
                guard offset + 8 <= bytes.count else { return nil }
                offset += 8
            case 5:
                guard offset + 4 <= bytes.count else { return nil }
                offset += 4
            default:
                return nil
            }
        }
        return message
    }
}
