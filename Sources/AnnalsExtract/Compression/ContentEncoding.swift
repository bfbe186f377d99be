/// How a document's bytes are wrapped around its format, like HTTP's `Content-Encoding`: `identity` for none,
/// `gzip` for a gzip-compressed file of any format (`notes.md.gz`, `export.jsonl.gz`).
public enum ContentEncoding: String, Sendable, CaseIterable {
    /// The bytes are the format's own.
    case identity
    /// The bytes are gzip (RFC 1952, members may be concatenated) around the format's.
    case gzip
}
