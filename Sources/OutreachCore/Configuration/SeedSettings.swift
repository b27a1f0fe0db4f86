/// The original app's `.env` keys that Outreach does not read, each with what takes its place — so an operator who
/// copies the seed's `.env` learns where each setting went instead of meeting silence.
public enum SeedSettings {
    /// Key → what replaces it.
    public static let replaced: [(key: String, replacement: String)] = [
        ("REDIS_URL", "jobs queue in Outreach's own database (OUTREACH_DB), which every worker shares: there is no Redis to run"),
        ("CELERY_BROKER_URL", "`outreach worker` (or `outreach serve`) takes jobs from the database: there is no Celery broker"),
        ("CELERY_RESULT_BACKEND", "job states, counters and logs are kept in the database (`outreach jobs`, the Jobs page)"),
        ("APP_SECRET_KEY", "sessions are random tokens kept in the database, and stored passwords are sealed with the master key (OUTREACH_MASTER_KEY or OUTREACH_MASTER_KEY_FILE, made by `outreach init`)"),
        ("AUTH_MODE", "the web UI always signs users in with their email and password (`outreach user add`); ADMIN_USERNAME and ADMIN_PASSWORD create the first admin"),
    ]

    /// Where Google sends the browser back to after "Connect with Google".
    public static let googleCallbackPath = "/oauth2/callback"

    /// One line per seed key found in `settings` that Outreach does not read, plus a GMAIL_REDIRECT_URI that
    /// cannot reach Outreach (the seed's points at Streamlit's port 8501).
    public static func notices(_ settings: [String: String]) -> [String] {
        var lines = replaced.compactMap { key, replacement in
            settings[key].map { _ in "\(key) is not used by Outreach: \(replacement)." }
        }
        if let problem = redirectProblem(settings["GMAIL_REDIRECT_URI"]) { lines.append(problem) }
        return lines
    }

    /// Why this GMAIL_REDIRECT_URI cannot bring Google's answer to Outreach, or nil when it can (or is not set).
    public static func redirectProblem(_ uri: String?) -> String? {
        guard let uri, !uri.isEmpty else { return nil }
        let withoutQuery = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        guard !withoutQuery.hasSuffix(googleCallbackPath) else { return nil }
        let streamlit = withoutQuery.contains(":8501")
        return "GMAIL_REDIRECT_URI=\(uri) \(streamlit ? "is the original app's Streamlit address" : "does not end in \(googleCallbackPath)"): "
            + "Outreach receives Google's answer at its own \(googleCallbackPath) (for `outreach serve` on port 8080: http://localhost:8080\(googleCallbackPath)). "
            + "Set GMAIL_REDIRECT_URI to that (and add it to the OAuth client's redirect URIs in the Google Cloud console), or remove it and set OUTREACH_PUBLIC_URL; "
            + "`outreach account connect-gmail` needs neither."
    }
}
