import Foundation
import OutreachCore
import OutreachStore

/// Writes a campaign back out as CSV: the master file (original columns in their original order and spelling, then
/// per-round metadata) or the round log. Pages through the prospects, so large campaigns stream; `write` may be
/// async (the web UI writes each line into a response body as it comes).
public struct CampaignExporter: Sendable {
    let campaigns: any CampaignStore
    let ledger: any DeliveryLedger

    public init(campaigns: any CampaignStore, ledger: any DeliveryLedger) {
        self.campaigns = campaigns
        self.ledger = ledger
    }

    public func writeMasterFile(_ campaign: Campaign, write: (String) async throws -> Void) async throws {
        guard let campaignID = campaign.id else { return }
        let writer = CSVWriter()
        let deliveries = try await ledger.deliveries(campaignID: campaignID)
        let rounds = Set(deliveries.map(\.round)).sorted()
        var byProspect: [Int64: [Int: Delivery]] = [:]
        for delivery in deliveries { byProspect[delivery.prospectID, default: [:]][delivery.round] = delivery }
        let metadata = rounds.flatMap { round in RoundMetadataColumn.Field.allCases.map { RoundMetadataColumn(round: round, field: $0) } }
        try await write(writer.line(campaign.columns.map(\.header) + metadata.map(\.key.rawValue)))
        try await campaigns.forEachProspect(campaignID: campaignID, pageSize: 5_000) { prospect in
            let ledgerRows = prospect.id.flatMap { byProspect[$0] } ?? [:]
            let values = campaign.columns.map { prospect.fields[$0.key] ?? "" } + metadata.map { column in
                guard let delivery = ledgerRows[column.round] else { return "" }
                return Self.value(of: column.field, in: delivery)
            }
            try await write(writer.line(values))
        }
    }

    /// - Parameter round: only this round's lines; nil: every round's.
    public func writeRoundLog(_ campaign: Campaign, round: Int? = nil, write: (String) async throws -> Void) async throws {
        guard let campaignID = campaign.id else { return }
        let writer = CSVWriter()
        let deliveries = try await ledger.deliveries(campaignID: campaignID).filter { round == nil || $0.round == round }
        var byProspect: [Int64: [Delivery]] = [:]
        for delivery in deliveries { byProspect[delivery.prospectID, default: []].append(delivery) }
        try await write(writer.line(MasterFileLayout.roundLogHeader))
        try await campaigns.forEachProspect(campaignID: campaignID, pageSize: 5_000) { prospect in
            for delivery in (prospect.id.flatMap { byProspect[$0] } ?? []).sorted(by: { $0.round < $1.round }) {
                try await write(writer.line([
                    campaign.name, String(delivery.round), String(prospect.row), prospect.email.description, delivery.state.rawValue,
                    delivery.messageID ?? "", delivery.threadKey ?? "", delivery.sentAt.map(Self.timestamp) ?? "",
                    delivery.replyCode.map(String.init) ?? "", delivery.replyText ?? "",
                ]))
            }
        }
    }

    static func value(of field: RoundMetadataColumn.Field, in delivery: Delivery) -> String {
        switch field {
        case .messageID: delivery.messageID.map { "<\($0)>" } ?? ""
        case .threadKey: delivery.threadKey.map { "<\($0)>" } ?? ""
        case .status: delivery.state.rawValue
        case .sentAt: delivery.sentAt.map(timestamp) ?? ""
        }
    }

    static func timestamp(_ date: Date) -> String { date.formatted(.iso8601) }
}
