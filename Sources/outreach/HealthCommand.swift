import ArgumentParser
import Foundation
import OutreachStore
import OutreachTransport

extension Outreach {
    /// For container and service-manager healthchecks: exit 0 when this installation can do its work.
    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exit 0 when the database opens and answers (and, with --url, the web UI answers 200): for container healthchecks."
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "Also fetch this address, e.g. http://127.0.0.1:8080/healthz; it must answer 200.") var url: String?
        @Option(help: "Seconds to wait for the web answer.") var timeout: Int = 5

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            // A read that touches the schema: the file opens, is migrated, and is not locked for ever.
            _ = try await database.users.userCount()
            var checked = ["database \(database.location) answers"]
            if let url {
                let client = HTTPClient(label: "health", logger: context.logger, timeoutSeconds: max(1, timeout))
                let response = try await client.send(HTTPRequest(method: "GET", url: url))
                guard response.status == 200 else { throw CommandFailure("\(url) answered \(response.status), not 200") }
                checked.append("\(url) answers 200")
            }
            print("ok: " + checked.joined(separator: "; "))
        }
    }
}

