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
        var reader = WireReader(bytes)
        while true {
            switch reader.next() {
            case .end:
                return message
            case .unsupported:
                return nil
            case .varint(let field, let value):
                switch field {
                case 2: message.chunkIndex = UInt32(truncatingIfNeeded: value)
                case 4: message.charOffset = value
                case 5: message.charLength = UInt32(truncatingIfNeeded: value)
                case 6: message.page = UInt32(truncatingIfNeeded: value)
                case 8: message.dimension = UInt32(truncatingIfNeeded: value)
                case 9: message.attempt = UInt32(truncatingIfNeeded: value)
                default: break
                }
            case .length(let field, let range):
                switch field {
                case 1 where !strings, 7 where !strings:
                    guard reader.isUTF8(range) else { return nil }
                case 1:
                    guard let id = reader.string(range) else { return nil }
                    message.documentID = id
                case 7:
                    guard let embedder = reader.string(range) else { return nil }
                    message.embedder = embedder
                default: break  // Field 3, the text, and any field this build does not know.
                }
            case .fixed:
                break  // No field of the message is fixed-size: one this build does not know.
            }
        }
    }
}
