public import AnnalsEmbedding
public import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An embedder that asks an OpenAI-compatible server: `POST {baseURL}/v1/embeddings` with
/// `{"model", "input": [texts], "encoding_format": "float"}`, answered by `{"data": [{"index", "embedding"}]}`.
///
/// Texts go in batches of `batchSize`; each request has a timeout; a `429` or `5xx` answer, a timeout or a refused
/// connection is retried a few times with exponential backoff (a `Retry-After` header, when present and shorter
/// than the backoff cap, is honoured), then surfaces as a retryable `EmbeddingError` so that the worker records
/// `job.failed` and the queue retries the job later. Vectors are checked (count, dimension, finite values) and
/// L2-normalised, because the index scores by dot product.
public struct HTTPEmbedder: Embedder {
    /// The settings of an HTTP embedder.
    public struct Configuration: Sendable, Equatable {
        /// The server's base URL, without `/v1/embeddings`.
        public var baseURL: URL
        /// The model name sent with each request.
        public var model: String
        /// The API key sent as `Authorization: Bearer`, or nil to send none.
        public var apiKey: String?
        /// The dimension the model returns; a vector of another length fails with `bad_response`.
        public var dimension: Int
        /// The most texts per request.
        public var batchSize: Int
        /// The limit of one request.
        public var timeout: Duration
        /// Retries of one request after a retryable failure, before the failure is returned.
        public var retries: Int
        /// The first retry's delay; each retry doubles it, up to `retryDelayMax`.
        public var retryDelayBase: Duration
        /// The longest delay between retries.
        public var retryDelayMax: Duration

        /// Creates a configuration.
        public init(
            baseURL: URL, model: String, apiKey: String? = nil, dimension: Int, batchSize: Int = 64,
            timeout: Duration = .seconds(30), retries: Int = 2, retryDelayBase: Duration = .milliseconds(500),
            retryDelayMax: Duration = .seconds(10)
        ) {
            self.baseURL = baseURL
            self.model = model
            self.apiKey = apiKey
            self.dimension = dimension
            self.batchSize = batchSize
            self.timeout = timeout
            self.retries = retries
            self.retryDelayBase = retryDelayBase
            self.retryDelayMax = retryDelayMax
        }
    }

    /// The largest batch accepted (the OpenAI API takes at most 2,048 inputs per request).
    public static let batchSizeMax = 2048
    /// The largest answer read, so that a misbehaving server cannot exhaust memory.
    static let responseBytesMax = 256 << 20

    /// The settings.
    public let configuration: Configuration
    /// `http:` followed by the model name: recorded in every chunk event.
    public var identifier: String { "http:\(configuration.model)" }
    /// The dimension of the vectors.
    public var dimension: Int { configuration.dimension }

    private let session: URLSession
    private let endpoint: URL

    /// Creates an HTTP embedder.
    ///
    /// - Throws: `EmbeddingError` with code `.invalidConfiguration` for a URL that is not http(s), an empty model
    ///   name, or a dimension, batch size, timeout or retry count out of range.
    public init(configuration: Configuration) throws(EmbeddingError) {
        guard let scheme = configuration.baseURL.scheme?.lowercased(), scheme == "http" || scheme == "https",
            configuration.baseURL.host != nil
        else {
            throw EmbeddingError(
                .invalidConfiguration, "The embedder URL must be http(s)://host[:port], not \(configuration.baseURL).")
        }
        guard !configuration.model.isEmpty else {
            throw EmbeddingError(.invalidConfiguration, "The embedder model name is empty.")
        }
        guard (1...HashingEmbedder.dimensionMax).contains(configuration.dimension) else {
            throw EmbeddingError(
                .invalidConfiguration, "The embedding dimension \(configuration.dimension) is out of range.")
        }
        guard (1...Self.batchSizeMax).contains(configuration.batchSize) else {
            throw EmbeddingError(
                .invalidConfiguration, "The embedder batch size must be between 1 and \(Self.batchSizeMax).")
        }
        guard configuration.timeout > .zero, (0...10).contains(configuration.retries) else {
            throw EmbeddingError(.invalidConfiguration, "The embedder timeout must be positive and retries 0...10.")
        }
        self.configuration = configuration
        var path = configuration.baseURL.absoluteString
        while path.hasSuffix("/") { path.removeLast() }
        self.endpoint = URL(string: path + "/v1/embeddings")!
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        // A backstop only (see `send`): whole seconds, rounded up, plus one.
        let backstop = (configuration.timeout.seconds).rounded(.up) + 1
        sessionConfiguration.timeoutIntervalForRequest = backstop
        sessionConfiguration.timeoutIntervalForResource = backstop
        sessionConfiguration.httpMaximumConnectionsPerHost = 8
        self.session = URLSession(configuration: sessionConfiguration)
    }

    /// Embeds `texts`, in batches, in order.
    ///
    /// - Throws: `EmbeddingError`: `.timeout`, `.rateLimited` or `.unavailable` (retryable: the server is slow,
    ///   busy or down) once the retries are spent; `.badResponse` for an answer that is not what the API promises;
    ///   `.invalidInput` when the server refuses the input with a 4xx.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let batch = Array(texts[start..<min(texts.count, start + configuration.batchSize)])
            vectors += try await embedBatchWithRetries(batch)
            start += batch.count
        }
        return vectors
    }

    private func embedBatchWithRetries(_ batch: [String]) async throws -> [[Float]] {
        var attempt = 0
        while true {
            do {
                return try await embedBatch(batch)
            } catch let failure as Failure {
                guard failure.error.isRetryable, attempt < configuration.retries else { throw failure.error }
                attempt += 1
                var delay = configuration.retryDelayBase * (1 << min(attempt - 1, 20))
                if let retryAfter = failure.retryAfter { delay = max(delay, retryAfter) }
                try await Task.sleep(for: min(delay, configuration.retryDelayMax))
            }
        }
    }

    /// A failed request, with the server's `Retry-After` when it sent one.
    private struct Failure: Error {
        var error: EmbeddingError
        var retryAfter: Duration?
    }

    private struct Request: Encodable {
        var model: String
        var input: [String]
        var encodingFormat = "float"

        enum CodingKeys: String, CodingKey {
            case model, input
            case encodingFormat = "encoding_format"
        }
    }

    private struct Response: Decodable {
        struct Item: Decodable {
            var index: Int?
            var embedding: [Float]
        }
        var data: [Item]
    }

    private func embedBatch(_ batch: [String]) async throws -> [[Float]] {
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.timeoutInterval = (configuration.timeout.seconds).rounded(.up) + 1
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key = configuration.apiKey { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try JSONEncoder().encode(Request(model: configuration.model, input: batch))
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await send(request)
        } catch let error as URLError {
            let code: EmbeddingError.Code = error.code == .timedOut ? .timeout : .unavailable
            throw Failure(
                error: EmbeddingError(code, "The embedder at \(endpoint) failed: \(error.localizedDescription)"))
        }
        guard let http = response as? HTTPURLResponse else {
            throw Failure(error: EmbeddingError(.badResponse, "The embedder's answer is not HTTP."))
        }
        switch http.statusCode {
        case 200..<300:
            break
        case 429:
            throw Failure(
                error: EmbeddingError(.rateLimited, "The embedder answered 429 Too Many Requests."),
                retryAfter: Self.retryAfter(http))
        case 408, 500..<600:
            throw Failure(
                error: EmbeddingError(.unavailable, "The embedder answered \(http.statusCode)."),
                retryAfter: Self.retryAfter(http))
        default:
            let body = String(decoding: data.prefix(300), as: UTF8.self)
            throw Failure(error: EmbeddingError(.invalidInput, "The embedder answered \(http.statusCode): \(body)"))
        }
        guard data.count <= Self.responseBytesMax else {
            throw Failure(
                error: EmbeddingError(.badResponse, "The embedder's answer exceeds \(Self.responseBytesMax) bytes."))
        }
        let decoded: Response
        do {
            decoded = try JSONDecoder().decode(Response.self, from: data)
        } catch {
            throw Failure(
                error: EmbeddingError(.badResponse, "The embedder's answer is not an embeddings list: \(error)"))
        }
        return try order(decoded.data, count: batch.count)
    }

    /// Sends `request`, failing with `URLError.timedOut` once the configured timeout passes.
    ///
    /// The timeout is enforced here rather than by `URLSession` alone, because Foundation on Linux rounds request
    /// timeouts down to whole seconds (a 300 ms timeout fails at once); the session's own, rounded-up timeout
    /// stays as a backstop. The answer is whichever comes first, the response or the deadline, and the loser is
    /// cancelled without being awaited: a request that is slow to notice its cancellation cannot hold the caller
    /// past the deadline.
    private func send(_ request: URLRequest) async throws -> (Data, URLResponse) {
        let session = session
        let timeout = configuration.timeout
        let race = Race<(Data, URLResponse)>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(
                    continuation,
                    work: { try await session.data(for: request) },
                    deadline: {
                        try await Task.sleep(for: timeout)
                        throw URLError(.timedOut)
                    })
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// Puts the vectors in input order, checks them and L2-normalises them.
    private func order(_ items: [Response.Item], count: Int) throws -> [[Float]] {
        guard items.count == count else {
            throw Failure(
                error: EmbeddingError(.badResponse, "The embedder returned \(items.count) vectors for \(count) texts."))
        }
        var vectors = [[Float]?](repeating: nil, count: count)
        for (position, item) in items.enumerated() {
            let index = item.index ?? position
            guard (0..<count).contains(index), vectors[index] == nil else {
                throw Failure(
                    error: EmbeddingError(.badResponse, "The embedder's answer has a bad or repeated index \(index)."))
            }
            guard item.embedding.count == dimension else {
                throw Failure(
                    error: EmbeddingError(
                        .badResponse,
                        "The embedder returned a vector of \(item.embedding.count) values; \(dimension) were configured."
                    ))
            }
            var norm: Float = 0
            for value in item.embedding {
                guard value.isFinite else {
                    throw Failure(
                        error: EmbeddingError(.badResponse, "The embedder returned a value that is not finite."))
                }
                norm += value * value
            }
            norm = norm.squareRoot()
            vectors[index] = norm > 0 ? item.embedding.map { $0 / norm } : item.embedding
        }
        return vectors.map { $0! }
    }

    private static func retryAfter(_ response: HTTPURLResponse) -> Duration? {
        guard let value = response.value(forHTTPHeaderField: "Retry-After"), let seconds = Double(value), seconds >= 0
        else { return nil }
        return .milliseconds(Int64(min(seconds, 3600) * 1000))
    }
}

/// The first of two tasks to finish answers a continuation; the other is cancelled and not awaited.
///
/// `@unchecked Sendable` is sound: every field is guarded by the mutex.
private final class Race<Value: Sendable>: @unchecked Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var tasks: [Task<Void, Never>] = []
        var result: Result<Value, any Error>?
    }

    private let state = Mutex(State())

    func start(
        _ continuation: CheckedContinuation<Value, any Error>,
        work: @escaping @Sendable () async throws -> Value,
        deadline: @escaping @Sendable () async throws -> Value
    ) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let early {
            // Cancelled before it started.
            continuation.resume(with: early)
            return
        }
        let tasks = [work, deadline].map { body in
            Task { [self] in
                do {
                    finish(.success(try await body()))
                } catch {
                    finish(.failure(error))
                }
            }
        }
        let finished = state.withLock { state -> Bool in
            state.tasks = tasks
            return state.result != nil
        }
        if finished { tasks.forEach { $0.cancel() } }
    }

    func finish(_ result: Result<Value, any Error>) {
        let (continuation, tasks) = state.withLock {
            state -> (CheckedContinuation<Value, any Error>?, [Task<Void, Never>]) in
            guard state.result == nil else { return (nil, []) }
            state.result = result
            defer { state.continuation = nil }
            return (state.continuation, state.tasks)
        }
        tasks.forEach { $0.cancel() }
        continuation?.resume(with: result)
    }
}
