import AnnalsEvents

/// An API key as the service knows it. The secret itself is never stored: only its SHA-256.
public struct ApiKey: Sendable, Hashable {
    /// The key's public id.
    public var id: String
    /// The tenant the key belongs to; it sees only this tenant's documents.
    public var tenantId: String
    /// The name given at creation.
    public var name: String
    /// The permissions granted, as given at creation.
    public var scopes: [String]
    /// SHA-256 of the secret, lowercase hex.
    public var secretSHA256: String
    /// The first characters of the secret, for listings.
    public var secretPrefix: String
    /// Who created the key.
    public var createdBy: String
    /// When the key was created, in microseconds since 1970-01-01 UTC.
    public var createdAt: Int64
    /// When the key stops working, if it expires.
    public var expiresAt: Int64?
    /// Whether the key was revoked (final).
    public var revoked: Bool
    /// When it was revoked.
    public var revokedAt: Int64?

    /// Creates a key description.
    public init(
        id: String, tenantId: String, name: String, scopes: [String], secretSHA256: String, secretPrefix: String,
        createdBy: String, createdAt: Int64, expiresAt: Int64?, revoked: Bool, revokedAt: Int64?
    ) {
        self.id = id
        self.tenantId = tenantId
        self.name = name
        self.scopes = scopes
        self.secretSHA256 = secretSHA256
        self.secretPrefix = secretPrefix
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revoked = revoked
        self.revokedAt = revokedAt
    }

    /// Whether the key authorises requests at `now` (microseconds): not revoked and not expired.
    public func isUsable(now: Int64) -> Bool {
        !revoked && (expiresAt.map { now < $0 } ?? true)
    }
}

/// The API keys, by id and by the SHA-256 of their secret.
///
/// A second `apikey.created` for an id already known is ignored, as is one whose secret hash another key already
/// has (the first key keeps it); revocation is final.
public struct KeysProjection: Projection {
    /// `keys`.
    public static let name = "keys"
    /// Version 1.
    public static let version: UInt32 = 1

    private var byId: [String: ApiKey] = [:]
    /// The id of the key holding each secret hash, revoked keys excluded. Not derivable from the keys alone (which of
    /// two keys with one hash came first is history), so snapshots store it.
    private var bySecret: [String: String] = [:]
    /// The number of key events that did not apply (duplicates, unknown keys).
    public private(set) var ignoredEvents: UInt64 = 0

    /// No keys.
    public init() {}

    /// The number of keys, revoked ones included.
    public var count: Int { byId.count }

    /// Whether no key was ever created (a new data directory needs an admin key).
    public var isEmpty: Bool { byId.isEmpty }

    /// The key `id`, revoked or not.
    public func key(id: String) -> ApiKey? { byId[id] }

    /// The non-revoked key whose secret has this SHA-256 (lowercase hex), for authentication.
    ///
    /// Expiry needs the time, which a projection does not read: use `key(secretSHA256:now:)` to check it too.
    public func key(secretSHA256: String) -> ApiKey? {
        bySecret[secretSHA256].flatMap { byId[$0] }
    }

    /// The key whose secret has this SHA-256, if it is usable at `now` (not revoked, not expired).
    public func key(secretSHA256: String, now: Int64) -> ApiKey? {
        key(secretSHA256: secretSHA256).flatMap { $0.isUsable(now: now) ? $0 : nil }
    }

    /// The keys of `tenant` (all tenants when nil), revoked ones included, by id.
    public func keys(tenant: String? = nil) -> [ApiKey] {
        byId.values.filter { tenant == nil || $0.tenantId == tenant }.sorted { $0.id < $1.id }
    }

    /// Applies the next event.
    public mutating func apply(_ event: ProjectedEvent) {
        switch event.event {
        case .apiKeyCreated(let created):
            guard !created.keyID.isEmpty, byId[created.keyID] == nil else {
                ignoredEvents += 1
                return
            }
            let key = ApiKey(
                id: created.keyID, tenantId: created.tenantID, name: created.name, scopes: created.scopes,
                secretSHA256: created.secretSha256, secretPrefix: created.secretPrefix, createdBy: created.createdBy,
                createdAt: event.timestamp, expiresAt: created.hasExpiresAtMicros ? created.expiresAtMicros : nil,
                revoked: false, revokedAt: nil)
            insert(key)
        case .apiKeyRevoked(let revoked):
            guard let index = byId.index(forKey: revoked.keyID), !byId.values[index].revoked else {
                ignoredEvents += 1
                return
            }
            byId.values[index].revoked = true
            byId.values[index].revokedAt = event.timestamp
            let secret = byId.values[index].secretSHA256
            if bySecret[secret] == revoked.keyID { bySecret[secret] = nil }
        default:
            break
        }
    }

    private mutating func insert(_ key: ApiKey) {
        byId[key.id] = key
        if !key.revoked, !key.secretSHA256.isEmpty, bySecret[key.secretSHA256] == nil {
            bySecret[key.secretSHA256] = key.id
        }
    }
}

// MARK: Snapshot

extension KeysProjection {
    /// The state as canonical bytes: the version, the ignored-event count, every key sorted by id, the secret-hash
    /// table sorted by hash.
    public func snapshot() -> [UInt8] {
        var writer = SnapshotWriter(capacity: 64 + byId.count * 200)
        writer.u32(Self.version)
        writer.u64(ignoredEvents)
        writer.count(byId.count)
        for id in byId.keys.sorted() {
            let key = byId[id]!
            writer.string(key.id)
            writer.string(key.tenantId)
            writer.string(key.name)
            writer.count(key.scopes.count)
            for scope in key.scopes { writer.string(scope) }
            writer.string(key.secretSHA256)
            writer.string(key.secretPrefix)
            writer.string(key.createdBy)
            writer.i64(key.createdAt)
            writer.optionalI64(key.expiresAt)
            writer.bool(key.revoked)
            writer.optionalI64(key.revokedAt)
        }
        writer.count(bySecret.count)
        for (secret, id) in bySecret.sorted(by: { $0.key < $1.key }) {
            writer.string(secret)
            writer.string(id)
        }
        return writer.bytes
    }

    /// Restores keys from `snapshot()` bytes.
    ///
    /// - Throws: `ProjectionError` with code `.versionMismatch` or `.malformedSnapshot`.
    public init(snapshot: [UInt8]) throws(ProjectionError) {
        var reader = SnapshotReader(snapshot, projection: Self.name)
        try reader.expectVersion(Self.version)
        ignoredEvents = try reader.u64()
        let count = try reader.count(elementBytes: 50)
        var keys: [ApiKey] = []
        for _ in 0..<count {
            let id = try reader.string()
            let tenant = try reader.string()
            let name = try reader.string()
            var scopes: [String] = []
            for _ in 0..<(try reader.count(elementBytes: 4)) { scopes.append(try reader.string()) }
            keys.append(
                ApiKey(
                    id: id, tenantId: tenant, name: name, scopes: scopes, secretSHA256: try reader.string(),
                    secretPrefix: try reader.string(), createdBy: try reader.string(), createdAt: try reader.i64(),
                    expiresAt: try reader.optionalI64(), revoked: try reader.bool(), revokedAt: try reader.optionalI64()
                )
            )
        }
        for key in keys {
            guard byId[key.id] == nil else { throw reader.malformed("key \(key.id) appears twice") }
            byId[key.id] = key
        }
        let secrets = try reader.count(elementBytes: 8)
        for _ in 0..<secrets {
            let secret = try reader.string()
            let id = try reader.string()
            guard let key = byId[id], key.secretSHA256 == secret, !key.revoked else {
                throw reader.malformed("the secret hash table names key \(id), which does not hold that hash")
            }
            bySecret[secret] = id
        }
        try reader.finish()
    }
}
