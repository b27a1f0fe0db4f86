import Foundation
import GRDB
import OutreachCore

/// The embedded default: one SQLite file in WAL mode, migrated on open. Owns the connection pool and the migrator,
/// as GRDB's demo app's `AppDatabase` does; the per-concern stores take it as their writer.
public struct SQLiteDatabase: Sendable {
    let writer: any DatabaseWriter
    public let path: String

    /// Opens (and migrates) the database at `path`.
    /// - Parameter create: when false, a missing file is an error telling the operator to run `outreach init`.
    public init(path: String, create: Bool) throws {
        if !create && path != ":memory:" && !FileManager.default.fileExists(atPath: path) {
            throw StoreError.databaseMissing(path: path)
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // Several processes (CLI, worker, web) share the file; wait for a writer instead of failing at once.
        configuration.busyMode = .timeout(10)
        // In WAL mode NORMAL still survives a crash of the process (the ledger's concern: a killed worker must not
        // forget what it sent); only a power loss can drop the last commits. FULL would fsync every ledger step.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            if path == ":memory:" {
                writer = try DatabaseQueue(configuration: configuration)
            } else {
                let directory = (path as NSString).deletingLastPathComponent
                if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
                try Self.createOwnerOnly(path)
                writer = try DatabasePool(path: path, configuration: configuration)
            }
            self.path = path
            try Self.migrator.migrate(writer)
        } catch let error as StoreError {
            throw error
        } catch {
            // A file the process may read but not write, a full disk: said in words, with what to do.
            if let fault = StorageFault(error) { throw fault }
            throw StoreError.cannotOpen(path: path, reason: String(describing: error))
        }
    }

    /// Creates a new database file readable by its owner only (prospects, password hashes and session tokens live
    /// in it). SQLite gives the `-wal` and `-shm` files it creates the mode of the database file, so they follow.
    /// An existing file keeps the mode its operator gave it.
    static func createOwnerOnly(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 {
            // The umask may have narrowed it further; never widen, but make sure group and others get nothing.
            fchmod(fd, 0o600)
            close(fd)
            return
        }
        guard errno == EEXIST else { throw StoreError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
    }

    /// An in-memory database for tests.
    public static func inMemory() throws -> SQLiteDatabase { try SQLiteDatabase(path: ":memory:", create: true) }

    public var accounts: SQLiteAccountStore { SQLiteAccountStore(writer: writer) }
    public var campaigns: SQLiteCampaignStore { SQLiteCampaignStore(writer: writer) }
    public var deliveries: SQLiteDeliveryLedger { SQLiteDeliveryLedger(writer: writer) }
    public var threads: SQLiteThreadIndex { SQLiteThreadIndex(writer: writer) }
    public var jobs: SQLiteJobStore { SQLiteJobStore(writer: writer) }
    public var users: SQLiteUserStore { SQLiteUserStore(writer: writer) }
    public var syncStatus: SQLiteSyncStatusStore { SQLiteSyncStatusStore(writer: writer) }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-accounts") { db in
            try db.create(table: "account") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("email", .text).notNull().unique().collate(.nocase)
                t.column("displayName", .text)
                t.column("username", .text).notNull()
                t.column("smtpURL", .text).notNull()
                t.column("imapURL", .text).notNull()
                t.column("caFile", .text)
                t.column("allowInsecureTLS", .boolean).notNull().defaults(to: false)
                t.column("copyToSent", .boolean).notNull().defaults(to: true)
                // AES-256-GCM sealed by the caller; see SecretBox.
                t.column("passwordSealed", .blob).notNull()
                t.column("createdAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v2-campaigns") { db in
            try db.alter(table: "account") { t in
                t.add(column: "delaySeconds", .double).notNull().defaults(to: Pacing.default.delaySeconds)
                t.add(column: "jitterSeconds", .double).notNull().defaults(to: Pacing.default.jitterSeconds)
            }
            try db.create(table: "campaign") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique().collate(.nocase)
                t.column("accountID", .integer).notNull().references("account", onDelete: .restrict)
                // [{header, key}] in the file's order: export writes the original headers back unchanged.
                t.column("columns", .jsonText).notNull()
                t.column("sourceFile", .text).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "prospect") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("campaignID", .integer).notNull().references("campaign", onDelete: .cascade)
                t.column("row", .integer).notNull()
                // Normalized (lowercased); the original spelling stays in `fields`.
                t.column("email", .text).notNull()
                t.column("fields", .jsonText).notNull()
                t.column("selected", .boolean).notNull()
                t.column("variant", .text)
                t.uniqueKey(["campaignID", "email"])
                t.uniqueKey(["campaignID", "row"])
            }
            try db.create(table: "delivery") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("prospectID", .integer).notNull().references("prospect", onDelete: .cascade)
                t.column("round", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("action", .text).notNull()
                t.column("messageID", .text).unique()
                t.column("threadKey", .text)
                t.column("replyCode", .integer)
                t.column("replyText", .text)
                t.column("updatedAt", .datetime).notNull()
                t.column("sentAt", .datetime)
                // The rule that makes a second copy impossible: one ledger row per prospect and round.
                t.uniqueKey(["prospectID", "round"])
            }
        }
        migrator.registerMigration("v3-thread-index") { db in
            try db.create(table: "message") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("accountID", .integer).notNull().references("account", onDelete: .cascade)
                t.column("messageID", .text).notNull()
                // The id of the thread's first row; threads merge by rewriting this to the smaller id.
                t.column("threadID", .integer).notNull()
                // A placeholder for an id some message referenced but the sync has not seen.
                t.column("ghost", .boolean).notNull()
                t.column("direction", .text)
                t.column("fromAddress", .text)
                t.column("toAddresses", .text)
                t.column("subject", .text)
                t.column("date", .datetime)
                t.column("folder", .text)
                t.column("classification", .text)
                t.column("failedRecipient", .text)
                t.column("originalMessageID", .text)
                t.column("indexedAt", .datetime)
                t.uniqueKey(["accountID", "messageID"])
            }
            try db.create(index: "message_thread", on: "message", columns: ["accountID", "threadID"])
            try db.create(index: "message_from", on: "message", columns: ["accountID", "fromAddress"])
            try db.create(table: "message_ref") { t in
                t.column("messageRowID", .integer).notNull().references("message", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("refMessageID", .text).notNull()
                t.primaryKey(["messageRowID", "position"])
            }
            try db.create(table: "mailbox_state") { t in
                t.column("accountID", .integer).notNull().references("account", onDelete: .cascade)
                t.column("folder", .text).notNull()
                t.column("uidValidity", .integer).notNull()
                t.column("lastUID", .integer).notNull()
                t.column("highestModSeq", .integer).notNull()
                t.column("syncedAt", .datetime).notNull()
                t.primaryKey(["accountID", "folder"])
            }
        }
        migrator.registerMigration("v4-jobs") { db in
            try db.alter(table: "account") { t in
                t.add(column: "dailyCap", .integer)
                t.add(column: "guardSeconds", .double).notNull().defaults(to: Account.defaultGuardSeconds)
                t.add(column: "sendingWindow", .text)
            }
            try db.create(table: "job") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("campaignID", .integer).notNull().references("campaign", onDelete: .cascade)
                t.column("accountID", .integer).notNull().references("account", onDelete: .cascade)
                t.column("round", .integer).notNull()
                t.column("mode", .text).notNull()
                t.column("variant", .text)
                t.column("force", .boolean).notNull()
                t.column("template", .text).notNull()
                t.column("templateName", .text).notNull()
                t.column("state", .text).notNull()
                t.column("control", .text)
                t.column("runAt", .datetime).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("startedAt", .datetime)
                t.column("finishedAt", .datetime)
                t.column("counters", .jsonText).notNull()
                t.column("note", .text)
                t.column("ownerID", .integer)
                // The lease token the job last ran under; a finish or progress write must carry it.
                t.column("leaseToken", .integer)
            }
            try db.create(index: "job_due", on: "job", columns: ["state", "runAt"])
            try db.create(index: "job_account", on: "job", columns: ["accountID", "state"])
            // The account lock at the database level: even a bug elsewhere cannot run two jobs of one account.
            try db.execute(sql: "CREATE UNIQUE INDEX job_one_running_per_account ON job(accountID) WHERE state = 'running'")
            try db.create(table: "job_event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("jobID", .integer).notNull().references("job", onDelete: .cascade)
                t.column("at", .datetime).notNull()
                t.column("kind", .text).notNull()
                t.column("row", .integer)
                t.column("email", .text)
                t.column("detail", .text).notNull()
            }
            try db.create(index: "job_event_job", on: "job_event", columns: ["jobID", "id"])
            // The per-account lock is a lease: a crashed worker's lease expires (or its process is seen to be gone).
            // Rows are never deleted, so the fencing token only grows.
            try db.create(table: "account_lease") { t in
                t.primaryKey("accountID", .integer).references("account", onDelete: .cascade)
                t.column("holder", .text).notNull()
                t.column("token", .integer).notNull()
                t.column("jobID", .integer)
                t.column("acquiredAt", .datetime).notNull()
                t.column("expiresAt", .datetime).notNull()
            }
            try db.create(table: "worker") { t in
                t.primaryKey("holder", .text)
                t.column("startedAt", .datetime).notNull()
                t.column("heartbeatAt", .datetime).notNull()
            }
            try db.alter(table: "delivery") { t in
                t.add(column: "jobID", .integer)
                t.add(column: "attempts", .integer).notNull().defaults(to: 0)
                t.add(column: "retryAt", .datetime)
            }
            try db.create(index: "delivery_sent", on: "delivery", columns: ["sentAt"])
        }
        migrator.registerMigration("v5-failed-recipients-sender-domain") { db in
            // A report can name several failed recipients, and ours need not be the first: all of them, one per line.
            // A column rather than a table keeps `bouncesAndComplaints` one query without a join. Rows indexed
            // before keep the one recipient they had (the first), which is a valid one-line list.
            try db.alter(table: "message") { t in t.rename(column: "failedRecipient", to: "failedRecipients") }
            // Replies from a prospect's colleagues (`--domain-replies`) are looked up by the sender's domain;
            // SQLite uses this index only for this exact expression (see SQLiteThreadIndex.senderDomain).
            try db.execute(sql: "CREATE INDEX message_from_domain ON message(accountID, substr(fromAddress, instr(fromAddress, '@') + 1))")
        }
        migrator.registerMigration("v6-web-users") { db in
            try SQLiteUserStore.migrate(db)
            try SQLiteSyncStatusStore.migrate(db)
            try db.alter(table: "job") { t in t.add(column: "domainReplies", .boolean).notNull().defaults(to: false) }
        }
        migrator.registerMigration("v7-message-count") { db in
            try db.create(table: "message_count") { t in
                t.primaryKey("accountID", .integer).references("account", onDelete: .cascade)
                t.column("messages", .integer).notNull()
            }
            try db.execute(sql: "INSERT INTO message_count (accountID, messages) SELECT accountID, COUNT(*) FROM message WHERE ghost = 0 GROUP BY accountID")
        }
        migrator.registerMigration("v8-gmail-oauth") { db in
            try db.alter(table: "account") { t in t.add(column: "provider", .text).notNull().defaults(to: Account.Provider.smtpIMAP.rawValue) }
            // One row per OAuth-authorized account. Secrets are sealed by the caller (SecretBox), bound to the account.
            try db.create(table: "account_oauth") { t in
                t.primaryKey("accountID", .integer).references("account", onDelete: .cascade)
                t.column("clientID", .text).notNull()
                t.column("clientSecretSealed", .blob)
                t.column("authURL", .text).notNull()
                t.column("tokenURL", .text).notNull()
                t.column("scopes", .text).notNull()
                t.column("apiBase", .text)
                t.column("refreshTokenSealed", .blob).notNull()
                // The current access token, shared by every process that uses the account until it expires.
                t.column("accessTokenSealed", .blob)
                t.column("accessExpiresAt", .datetime)
                t.column("needsReconnect", .text)
                t.column("connectedAt", .datetime).notNull()
            }
            try db.alter(table: "message") { t in
                t.add(column: "gmailThreadID", .text)
                t.add(column: "gmailMessageID", .text)
            }
            try db.create(index: "message_gmail_thread", on: "message", columns: ["accountID", "gmailThreadID"])
            try db.alter(table: "delivery") { t in
                t.add(column: "gmailMessageID", .text)
                t.add(column: "gmailThreadID", .text)
            }
        }
        migrator.registerMigration("v9-campaign-names-per-owner") { db in
            // A campaign's name was unique across all users, so a refused name told a user that someone else had a
            // campaign by that name. Names are now unique per owner (checked by createCampaign; not by an index, as
            // removing a user hands their campaigns to the admins, whose names may then repeat). SQLite cannot drop
            // a column's UNIQUE: the table is rebuilt with every row and id kept. Foreign keys are off during a
            // migration (GRDB checks them after it), so prospects and jobs keep pointing at the same ids.
            try db.create(table: "campaign_new") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().collate(.nocase)
                t.column("accountID", .integer).notNull().references("account", onDelete: .restrict)
                t.column("columns", .jsonText).notNull()
                t.column("sourceFile", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("ownerID", .integer).references("user", onDelete: .setNull)
            }
            try db.execute(sql: "INSERT INTO campaign_new (id, name, accountID, columns, sourceFile, createdAt, ownerID) SELECT id, name, accountID, columns, sourceFile, createdAt, ownerID FROM campaign")
            try db.drop(table: "campaign")
            try db.rename(table: "campaign_new", to: "campaign")
            try db.create(index: "campaign_owner_name", on: "campaign", columns: ["ownerID", "name"])
            try db.create(index: "campaign_name", on: "campaign", columns: ["name"])
        }
        migrator.registerMigration("v10-bounce-reason") { db in
            // Why a bounce failed (BounceReason raw value); nil for other messages and for rows indexed before.
            try db.alter(table: "message") { t in
                t.add(column: "bounceReason", .text)
            }
        }
        return migrator
    }
}
