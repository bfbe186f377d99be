import AnnalsEvents
import AnnalsLog
public import AnnalsProjections
import Crypto
import Foundation

/// API keys: creating them (as events), and checking a presented secret.
///
/// Secrets are never stored: only their SHA-256 goes into the `apikey.created` event, and the admin key's secret
/// is written once to `DATA/admin.key` (mode 0600) and printed once.
public enum KeyManager {
    /// Secrets look like `ank_` followed by 43 characters of base64url (32 random bytes).
    public static let secretPrefix = "ank_"

    /// A new random secret.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return secretPrefix + base64
    }

    /// The hex SHA-256 of a secret, as stored in events.
    public static func digest(of secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Creates a key for `tenant` with `scopes`; returns its id and secret (shown once).
    public static func create(
        core: AnnalsCore, tenant: String, name: String, scopes: [String], createdBy: String
    ) async throws -> (keyId: String, secret: String) {
        let secret = newSecret()
        let keyId = "k" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(15).lowercased()
        var event = Annals_Events_V1_ApiKeyCreated()
        event.keyID = keyId
        event.tenantID = tenant
        event.name = name
        event.secretSha256 = digest(of: secret)
        event.secretPrefix = String(secret.prefix(8))
        event.scopes = scopes
        event.createdBy = createdBy
        try await core.append(.apiKeyCreated(event), expected: .noStream)
        return (keyId, secret)
    }

    /// On a data directory without keys: creates the admin key, writes it to `DATA/admin.key` (0600) and returns
    /// the secret so the caller prints it once. Returns nil when keys exist already.
    public static func ensureAdminKey(core: AnnalsCore) async throws -> String? {
        let hasKeys = core.engine.read { !$0.keys.isEmpty }
        guard !hasKeys else { return nil }
        let (_, secret) = try await create(
            core: core, tenant: "default", name: "admin", scopes: ["admin"], createdBy: "first start")
        let path = core.configuration.dataDirectory + "/admin.key"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ServiceError(.internal, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let line = Array((secret + "\n").utf8)
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        fchmod(descriptor, 0o600)
        fsync(descriptor)
        return secret
    }

    /// The key a presented secret belongs to, if it is valid and not revoked.
    public static func authenticate(_ secret: String, core: AnnalsCore) -> ApiKey? {
        guard secret.hasPrefix(secretPrefix), secret.utf8.count < 200 else { return nil }
        let hash = digest(of: secret)
        return core.engine.read { $0.keys.key(secretSHA256: hash) }
    }
}
