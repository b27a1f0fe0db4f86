import Foundation
import OutreachCore

/// An account as both stores hold it: one row of the `account` table, column for column. Turning it into an
/// ``Account`` (and back) is the same on SQLite and PostgreSQL.
struct StoredAccount: Codable, Sendable {
    var id: Int64?
    var email: String
    var displayName: String?
    var username: String
    var smtpURL: String
    /// Empty for an SMTP-only account.
    var imapURL: String
    var caFile: String?
    var allowInsecureTLS: Bool
    var copyToSent: Bool
    var passwordSealed: Data
    var createdAt: Date
    var delaySeconds: Double
    var jitterSeconds: Double
    var dailyCap: Int?
    var guardSeconds: Double
    var sendingWindow: String?
    var provider: String
}

extension StoredAccount {
    init(_ account: Account, sealed: [UInt8]) {
        id = account.id
        email = account.email.description
        displayName = account.displayName
        username = account.username
        smtpURL = account.smtp.url
        imapURL = account.imap?.url ?? ""
        caFile = account.trust.caFile
        allowInsecureTLS = account.trust.allowInsecure
        copyToSent = account.copyToSent
        passwordSealed = Data(sealed)
        createdAt = Date()
        delaySeconds = account.pacing.delaySeconds
        jitterSeconds = account.pacing.jitterSeconds
        dailyCap = account.pacing.dailyCap
        guardSeconds = account.guardSeconds
        sendingWindow = account.pacing.window?.description
        provider = account.provider.rawValue
    }

    func account(oauth: OAuthSettings? = nil) throws -> Account {
        do {
            return Account(
                id: id, email: try EmailAddress(parsing: email), displayName: displayName, username: username,
                smtp: try ServerEndpoint(parsing: smtpURL, as: .smtp), imap: imapURL.isEmpty ? nil : try ServerEndpoint(parsing: imapURL, as: .imap),
                trust: TLSTrust(caFile: caFile, allowInsecure: allowInsecureTLS), copyToSent: copyToSent,
                pacing: Pacing(
                    delaySeconds: delaySeconds, jitterSeconds: jitterSeconds, dailyCap: dailyCap,
                    window: try sendingWindow.map { try SendingWindow(parsing: $0) }
                ),
                guardSeconds: guardSeconds, provider: Account.Provider(rawValue: provider) ?? .smtpIMAP, oauth: oauth
            )
        } catch {
            throw StoreError.corrupt("account \(email): \(error)")
        }
    }
}
