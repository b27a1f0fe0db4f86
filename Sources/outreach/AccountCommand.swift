import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine
import OutreachTransport

struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Add, list, test and remove sending accounts.",
        subcommands: [Add.self, ConnectGmail.self, ConnectOAuth.self, Settings.self, List.self, Test.self, Remove.self]
    )
}

extension AccountCommand {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an SMTP+IMAP account. The password is read from standard input or a prompt and stored encrypted.",
            discussion: """
                smtps://host:465 uses TLS from the start; smtp://host:587 must upgrade with STARTTLS (a server that \
                does not offer it is refused). imaps:// and imap:// likewise. Certificates are checked against the \
                system trust store, or against --ca-file for a private CA.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The sending address.") var email: String
        @Option(help: ArgumentHelp("The SMTP server, e.g. smtps://smtp.example.com:465.", valueName: "url")) var smtp: String
        @Option(help: ArgumentHelp("The IMAP server, e.g. imaps://imap.example.com:993.", valueName: "url")) var imap: String
        @Option(help: "The login, when it is not the address itself.") var username: String?
        @Option(help: "The display name prospects see in From.") var name: String?
        @Option(name: .customLong("ca-file"), help: ArgumentHelp("PEM file of CA certificates to trust for this account's servers.", valueName: "pem"))
        var caFile: String?
        @Flag(help: "Do not verify the servers' TLS certificates (a warning is logged on every connection).") var insecure = false
        @Flag(
            inversion: .prefixedNo,
            help: "Append a copy of each sent message to Sent (default: on, except for providers that file it themselves). Turn it off only for such a server: Outreach then also trusts Sent to tell whether a message interrupted by a crash went out."
        )
        var copyToSent: Bool?
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false

        func validate() throws {
            do { _ = try EmailAddress(parsing: email) } catch { throw ValidationError("\(error)") }
            do { _ = try ServerEndpoint(parsing: smtp, as: .smtp) } catch { throw ValidationError("--smtp: \(error)") }
            do { _ = try ServerEndpoint(parsing: imap, as: .imap) } catch { throw ValidationError("--imap: \(error)") }
            if let name, name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                throw ValidationError("--name must be a single line")
            }
        }

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            let address = try EmailAddress(parsing: email)
            let caPath = caFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            let account = Account(
                email: address, displayName: name, username: username, smtp: try ServerEndpoint(parsing: smtp, as: .smtp),
                imap: try ServerEndpoint(parsing: imap, as: .imap), trust: TLSTrust(caFile: caPath, allowInsecure: insecure), copyToSent: copyToSent
            )
            let password = Secret(try PasswordInput.read(fromStandardInput: passwordStdin, prompt: "Password for \(account.username): "))
            let stored = try await registry.add(account, password: password)
            print("Added \(stored.email) (SMTP \(stored.smtp), IMAP \(stored.imap.map(\.description) ?? "none")). Check it with: outreach account test \(stored.email)")
        }
    }

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Change an account's pacing and settings.",
            discussion: "Durations are written like 30s, 2m, 1h30m or 500ms; 0 turns the pause off. The password is not changed here."
        )

        @OptionGroup var global: GlobalOptions
        @Argument var email: String
        @Option(help: ArgumentHelp("Fixed pause between two messages (default 30s).", valueName: "duration")) var delay: String?
        @Option(help: ArgumentHelp("Random extra pause, 0 up to this (default 15s).", valueName: "duration")) var jitter: String?
        @Option(help: "The display name prospects see in From.") var name: String?
        @Option(name: .customLong("ca-file"), help: ArgumentHelp("PEM file of CA certificates to trust.", valueName: "pem")) var caFile: String?
        @Flag(
            inversion: .prefixedNo,
            help: "Append a copy of each sent message to Sent. Turn it off only for a server that files sent mail itself: Outreach then also trusts Sent to tell whether a message interrupted by a crash went out."
        )
        var copyToSent: Bool?
        @Option(name: .customLong("daily-cap"), help: ArgumentHelp("At most this many messages in any 24 hours (0: no cap; default: the provider's limit).", valueName: "n"))
        var dailyCap: Int?
        @Option(name: .customLong("guard"), help: ArgumentHelp("Minimum gap between this account's jobs (default 2h; 0 turns it off).", valueName: "duration"))
        var guardWindow: String?
        @Option(help: ArgumentHelp("Send only inside this window, e.g. \"Mon-Fri 09:00-17:00 Europe/Berlin\"; \"\" removes it.", valueName: "window"))
        var window: String?

        func validate() throws {
            if let dailyCap, dailyCap < 0 { throw ValidationError("--daily-cap must be 0 or more") }
            if let window, !window.isEmpty { do { _ = try SendingWindow(parsing: window) } catch { throw ValidationError("--window: \(error)") } }
            for (flag, value) in [("--delay", delay), ("--jitter", jitter), ("--guard", guardWindow)] {
                if let value { do { _ = try DurationText.seconds(value) } catch { throw ValidationError("\(flag): \(error)") } }
            }
            if let name, name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) { throw ValidationError("--name must be a single line") }
        }

        func run() async throws {
            let context = try CommandContext(global)
            let registry = try context.accountRegistry(database: try await context.openDatabase())
            var account = try await registry.account(email: email)
            if let delay { account.pacing.delaySeconds = try DurationText.seconds(delay) }
            if let jitter { account.pacing.jitterSeconds = try DurationText.seconds(jitter) }
            if let name { account.displayName = name.isEmpty ? nil : name }
            if let caFile { account.trust.caFile = caFile.isEmpty ? nil : URL(fileURLWithPath: caFile).standardizedFileURL.path }
            if let copyToSent { account.copyToSent = copyToSent }
            if let dailyCap { account.pacing.dailyCap = dailyCap }
            if let guardWindow { account.guardSeconds = try DurationText.seconds(guardWindow) }
            if let window { account.pacing.window = window.isEmpty ? nil : try SendingWindow(parsing: window) }
            try await registry.update(account)
            let cap = account.dailyCap.limit == 0 ? "no daily cap" : "at most \(account.dailyCap.limit) a day"
            let guardText = account.guardSeconds == 0 ? "no guard window" : "jobs \(DurationText.format(seconds: account.guardSeconds)) apart"
            print(
                "\(account.email): pause \(DurationText.format(seconds: account.pacing.delaySeconds)) + up to \(DurationText.format(seconds: account.pacing.jitterSeconds)) between messages; "
                    + "\(cap); \(guardText); \(account.pacing.window.map { "sending \($0)" } ?? "sending any time"); copy to Sent \(account.copyToSent ? "on" : "off")."
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts. Passwords are never shown.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable {
            let email: String
            let name: String?
            let username: String
            let smtp: String
            /// Nil for an SMTP-only account.
            let imap: String?
            let caFile: String?
            let insecureTLS: Bool
            let copyToSent: Bool
            let delay: String
            let jitter: String
            let dailyCap: Int
            let guardWindow: String
            let window: String?
            let origin: String
            /// `smtp-imap` or `gmail-api`.
            let provider: String
            /// `password` or `oauth`.
            let auth: String
            /// Why the account must be connected again, when its OAuth grant was refused.
            let needsReconnect: String?
        }

        func run() async throws {
            let context = try CommandContext(global)
            let registry = try context.accountRegistry(database: try await context.openDatabase())
            let accounts = try await registry.all()
            let rows = accounts.map {
                Row(
                    email: $0.email.description, name: $0.displayName, username: $0.username, smtp: $0.smtp.url, imap: $0.imap?.url,
                    caFile: $0.trust.caFile, insecureTLS: $0.trust.allowInsecure, copyToSent: $0.copyToSent,
                    delay: DurationText.format(seconds: $0.pacing.delaySeconds), jitter: DurationText.format(seconds: $0.pacing.jitterSeconds),
                    dailyCap: $0.dailyCap.limit, guardWindow: DurationText.format(seconds: $0.guardSeconds), window: $0.pacing.window?.description,
                    origin: $0.origin.rawValue, provider: $0.provider.rawValue, auth: $0.oauth == nil ? "password" : "oauth",
                    needsReconnect: $0.oauth?.needsReconnect
                )
            }
            if json {
                try printJSON(rows)
                return
            }
            if rows.isEmpty {
                print("No accounts yet. Add one with: outreach account add EMAIL --smtp URL --imap URL")
                return
            }
            print(TextTable(
                header: ["EMAIL", "NAME", "SENDS VIA", "READS VIA", "PACING", "CAP/DAY", "GUARD", "WINDOW", "FROM", "STATUS"],
                rows: rows.map {
                    let gmail = $0.provider == Account.Provider.gmailAPI.rawValue
                    return [
                        $0.email, $0.name ?? "", gmail ? "Gmail API" : $0.smtp + ($0.auth == "oauth" ? " (XOAUTH2)" : ""),
                        gmail ? "Gmail API history" : $0.imap.map { [oauth = $0.auth == "oauth"] in $0 + (oauth ? " (XOAUTH2)" : "") } ?? "none (SMTP only)", "\($0.delay)+\($0.jitter)",
                        $0.dailyCap == 0 ? "none" : String($0.dailyCap), $0.guardWindow, $0.window ?? "any time", $0.origin == "environment" ? ".env" : "database",
                        $0.needsReconnect == nil ? "ok" : "needs reconnecting",
                    ]
                }
            ).rendered)
            for row in rows { if let reason = row.needsReconnect { print("\n\(reason)") } }
            for account in accounts where account.imap == nil && account.provider == .smtpIMAP { print("\n\(AccountCheck.smtpOnlyNote(account))") }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log in to the account's SMTP and IMAP servers and list the special-use folders found. Sends nothing."
        )

        @OptionGroup var global: GlobalOptions
        @Argument var email: String
        @Flag(help: "Print JSON.") var json = false

        struct Report: Encodable {
            struct Part: Encodable {
                let server: String
                let ok: Bool
                let detail: String
                let errorKind: String?
            }
            let email: String
            let smtp: Part
            /// Null for an SMTP-only account.
            let imap: Part?
            let folders: [String: String]
        }

        func run() async throws {
            let context = try CommandContext(global)
            let registry = try context.accountRegistry(database: try await context.openDatabase())
            let account = try await registry.account(email: email)
            if account.provider == .gmailAPI {
                try await testGmail(account, registry: registry, context: context)
                return
            }
            let check = await AccountCheck.run(account: account, credential: try await registry.credential(for: account, logger: context.logger), logger: context.logger)

            let smtpPart: Report.Part
            switch check.smtp.outcome {
            case .success(let reply):
                smtpPart = .init(server: account.smtp.url, ok: true, detail: "logged in as \(account.username); server answered \(reply.summary)", errorKind: nil)
            case .failure(let error):
                smtpPart = .init(server: account.smtp.url, ok: false, detail: error.description, errorKind: error.kind.rawValue)
            }
            var folders: [String: String] = [:]
            let imapPart: Report.Part?
            switch check.imap.map({ ($0.endpoint, $0.outcome) }) {
            case (let endpoint, .success(let found))?:
                for use in AccountCheck.reportedUses { if let name = found.specialFolders[use] { folders[use.title] = name } }
                imapPart = .init(server: endpoint.url, ok: true, detail: "logged in as \(account.username); \(found.mailboxes.count) folders", errorKind: nil)
            case (let endpoint, .failure(let error))?:
                imapPart = .init(server: endpoint.url, ok: false, detail: error.description, errorKind: error.kind.rawValue)
            case nil:
                imapPart = nil
            }

            if json {
                try printJSON(Report(email: account.email.description, smtp: smtpPart, imap: imapPart, folders: folders))
            } else {
                for line in check.lines { print(line) }
            }
            if !check.succeeded { throw ExitCode.failure }
        }

        /// A Gmail API account: can its grant still get a token, and does the API open the right mailbox?
        func testGmail(_ account: Account, registry: AccountRegistry, context: CommandContext) async throws {
            let (api, http) = try registry.gmailAPI(for: account, logger: context.logger)
            let outcome: Result<GmailProfile, TransportError>
            do { outcome = .success(try await api.profile()) } catch { outcome = .failure(error) }
            await http.close()
            let scopes = account.oauth?.scopes.joined(separator: " ") ?? ""
            struct Report: Encodable {
                let email: String
                let ok: Bool
                let detail: String
                let errorKind: String?
                let scopes: String
            }
            let report: Report
            switch outcome {
            case .success(let profile):
                report = Report(
                    email: account.email.description, ok: profile.emailAddress.lowercased() == account.email.normalized,
                    detail: "Gmail API: OK — mailbox \(profile.emailAddress), history id \(profile.historyID)", errorKind: nil, scopes: scopes
                )
            case .failure(let error):
                report = Report(email: account.email.description, ok: false, detail: "Gmail API: FAILED — \(error.description)", errorKind: error.kind.rawValue, scopes: scopes)
            }
            if json {
                try printJSON(report)
            } else {
                print(report.detail)
                print("  granted scopes: \(scopes)")
            }
            if !report.ok { throw ExitCode.failure }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an account and its stored password.")

        @OptionGroup var global: GlobalOptions
        @Argument var email: String

        func run() async throws {
            let context = try CommandContext(global)
            let registry = try context.accountRegistry(database: try await context.openDatabase())
            // An OAuth account's grant is withdrawn at the provider too: a copy of the database must not keep working.
            switch try await registry.remove(email: email, logger: context.logger) {
            case .notOAuth: print("Removed \(email).")
            case .revoked: print("Removed \(email) and withdrew Outreach's access at the provider.")
            case .noEndpoint: print("Removed \(email). Withdraw Outreach's access in the provider's account settings too.")
            case .failed(let why):
                print("Removed \(email), but Outreach's access could not be withdrawn at the provider (\(why)); withdraw it in the account's security settings (for Google: https://myaccount.google.com/permissions).")
            }
        }
    }
}
