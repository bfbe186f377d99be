extension Chunker {
    /// Sizes of chunks, in Unicode scalars, checked when made.
    public struct Configuration: Sendable, Equatable {
        /// The default target: 1,000 scalars, about 150 to 250 English words.
        public static let targetCharactersDefault = 1000
        /// The default overlap: 150 scalars.
        public static let overlapCharactersDefault = 150
        /// The largest target accepted.
        public static let targetCharactersMax = 1_000_000

        /// The most scalars in a chunk; cuts fall at the best boundary at or before it.
        public let targetCharacters: Int
        /// How much of the end of a chunk the next one repeats (at most), starting at a word boundary.
        public let overlapCharacters: Int
        /// The fewest scalars a chunk is cut at a boundary with; below it, a later boundary (or a hard cut) is
        /// used. The last chunk of a section may be shorter.
        public let minimumCharacters: Int

        /// The defaults: target 1,000, overlap 150, minimum 250.
        public init() {
            targetCharacters = Self.targetCharactersDefault
            overlapCharacters = Self.overlapCharactersDefault
            minimumCharacters = Self.targetCharactersDefault / 4
        }

        /// A configuration with the given sizes; the minimum defaults to a quarter of the target.
        ///
        /// - Throws: `invalid_configuration` unless `1 ≤ target ≤ targetCharactersMax`, `0 ≤ overlap < target` and
        ///   `1 ≤ minimum ≤ target`.
        public init(
            targetCharacters: Int, overlapCharacters: Int = Self.overlapCharactersDefault,
            minimumCharacters: Int? = nil
        ) throws(ExtractionError) {
            let minimum = minimumCharacters ?? max(1, targetCharacters / 4)
            guard (1...Self.targetCharactersMax).contains(targetCharacters) else {
                throw ExtractionError(
                    .invalidConfiguration,
                    "The chunk target must be between 1 and \(Self.targetCharactersMax) characters, "
                        + "not \(targetCharacters)."
                )
            }
            guard overlapCharacters >= 0 && overlapCharacters < targetCharacters else {
                throw ExtractionError(
                    .invalidConfiguration,
                    "The chunk overlap (\(overlapCharacters)) must be at least 0 and below the target "
                        + "(\(targetCharacters))."
                )
            }
            guard minimum >= 1 && minimum <= targetCharacters else {
                throw ExtractionError(
                    .invalidConfiguration,
                    "The chunk minimum (\(minimum)) must be at least 1 and at most the target (\(targetCharacters))."
                )
            }
            self.targetCharacters = targetCharacters
            self.overlapCharacters = overlapCharacters
            self.minimumCharacters = minimum
        }
    }
}
