import AnnalsHTTP
import AnnalsService
import AnnalsTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

/// A running application on a fresh data directory, with its admin key.
struct TestApp {
    let core: AnnalsCore
    let adminKey: String
    let client: any TestClientProtocol

    /// Sends a request with the admin key (or `key`).
    func send(
        _ method: HTTPRequest.Method, _ uri: String, body: String? = nil, bytes: [UInt8]? = nil,
        headers: HTTPFields = [:], key: String? = nil
    ) async throws -> TestResponse {
        var fields = headers
        if let key = key ?? Optional(adminKey), !key.isEmpty { fields[.authorization] = "Bearer \(key)" }
        let buffer = bytes.map { ByteBuffer(bytes: $0) } ?? body.map { ByteBuffer(string: $0) }
        return try await client.execute(uri: uri, method: method, headers: fields, body: buffer)
    }

    /// Waits (bounded) until `condition` holds.
    func eventually(_ what: String, _ condition: () throws -> Bool) async throws {
        for _ in 0..<400 {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw ServiceError(.internal, "timed out waiting for \(what)")
    }

    /// The status of a document as the API reports it.
    func status(of id: String) async throws -> String? {
        let response = try await send(.get, "/v1/documents/\(id)")
        return try response.json()["status"] as? String
    }
}

extension TestResponse {
    /// The body as a JSON object.
    func json() throws -> [String: Any] {
        (try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }
}

/// Runs `body` against a live application (services included) on `directory` (by default a new temporary one);
/// the application stops gracefully when `body` returns, so a second call on the same directory is a restart.
func withTestApp(
    directory: TemporaryDirectory? = nil, configure: (inout ServiceConfiguration) -> Void = { _ in },
    _ body: @Sendable (TestApp) async throws -> Void
) async throws {
    let dir = directory ?? TemporaryDirectory()
    var configuration = ServiceConfiguration()
    configuration.dataDirectory = dir.path
    configuration.port = 0
    configuration.workers = 2
    configuration.retryDelayBase = .milliseconds(10)
    configuration.retryDelayMax = .milliseconds(50)
    configure(&configuration)
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let core = try AnnalsCore.open(configuration: configuration, logger: logger)
    let secret = Mutex<String?>(nil)
    let app = buildApplication(core: core, logger: logger) { report in secret.withLock { $0 = report.adminSecret } }
    try await app.test(.router) { client in
        for _ in 0..<400 where core.currentPhase != .ready { try await Task.sleep(for: .milliseconds(10)) }
        // A restart prints no key: the first start wrote it to the data directory.
        let written = try? String(contentsOfFile: dir.child("admin.key"), encoding: .utf8)
        let key = try #require(secret.withLock { $0 } ?? written?.trimmingCharacters(in: .whitespacesAndNewlines))
        try await body(TestApp(core: core, adminKey: key, client: client))
    }
}
