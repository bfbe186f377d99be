import AnnalsLog
import AnnalsService
import Foundation
public import Hummingbird

/// An error answer in RFC 9457 form (`application/problem+json`): `type`, `title`, `status`, `detail`, `instance`.
public struct Problem: HTTPResponseError, Sendable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// A stable, short, machine-readable name of the problem (the last part of `type`).
    public var kind: String
    /// One line for a person: what is wrong and what to do.
    public var detail: String
    /// Extra headers (for example `Retry-After`).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, kind: String, detail: String) {
        self.status = status
        self.kind = kind
        self.detail = detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let object: [String: Any] = [
            "type": "https://annals.dev/problems/\(kind)",
            "title": status.reasonPhrase,
            "status": Int(status.code),
            "detail": detail,
            "instance": request.uri.path,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// 507: the status a full disk answers with (not among swift-http-types' named statuses).
    static let insufficientStorage = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")

    /// The answer for an error thrown by the service or the log.
    static func from(_ error: any Error) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let error as ServiceError:
            switch error.code {
            case .badRequest: return Problem(.badRequest, kind: "bad-request", detail: error.message)
            case .unauthorized: return Problem(.unauthorized, kind: "unauthorized", detail: error.message)
            case .forbidden: return Problem(.forbidden, kind: "forbidden", detail: error.message)
            case .notFound: return Problem(.notFound, kind: "not-found", detail: error.message)
            case .tooLarge: return Problem(.contentTooLarge, kind: "too-large", detail: error.message)
            case .unsupportedType:
                return Problem(.unsupportedMediaType, kind: "unsupported-type", detail: error.message)
            case .unavailable:
                var problem = Problem(.serviceUnavailable, kind: "unavailable", detail: error.message)
                problem.headers[.retryAfter] = "5"
                return problem
            case .storageFull: return Problem(Self.insufficientStorage, kind: "storage-full", detail: error.message)
            default: return Problem(.internalServerError, kind: "internal", detail: error.message)
            }
        case let error as LogError where error.code == .diskFull || error.code == .mapFull:
            return Problem(Self.insufficientStorage, kind: "storage-full", detail: error.message)
        default:
            return Problem(.internalServerError, kind: "internal", detail: "internal error")
        }
    }
}
