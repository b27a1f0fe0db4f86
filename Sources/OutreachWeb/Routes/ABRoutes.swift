import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

extension WebApp {
    func addABRoutes(to router: Router<WebContext>) {
        router.get("/ab") { request, context in
            let access = try context.access()
            let campaigns = try await visibleCampaigns(access)
            let chosenID = request.uri.queryParameters["campaign"].flatMap { Int64($0) } ?? campaigns.first?.id
            var values: [String: Any] = ["campaigns": campaigns.map { ["id": $0.id ?? 0, "name": $0.name, "chosen": $0.id == chosenID] }]
            if let chosenID {
                let report = try await VariantReport.make(
                    campaign: try await campaign(chosenID, for: access), campaigns: database.campaigns, index: database.threads, ledger: database.deliveries
                )
                values["report"] = Self.reportValues(report)
            }
            return renderer.page("ab", title: "A/B tests", section: "ab", session: context.session, values: values)
        }

        router.get("/api/campaigns/:id/variants") { _, context in
            let access = try context.access()
            let campaign = try await campaign(try context.parameters.require("id", as: Int64.self), for: access)
            return try Self.json(try await VariantReport.make(campaign: campaign, campaigns: database.campaigns, index: database.threads, ledger: database.deliveries))
        }
    }

    static func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }

    static func reportValues(_ report: VariantReport) -> [String: Any] {
        let first = report.rounds.first { $0.round == 1 } ?? VariantReport.Round(round: 1, variants: [])
        let rows: [[String: Any]] = first.variants.map { variant in
            [
                "name": variant.name, "sent": variant.sent, "replies": variant.replies, "rate": percent(variant.rate),
                "low": percent(variant.interval.low), "high": percent(variant.interval.high), "comparison": variant.comparison(against: first.baseline),
            ]
        }
        return ["variants": rows, "baseline": first.baseline?.name ?? "-", "chart": chart(report), "verdict": first.verdict]
    }

    /// Bars with 95% interval whiskers, as inline SVG (no script, no external asset).
    static func chart(_ report: VariantReport) -> String {
        let width = 600.0, barHeight = 26.0, gap = 14.0, left = 90.0
        let top = max(0.05, (report.variants.map(\.interval.high).max() ?? 0) * 1.15)
        let scale = (width - left - 20) / top
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(Double(report.variants.count) * (barHeight + gap) + 30))\" role=\"img\">"
        for (index, variant) in report.variants.enumerated() {
            let y = 10 + Double(index) * (barHeight + gap)
            let name = variant.name.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            svg += "<text x=\"0\" y=\"\(y + barHeight * 0.7)\" font-size=\"13\">\(name)</text>"
            svg += "<rect x=\"\(left)\" y=\"\(y)\" width=\"\(max(1, variant.rate * scale))\" height=\"\(barHeight)\" fill=\"#2f5bd3\" rx=\"3\"/>"
            let low = left + variant.interval.low * scale, high = left + variant.interval.high * scale, mid = y + barHeight / 2
            svg += "<line x1=\"\(low)\" y1=\"\(mid)\" x2=\"\(high)\" y2=\"\(mid)\" stroke=\"#111827\" stroke-width=\"2\"/>"
            svg += "<line x1=\"\(low)\" y1=\"\(mid - 6)\" x2=\"\(low)\" y2=\"\(mid + 6)\" stroke=\"#111827\" stroke-width=\"2\"/>"
            svg += "<line x1=\"\(high)\" y1=\"\(mid - 6)\" x2=\"\(high)\" y2=\"\(mid + 6)\" stroke=\"#111827\" stroke-width=\"2\"/>"
            svg += "<text x=\"\(high + 6)\" y=\"\(y + barHeight * 0.7)\" font-size=\"12\" fill=\"#667085\">\(percent(variant.rate))</text>"
        }
        return svg + "</svg>"
    }
}
