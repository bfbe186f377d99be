/// The factor by which the projections' large dictionaries grow when full.
///
/// A dictionary rehashes every key when it grows, and String keys are costly to hash. Growing fourfold instead of
/// twofold rehashes each key a third of a time on average instead of once, which shows in replay speed; the price is
/// at most four times the hash table of ids (a few tens of bytes per document), small next to the documents.
let dictionaryGrowthFactor = 4

/// Reserves room for `dictionaryGrowthFactor` times the current count when `dictionary` is full.
@inline(__always)
func growIfFull<Key, Value>(_ dictionary: inout [Key: Value]) {
    if dictionary.count >= dictionary.capacity {
        dictionary.reserveCapacity(max(64, dictionary.count * dictionaryGrowthFactor))
    }
}

/// Inserts `key` with the value `make()` unless present; returns whether it inserted. One hash of the key where a
/// lookup followed by an insertion would take two.
@inline(__always)
func insertIfAbsent<Key>(_ dictionary: inout [Key: Int32], _ key: Key, _ make: () -> Int32) -> Bool {
    growIfFull(&dictionary)
    var inserted = false
    // The defaulted subscript's modify accessor finds or makes the entry in one probe.
    func claim(_ slot: inout Int32) {
        if slot == Int32.min {
            slot = make()
            inserted = true
        }
    }
    claim(&dictionary[key, default: Int32.min])
    return inserted
}
