import Foundation
import OutreachCore

/// The delivery ledger: what each round did to each prospect.
public protocol DeliveryLedger: Sendable {
    /// The round's ledger rows by prospect id.
    func deliveries(campaignID: Int64, round: Int) async throws -> [Int64: Delivery]
    /// Every ledger row of the campaign, for export.
    func deliveries(campaignID: Int64) async throws -> [Delivery]
    /// Adds a ledger row; throws ``StoreError/deliveryExists(prospectID:round:)`` if the prospect already has one for the round.
    func insert(_ delivery: Delivery) async throws -> Delivery
    func update(_ delivery: Delivery) async throws
    /// Writes a row at once, inserting it if it has no id yet, and returns its id. Called on an SMTP connection's own
    /// thread right before the final dot, where blocking is expected — the one synchronous call of the ledger.
    func recordHandOver(_ delivery: Delivery) throws -> Int64
    /// When the account's messages of the last while went out (all campaigns), for its daily cap.
    func sentTimes(accountID: Int64, since: Date) async throws -> [Date]
    /// When the account first sent a message in any campaign; nil before its first send.
    func firstSend(accountID: Int64) async throws -> Date?
}
