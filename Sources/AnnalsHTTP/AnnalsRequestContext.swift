public import AnnalsProjections
public import Hummingbird

/// The request context of Annals' routes: the core context, and the API key the request was authenticated with.
public struct AnnalsRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The key that authenticated the request (set by `AuthenticationMiddleware`).
    public var key: ApiKey?

    public init(source: Source) {
        self.coreContext = .init(source: source)
    }

    /// The key, which every data route requires.
    func requireKey() throws -> ApiKey {
        guard let key else {
            throw Problem(.unauthorized, kind: "unauthorized", detail: "an API key is required")
        }
        return key
    }
}
