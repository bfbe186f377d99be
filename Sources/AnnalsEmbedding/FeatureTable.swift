/// Counts hashed features of one text and folds them into a vector; reused across the texts of a batch.
///
/// Term frequencies are counted per feature identifier: the low bits of a feature's 64-bit hash, in a space of its
/// family (2¹⁶ identifiers for character n-grams, 2¹⁴ each for words and word pairs). Counting in a flat array
/// needs no probing and no branch that depends on the data, which is what makes it fast; two features of one text
/// that share an identifier (a few per thousand) are counted together, a far smaller effect than the collisions
/// of the final `dimension` buckets that all feature hashing lives with. Counts saturate at 255.
///
/// Each identifier is remembered the first time it is counted, with the hash of that occurrence, whose high bits
/// choose the bucket and the sign. Folding visits identifiers in that order, which depends on the text alone, so
/// the floating-point sums are identical to the bit whatever was counted before.
struct FeatureTable: ~Copyable {
    /// Feature families; each gets a fixed share of the vector's energy.
    enum Family {
        static let word: UInt64 = 0
        static let wordPair: UInt64 = 1
        static let characters: UInt64 = 2
    }

    /// Shares of the vector's energy: words, word pairs, character n-grams.
    static let shareWord = 0.45
    static let shareWordPair = 0.15
    static let shareCharacters = 0.40
    static let characterIdentifiers = 1 << 16
    static let wordIdentifiers = 1 << 14
    /// Word pairs share the size of the word range (the identifier computation relies on it).
    static let wordPairIdentifiers = wordIdentifiers
    static let identifierCount = characterIdentifiers + wordIdentifiers + wordPairIdentifiers

    /// `1 + ln(count)` for every count a byte holds, so that folding computes no logarithm.
    private static let weights: [Double] = (0..<256).map { count in
        count == 0 ? 0 : 1 + FeatureHash.naturalLog(Double(count))
    }

    private let counts: UnsafeMutablePointer<UInt8>
    private let firstOccurrences: UnsafeMutablePointer<UInt64>

    init() {
        // Owned by this non-copyable value alone and freed in `deinit`: no other reference can outlive or race it.
        // Each identifier is first counted at most once per text, so `identifierCount` occurrences always fit (one
        // more slot takes the unconditional store that follows the last one).
        counts = .allocate(capacity: Self.identifierCount)
        counts.initialize(repeating: 0, count: Self.identifierCount)
        firstOccurrences = .allocate(capacity: Self.identifierCount + 1)
    }

    deinit {
        counts.deallocate()
        firstOccurrences.deallocate()
    }

    /// A counter over this table's memory, for the hot loop; hand it back to ``vector(of:dimension:)``.
    func counter() -> FeatureCounter {
        FeatureCounter(counts: counts, firstOccurrences: firstOccurrences, distinct: 0)
    }

    /// Folds the counted features into `dimension` signed buckets per family, scales each family's vector to its
    /// share of the energy, sums them and L2-normalises the result (zeros when nothing was counted); clears the
    /// counts for the next text.
    func vector(of counter: FeatureCounter, dimension: Int) -> [Float] {
        let distinct = counter.distinct
        guard distinct > 0 else { return [Float](repeating: 0, count: dimension) }
        var familyBuckets = [Double](repeating: 0, count: 3 * dimension)
        let size = UInt64(dimension)
        Self.weights.withUnsafeBufferPointer { weights in
            familyBuckets.withUnsafeMutableBufferPointer { familyBuckets in
                for index in 0..<distinct {
                    let occurrence = firstOccurrences[index]
                    let identifier = FeatureCounter.identifier(occurrence)
                    let weight = weights[Int(counts[identifier])]
                    counts[identifier] = 0
                    let family = Int(truncatingIfNeeded: occurrence & 3)
                    let fingerprint = occurrence &>> 32
                    // The low 31 bits of the hash's high half choose the bucket (multiply-shift); its top bit becomes
                    // the sign, moved onto the sign bit without a branch, since it is as unpredictable as a coin.
                    let bucket = Int(truncatingIfNeeded: ((fingerprint & 0x7FFF_FFFF) &* size) &>> 31)
                    let signed = Double(bitPattern: weight.bitPattern ^ ((fingerprint & 0x8000_0000) &<< 32))
                    familyBuckets[family &* dimension &+ bucket] += signed
                }
            }
        }
        // Each family's vector is scaled to norm √share, so that words, pairs and n-grams weigh the same in long
        // and short texts; their sum then has norm close to 1 and is normalised exactly. Sums run in four lanes
        // (fixed lanes, fixed final order, so still identical everywhere) to shorten the chains of additions.
        var norms = (SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>())
        var index = 0
        while index + 4 <= dimension {
            let word = Self.load(familyBuckets, index)
            let pair = Self.load(familyBuckets, dimension + index)
            let characters = Self.load(familyBuckets, 2 * dimension + index)
            norms.0 += word * word
            norms.1 += pair * pair
            norms.2 += characters * characters
            index += 4
        }
        var tail = (0.0, 0.0, 0.0)
        for rest in index..<dimension {
            tail.0 += familyBuckets[rest] * familyBuckets[rest]
            tail.1 += familyBuckets[dimension + rest] * familyBuckets[dimension + rest]
            tail.2 += familyBuckets[2 * dimension + rest] * familyBuckets[2 * dimension + rest]
        }
        func scale(_ share: Double, _ lanes: SIMD4<Double>, _ tail: Double) -> Double {
            let squaredNorm = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
            return squaredNorm > 0 ? (share / squaredNorm).squareRoot() : 0
        }
        let scaleWord = scale(Self.shareWord, norms.0, tail.0)
        let scalePair = scale(Self.shareWordPair, norms.1, tail.1)
        let scaleCharacters = scale(Self.shareCharacters, norms.2, tail.2)
        var buckets = [Double](repeating: 0, count: dimension)
        var sums = SIMD4<Double>()
        var sumTail = 0.0
        index = 0
        while index + 4 <= dimension {
            let value =
                scaleWord * Self.load(familyBuckets, index) + scalePair * Self.load(familyBuckets, dimension + index)
                + scaleCharacters * Self.load(familyBuckets, 2 * dimension + index)
            for lane in 0..<4 { buckets[index + lane] = value[lane] }
            sums += value * value
            index += 4
        }
        for rest in index..<dimension {
            let value =
                scaleWord * familyBuckets[rest] + scalePair * familyBuckets[dimension + rest]
                + scaleCharacters * familyBuckets[2 * dimension + rest]
            buckets[rest] = value
            sumTail += value * value
        }
        let sumOfSquares = (sums[0] + sums[1]) + (sums[2] + sums[3]) + sumTail
        guard sumOfSquares > 0 else { return [Float](repeating: 0, count: dimension) }
        let inverseNorm = 1 / sumOfSquares.squareRoot()
        return buckets.map { Float($0 * inverseNorm) }
    }
}

extension FeatureTable {
    @inline(__always)
    fileprivate static func load(_ values: [Double], _ start: Int) -> SIMD4<Double> {
        SIMD4(values[start], values[start + 1], values[start + 2], values[start + 3])
    }
}

/// The counting side of a ``FeatureTable``, as a small copyable value so that the hot loop keeps it in registers.
struct FeatureCounter {
    /// Per identifier, how often it was counted in this text.
    let counts: UnsafeMutablePointer<UInt8>
    /// The first occurrence of each identifier counted: its hash with the family in the two low bits.
    let firstOccurrences: UnsafeMutablePointer<UInt64>
    /// How many identifiers were counted.
    var distinct: Int

    /// The identifier of an occurrence: bits 2 to 17 of its hash, within its family's range. Branch-free, because
    /// folding meets the families in no predictable order.
    @inline(__always)
    static func identifier(_ occurrence: UInt64) -> Int {
        let bits = Int(truncatingIfNeeded: occurrence &>> 2)
        let family = occurrence & 3
        let isCharacters = family == FeatureTable.Family.characters
        let mask = isCharacters ? FeatureTable.characterIdentifiers - 1 : FeatureTable.wordIdentifiers - 1
        let base =
            isCharacters
            ? 0
            : FeatureTable.characterIdentifiers
                + (family == FeatureTable.Family.word ? 0 : FeatureTable.wordIdentifiers)
        return base &+ bits & mask
    }

    /// Counts one occurrence of the feature with this 64-bit hash.
    @inline(__always)
    mutating func add(_ hash: UInt64, family: UInt64) {
        let occurrence = hash & ~3 | family
        let identifier = Self.identifier(occurrence)
        let count = counts[identifier]
        // Written every time, kept only when the identifier is new: no branch on the data.
        firstOccurrences[distinct] = occurrence
        distinct &+= count == 0 ? 1 : 0
        counts[identifier] = count &+ (count == 255 ? 0 : 1)
    }
}
