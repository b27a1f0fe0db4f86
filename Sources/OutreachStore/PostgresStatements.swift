import Foundation
import Logging
import PostgresNIO

/// Runs the stores' statements on the pool, one at a time or in a transaction, and turns what goes wrong into the
/// store's own errors: ``StorageFault`` when the server cannot be reached or cannot write, ``StoreError`` otherwise.
struct PostgresStatements: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// The database that runs the pool: a store handed on alone (an account registry keeps only the account store)
    /// keeps the pool running for as long as it lives.
    let owner: any AnyObject & Sendable

    /// One statement's rows, each turned into a value as it arrives.
    /// - Parameter refine: the store's own error for a server error's SQLSTATE (`23505`, a unique violation, may
    ///   mean a duplicate the store names), nil to translate it as any other.
    func rows<T>(
        _ query: PostgresQuery, refine: (_ sqlState: String) -> (any Error)? = { _ in nil }, _ decode: (PostgresRandomAccessRow) throws -> T
    ) async throws -> [T] {
        do {
            var result: [T] = []
            for try await row in try await client.query(query, logger: logger) { result.append(try decode(row.makeRandomAccess())) }
            return result
        } catch {
            if let state = PostgresErrors.sqlState(error), let refined = refine(state) { throw refined }
            throw PostgresErrors.translate(error)
        }
    }

    func first<T>(_ query: PostgresQuery, _ decode: (PostgresRandomAccessRow) throws -> T) async throws -> T? {
        try await rows(query, decode).first
    }

    /// Runs a statement and reads whatever rows it returns (a `SELECT pg_advisory_xact_lock(…)` returns one), so
    /// errors surface here and the connection is free for the next statement.
    func execute(_ query: PostgresQuery) async throws {
        do { for try await _ in try await client.query(query, logger: logger) {} } catch { throw PostgresErrors.translate(error) }
    }

    /// Runs `body` in one transaction on one connection: committed if it returns, rolled back if it throws.
    func transaction<T: Sendable>(_ body: (PostgresTransaction) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in
                let transaction = PostgresTransaction(connection: connection, logger: logger)
                try await transaction.execute("BEGIN")
                do {
                    let value = try await body(transaction)
                    try await transaction.execute("COMMIT")
                    return value
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        } catch { throw PostgresErrors.translate(error) }
    }
}

/// The statements of one transaction (see ``PostgresStatements/transaction(_:)``).
struct PostgresTransaction {
    let connection: PostgresConnection
    let logger: Logger

    func rows<T>(_ query: PostgresQuery, _ decode: (PostgresRandomAccessRow) throws -> T) async throws -> [T] {
        var result: [T] = []
        for try await row in try await connection.query(query, logger: logger) { result.append(try decode(row.makeRandomAccess())) }
        return result
    }

    func first<T>(_ query: PostgresQuery, _ decode: (PostgresRandomAccessRow) throws -> T) async throws -> T? {
        try await rows(query, decode).first
    }

    func execute(_ query: PostgresQuery) async throws {
        for try await _ in try await connection.query(query, logger: logger) {}
    }
}

extension PostgresRandomAccessRow {
    /// The named column's value; nil columns read as nil only into an optional type.
    func get<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    /// A `bytea` column (sealed secrets).
    func bytes(_ column: String) throws -> [UInt8]? {
        try self[column].decode(Data?.self).map { Array($0) }
    }
}

/// What a PostgreSQL failure means for the operator.
enum PostgresErrors {
    /// The SQLSTATE of a server error (`23505` for a unique violation), nil for anything else.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    static func translate(_ error: any Error) -> any Error {
        switch error {
        case is StoreError, is UserStoreError, is StorageFault, is JobRuleError, is CancellationError: return error
        case is PostgresDecodingError: return StoreError.corrupt("a column holds a value of another type than expected (\(String(reflecting: error)))")
        default: break
        }
        guard let error = error as? PSQLError else {
            // The pool's own errors: it could not open a connection for a minute.
            return StorageFault(reason: "the PostgreSQL server cannot be reached (\(String(reflecting: error)))", advice: unreachableAdvice)
        }
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else {
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown, .sslUnsupported, .failedToAddSSLHandler:
                return StorageFault(reason: "the PostgreSQL server cannot be reached (\(describe(error)))", advice: unreachableAdvice)
            case .queryCancelled:
                return CancellationError()
            default:
                return StoreError.postgres(describe(error))
            }
        }
        let message = describe(error)
        switch state {
        case _ where state.hasPrefix("53"):
            return StorageFault(reason: "the PostgreSQL server is out of room (\(message))", advice: "free disk space or memory on the database server")
        case _ where state.hasPrefix("08"), "57P01", "57P02", "57P03":
            return StorageFault(reason: "the PostgreSQL server ended the connection (\(message))", advice: unreachableAdvice)
        case "25006":
            return StorageFault(reason: "it is read-only (\(message))", advice: "point OUTREACH_DB at the primary server, not a standby")
        case "42501":
            return StorageFault(reason: "its user may not change it (\(message))", advice: "grant the user named in OUTREACH_DB the rights on its database")
        case "40001", "40P01", "55P03":
            return StorageFault(reason: "another process kept a row locked (\(message))", advice: "try again; look for a stuck process using the same database")
        default:
            return StoreError.postgres(message)
        }
    }

    static let unreachableAdvice = "check that the server runs and that OUTREACH_DB (or --db) names it; the work can be tried again once it answers"

    /// The server's own message with its SQLSTATE, or what failed on the way there. Never the password: PSQLError's
    /// description hides everything, its reflection holds the query; this takes only the parts that say what failed.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return String(describing: error) }
        if let info = error.serverInfo, let message = info[.message] {
            return "\(message) (SQLSTATE \(info[.sqlState] ?? "?"))"
        }
        if error.code == .connectionError, let underlying = error.underlying { return "no connection to the server (\(underlying))" }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}
