/// Where the Gmail API is and how hard ``GmailAPI`` may use it.
public struct GmailAPIConfiguration: Sendable {
    /// `https://gmail.googleapis.com`; the client appends `/gmail/v1/users/me/…`.
    public var apiBase: String
    /// The per-user budget in Gmail's quota units (send 100, drafts.create 10, messages.get/list 5, history.list 2,
    /// getProfile 1). Google's published figure differs between copies of its page, so it is a setting.
    public var quotaUnitsPerMinute: Int
    /// Attempts per call for rate limits (429, 403 rateLimitExceeded/userRateLimitExceeded) and 5xx answers.
    public var maxAttempts: Int
    /// Backoff base: attempt n waits a random time up to base·2ⁿ⁻¹ s (full jitter), at least Retry-After, at most 64 s.
    public var retryBaseSeconds: Double
    /// Connections a sync reads messages on at once (one messages.get per message; Gmail's latency, not its quota,
    /// is what a single connection waits on).
    public var concurrentReads: Int = 4

    public init(apiBase: String = "https://gmail.googleapis.com", quotaUnitsPerMinute: Int = 15_000, maxAttempts: Int = 6, retryBaseSeconds: Double = 1) {
        self.apiBase = apiBase
        self.quotaUnitsPerMinute = quotaUnitsPerMinute
        self.maxAttempts = maxAttempts
        self.retryBaseSeconds = retryBaseSeconds
    }
}
