/// The installed-app sign-in in one call (RFC 8252): a loopback listener, PKCE, a random `state`, the consent URL
/// for the operator to open, the wait for the browser, the `state` check, and the code exchange.
public struct OAuthLoopbackFlow: Sendable {
    public let client: OAuthClient
    public let scopes: [String]
    public let loginHint: String?
    public let http: HTTPClient
    public let timeoutSeconds: Int

    public init(client: OAuthClient, scopes: [String], loginHint: String?, http: HTTPClient, timeoutSeconds: Int = 300) {
        self.client = client
        self.scopes = scopes
        self.loginHint = loginHint
        self.http = http
        self.timeoutSeconds = timeoutSeconds
    }

    /// - Parameter showConsentURL: gets the URL to open in a browser (print it; the listener is already waiting).
    public func run(showConsentURL: @Sendable (String) -> Void) async throws(OAuthError) -> OAuthTokens {
        let listener: LoopbackRedirectListener
        let pkce: PKCE
        let state: String
        do {
            listener = try LoopbackRedirectListener()
            pkce = try PKCE.generate()
            state = Base64URL.encode(try OAuthRandom.bytes(16))
        } catch {
            throw .transport(error)
        }
        defer { listener.close() }
        showConsentURL(client.authorizationURL(redirectURI: listener.redirectURI, scopes: scopes, state: state, pkce: pkce, loginHint: loginHint))
        let parameters = try await listener.waitForRedirect(timeoutSeconds: timeoutSeconds, expectedState: state)
        guard parameters["state"] == state else { throw .stateMismatch }
        if let error = parameters["error"] {
            let description = parameters["error_description"] ?? ""
            if error == "access_denied" { throw .denied(description.isEmpty ? error : description) }
            throw .endpoint(status: 0, error: error, description: description)
        }
        guard let code = parameters["code"] else { throw .endpoint(status: 0, error: "missing_code", description: "the redirect carried no authorization code") }
        return try await client.exchange(code: code, redirectURI: listener.redirectURI, pkce: pkce, http: http)
    }
}
