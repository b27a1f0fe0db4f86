/// Why connecting or refreshing an OAuth account failed, worded for the operator.
public enum OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400 `invalid_grant` at the token endpoint: the grant (or the code) is revoked, expired or used up. The
    /// account must be connected again.
    case invalidGrant(String)
    /// The user refused consent (`error=access_denied` at the redirect).
    case denied(String)
    /// The redirect's `state` is not the one this sign-in sent: someone else's redirect, refused.
    case stateMismatch
    /// Any other error from the token endpoint (`invalid_client`, `redirect_uri_mismatch`…), or from the consent
    /// redirect (`status` 0 there).
    case endpoint(status: Int, error: String, description: String)
    case transport(TransportError)
    /// Nobody came back to the loopback redirect in time.
    case timedOut(seconds: Int)

    public var description: String {
        switch self {
        case .invalidGrant(let detail):
            "Google no longer accepts this account's authorization (\(detail)). Connect the account again."
        case .denied(let detail):
            "The sign-in was not allowed in the browser (\(detail)). Run the connection again and allow access."
        case .stateMismatch:
            "The browser came back with a sign-in that this run did not start (state mismatch), so it was refused. Run the connection again."
        case .endpoint(let status, let error, let detail) where status == 0:
            "Google refused the sign-in: \(error)\(detail.isEmpty ? "" : " — \(detail)"). Check the OAuth client's configuration in the Google Cloud console."
        case .endpoint(let status, let error, let detail):
            "The token endpoint answered \(status) \(error)\(detail.isEmpty ? "" : " — \(detail)"). Check the OAuth client ID and secret, and that the client is a Desktop app."
        case .transport(let error):
            "The OAuth sign-in could not reach Google: \(error)"
        case .timedOut(let seconds):
            "Nobody completed the sign-in in the browser within \(seconds) s. Run the connection again and open the printed link."
        }
    }

    /// The same failure for a caller that speaks ``TransportError`` (an ``AccessTokenSource``): a refused grant is
    /// `.reauthorizationRequired`.
    public var transportError: TransportError {
        switch self {
        case .invalidGrant(let detail):
            TransportError(.reauthorizationRequired, server: "Google OAuth", detail: "Google refused the refresh token (\(detail)); connect the account again")
        case .transport(let error):
            error
        case .timedOut:
            TransportError(.timeout, server: "Google OAuth", detail: description)
        case .endpoint, .denied, .stateMismatch:
            TransportError(.authentication, server: "Google OAuth", detail: description)
        }
    }
}
