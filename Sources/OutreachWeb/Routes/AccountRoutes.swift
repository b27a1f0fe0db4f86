import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

extension WebApp {
    func addAccountRoutes(to router: Router<WebContext>) {
        router.get("/accounts") { request, context in
            let access = try context.access()
            let statuses = try await database.syncStatus.statuses()
            var rows: [[String: Any]] = []
            for account in try await usableAccounts(access) {
                let id = account.id ?? 0
                let sentToday = try await database.deliveries.sentTimes(accountID: id, since: Date().addingTimeInterval(-86_400)).count
                var row: [String: Any] = [
                    "id": id, "email": account.email.description, "smtp": account.smtp.url, "imap": account.imap?.url ?? "none (SMTP only: first emails only)",
                    "lastSync": statuses[id].map { JobTime.format($0.syncedAt) } ?? "not yet", "indexed": try await database.threads.messageCount(accountID: id),
                    "sentToday": sentToday, "cap": account.dailyCap.limit == 0 ? "no cap" : String(account.dailyCap.limit),
                    "capSetting": account.pacing.dailyCap.map(String.init) ?? "", "delay": DurationText.format(seconds: account.pacing.delaySeconds),
                    "jitter": DurationText.format(seconds: account.pacing.jitterSeconds), "guard": DurationText.format(seconds: account.guardSeconds),
                    "isAdmin": access.isAdmin, "csrf": access.session.csrfToken,
                ]
                // Absent, not empty, when there is none: an empty string would still open a Mustache section.
                if let window = account.pacing.window { row["window"] = window.description }
                if let name = account.displayName { row["name"] = name }
                if let error = statuses[id]?.error { row["syncError"] = error }
                if account.provider == .gmailAPI {
                    row["smtp"] = "Gmail API (OAuth)"
                    row["imap"] = "sync through Gmail history"
                } else if account.oauth != nil {
                    row["smtp"] = account.smtp.url + " (XOAUTH2)"
                    row["imap"] = (account.imap?.url ?? "none") + " (XOAUTH2)"
                }
                if let reason = account.oauth?.needsReconnect {
                    row["needsReconnect"] = reason
                    // The same consent flow gives the account a new grant; only admins may start it.
                    if account.provider == .gmailAPI, access.isAdmin, google != nil { row["reconnectWithGoogle"] = true }
                }
                rows.append(row)
            }
            var values: [String: Any] = ["accounts": rows, "isAdmin": access.isAdmin, "googleConfigured": google != nil]
            if let flash = takeFlash(context.session) { values["flash"] = flash }
            return renderer.page("accounts", title: "Accounts", section: "accounts", session: context.session, values: values)
        }

        router.post("/accounts") { request, context in
            let access = try context.access()
            try access.requireAdmin()
            var request = request
            let form = try await Self.form(&request, context)
            let (account, password) = try Self.account(from: form)
            do {
                _ = try await registry.add(account, password: password)
            } catch {
                return message("The account was not added", try ErrorText.forRequest(error), link: "/accounts", session: context.session, status: .badRequest)
            }
            return redirect(to: "/accounts", flash: "Added \(account.email).", session: context.session)
        }

        router.post("/accounts/:id/settings") { request, context in
            let access = try context.access()
            try access.requireAdmin()
            guard var account = try await database.accounts.account(id: try context.parameters.require("id", as: Int64.self)) else { throw Access.notFound() }
            var request = request
            let form = try await Self.form(&request, context)
            do {
                if let delay = form.text("delay") { account.pacing.delaySeconds = try DurationText.seconds(delay) }
                if let jitter = form.text("jitter") { account.pacing.jitterSeconds = try DurationText.seconds(jitter) }
                if let guardText = form.text("guard") { account.guardSeconds = try DurationText.seconds(guardText) }
                account.pacing.dailyCap = try form.text("dailyCap").map { text in
                    guard let cap = Int(text), cap >= 0 else { throw HTTPError(.badRequest, message: "the daily cap must be a whole number (0: no cap)") }
                    return cap
                }
                account.pacing.window = try form.text("window").map { try SendingWindow(parsing: $0) }
                try await registry.update(account)
            } catch let error as HTTPError {
                throw error
            } catch {
                return message("The settings were not saved", try ErrorText.forRequest(error), link: "/accounts", session: context.session, status: .badRequest)
            }
            return Response.redirect(to: "/accounts")
        }

        router.post("/api/accounts/test") { request, context in
            try context.access().requireAdmin()
            var request = request
            let fields = try await Self.jsonBody([String: String].self, &request, context)
            let (account, password) = try Self.account(from: FormData(fields: fields))
            let check = await AccountCheck.run(account: account, credential: .password(password), logger: logger)
            struct Result: Encodable {
                let ok: Bool
                let lines: [String]
            }
            return try Self.json(Result(ok: check.succeeded, lines: check.lines))
        }
    }

    /// An account from the add form; the password never leaves this request except sealed in the store.
    static func account(from form: FormData) throws -> (Account, Secret) {
        do {
            guard let email = form.text("email"), let smtp = form.text("smtp"), let imap = form.text("imap"), let password = form["password"], !password.isEmpty else {
                throw HTTPError(.badRequest, message: "address, SMTP URL, IMAP URL and password are all needed")
            }
            let account = Account(
                email: try EmailAddress(parsing: email), displayName: try displayName(from: form), username: form.text("username"),
                smtp: try ServerEndpoint(parsing: smtp, as: .smtp), imap: try ServerEndpoint(parsing: imap, as: .imap), trust: TLSTrust(caFile: form.text("caFile"))
            )
            return (account, Secret(password))
        } catch let error as HTTPError {
            throw error
        } catch {
            throw HTTPError(.badRequest, message: try ErrorText.forRequest(error))
        }
    }

    /// The name shown in From: one line (a line break would start another header of the messages it sends).
    static func displayName(from form: FormData) throws -> String? {
        guard let name = form.text("name") else { return nil }
        guard !name.contains(where: { $0.isNewline }) else {
            throw HTTPError(.badRequest, message: "The display name must be one line: it may not contain a line break.")
        }
        return name
    }
}
