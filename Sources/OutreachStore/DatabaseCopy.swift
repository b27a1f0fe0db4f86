import Foundation
import GRDB
import Logging
import PostgresNIO

/// Moves a whole installation from its SQLite file to a PostgreSQL database (`outreach db copy --to URL`): every
/// table, row for row, with the same ids, so sealed secrets, ledgers, threads, jobs, their logs and the account
/// leases' fencing tokens carry over unchanged.
///
/// The copy is one PostgreSQL transaction: it lands whole or not at all. It refuses a target that holds any row, copies
/// parents before the tables that reference them (read from the target's foreign keys), moves each table's id
/// counter past the copied ids, and counts every table on both sides before it commits.
public enum DatabaseCopy {
    public struct TableCount: Sendable, Equatable {
        public let table: String
        public let rows: Int
    }

    /// Rows per statement: large enough that a 100k-message index copies in seconds, small enough for one message.
    static let batch = 2_000

    public static func copy(from source: SQLiteDatabase, to url: String, logger: Logger) async throws -> [TableCount] {
        let target = try await PostgresDatabase.open(url: url, logger: logger)
        do {
            let counts = try await copy(from: source, to: target)
            await target.shutdown()
            return counts
        } catch {
            await target.shutdown()
            throw error
        }
    }

    static func copy(from source: SQLiteDatabase, to target: PostgresDatabase) async throws -> [TableCount] {
        try await target.connection.transaction { db in
            let columns = try await targetColumns(db)
            let order = try await parentsFirst(Array(columns.keys), db)
            let occupied = try await rowCounts(order, db).filter { $0.rows > 0 }
            guard occupied.isEmpty else { throw StoreError.copyTargetNotEmpty(location: target.location, tables: occupied.map { "\($0.table) (\($0.rows))" }) }
            let sourceTables = try await source.writer.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'")
            }
            if let unknown = sourceTables.first(where: { columns[$0] == nil }) {
                throw StoreError.copyMismatch("the SQLite database has a table '\(unknown)' that the PostgreSQL schema lacks; upgrade Outreach on both sides to one version")
            }
            var copied: [TableCount] = []
            for table in order {
                copied.append(TableCount(table: table, rows: try await copyTable(table, columns: columns[table]!, from: source, to: db)))
            }
            for table in order where columns[table]!.contains(where: { $0.name == "id" }) {
                try await db.execute(PostgresQuery(unsafeSQL: """
                    SELECT setval(pg_get_serial_sequence('\(quoted(table))', 'id'), max(id)) FROM \(quoted(table)) HAVING max(id) IS NOT NULL
                    """))
            }
            let landed = try await rowCounts(order, db)
            for (expected, found) in zip(copied, landed) where expected.rows != found.rows {
                throw StoreError.copyMismatch("\(expected.table): \(expected.rows) rows read from SQLite, \(found.rows) in PostgreSQL; nothing was committed")
            }
            return landed
        }
    }

    struct TargetColumn {
        let name: String
        let type: String
    }

    static func targetColumns(_ db: PostgresTransaction) async throws -> [String: [TargetColumn]] {
        let rows = try await db.rows(
            """
            SELECT table_name::text AS t, column_name::text AS c, data_type::text AS d FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name <> 'outreach_migration' ORDER BY table_name, ordinal_position
            """
        ) { (table: try $0.get("t", as: String.self), column: TargetColumn(name: try $0.get("c"), type: try $0.get("d"))) }
        return Dictionary(grouping: rows, by: \.table).mapValues { $0.map(\.column) }
    }

    /// The tables in an order where every table comes after the tables its foreign keys point to.
    static func parentsFirst(_ tables: [String], _ db: PostgresTransaction) async throws -> [String] {
        let edges = try await db.rows(
            """
            SELECT c.relname::text AS child, p.relname::text AS parent FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
            WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace
            """
        ) { (child: try $0.get("child", as: String.self), parent: try $0.get("parent", as: String.self)) }
        var parents = Dictionary(grouping: edges, by: \.child).mapValues { Set($0.map(\.parent)).subtracting([$0[0].child]) }
        var order: [String] = []
        var left = tables.sorted()
        while !left.isEmpty {
            guard let next = left.first(where: { (parents[$0] ?? []).isEmpty }) else {
                throw StoreError.copyMismatch("the PostgreSQL tables' foreign keys form a cycle (\(left.joined(separator: ", ")))")
            }
            order.append(next)
            left.removeAll { $0 == next }
            for key in parents.keys { parents[key]?.remove(next) }
        }
        return order
    }

    static func rowCounts(_ tables: [String], _ db: PostgresTransaction) async throws -> [TableCount] {
        var counts: [TableCount] = []
        for table in tables {
            let n = try await db.first(PostgresQuery(unsafeSQL: "SELECT count(*) AS n FROM \(quoted(table))")) { try $0.get("n", as: Int.self) } ?? 0
            counts.append(TableCount(table: table, rows: n))
        }
        return counts
    }

    /// Copies one table in batches: each batch travels as one JSON array that `json_populate_recordset` turns into
    /// rows of the target table's own types, so no value passes through a text form PostgreSQL would misread.
    static func copyTable(_ table: String, columns: [TargetColumn], from source: SQLiteDatabase, to db: PostgresTransaction) async throws -> Int {
        let sourceColumns = try await source.writer.read { db -> [String] in
            guard try db.tableExists(table) else { return [] }
            return try db.columns(in: table).map(\.name)
        }
        guard !sourceColumns.isEmpty else { return 0 }
        let types = Dictionary(uniqueKeysWithValues: columns.map { ($0.name, $0.type) })
        if let missing = sourceColumns.first(where: { types[$0] == nil }) {
            throw StoreError.copyMismatch("\(table).\(missing) exists in SQLite but not in PostgreSQL; upgrade Outreach on both sides to one version")
        }
        let columnList = sourceColumns.map(quoted).joined(separator: ", ")
        var copied = 0
        var lastRowID: Int64 = .min
        while true {
            let after = lastRowID
            let chunk = try await source.writer.read { db -> (json: String, rows: Int, lastRowID: Int64) in
                let rows = try Row.fetchAll(
                    db, sql: "SELECT \(columnList), rowid AS \"_rowid\" FROM \(quoted(table)) WHERE rowid > ? ORDER BY rowid LIMIT ?", arguments: [after, batch]
                )
                var objects: [[String: Any]] = []
                objects.reserveCapacity(rows.count)
                for row in rows {
                    var object: [String: Any] = [:]
                    for (index, name) in sourceColumns.enumerated() {
                        object[name] = try jsonValue(row[index] as DatabaseValue, as: types[name]!, column: "\(table).\(name)")
                    }
                    objects.append(object)
                }
                return (String(decoding: try JSONSerialization.data(withJSONObject: objects), as: UTF8.self), rows.count, rows.last?["_rowid"] ?? after)
            }
            guard chunk.rows > 0 else { break }
            try await db.execute(PostgresQuery(
                unsafeSQL: "INSERT INTO \(quoted(table)) (\(columnList)) SELECT \(columnList) FROM json_populate_recordset(NULL::\(quoted(table)), $1::json)",
                binds: { var binds = PostgresBindings(); binds.append(chunk.json); return binds }()
            ))
            copied += chunk.rows
            lastRowID = chunk.lastRowID
            if chunk.rows < batch { break }
        }
        return copied
    }

    /// One SQLite value as JSON that PostgreSQL reads into the column's type: GRDB's dates (UTC text without a zone)
    /// get their zone, SQLite's 0/1 booleans become booleans, blobs become `bytea` hex.
    static func jsonValue(_ value: DatabaseValue, as type: String, column: String) throws -> Any {
        switch value.storage {
        case .null:
            return NSNull()
        case .int64(let n):
            switch type {
            case "boolean": return n != 0
            case "timestamp with time zone": return isoUTC(Date(timeIntervalSince1970: Double(n)))
            default: return n
            }
        case .double(let x):
            return type == "timestamp with time zone" ? isoUTC(Date(timeIntervalSince1970: x)) : x
        case .string(let text):
            guard type == "timestamp with time zone" else { return text }
            if let date = StoredDate.parse(text) { return isoUTC(date) }
            guard let date = Date.fromDatabaseValue(value) else { throw StoreError.copyMismatch("\(column) holds '\(text)', which is not a date") }
            return isoUTC(date)
        case .blob(let data):
            guard type == "bytea" else { return String(decoding: data, as: UTF8.self) }
            return "\\x" + data.map { String(format: "%02x", $0) }.joined()
        }
    }

    /// To the microsecond, PostgreSQL's precision.
    static func isoUTC(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let seconds = Int64((Double(micros) / 1_000_000).rounded(.down))
        let fraction = micros - seconds * 1_000_000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
            fraction
        )
    }

    static func quoted(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
