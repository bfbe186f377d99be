import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// What the stub embedding server answers to one request.
enum StubAnswer: Sendable {
    /// Vectors of `dimension` values derived from each text (so that equal texts get equal vectors).
    case vectors(dimension: Int)
    /// An error status, with an optional `Retry-After` in seconds.
    case status(Int, retryAfter: Int?)
    /// Waits, then answers.
    indirect case delayed(Duration, StubAnswer)
    /// A body that is not an embeddings list.
    case garbage
}

/// A local OpenAI-compatible embedding server for tests, on 127.0.0.1 and a port of the system's choosing.
///
/// `answer` decides each request's fate from its 1-based number and its inputs; `requests` counts them.
struct EmbedderStub: Sendable {
    let url: URL
    let requests: @Sendable () -> Int
    let inputs: @Sendable () -> [[String]]
}

/// Runs `body` with a stub embedding server that answers as `answer` says.
func withEmbedderStub(
    answer: @escaping @Sendable (_ request: Int, _ inputs: [String]) -> StubAnswer,
    _ body: @Sendable (EmbedderStub) async throws -> Void
) async throws {
    let seen = Mutex<[[String]]>([])
    let router = Router()
    router.post("/v1/embeddings") { request, _ -> Response in
        let bytes = try await request.body.collect(upTo: 16 << 20)
        let object = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]
        let inputs = object?["input"] as? [String] ?? []
        let number = seen.withLock {
            $0.append(inputs)
            return $0.count
        }
        return try await respond(answer(number, inputs), inputs: inputs)
    }
    let port = Mutex<Int?>(nil)
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
        logger: Logger(label: "embedder-stub", factory: { _ in SwiftLogNoOpLogHandler() }))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.run() }
        var bound: Int?
        for _ in 0..<500 {
            bound = port.withLock { $0 }
            if bound != nil { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        guard let bound else { throw CancellationError() }
        let stub = EmbedderStub(
            url: URL(string: "http://127.0.0.1:\(bound)")!, requests: { seen.withLock { $0.count } },
            inputs: { seen.withLock { $0 } })
        do {
            try await body(stub)
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
    }
}

private func respond(_ answer: StubAnswer, inputs: [String]) async throws -> Response {
    switch answer {
    case .vectors(let dimension):
        let data = inputs.enumerated().map { index, text -> [String: Any] in
            // Reverse order and explicit indexes: the client must put vectors back in input order.
            ["index": index, "embedding": stubVector(text, dimension: dimension)]
        }
        let json = try JSONSerialization.data(withJSONObject: ["object": "list", "data": Array(data.reversed())])
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
    case .status(let code, let retryAfter):
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(
            status: .init(code: code), headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"message": "stub failure"}}"#)))
    case .delayed(let delay, let then):
        try await Task.sleep(for: delay)
        return try await respond(then, inputs: inputs)
    case .garbage:
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "<html>not json</html>")))
    }
}

/// The stub's vector for a text: unnormalised, so that the client's normalisation shows.
func stubVector(_ text: String, dimension: Int) -> [Double] {
    var values = [Double](repeating: 0, count: dimension)
    for (index, byte) in text.utf8.enumerated() { values[(index + Int(byte)) % dimension] += Double(byte % 7 + 1) }
    values[0] += 1
    return values
}
