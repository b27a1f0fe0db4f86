import Foundation
import OutreachCore

/// An OAuth 2.0 client registered with Google as a Desktop app: its ID, its (not really secret) secret, and the
/// two endpoints.
public struct OAuthClient: Sendable {
    public static let googleAuthURL = "https://accounts.google.com/o/oauth2/v2/auth"
    public static let googleTokenURL = "https://oauth2.googleapis.com/token"

    public var clientID: String
    public var clientSecret: Secret?
    public var authURL: String
    public var tokenURL: String

    public init(clientID: String, clientSecret: Secret?, authURL: String = OAuthClient.googleAuthURL, tokenURL: String = OAuthClient.googleTokenURL) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.authURL = authURL
        self.tokenURL = tokenURL
    }
}

extension OAuthClient {
    /// The consent page to open in a browser. Asks for offline access with `prompt=consent`, so Google issues a
    /// refresh token even when the user consented before.
    public func authorizationURL(redirectURI: String, scopes: [String], state: String, pkce: PKCE, loginHint: String?) -> String {
        var pairs = [
            ("response_type", "code"),
            ("client_id", clientID),
            ("redirect_uri", redirectURI),
            ("scope", scopes.joined(separator: " ")),
            ("state", state),
            ("code_challenge", pkce.challenge),
            ("code_challenge_method", "S256"),
            ("access_type", "offline"),
            ("prompt", "consent"),
        ]
        if let loginHint { pairs.append(("login_hint", loginHint)) }
        return authURL + (authURL.contains("?") ? "&" : "?") + FormEncoding.encode(pairs)
    }

    /// Trades the code from the redirect for tokens. `redirectURI` must be exactly the one in the consent URL.
    public func exchange(code: String, redirectURI: String, pkce: PKCE, http: HTTPClient) async throws(OAuthError) -> OAuthTokens {
        try await tokenRequest(
            [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", pkce.verifier)],
            http: http, usedRefreshToken: nil
        )
    }

    /// A fresh access token for the grant. Throws ``OAuthError/invalidGrant(_:)`` when the grant is gone.
    public func refresh(_ refreshToken: Secret, http: HTTPClient) async throws(OAuthError) -> OAuthTokens {
        try await tokenRequest([("grant_type", "refresh_token"), ("refresh_token", refreshToken.revealed)], http: http, usedRefreshToken: refreshToken)
    }

    /// Google's revocation endpoint beside its token endpoint (`…/token` → `…/revoke`); nil for providers without one
    /// there (Microsoft's grants are withdrawn in its portal).
    public var revokeURL: String? {
        guard tokenURL.hasSuffix("/token"), let host = URLComponents(string: tokenURL)?.host?.lowercased(),
            host.hasSuffix("googleapis.com") || host == "127.0.0.1" || host == "localhost"
        else { return nil }
        return String(tokenURL.dropLast("token".count)) + "revoke"
    }

    /// Withdraws a grant at the provider (the refresh token, and the access tokens made from it).
    /// - Returns: false when the provider has no revocation endpoint Outreach knows.
    public func revoke(_ token: Secret, http: HTTPClient) async throws(OAuthError) -> Bool {
        guard let revokeURL else { return false }
        let response: HTTPResponse
        do {
            response = try await http.send(HTTPRequest(
                method: "POST", url: revokeURL, headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded")],
                body: Array(FormEncoding.encode([("token", token.revealed)]).utf8)
            ))
        } catch {
            throw .transport(error)
        }
        // 400 invalid_token: already revoked or expired, which is what was wanted.
        guard response.status == 200 || response.status == 400 else {
            throw .endpoint(status: response.status, error: "revoke", description: String(decoding: response.body.prefix(200), as: UTF8.self))
        }
        return true
    }

    private func tokenRequest(_ grant: [(String, String)], http: HTTPClient, usedRefreshToken: Secret?) async throws(OAuthError) -> OAuthTokens {
        var form = grant
        form.append(("client_id", clientID))
        if let clientSecret { form.append(("client_secret", clientSecret.revealed)) }
        let request = HTTPRequest(
            method: "POST", url: tokenURL,
            headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded"), (name: "Accept", value: "application/json")],
            body: Array(FormEncoding.encode(form).utf8)
        )
        let started = Date()
        let response: HTTPResponse
        do {
            response = try await http.send(request)
        } catch {
            throw .transport(error)
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        guard response.status == 200 else {
            let error = json?["error"] as? String ?? ""
            let description = json?["error_description"] as? String ?? (json == nil ? String(decoding: response.body.prefix(200), as: UTF8.self) : "")
            if error == "invalid_grant" { throw .invalidGrant(description.isEmpty ? error : description) }
            throw .endpoint(status: response.status, error: error.isEmpty ? "HTTP \(response.status)" : error, description: description)
        }
        guard let json, let access = json["access_token"] as? String, !access.isEmpty else {
            throw .endpoint(status: response.status, error: "invalid_response", description: "the token endpoint's answer has no access_token")
        }
        let lifetime = (json["expires_in"] as? NSNumber)?.doubleValue ?? Double(json["expires_in"] as? String ?? "") ?? 3600
        let refresh = (json["refresh_token"] as? String).map(Secret.init) ?? usedRefreshToken
        let scopes = (json["scope"] as? String)?.split(separator: " ").map(String.init) ?? []
        let email = (json["id_token"] as? String).flatMap(Self.email(fromIDToken:))
        // Measured from before the request, so a slow answer cannot make the token look fresher than it is.
        return OAuthTokens(accessToken: Secret(access), expiresAt: started.addingTimeInterval(lifetime), refreshToken: refresh, scopes: scopes, email: email)
    }

    /// The `email` claim of an ID token. It came straight from the token endpoint over TLS, so the signature is not
    /// checked (OpenID Connect Core §3.1.3.7 allows this).
    static func email(fromIDToken token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, let payload = Base64URL.decode(String(parts[1])),
            let claims = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any]
        else { return nil }
        return claims["email"] as? String
    }
}
