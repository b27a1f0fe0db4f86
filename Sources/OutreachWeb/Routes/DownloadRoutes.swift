import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

extension WebApp {
    /// The CSV downloads: the master file (what `outreach campaign export` writes), the round log (all rounds or one)
    /// and a job's log. Reading only, so plain GETs; another user's campaign or job answers 404 like its page.
    func addDownloadRoutes(to router: Router<WebContext>) {
        router.get("/campaigns/:id/master.csv") { _, context in
            let campaign = try await campaign(try context.parameters.require("id", as: Int64.self), for: try context.access())
            let exporter = CampaignExporter(campaigns: database.campaigns, ledger: database.deliveries)
            return CSVDownload.response(fileName: CSVDownload.fileName(campaign.name, "master")) { write in
                try await exporter.writeMasterFile(campaign, write: write)
            }
        }

        router.get("/campaigns/:id/log.csv") { request, context in
            let campaign = try await campaign(try context.parameters.require("id", as: Int64.self), for: try context.access())
            let round = try Self.round(request.uri.queryParameters["round"].map(String.init))
            let exporter = CampaignExporter(campaigns: database.campaigns, ledger: database.deliveries)
            return CSVDownload.response(fileName: CSVDownload.fileName(campaign.name, round.map { "round-\($0)-log" } ?? "log")) { write in
                try await exporter.writeRoundLog(campaign, round: round, write: write)
            }
        }

        router.get("/jobs/:id/log.csv") { _, context in
            let job = try await job(try context.parameters.require("id", as: Int64.self), for: try context.access())
            let campaignName = try await database.campaigns.campaign(id: job.campaignID)?.name ?? "campaign"
            let exporter = JobLogExporter(jobs: database.jobs)
            let jobID = job.id ?? 0
            return CSVDownload.response(fileName: CSVDownload.fileName(campaignName, "job-\(jobID)-log")) { write in
                try await exporter.writeLog(jobID: jobID, write: write)
            }
        }
    }

    /// The `round` a round-log download asks for: nil (every round) when absent.
    static func round(_ text: String?) throws -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard let number = Int(text), number >= 1 else { throw HTTPError(.badRequest, message: "round must be 1 or more, not \(text)") }
        return number
    }
}
