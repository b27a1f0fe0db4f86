import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine
import OutreachTransport

/// The OAuth options both connect commands share: which client, which provider endpoints, how long to wait.
struct OAuthClientOptions: ParsableArguments {
    @Option(name: .customLong("client-id"), help: ArgumentHelp("The OAuth client id (a Desktop app client). Default: GMAIL_CLIENT_ID.", valueName: "id"))
    var clientID: String?
    @Flag(name: .customLong("client-secret-stdin"), help: "Read the client secret from standard input (default: GMAIL_CLIENT_SECRET, if set).")
    var clientSecretStdin = false
    @Option(help: ArgumentHelp("Space-separated scopes to ask for.", valueName: "scopes")) var scopes: String?
    @Option(name: .customLong("auth-url"), help: ArgumentHelp("The provider's authorization endpoint (default: Google's).", valueName: "url"))
    var authURL: String?
    @Option(name: .customLong("token-url"), help: ArgumentHelp("The provider's token endpoint (default: Google's).", valueName: "url"))
    var tokenURL: String?
    @Option(help: ArgumentHelp("Seconds to wait for the browser to come back (default 300).", valueName: "seconds")) var timeout: Int = 300

    func client(_ context: CommandContext) throws -> OAuthClient {
        guard let id = clientID ?? context.settings["GMAIL_CLIENT_ID"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ValidationError("no OAuth client: pass --client-id (a \"Desktop app\" client from the Google Cloud console) or set GMAIL_CLIENT_ID")
        }
        var secret: Secret?
        if clientSecretStdin {
            secret = Secret(try PasswordInput.read(fromStandardInput: true, prompt: ""))
        } else if let fromSettings = context.settings["GMAIL_CLIENT_SECRET"], !fromSettings.isEmpty {
            secret = Secret(fromSettings)
        }
        return OAuthClient(
            clientID: id, clientSecret: secret,
            authURL: authURL ?? context.settings["OUTREACH_OAUTH_AUTH_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? OAuthClient.googleAuthURL,
            tokenURL: tokenURL ?? context.settings["OUTREACH_OAUTH_TOKEN_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? OAuthClient.googleTokenURL
        )
    }

    func scopeList(_ context: CommandContext, default defaults: [String]) -> [String] {
        let text = scopes ?? context.settings["GMAIL_SCOPES"] ?? ""
        let list = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        return list.isEmpty ? defaults : list
    }

    /// Runs the installed-app flow: prints the consent URL, waits for the browser on the loopback redirect.
    func authorize(_ client: OAuthClient, scopes: [String], email: EmailAddress, context: CommandContext) async throws -> OAuthTokens {
        let http = HTTPClient(label: "oauth", logger: context.logger)
        let flow = OAuthLoopbackFlow(client: client, scopes: scopes, loginHint: email.description, http: http, timeoutSeconds: timeout)
        do {
            let tokens = try await flow.run { url in
                print("Open this page in a browser and allow access for \(email):")
                print("  \(url)")
                print("Waiting up to \(timeout) s for the browser to come back to this machine (Ctrl-C gives up; nothing is stored until then).")
                fflush(nil)  // every stream: the consent URL must reach a pipe now, not when the buffer fills
            }
            await http.close()
            return tokens
        } catch {
            await http.close()
            throw ValidationError(error.description)
        }
    }
}

extension AccountCommand {
    struct ConnectGmail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "connect-gmail",
            abstract: "Connect a Gmail account over the Gmail API with OAuth (sends, drafts and syncs through the API).",
            discussion: """
                Prints Google's consent page, listens on http://127.0.0.1:<free port> for the browser's answer, and stores \
                the refresh token encrypted. Use a "Desktop app" OAuth client. Run it again to reconnect an account that \
                "needs reconnecting". Default scopes: gmail.compose (send + drafts) and gmail.metadata (headers only); \
                with gmail.readonly instead of gmail.metadata the sync can also read bounce bodies and search.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The Gmail or Google Workspace address.") var email: String
        @OptionGroup var oauth: OAuthClientOptions
        @Option(name: .customLong("api-base"), help: ArgumentHelp("The Gmail API's base URL (default: https://gmail.googleapis.com).", valueName: "url"))
        var apiBase: String?
        @Option(help: "The display name prospects see in From.") var name: String?

        func validate() throws {
            do { _ = try EmailAddress(parsing: email) } catch { throw ValidationError("\(error)") }
        }

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            let address = try EmailAddress(parsing: email)
            let client = try oauth.client(context)
            let scopes = oauth.scopeList(context, default: OAuthSettings.defaultGmailScopes)
            let tokens = try await oauth.authorize(client, scopes: scopes, email: address, context: context)
            let account = try await OAuthConnector(registry: registry, logger: context.logger).completeGmail(
                email: address, displayName: name, tokens: tokens, client: client, apiBase: apiBase ?? registry.gmail.apiBase
            )
            print("Connected \(account.email) (Gmail API; granted: \(tokens.scopes.joined(separator: " "))).")
            print("Sync it with: outreach sync --account \(account.email)")
        }
    }

    struct ConnectOAuth: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "connect-oauth",
            abstract: "Add (or reconnect) an SMTP+IMAP account that logs in with OAuth (XOAUTH2) instead of a password.",
            discussion: """
                For Google Workspace or Microsoft 365 mailboxes that no longer accept passwords. Google's endpoints and \
                the https://mail.google.com/ scope are the default; for Microsoft 365 pass --auth-url, --token-url and \
                --scopes "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access".
                """
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The sending address.") var email: String
        @Option(help: ArgumentHelp("The SMTP server, e.g. smtps://smtp.gmail.com:465.", valueName: "url")) var smtp: String
        @Option(help: ArgumentHelp("The IMAP server, e.g. imaps://imap.gmail.com:993.", valueName: "url")) var imap: String
        @Option(help: "The login, when it is not the address itself.") var username: String?
        @Option(help: "The display name prospects see in From.") var name: String?
        @Option(name: .customLong("ca-file"), help: ArgumentHelp("PEM file of CA certificates to trust for this account's servers.", valueName: "pem"))
        var caFile: String?
        @OptionGroup var oauth: OAuthClientOptions

        func validate() throws {
            do { _ = try EmailAddress(parsing: email) } catch { throw ValidationError("\(error)") }
            do { _ = try ServerEndpoint(parsing: smtp, as: .smtp) } catch { throw ValidationError("--smtp: \(error)") }
            do { _ = try ServerEndpoint(parsing: imap, as: .imap) } catch { throw ValidationError("--imap: \(error)") }
        }

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            let address = try EmailAddress(parsing: email)
            let account = Account(
                email: address, displayName: name, username: username, smtp: try ServerEndpoint(parsing: smtp, as: .smtp),
                imap: try ServerEndpoint(parsing: imap, as: .imap),
                trust: TLSTrust(caFile: caFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
            )
            let client = try oauth.client(context)
            let tokens = try await oauth.authorize(client, scopes: oauth.scopeList(context, default: [OAuthSettings.googleMailScope]), email: address, context: context)
            let stored = try await OAuthConnector(registry: registry, logger: context.logger).completeMailServers(account, tokens: tokens, client: client)
            print("Connected \(stored.email) (SMTP \(stored.smtp), IMAP \(stored.imap.map(\.description) ?? "none"), XOAUTH2). Check it with: outreach account test \(stored.email)")
        }
    }
}
