import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

extension WebApp {
    func addUserRoutes(to router: Router<WebContext>) {
        router.get("/users") { request, context in
            let access = try context.access()
            try access.requireAdmin()
            let accounts = try await database.accounts.allAccounts()
            let emails = Dictionary(uniqueKeysWithValues: accounts.compactMap { account in account.id.map { ($0, account.email.description) } })
            var users: [[String: Any]] = []
            for user in try await database.users.allUsers() {
                let granted = try await database.users.grantedAccountIDs(userID: user.id ?? 0).sorted()
                users.append([
                    "id": user.id ?? 0, "email": user.email, "role": user.role.rawValue, "isAdmin": user.isAdmin,
                    "grants": granted.map { ["userID": user.id ?? 0, "accountID": $0, "email": emails[$0] ?? "?", "csrf": access.session.csrfToken] },
                ])
            }
            var values: [String: Any] = ["users": users, "accounts": accounts.map { ["id": $0.id ?? 0, "email": $0.email.description] }]
            if let flash = takeFlash(context.session) { values["flash"] = flash }
            return renderer.page("users", title: "Users", section: "users", session: context.session, values: values)
        }

        router.post("/users") { request, context in
            try context.access().requireAdmin()
            var request = request
            let form = try await Self.form(&request, context)
            let email: String
            do { email = try EmailAddress(parsing: form.text("email") ?? "").description } catch {
                throw HTTPError(.badRequest, message: "The user's email address is not valid: \(error).")
            }
            let password = form["password"] ?? ""
            if let problem = Passwords.problem(with: password) { throw HTTPError(.badRequest, message: problem) }
            let role = User.Role(rawValue: form["role"] ?? "") ?? .user
            do {
                _ = try await database.users.insert(User(email: email, role: role), passwordHash: await Passwords.hash(password))
            } catch let error as UserStoreError {
                throw HTTPError(.conflict, message: error.description)
            }
            return redirect(to: "/users", flash: "Added \(email.lowercased()).", session: context.session)
        }

        router.post("/users/grant") { request, context in
            try context.access().requireAdmin()
            var request = request
            let form = try await Self.form(&request, context)
            guard let userID = form.text("user").flatMap({ Int64($0) }), let user = try await database.users.user(id: userID),
                let accountID = form.text("account").flatMap({ Int64($0) }), let account = try await database.accounts.account(id: accountID)
            else { throw HTTPError(.badRequest, message: "choose a user and an account") }
            try await database.users.grant(userID: userID, accountID: accountID)
            return redirect(to: "/users", flash: "\(user.email) may now send from \(account.email).", session: context.session)
        }

        router.post("/users/:id/revoke") { request, context in
            try context.access().requireAdmin()
            var request = request
            let form = try await Self.form(&request, context)
            let userID = try context.parameters.require("id", as: Int64.self)
            guard let user = try await database.users.user(id: userID), let accountID = form.text("account").flatMap({ Int64($0) }),
                let account = try await database.accounts.account(id: accountID)
            else { throw HTTPError(.badRequest, message: "choose a user and one of their accounts") }
            let cancelled = try await UserAccess(users: database.users, jobs: database.jobs).revoke(user, from: account)
            return redirect(
                to: "/users", flash: "\(user.email) may no longer send from \(account.email); \(UserAccess.cancelledText(cancelled)).", session: context.session
            )
        }
    }
}
