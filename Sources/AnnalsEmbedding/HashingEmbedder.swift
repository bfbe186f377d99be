/// The built-in embedder: feature hashing of words, word pairs and character n-grams. Needs nothing, runs anywhere.
///
/// A text is lowercased and cut into words (runs of letters, combining marks and digits in any script; every other
/// character separates words). Three families of features are counted:
/// - each word (unigrams),
/// - each pair of consecutive words (bigrams),
/// - each character 3-, 4- and 5-gram of each word wrapped in boundary markers (`<word>`), which makes
///   `embedding` and `embeddings` close.
///
/// Each feature is hashed with fixed functions (FNV-1a and MurmurHash3's finaliser, never Swift's per-process
/// seeded `Hasher`). Its count in the text gives it the weight `1 + ln(count)`, and its hash picks one of
/// `dimension` buckets and a sign, so that colliding features tend to cancel instead of piling up. Each family's
/// vector is scaled to a fixed share of the energy (words 45 %, word pairs 15 %, n-grams 40 %), so that long and
/// short texts weigh the families alike, and the sum is L2-normalised. (Counts are kept per hashed identifier, 2¹⁶
/// for n-grams and 2¹⁴ for words and pairs, and saturate at 255; see `FeatureTable`.)
///
/// An empty text, or one with no letters or digits, gives the zero vector; callers must skip it or treat it as
/// matching nothing. Vectors depend only on the text and `dimension`, bit for bit: the identifier `hashing-v1`
/// names this exact algorithm, and any change to its output must change the identifier. (Case mapping and letter
/// classes of non-ASCII text come from the Unicode tables of the Swift runtime, which change only when Unicode
/// assigns new characters.)
///
/// It embeds about 70 MB of English text per second and core in release builds; batches reuse one workspace.
public struct HashingEmbedder: Embedder {
    /// The identifier of this algorithm, recorded in every chunk event it embeds.
    public static let identifierV1 = "hashing-v1"
    /// The dimension used when none is configured.
    public static let dimensionDefault = 384
    /// The largest dimension accepted; beyond it vectors cost more than they gain.
    public static let dimensionMax = 65_536

    /// The identifier recorded in every chunk event (`hashing-v1`).
    public var identifier: String { Self.identifierV1 }
    /// The number of elements of every vector.
    public let dimension: Int

    /// Creates an embedder with the default dimension, 384.
    public init() {
        self.dimension = Self.dimensionDefault
    }

    /// Creates an embedder with `dimension` buckets.
    ///
    /// - Throws: `invalid_configuration` when `dimension` is not in `1...dimensionMax`.
    public init(dimension: Int) throws(EmbeddingError) {
        guard (1...Self.dimensionMax).contains(dimension) else {
            throw EmbeddingError(
                .invalidConfiguration,
                "The hashing embedder's dimension must be between 1 and \(Self.dimensionMax), not \(dimension)."
            )
        }
        self.dimension = dimension
    }

    /// Embeds a batch of texts, one vector per text in order; never fails.
    public func embed(_ texts: [String]) async -> [[Float]] {
        var featurizer = Featurizer()
        return texts.map { featurizer.embed($0, dimension: dimension) }
    }

    /// Embeds one text synchronously; the zero vector when the text has no letters or digits.
    public func embed(_ text: String) -> [Float] {
        var featurizer = Featurizer()
        return featurizer.embed(text, dimension: dimension)
    }
}
