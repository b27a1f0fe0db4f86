import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine
import OutreachStore

extension Outreach {
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mirror the accounts' mail (INBOX, Sent, Junk, Archive) into the thread index. Read-only: no flag is changed.",
            discussion: """
                The first sync of a folder reads messages from one day before the account's first send (30 days back \
                for an account that has sent nothing), or from --since; later syncs fetch only new messages. With \
                --watch it repeats every --every (default 5m) until stopped.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this account (default: every stored account).") var account: String?
        @Option(help: ArgumentHelp("Bound the first sync: a date (2026-11-01) or ISO 8601 time.", valueName: "date")) var since: String?
        @Flag(help: "Keep syncing on a timer.") var watch = false
        @Option(help: ArgumentHelp("The interval with --watch.", valueName: "duration")) var every: String = "5m"

        func validate() throws {
            if let since, Self.parseDate(since) == nil { throw ValidationError("--since: '\(since)' is not a date like 2026-11-01 or 2026-11-01T09:00") }
            do { _ = try DurationText.seconds(every) } catch { throw ValidationError("--every: \(error)") }
        }

        static func parseDate(_ text: String) -> Date? {
            if let full = try? Date(text, strategy: .iso8601) { return full }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
                formatter.dateFormat = format
                if let date = formatter.date(from: text) { return date }
            }
            return nil
        }

        func run() async throws {
            let context = try CommandContext(global)
            let database = try await context.openDatabase()
            let registry = try context.accountRegistry(database: database)
            let accounts: [OutreachCore.Account]
            if let account {
                accounts = [try await registry.account(email: account)]
            } else {
                // Stored accounts (the `.env` one once a campaign refers to it) that have a mailbox to read.
                let stored = try await registry.all().filter { $0.id != nil }
                for account in stored where !account.canSync { print("\(account.email): not synced: \(AccountCheck.smtpOnlyNote(account))") }
                accounts = stored.filter(\.canSync)
                guard !stored.isEmpty else { throw ValidationError("no stored account to sync; add one with `outreach account add`") }
                // Only SMTP-only accounts: nothing to read, and nothing failed.
                if accounts.isEmpty { return }
            }
            let sync = AccountSync(
                index: database.threads, ledger: database.deliveries, campaigns: database.campaigns, jobs: database.jobs, registry: registry, logger: context.logger
            )
            let interactive = isatty(STDOUT_FILENO) == 1
            let interval = try DurationText.seconds(every)
            var failures = 0
            repeat {
                failures = 0
                for account in accounts {
                    let started = Date()
                    do {
                        let label = account.email.description
                        let report = try await sync.run(account: account, since: since.flatMap(Self.parseDate)) { progress in
                            guard interactive else { return }
                            let of = progress.total.map { " of \($0)" } ?? ""
                            // Straight to the descriptor: print() buffers, and a progress line must show at once.
                            FileHandle.standardOutput.write(Data("\r\(label) \(progress.folder): \(progress.fetched)\(of) fetched\u{1B}[K".utf8))
                        }
                        if interactive { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
                        let indexed = try await database.threads.messageCount(accountID: account.id!)
                        let folders = report.folders.map { "\($0.folder) +\($0.newMessages)\($0.uidValidityChanged ? " (UIDVALIDITY changed, re-read)" : "")" }
                        let elapsed = Date().timeIntervalSince(started)
                        let took = elapsed < 10 ? "\(Int((elapsed * 1000).rounded())) ms" : String(format: "%.1f s", elapsed)
                        print("\(label): \(report.newMessages) new (\(folders.joined(separator: ", "))); \(indexed) messages indexed; \(took)")
                        // A log file or `docker logs` must see each pass as it ends, not when the buffer fills.
                        fflush(nil)
                    } catch {
                        failures += 1
                        // What it indexed before the error stays; the next sync continues from there.
                        let reason = StorageFault(error).map(\.description) ?? "\(error)"
                        FileHandle.standardError.write(Data("\(account.email): sync failed: \(reason)\n".utf8))
                    }
                }
                if watch { try await Task.sleep(for: .seconds(interval)) }
            } while watch
            if failures > 0 { throw ExitCode.failure }
        }
    }
}
