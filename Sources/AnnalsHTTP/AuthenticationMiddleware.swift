import AnnalsService
import Hummingbird
import Logging

/// Requires `Authorization: Bearer KEY` with a valid, unrevoked key on every route it wraps, and puts the key
/// into the context. Keys are compared by their SHA-256; the secret itself is never stored.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AnnalsRequestContext
    let core: AnnalsCore

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw challenge("an API key is required: send Authorization: Bearer <key>")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw challenge("the Authorization header must be 'Bearer <key>'")
        }
        guard let key = KeyManager.authenticate(String(parts[1]), core: core) else {
            throw challenge("the API key is not valid or was revoked")
        }
        var context = context
        context.key = key
        return try await next(request, context)
    }

    private func challenge(_ detail: String) -> Problem {
        var problem = Problem(.unauthorized, kind: "unauthorized", detail: detail)
        problem.headers[.wwwAuthenticate] = "Bearer"
        return problem
    }
}

/// Turns every error below it into a problem+json answer, so that no route answers with a bare 500 text.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AnnalsRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let kind = error.status == .notFound ? "not-found" : "http-error"
            return try Problem(error.status, kind: kind, detail: error.body ?? error.status.reasonPhrase)
                .response(from: request, context: context)
        } catch {
            if !(error is Problem) {
                context.logger.error("request failed", metadata: ["error": "\(error)"])
            }
            return try Problem.from(error).response(from: request, context: context)
        }
    }
}
