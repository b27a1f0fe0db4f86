import ArgumentParser
import Foundation
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
                sign-ins by the X-Forwarded-For address the proxy adds (only behind such a proxy). SIGTERM stops cleanly: running \
                jobs stop between two rows and continue at the next start.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "The port (0: any free port, printed at start).") var port: Int = 8080
        @Option(help: "The address to listen on; 0.0.0.0 for every interface (put it behind HTTPS then).") var host: String = "127.0.0.1"

        func run() async throws {
            let context = try CommandContext(global)
            let database = try context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            try await UserCommand.ensureAdminFromSettings(context.settings, database: database)
            if try await database.users.userCount() == 0 {
                FileHandle.standardError.write(Data("No users yet: create the first admin with `outreach user add EMAIL --admin` (or set ADMIN_USERNAME and ADMIN_PASSWORD).\n".utf8))
            }
            let secure = ["1", "true", "yes"].contains(context.settings["OUTREACH_SECURE_COOKIES"]?.lowercased() ?? "")
            let trustProxy = ["1", "true", "yes"].contains(context.settings["OUTREACH_TRUST_PROXY"]?.lowercased() ?? "")
            let web = try WebApp(
                database: database, registry: registry, logger: context.logger, secureCookies: secure, trustProxy: trustProxy,
                google: GoogleOAuthSettings(settings: context.settings), csvImport: try CSVImportSettings(settings: context.settings)
            )
            let every = try context.settings["OUTREACH_SYNC_EVERY"].flatMap { $0.isEmpty ? nil : $0 }.map { try DurationText.seconds($0) } ?? 300
            let host = host
            try await web.serve(host: host, port: port, worker: try context.worker(database: database, registry: registry), syncEverySeconds: max(10, every)) { port in
                // Unbuffered: scripts and tests wait for this line.
                FileHandle.standardOutput.write(Data("Outreach is listening on http://\(host):\(port)\n".utf8))
            }
        }
    }

    struct UserCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "user", abstract: "Web users: add them and grant them sending accounts.", subcommands: [Add.self, Grant.self, List.self]
        )

        /// ADMIN_USERNAME / ADMIN_PASSWORD (the seed's names) create the first admin when no such user exists yet.
        static func ensureAdminFromSettings(_ settings: [String: String], database: SQLiteDatabase) async throws {
            guard let email = settings["ADMIN_USERNAME"], !email.isEmpty, let password = settings["ADMIN_PASSWORD"], !password.isEmpty else { return }
            guard try await database.users.user(email: email) == nil else { return }
            if let problem = Passwords.problem(with: password) { throw ValidationError("ADMIN_PASSWORD: \(problem)") }
            _ = try await database.users.insert(User(email: email, role: .admin), passwordHash: await Passwords.hash(password))
            FileHandle.standardError.write(Data("Created the admin \(email.lowercased()) from ADMIN_USERNAME/ADMIN_PASSWORD.\n".utf8))
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add a web user (an admin with --admin).")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The user's email address (their login).") var email: String
            @Flag(help: "An admin: sees everything, manages users and accounts.") var admin = false
            @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false

            func run() async throws {
                let database = try CommandContext(global).openDatabase()
                guard email.contains("@") else { throw ValidationError("'\(email)' is not an email address") }
                let password = try PasswordInput.read(fromStandardInput: passwordStdin, prompt: "Password for \(email): ")
                if let problem = Passwords.problem(with: password) { throw ValidationError(problem) }
                let user = try await database.users.insert(User(email: email, role: admin ? .admin : .user), passwordHash: await Passwords.hash(password))
                print("Added \(user.role.rawValue) \(user.email).\(admin ? "" : " Grant accounts with: outreach user grant \(user.email) ACCOUNT")")
            }
        }

        struct Grant: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Let a user send from an account.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The user.") var email: String
            @Argument(help: "The sending account.") var account: String

            func run() async throws {
                let database = try CommandContext(global).openDatabase()
                guard let user = try await database.users.user(email: email), let userID = user.id else { throw UserStoreError.userNotFound(email: email) }
                guard let found = try await database.accounts.account(email: account), let accountID = found.id else { throw StoreError.accountNotFound(email: account) }
                try await database.users.grant(userID: userID, accountID: accountID)
                print("\(user.email) may now send from \(found.email).")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the web users and their accounts.")
            @OptionGroup var global: GlobalOptions
            @Flag(help: "Print JSON.") var json = false

            func run() async throws {
                let database = try CommandContext(global).openDatabase()
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
