import AnnalsEmbedding
import AnnalsEvents
import AnnalsLog
import AnnalsProjections
public import AnnalsService
import AnnalsVector
import Foundation
import HTTPTypes
public import Hummingbird
public import Logging

/// Builds the router of every route; `buildApplication` and the tests both use it.
public func buildRouter(core: AnnalsCore) -> Router<AnnalsRequestContext> {
    let router = Router(context: AnnalsRequestContext.self)
    router.add(middleware: ProblemMiddleware())
    router.get("/livez") { _, _ in Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n"))) }
    router.get("/readyz") { _, _ -> Response in
        switch core.currentPhase {
        case .ready:
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ready\n")))
        case .starting:
            throw Problem(.serviceUnavailable, kind: "starting", detail: "recovery is not finished")
        case .draining:
            throw Problem(.serviceUnavailable, kind: "draining", detail: "the service is shutting down")
        }
    }
    // Metrics carry counts only (no ids, no names), like the probes: scrapers need no key.
    router.get("/metrics") { _, _ -> Response in
        let text = PrometheusText.render(core: core, now: AnnalsCore.nowMicros())
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
    let api = router.group("v1").add(middleware: AuthenticationMiddleware(core: core))
    let routes = DataRoutes(core: core)
    api.post("documents", use: routes.upload)
    api.get("documents/:id", use: routes.document)
    api.post("search", use: routes.search)
    api.get("queue", use: routes.queue)
    return router
}

/// Builds the application: the router, the listening address, and the service runner as a managed service.
public func buildApplication(
    core: AnnalsCore, logger: Logger, onRecovered: @escaping @Sendable (RecoveryReport) -> Void = { _ in }
)
    -> some ApplicationProtocol
{
    Application(
        router: buildRouter(core: core),
        configuration: .init(
            address: .hostname(core.configuration.host, port: core.configuration.port), serverName: "annals"),
        services: [AnnalsServiceRunner(core: core, onRecovered: onRecovered)],
        logger: logger)
}

/// The data routes; each requires a key and sees only its tenant's documents.
struct DataRoutes: Sendable {
    let core: AnnalsCore

    /// Bytes of a JSON request body.
    static let jsonBodyBytesMax = 64 << 10

    @Sendable func upload(_ request: Request, context: AnnalsRequestContext) async throws -> Response {
        let key = try context.requireKey()
        guard core.currentPhase == .ready else {
            throw ServiceError(.unavailable, "the service is not ready")
        }
        let uploadRequest = UploadRequest(
            tenant: key.tenantId, keyId: key.id,
            filename: request.uri.queryParameters["filename"].map { String($0).removingPercentEncoding ?? String($0) },
            declaredContentType: request.headers[.contentType],
            idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!])
        let outcome = try await UploadService(core: core).accept(
            uploadRequest, body: request.body.map { $0.readableBytesView })
        return try json(
            status: outcome.existing ? .ok : .accepted,
            [
                "id": outcome.documentId, "status": outcome.status, "sha256": outcome.sha256, "size": outcome.size,
                "position": outcome.position,
            ])
    }

    @Sendable func document(_ request: Request, context: AnnalsRequestContext) async throws -> Response {
        let key = try context.requireKey()
        let id = try context.parameters.require("id")
        guard let document = core.engine.read({ $0.documents.document(id: id) }), document.tenantId == key.tenantId
        else {
            throw Problem(.notFound, kind: "not-found", detail: "no document \(id)")
        }
        var object: [String: Any] = [
            "id": document.id, "filename": document.filename, "contentType": document.contentType,
            "size": document.size, "sha256": document.sha256, "status": document.status.rawValue,
            "chunks": document.chunkCount, "attempts": document.attempts, "position": document.position,
            "createdAt": rfc3339(document.createdAt), "updatedAt": rfc3339(document.updatedAt),
        ]
        if let completed = document.completedAt { object["completedAt"] = rfc3339(completed) }
        if let error = document.lastError {
            object["lastError"] = ["stage": error.stage, "code": error.code, "message": error.message]
        } else {
            object["lastError"] = NSNull()
        }
        return try json(status: .ok, object)
    }

    @Sendable func search(_ request: Request, context: AnnalsRequestContext) async throws -> Response {
        let key = try context.requireKey()
        let start = ContinuousClock.now
        let body = try await request.body.collect(upTo: Self.jsonBodyBytesMax)
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        else {
            throw Problem(.badRequest, kind: "bad-request", detail: "the body must be a JSON object")
        }
        let query = object["query"]
        let given = object["vector"]
        guard (query == nil) != (given == nil) else {
            throw Problem(.badRequest, kind: "bad-request", detail: "give exactly one of 'query' (text) and 'vector'")
        }
        let limit = core.configuration.searchResultsMax
        var k = 10
        if let value = object["k"] {
            guard !Self.isBoolean(value), let number = value as? Int, (1...limit).contains(number) else {
                throw Problem(.badRequest, kind: "bad-request", detail: "'k' must be a whole number in 1...\(limit)")
            }
            k = number
        }
        var documentIds: Set<String>?
        if let filter = object["filter"] as? [String: Any], let ids = filter["documentIds"] {
            guard let list = ids as? [String] else {
                throw Problem(.badRequest, kind: "bad-request", detail: "'filter.documentIds' must be strings")
            }
            documentIds = Set(list)
        }
        var mode = AdaptiveIndex.SearchMode.auto
        if let value = object["mode"] {
            guard let name = value as? String, let chosen = AdaptiveIndex.SearchMode(rawValue: name) else {
                throw Problem(
                    .badRequest, kind: "bad-request", detail: "'mode' must be one of auto, exact, approximate")
            }
            mode = chosen
        }
        var efSearch: Int?
        if let value = object["efSearch"] {
            guard !Self.isBoolean(value), let number = value as? Int, (1...Self.efSearchMax).contains(number) else {
                throw Problem(
                    .badRequest, kind: "bad-request",
                    detail: "'efSearch' must be a whole number in 1...\(Self.efSearchMax)")
            }
            efSearch = max(number, k)
        }
        let vector: [Float]
        var embedder: String?
        if let query {
            guard let text = query as? String, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw Problem(.badRequest, kind: "bad-request", detail: "'query' must be a non-empty string")
            }
            vector = try await core.embedQuery(text)
            // Only chunks of the embedder that embedded the query are comparable with it.
            embedder = core.embedder.identifier
        } else {
            vector = try Self.queryVector(given)
            guard vector.count == core.embedder.dimension else {
                throw Problem(
                    .badRequest, kind: "bad-request",
                    detail: "'vector' has \(vector.count) values; the index holds vectors of \(core.embedder.dimension)"
                )
            }
        }
        let hits = core.engine.read {
            $0.vectors.search(
                query: vector, k: k, tenant: key.tenantId, documentIds: documentIds, embedder: embedder, mode: mode,
                efSearch: efSearch)
        }
        var results: [[String: Any]] = []
        for hit in hits {
            guard let record = try core.log.record(at: hit.position),
                case .chunkEmbedded(let chunk) = try record.event()
            else { continue }
            results.append([
                "documentId": hit.documentId, "chunkIndex": hit.chunkIndex, "score": Double(hit.score),
                "text": chunk.text,
            ])
        }
        // One reading of the clock: reading it twice mixed the seconds of one instant with the fraction of another.
        let tookMs = Double((ContinuousClock.now - start).wholeMicroseconds) / 1000
        return try json(status: .ok, ["results": results, "tookMs": tookMs])
    }

    /// Whether a value from `JSONSerialization` is a JSON boolean. `value is Bool` cannot tell: on Linux it is also
    /// true for the numbers 0 and 1, so `"k": 1` would be refused. Booleans are the NSNumbers of type `c` (char).
    static func isBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return value is Bool }
        return String(cString: number.objCType) == "c"
    }

    /// The widest graph search a client may ask for.
    static let efSearchMax = 4096

    /// The largest query vector accepted.
    static let queryDimensionMax = 16_384

    /// A client's query vector: numbers, finite, not all zero; L2-normalised so that scores are cosines like those
    /// of text queries.
    static func queryVector(_ value: Any?) throws -> [Float] {
        guard let numbers = value as? [Any], (1...queryDimensionMax).contains(numbers.count) else {
            throw Problem(
                .badRequest, kind: "bad-request",
                detail: "'vector' must be an array of 1 to \(queryDimensionMax) numbers")
        }
        var vector: [Float] = []
        vector.reserveCapacity(numbers.count)
        for number in numbers {
            guard !Self.isBoolean(number), let value = number as? NSNumber, value.doubleValue.isFinite,
                abs(value.doubleValue) <= Double(Float.greatestFiniteMagnitude)
            else {
                throw Problem(.badRequest, kind: "bad-request", detail: "'vector' must hold finite numbers only")
            }
            vector.append(value.floatValue)
        }
        let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else {
            throw Problem(.badRequest, kind: "bad-request", detail: "'vector' must not be all zeros")
        }
        return vector.map { $0 / norm }
    }

    @Sendable func queue(_ request: Request, context: AnnalsRequestContext) async throws -> Response {
        let key = try context.requireKey()
        let now = AnnalsCore.nowMicros()
        // Counts are of the whole queue (they say how busy the service is); dead letters name documents, so only
        // the tenant's own are listed.
        let (stats, dead) = core.engine.read {
            ($0.queue.stats(now: now), $0.queue.deadLettered(tenant: key.tenantId))
        }
        let deadLetters: [[String: Any]] = dead.prefix(100).map { job in
            [
                "documentId": job.documentId, "attempts": job.attempts, "lastCode": job.lastCode,
                "lastMessage": job.lastMessage,
            ]
        }
        return try json(
            status: .ok,
            [
                "depth": stats.depth, "ready": stats.ready, "inFlight": stats.inFlight, "retrying": stats.retrying,
                "deadLettered": stats.dead, "oldestAgeSeconds": Double(stats.oldestAgeMicros) / 1e6,
                "deadLetters": deadLetters,
            ])
    }

    private func json(status: HTTPResponse.Status, _ object: [String: Any]) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func rfc3339(_ micros: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(micros) / 1e6)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
