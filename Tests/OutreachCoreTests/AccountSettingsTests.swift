import OutreachCore
import Testing

struct AccountSettingsTests {
    @Test(arguments: [
        ("smtps://smtp.example.com", ServerEndpoint.Security.implicitTLS, 465),
        ("smtp://smtp.example.com", .startTLS, 587),
        ("SMTP://Smtp.Example.com:2525/", .startTLS, 2525),
        ("smtps://[::1]:4650", .implicitTLS, 4650),
    ])
    func smtpURLs(url: String, security: ServerEndpoint.Security, port: Int) throws {
        let endpoint = try ServerEndpoint(parsing: url, as: .smtp)
        #expect(endpoint.security == security)
        #expect(endpoint.port == port)
        #expect(endpoint.host == endpoint.host.lowercased())
    }

    @Test func imapURLsDefaultPorts() throws {
        #expect(try ServerEndpoint(parsing: "imaps://imap.example.com", as: .imap).port == 993)
        #expect(try ServerEndpoint(parsing: "imap://imap.example.com", as: .imap).security == .startTLS)
    }

    @Test("a URL for the wrong service or without a scheme says what is expected")
    func badURLs() {
        #expect(throws: ServerEndpoint.Invalid.self) { try ServerEndpoint(parsing: "imaps://imap.example.com", as: .smtp) }
        do {
            _ = try ServerEndpoint(parsing: "smtp.example.com:587", as: .smtp)
            Issue.record("accepted a URL without scheme")
        } catch {
            #expect(error.description.contains("smtps://"))
        }
        #expect(throws: ServerEndpoint.Invalid.self) { try ServerEndpoint(parsing: "smtp://user@smtp.example.com", as: .smtp) }
        #expect(throws: ServerEndpoint.Invalid.self) { try ServerEndpoint(parsing: "smtp://smtp.example.com:99999", as: .smtp) }
        #expect(throws: ServerEndpoint.Invalid.self) { try ServerEndpoint(parsing: "http://example.com", as: .smtp) }
    }

    @Test(arguments: ["anna@example.com", " <Anna.Smith+tag@Example.co.uk> ", "o'brien@example.ie", "x@bücher.de"])
    func validAddresses(raw: String) {
        #expect(EmailAddress.isValid(raw))
    }

    @Test(arguments: ["", "anna", "anna@", "@example.com", "anna@@example.com", "anna smith@example.com", "anna@example", "anna@-example.com",
                      "anna@exa mple.com", "\"quoted\"@example.com", String(repeating: "a", count: 65) + "@example.com"])
    func invalidAddresses(raw: String) {
        #expect(!EmailAddress.isValid(raw))
    }

    @Test("the seed's .env describes a default account; TLS stays on")
    func environmentAccount() throws {
        let env = try DotEnv(parsing: """
            # seed-style
            SMTP_HOST=smtp.example.com
            SMTP_PORT=587
            SMTP_USERNAME=you@example.com
            SMTP_PASSWORD="app password # not a comment"
            SMTP_USE_TLS=true
            IMAP_HOST=imap.example.com
            IMAP_PORT=993
            """)
        let account = try #require(try EnvironmentAccount(variables: env.values))
        #expect(account.account.email.description == "you@example.com")
        #expect(account.account.smtp.security == .startTLS)
        #expect(account.account.imap?.security == .implicitTLS)
        #expect(account.password.revealed == "app password # not a comment")
        #expect("\(account.password)" == "••••••")
        #expect(account.account.origin == .environment)

        var plain = env.values
        plain["SMTP_USE_TLS"] = "false"
        #expect(throws: EnvironmentAccount.Problem.self) { try EnvironmentAccount(variables: plain) }
        // The seed's own .env has no IMAP server: an SMTP-only account, which never appends to Sent.
        var noIMAP = env.values
        noIMAP["IMAP_HOST"] = nil
        noIMAP["IMAP_PORT"] = nil
        let smtpOnly = try #require(try EnvironmentAccount(variables: noIMAP)).account
        #expect(smtpOnly.imap == nil && !smtpOnly.copyToSent && !smtpOnly.canSync)
        #expect(throws: MissingIMAP.self) { try smtpOnly.imapServer(for: "drafts") }
        noIMAP["IMAP_PORT"] = "993"
        #expect(throws: EnvironmentAccount.Problem.self) { try EnvironmentAccount(variables: noIMAP) }
        #expect(try EnvironmentAccount(variables: [:]) == nil)
    }

    @Test func dotEnvSyntax() throws {
        let env = try DotEnv(parsing: """
            export A=1
            B = two words   # comment
            C='${A} literal'
            D="${A}-${HOME_X}"
            EMPTY=   # nothing
            REDIS_URL=redis://localhost:6379/0
            CELERY_BROKER_URL=${REDIS_URL}
            """, environment: ["HOME_X": "h"])
        #expect(env["A"] == "1")
        #expect(env["B"] == "two words")
        #expect(env["C"] == "${A} literal")
        #expect(env["D"] == "1-h")
        #expect(env["EMPTY"] == "")
        #expect(env["CELERY_BROKER_URL"] == "redis://localhost:6379/0")
        #expect(throws: DotEnv.Problem.self) { try DotEnv(parsing: "just text") }
    }

    @Test(arguments: [("First Name", "first"), ("first_name", "first"), ("FirstName", "first"), ("E-mail Address", "email"),
                      ("Company Name", "company"), ("Organisation", "company"), ("Job Title", "job_title"), ("LinkedIn URL", "linked_in_url"),
                      ("  Last  ", "last"), ("Variant", "variant"), ("jobTitle", "job_title")])
    func columnKeys(header: String, key: String) {
        #expect(ColumnKey(normalizing: header).rawValue == key)
    }
}
