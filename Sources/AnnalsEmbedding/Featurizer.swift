/// The hashing embedder's engine: tokenises UTF-8 and counts the hashed features of each word.
///
/// It works on the UTF-8 bytes of the text and never builds a `String` per token: a word's scalars go through a
/// running FNV-1a hash (the word feature) and a five-scalar window (the n-gram features) as they are read.
struct Featurizer: ~Copyable {
    /// Entries of the direct-mapped cache of non-ASCII scalar classes.
    private static let scalarCacheCount = 1024

    private var table = FeatureTable()
    private let scalarCacheKeys: UnsafeMutablePointer<UInt32>
    private let scalarCacheValues: UnsafeMutablePointer<UInt32>

    init() {
        // Owned by this non-copyable value alone and freed in `deinit`: no other reference can outlive or race it.
        scalarCacheKeys = .allocate(capacity: Self.scalarCacheCount)
        scalarCacheKeys.initialize(repeating: 0, count: Self.scalarCacheCount)
        scalarCacheValues = .allocate(capacity: Self.scalarCacheCount)
        scalarCacheValues.initialize(repeating: 0, count: Self.scalarCacheCount)
    }

    deinit {
        scalarCacheKeys.deallocate()
        scalarCacheValues.deallocate()
    }

    /// The L2-normalised vector of `text`, or zeros when it has no words.
    mutating func embed(_ text: String, dimension: Int) -> [Float] {
        var text = text
        let counter = text.withUTF8 { count($0) }
        return table.vector(of: counter, dimension: dimension)
    }

    /// Counts the features of UTF-8 `bytes`. All the state of the loop is in local values (the counter, the word),
    /// so that it stays in registers.
    private mutating func count(_ bytes: UnsafeBufferPointer<UInt8>) -> FeatureCounter {
        var counter = table.counter()
        guard let base = bytes.baseAddress else { return counter }
        let end = bytes.count
        var index = 0
        var word = WordState()
        while index < end {
            let byte = base[index]
            // The scalar lowercased, 0 when it separates words, `UInt32.max` when it lowercases to several.
            let lowered: UInt32
            if byte < 0x80 {
                index &+= 1
                // Letters lowercased, digits kept, everything else separates words.
                let folded = byte | 0x20
                lowered = folded &- 0x61 < 26 ? UInt32(folded) : (byte &- 0x30 < 10 ? UInt32(byte) : 0)
            } else {
                // The bytes come from a `String`, which is always valid UTF-8, so a lead byte is followed by all
                // of its continuation bytes.
                let scalar: UInt32
                if byte < 0xE0 {
                    scalar = UInt32(byte & 0x1F) << 6 | UInt32(base[index + 1] & 0x3F)
                    index &+= 2
                } else if byte < 0xF0 {
                    scalar =
                        UInt32(byte & 0x0F) << 12 | UInt32(base[index + 1] & 0x3F) << 6
                        | UInt32(base[index + 2] & 0x3F)
                    index &+= 3
                } else {
                    scalar =
                        UInt32(byte & 0x07) << 18 | UInt32(base[index + 1] & 0x3F) << 12
                        | UInt32(base[index + 2] & 0x3F) << 6 | UInt32(base[index + 3] & 0x3F)
                    index &+= 4
                }
                lowered = scalarClass(scalar)
                if lowered == UInt32.max {
                    // Lowercases to several scalars (only "İ" does): rare enough to ask Unicode each time.
                    for part in Unicode.Scalar(scalar)!.properties.lowercaseMapping.unicodeScalars {
                        counter.add(word.add(UInt64(part.value)))
                    }
                    continue
                }
            }
            // The two hot paths count their features here, spelled out, rather than through `add(_: Features)`:
            // the compiler does not always inline that, and a call would push the counter out of registers.
            if lowered != 0 {
                let features = word.add(UInt64(lowered))
                if features.trigram != 0 { counter.add(features.trigram, family: FeatureTable.Family.characters) }
                if features.fourgram != 0 { counter.add(features.fourgram, family: FeatureTable.Family.characters) }
                if features.fivegram != 0 { counter.add(features.fivegram, family: FeatureTable.Family.characters) }
            } else if word.inWord {
                let features = word.end()
                if features.trigram != 0 { counter.add(features.trigram, family: FeatureTable.Family.characters) }
                if features.fourgram != 0 { counter.add(features.fourgram, family: FeatureTable.Family.characters) }
                if features.fivegram != 0 { counter.add(features.fivegram, family: FeatureTable.Family.characters) }
                counter.add(features.word, family: FeatureTable.Family.word)
                if features.wordPair != 0 { counter.add(features.wordPair, family: FeatureTable.Family.wordPair) }
            }
        }
        if word.inWord { counter.add(word.end()) }
        return counter
    }

    /// For a non-ASCII scalar: 0 when it separates words, `UInt32.max` when its lowercase form is several scalars,
    /// otherwise its lowercase scalar. Cached, because the Unicode property look-ups are slow.
    private func scalarClass(_ value: UInt32) -> UInt32 {
        let index = Int(value & UInt32(Self.scalarCacheCount - 1))
        if scalarCacheKeys[index] == value { return scalarCacheValues[index] }
        let result = Self.classify(value)
        scalarCacheKeys[index] = value
        scalarCacheValues[index] = result
        return result
    }

    private static func classify(_ value: UInt32) -> UInt32 {
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark,
            .decimalNumber, .letterNumber, .otherNumber:
            break
        default:
            return 0
        }
        guard properties.changesWhenLowercased else { return value }
        let lowered = properties.lowercaseMapping.unicodeScalars
        if lowered.count == 1, let only = lowered.first { return only.value }
        return UInt32.max
    }
}

/// The word being read and the one before it, in five registers: the running hash, the last three scalars packed
/// (newest lowest, 21 bits each), the two before them, the number pushed (counting the start marker; 0 between
/// words), and the previous word's hash (0 before the first word).
private struct WordState {
    private static let startMarker: UInt64 = 0x11_0000
    private static let endMarker: UInt64 = 0x11_0001
    private static let scalarMask: UInt64 = 0x1F_FFFF
    private static let seedWord: UInt64 = 0x7764_5F75_6E69_6772
    private static let seedWordPair: UInt64 = 0x7764_5F62_6967_7261
    private static let seedTrigram: UInt64 = 0x6E67_7261_6D5F_3033
    private static let multiplierFour: UInt64 = 0x9E37_79B9_7F4A_7C15
    private static let multiplierFive: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    private var hash: UInt64 = 0
    private var recent: UInt64 = 0
    private var older: UInt64 = 0
    private var length = 0
    private var previousWord: UInt64 = 0

    /// Whether a word is being read.
    var inWord: Bool { length != 0 }

    /// Adds a (lowercased) scalar to the current word, starting one if needed; returns the n-grams it completes.
    ///
    /// The word's methods return hashes instead of counting them, so that the counter stays a local value of the
    /// loop (in registers) even where the compiler declines to inline them.
    @inline(__always)
    mutating func add(_ scalar: UInt64) -> Features {
        if length == 0 {
            hash = FeatureHash.fnvOffset
            recent = Self.startMarker
            length = 1
        }
        hash = (hash ^ scalar) &* FeatureHash.fnvPrime
        return push(scalar)
    }

    /// Ends the current word: its closing n-grams, the word itself, and the pair it makes with the previous one.
    @inline(__always)
    mutating func end() -> Features {
        var features = push(Self.endMarker)
        length = 0
        // A word hash of 0 would read as "no previous word"; it is as likely as any other value, 2⁻⁶⁴.
        let word = FeatureHash.mix(hash ^ Self.seedWord)
        features.word = word
        if previousWord != 0 {
            features.wordPair = FeatureHash.mix(previousWord &* FeatureHash.fnvPrime ^ word ^ Self.seedWordPair)
        }
        previousWord = word
        return features
    }

    /// Shifts `scalar` into the window and returns the 3-, 4- and 5-grams that end with it.
    @inline(__always)
    private mutating func push(_ scalar: UInt64) -> Features {
        // Scalars (and the markers) fit in 21 bits, so three of them pack into 63 bits without loss; the scalar
        // leaving them moves on to `older`.
        older = (older &<< 21 | recent &>> 42) & 0x3FF_FFFF_FFFF
        recent = (recent &<< 21 | scalar) & 0x7FFF_FFFF_FFFF_FFFF
        length &+= 1
        var features = Features()
        guard length >= 3 else { return features }
        features.trigram = FeatureHash.mix(recent ^ Self.seedTrigram)
        guard length >= 4 else { return features }
        features.fourgram = FeatureHash.mix(features.trigram ^ ((older & Self.scalarMask) &* Self.multiplierFour))
        guard length >= 5 else { return features }
        features.fivegram = FeatureHash.mix(features.fourgram ^ ((older &>> 21) &* Self.multiplierFive))
        return features
    }
}

/// The hashes of the features one step of a word completes; 0 where there is none (a hash of 0 is as likely as any
/// other value, 2⁻⁶⁴, and would merely go uncounted).
struct Features {
    var trigram: UInt64 = 0
    var fourgram: UInt64 = 0
    var fivegram: UInt64 = 0
    var word: UInt64 = 0
    var wordPair: UInt64 = 0
}

extension FeatureCounter {
    /// Counts the features of one step.
    mutating func add(_ features: Features) {
        if features.trigram != 0 { add(features.trigram, family: FeatureTable.Family.characters) }
        if features.fourgram != 0 { add(features.fourgram, family: FeatureTable.Family.characters) }
        if features.fivegram != 0 { add(features.fivegram, family: FeatureTable.Family.characters) }
        if features.word != 0 { add(features.word, family: FeatureTable.Family.word) }
        if features.wordPair != 0 { add(features.wordPair, family: FeatureTable.Family.wordPair) }
    }
}
