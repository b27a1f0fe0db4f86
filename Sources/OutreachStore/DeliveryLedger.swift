import Foundation
import OutreachCore

/// The delivery ledger: what each round did to each prospect.
public protocol DeliveryLedger: Sendable {
    /// The round's ledger rows by prospect id.
    func deliveries(campaignID: Int64, round: Int) async throws -> [Int64: Delivery]
    /// Every ledger row of the campaign, for export.
    func deliveries(campaignID: Int64) async throws -> [Delivery]
    /// Adds a ledger row; throws ``StoreError/deliveryExists(prospectID:round:)`` if the prospect already has one for the round.
    /// - Parameter fence: a job's writes carry its lease; when another worker holds the account now, nothing is
    ///   written and ``JobRuleError/leaseLost(jobID:)`` is thrown. Nil for the operator's own writes.
    func insert(_ delivery: Delivery, fence: LeaseFence?) async throws -> Delivery
    func update(_ delivery: Delivery, fence: LeaseFence?) async throws
    /// Writes a row at once, inserting it if it has no id yet, and returns its id. Called on an SMTP connection's own
    /// thread right before the final dot, where blocking is expected — the one synchronous call of the ledger.
    func recordHandOver(_ delivery: Delivery, fence: LeaseFence?) throws -> Int64
    /// When the account's messages of the last while went out (all campaigns), for its daily cap.
    func sentTimes(accountID: Int64, since: Date) async throws -> [Date]
    /// When the account first sent a message in any campaign; nil before its first send.
    func firstSend(accountID: Int64) async throws -> Date?
    /// The rows still `drafted` in the account's campaigns, any round, oldest first, each with its prospect's address:
    /// the drafts the operator may yet send by hand from their own mail client, which the sync watches for.
    func drafts(accountID: Int64) async throws -> [DraftedDelivery]
    /// A drafted row whose draft the sync found sent: written as `sent` with the Message-ID, thread key, time, note
    /// and Gmail ids of `sent`. Nothing is written unless the row is still `drafted` and no other row has that
    /// Message-ID (a client that gave an edited draft a new one could, in principle, reuse one).
    /// - Returns: whether the row changed.
    func recordSentDraft(_ sent: Delivery) async throws -> Bool
}

/// A drafted ledger row and the address its draft is to.
public struct DraftedDelivery: Sendable {
    public let delivery: Delivery
    /// The prospect's address as stored (normalized).
    public let email: String

    public init(delivery: Delivery, email: String) {
        self.delivery = delivery
        self.email = email
    }
}

extension DeliveryLedger {
    /// The operator's writes (`job resolve`, imports): no job lease to check.
    public func insert(_ delivery: Delivery) async throws -> Delivery { try await insert(delivery, fence: nil) }
    public func update(_ delivery: Delivery) async throws { try await update(delivery, fence: nil) }
}
