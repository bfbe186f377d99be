/// Turns texts into fixed-length vectors whose cosine similarity reflects how alike the texts are.
///
/// The worker embeds the chunks of a document in batches and records, in every `chunk.embedded` event, the
/// embedder's `identifier` and `dimension` next to the vector, so a vector can always be traced to what made it
/// and vectors of different embedders are never compared.
///
/// Implementation requirements:
/// - Deterministic: for a given `identifier`, the same text gives the same vector, bit for bit, in every process
///   and on every run. Change the identifier whenever the output would change (a new model, a new tokeniser, a
///   fix in the hashing); replay and idempotent retries rely on it.
/// - Every vector has exactly `dimension` elements, and `dimension` never changes for an instance.
/// - Vectors are L2-normalised (norm 1 within 1e-5), so that a dot product is a cosine. A text with nothing to
///   embed may give the zero vector; document it, since callers must then skip or handle it.
/// - `embed(_:)` returns one vector per input text, in the input's order.
/// - On failure, throw an ``EmbeddingError`` whose code says what went wrong (and whether a retry may help), so
///   the worker can record `job.failed` with stage `embed` and that code. Do not crash on bad input.
public protocol Embedder: Sendable {
    /// A stable name of the model and its version (for example `hashing-v1`), recorded in every chunk event.
    var identifier: String { get }
    /// The number of elements of every vector this embedder returns.
    var dimension: Int { get }
    /// Embeds a batch of texts: one vector of `dimension` elements per text, in the input's order.
    func embed(_ texts: [String]) async throws -> [[Float]]
}
