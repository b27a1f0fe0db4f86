import ArgumentParser
import Foundation
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore
import OutreachWeb

extension Outreach {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the web UI, the JSON API, the job worker and the sync timer in one process.",
            discussion: """
                On the embedded SQLite database by default; nothing else to start. The first admin comes from \
                `outreach user add EMAIL --admin`, or from ADMIN_USERNAME and ADMIN_PASSWORD in the environment or .env. \
                OUTREACH_SYNC_EVERY (default 5m) sets the sync timer; OUTREACH_SECURE_COOKIES=1 marks cookies Secure \
                (set it behind an HTTPS proxy that does not send X-Forwarded-Proto); OUTREACH_TRUST_PROXY=1 counts failed \
                sign-ins by the X-Forwarded-For address the proxy adds (only behind such a proxy). OUTREACH_PUBLIC_URL is the \
                address browsers use (https://outreach.example.com): "Connect with Google" sends Google's answer there. \
                OUTREACH_HTTP_HEADER_TIMEOUT (default 10s) closes a new connection that has not sent its request headers by then; \
                OUTREACH_HTTP_IDLE_TIMEOUT (default 60s) closes one without traffic for that long. SIGTERM stops cleanly: running \
                jobs stop between two rows and continue at the next start.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "The port (0: any free port, printed at start).") var port: Int = 8080
        @Option(help: "The address to listen on; 0.0.0.0 for every interface (put it behind HTTPS then).") var host: String = "127.0.0.1"
        @Flag(help: "Run no job worker here (run `outreach worker` processes instead).") var noWorker = false
        @Flag(help: "Run no sync timer here (run `outreach sync --watch` instead).") var noSync = false

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            context.printSeedNotices()
            try await UserCommand.ensureAdminFromSettings(context, database: database)
            if try await database.users.userCount() == 0 {
                context.say("No users yet: create the first admin with `outreach user add EMAIL --admin` (or set ADMIN_USERNAME and ADMIN_PASSWORD).", level: .warning)
            }
            let secure = ["1", "true", "yes"].contains(context.settings["OUTREACH_SECURE_COOKIES"]?.lowercased() ?? "")
            let trustProxy = ["1", "true", "yes"].contains(context.settings["OUTREACH_TRUST_PROXY"]?.lowercased() ?? "")
            var publicURL: PublicURL?
            if let text = context.settings["OUTREACH_PUBLIC_URL"], !text.isEmpty {
                do { publicURL = try PublicURL(parsing: text) } catch { throw ValidationError(error.description) }
            }
            let web = try WebApp(
                database: database, registry: registry, logger: context.logger, secureCookies: secure, trustProxy: trustProxy,
                google: GoogleOAuthSettings(settings: context.settings), publicURL: publicURL, timeouts: try Self.timeouts(context.settings),
                csvImport: try CSVImportSettings(settings: context.settings)
            )
            let every = try context.settings["OUTREACH_SYNC_EVERY"].flatMap { $0.isEmpty ? nil : $0 }.map { try DurationText.seconds($0) } ?? 300
            let host = host
            let worker = noWorker ? nil : try context.worker(database: database, registry: registry)
            try await web.serve(host: host, port: port, worker: worker, syncEverySeconds: noSync ? nil : max(10, every)) { port in
                // Unbuffered: scripts and tests wait for this line.
                FileHandle.standardOutput.write(Data("Outreach is listening on http://\(host):\(port)\n".utf8))
            }
        }

        /// OUTREACH_HTTP_HEADER_TIMEOUT and OUTREACH_HTTP_IDLE_TIMEOUT ("10s", "2m"), else the defaults.
        static func timeouts(_ settings: [String: String]) throws -> HTTPTimeouts {
            func seconds(_ key: String, _ fallback: Duration) throws -> Duration {
                guard let text = settings[key], !text.isEmpty else { return fallback }
                let value = try DurationText.seconds(text)
                guard value > 0 else { throw ValidationError("\(key) must be longer than 0 seconds") }
                return .milliseconds(Int64(value * 1000))
            }
            return HTTPTimeouts(header: try seconds("OUTREACH_HTTP_HEADER_TIMEOUT", HTTPTimeouts.default.header), idle: try seconds("OUTREACH_HTTP_IDLE_TIMEOUT", HTTPTimeouts.default.idle))
        }
    }

    struct UserCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "user", abstract: "Web users: add them and grant them sending accounts.", subcommands: [Add.self, Grant.self, Revoke.self, Remove.self, List.self]
        )

        /// ADMIN_USERNAME / ADMIN_PASSWORD (the seed's names) create the first admin when no such user exists yet.
        /// Values that cannot make an admin (the seed's `admin` / `change_me`) are reported with what to change, and
        /// `serve` starts without that admin.
        static func ensureAdminFromSettings(_ context: CommandContext, database: Stores) async throws {
            let settings = context.settings
            guard let email = settings["ADMIN_USERNAME"], !email.isEmpty, let password = settings["ADMIN_PASSWORD"], !password.isEmpty else { return }
            guard try await database.users.user(email: email) == nil else { return }
            func skip(_ reason: String) {
                context.say("The admin from ADMIN_USERNAME/ADMIN_PASSWORD was not created: \(reason). Or create one with `outreach user add EMAIL --admin`.", level: .warning)
            }
            do { _ = try EmailAddress(parsing: email) } catch {
                return skip("ADMIN_USERNAME=\(email) is not an email address (\(error)); web users sign in with their email: set ADMIN_USERNAME=you@example.com")
            }
            if password == "change_me" || password == "changeme" {
                return skip("ADMIN_PASSWORD is still the example's placeholder (\(password)): set a password of your own, at least 10 characters")
            }
            if let problem = Passwords.problem(with: password) { return skip("ADMIN_PASSWORD is not accepted (\(problem)): set a longer one") }
            _ = try await database.users.insert(User(email: email, role: .admin), passwordHash: await Passwords.hash(password))
            context.say("Created the admin \(email.lowercased()) from ADMIN_USERNAME/ADMIN_PASSWORD.", level: .notice)
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add a web user (an admin with --admin).")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The user's email address (their login).") var email: String
            @Flag(help: "An admin: sees everything, manages users and accounts.") var admin = false
            @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false

            func run() async throws {
                let database = try await CommandContext(global).openDatabase()
                do { _ = try EmailAddress(parsing: email) } catch { throw ValidationError("\(error)") }
                let password = try PasswordInput.read(fromStandardInput: passwordStdin, prompt: "Password for \(email): ")
                if let problem = Passwords.problem(with: password) { throw ValidationError(problem) }
                let user = try await database.users.insert(User(email: email, role: admin ? .admin : .user), passwordHash: await Passwords.hash(password))
                print("Added \(user.role.rawValue) \(user.email).\(admin ? "" : " Grant accounts with: outreach user grant \(user.email) ACCOUNT")")
            }
        }

        struct Grant: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Let a user send from an account.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var pair: UserAndAccount

            func run() async throws {
                let database = try await CommandContext(global).openDatabase()
                let (user, account) = try await pair.find(in: database)
                try await database.users.grant(userID: user.id!, accountID: account.id!)
                print("\(user.email) may now send from \(account.email).")
            }
        }

        /// USER ACCOUNT, as `grant` and `revoke` take them.
        struct UserAndAccount: ParsableArguments {
            @Argument(help: "The user.") var email: String
            @Argument(help: "The sending account.") var account: String

            /// Both, stored (with ids), or an error naming the one that does not exist.
            func find(in database: Stores) async throws -> (User, Account) {
                guard let user = try await database.users.user(email: email), user.id != nil else { throw UserStoreError.userNotFound(email: email) }
                guard let found = try await database.accounts.account(email: account), found.id != nil else { throw StoreError.accountNotFound(email: account) }
                return (user, found)
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Stop a user sending from an account; their jobs on it that have not ended are cancelled."
            )
            @OptionGroup var global: GlobalOptions
            @OptionGroup var pair: UserAndAccount

            func run() async throws {
                let database = try await CommandContext(global).openDatabase()
                let (user, account) = try await pair.find(in: database)
                let cancelled = try await UserAccess(users: database.users, jobs: database.jobs).revoke(user, from: account)
                print("\(user.email) may no longer send from \(account.email); \(UserAccess.cancelledText(cancelled)).")
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove a web user; their jobs that have not ended are cancelled, their campaigns stay (for the admins)."
            )
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The user.") var email: String

            func run() async throws {
                let database = try await CommandContext(global).openDatabase()
                guard let user = try await database.users.user(email: email), user.id != nil else { throw UserStoreError.userNotFound(email: email) }
                let cancelled = try await UserAccess(users: database.users, jobs: database.jobs).remove(user)
                print("Removed \(user.email); \(UserAccess.cancelledText(cancelled)).")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the web users and their accounts.")
            @OptionGroup var global: GlobalOptions
            @Flag(help: "Print JSON.") var json = false

            func run() async throws {
                let database = try await CommandContext(global).openDatabase()
                struct Row: Encodable {
                    let email: String
                    let role: String
                    let accounts: [String]
                }
                var rows: [Row] = []
                let accounts = try await database.accounts.allAccounts()
                for user in try await database.users.allUsers() {
                    let granted = try await database.users.grantedAccountIDs(userID: user.id ?? 0)
                    rows.append(Row(email: user.email, role: user.role.rawValue, accounts: user.isAdmin ? ["(all)"] : accounts.filter { granted.contains($0.id ?? 0) }.map(\.email.description)))
                }
                if json { return try printJSON(rows) }
                if rows.isEmpty { return print("No users yet: outreach user add EMAIL --admin") }
                print(TextTable(header: ["USER", "ROLE", "ACCOUNTS"], rows: rows.map { [$0.email, $0.role, $0.accounts.joined(separator: ", ")] }).rendered)
            }
        }
    }
}
