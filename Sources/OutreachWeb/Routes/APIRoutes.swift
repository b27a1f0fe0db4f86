import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

/// The JSON API (docs/api.md): the same operations as the pages, for scripts and for the pages' own polling.
extension WebApp {
    struct JobOutput: Encodable {
        let id: Int64
        let state: String
        let campaign: String
        let round: Int
        let account: String
        let runAt: Date
        let counters: Job.Counters
        let done: Int
        let percent: Int
        let note: String?
    }

    func jobOutput(_ job: Job, _ names: NameLookup) -> JobOutput {
        JobOutput(
            id: job.id ?? 0, state: job.state.rawValue, campaign: names.campaigns[job.campaignID] ?? "?", round: job.round,
            account: names.accounts[job.accountID] ?? "?", runAt: job.runAt, counters: job.counters, done: job.counters.done,
            percent: Int((job.counters.fraction * 100).rounded()), note: job.note
        )
    }

    func addAPIRoutes(to router: Router<WebContext>) {
        router.get("/api/jobs") { request, context in
            let access = try context.access()
            if let ids = request.uri.queryParameters["ids"] {
                var jobs: [Job] = []
                for id in ids.split(separator: ",").compactMap({ Int64($0) }).prefix(200) {
                    if let job = try await database.jobs.job(id: id), access.canSee(job) { jobs.append(job) }
                }
                let names = try await nameLookup(for: jobs)
                return try Self.json(jobs.map { jobOutput($0, names) })
            }
            let before = request.uri.queryParameters["before"].flatMap { Int64($0) }
            let jobs = try await database.jobs.jobs(states: nil, ownerID: access.jobOwnerFilter, before: before, limit: Self.jobsPerPage)
            let names = try await nameLookup(for: jobs)
            return try Self.json(jobs.map { jobOutput($0, names) })
        }

        router.get("/api/jobs/:id") { _, context in
            let access = try context.access()
            let job = try await job(try context.parameters.require("id", as: Int64.self), for: access)
            return try Self.json(jobOutput(job, try await nameLookup(for: [job])))
        }

        router.get("/api/jobs/:id/events") { request, context in
            let access = try context.access()
            let job = try await job(try context.parameters.require("id", as: Int64.self), for: access)
            let after = request.uri.queryParameters["after"].flatMap { Int64($0) } ?? 0
            struct Event: Encodable {
                let id: Int64
                let at: String
                let kind: String
                let row: Int?
                let email: String?
                let detail: String
            }
            let events = try await database.jobs.events(jobID: job.id ?? 0, afterID: after, limit: 1000)
            return try Self.json(events.map { Event(id: $0.id ?? 0, at: JobTime.format($0.at), kind: $0.kind.rawValue, row: $0.row, email: $0.email, detail: $0.detail) })
        }

        for action in ["cancel", "pause", "resume"] {
            router.post("/api/jobs/:id/\(action)") { _, context in
                let access = try context.access()
                let job = try await job(try context.parameters.require("id", as: Int64.self), for: access)
                try await control(job, action, access: access)
                return try Self.json(jobOutput(try await database.jobs.job(id: job.id ?? 0) ?? job, try await nameLookup()))
            }
        }

        router.get("/api/campaigns") { _, context in
            let access = try context.access()
            struct Output: Encodable {
                let id: Int64
                let name: String
                let account: String
                let prospects: Int
            }
            let names = try await nameLookup()
            var output: [Output] = []
            for campaign in try await visibleCampaigns(access) {
                output.append(Output(
                    id: campaign.id ?? 0, name: campaign.name, account: names.accounts[campaign.accountID] ?? "?",
                    prospects: try await database.campaigns.prospectCount(campaignID: campaign.id ?? 0)
                ))
            }
            return try Self.json(output)
        }

        // Creates a round's job: {"round":1,"subject":"…","body":"…","mode":"send-selected","variant":null,"force":false,"domainReplies":false,"at":"2026-12-01T08:00:00Z"}
        router.post("/api/campaigns/:id/jobs") { request, context in
            let access = try context.access()
            let campaign = try await campaign(try context.parameters.require("id", as: Int64.self), for: access)
            guard try await mayStartJob(on: campaign.accountID, access) else { throw Access.notFound() }
            struct Input: Decodable {
                let round: Int
                let subject: String?
                let body: String
                let mode: RoundMode?
                let variant: String?
                let force: Bool?
                let domainReplies: Bool?
                let at: Date?
            }
            var request = request
            let input = try await Self.jsonBody(Input.self, &request, context, dates: true)
            guard input.round >= 1 else { throw HTTPError(.badRequest, message: "rounds start at 1") }
            let text = Self.templateText(subject: input.subject ?? "", body: input.body)
            do {
                let template = try EmailTemplate(parsing: text)
                if input.round == 1, !template.hasSubject { throw HTTPError(.badRequest, message: "round 1 needs a subject") }
                let errors = template.lint(knownKeys: campaign.columnKeys).filter { $0.severity == .error && !(input.round > 1 && $0.kind == .emptySubject) }
                guard errors.isEmpty else { throw HTTPError(.badRequest, message: errors.map(\.description).joined(separator: "; ")) }
                let spec = Job.Spec(
                    mode: input.mode ?? .sendAll, variant: input.variant, force: input.force ?? false, domainReplies: input.domainReplies ?? false, template: text,
                    templateName: "api"
                )
                let job = try await scheduler.schedule(campaign: campaign, round: input.round, spec: spec, at: input.at ?? Date(), ownerID: access.user.id)
                return try Self.json(jobOutput(job, try await nameLookup(for: [job])), status: .created)
            } catch let error as JobRuleError {
                throw HTTPError(.conflict, message: error.description)
            } catch let error as HTTPError {
                throw error
            } catch {
                throw HTTPError(.badRequest, message: try ErrorText.forRequest(error))
            }
        }

        router.get("/api/accounts") { _, context in
            let access = try context.access()
            struct Output: Encodable {
                let id: Int64
                let email: String
                let dailyCap: Int
                let sentLast24h: Int
                /// `smtp-imap` or `gmail-api`.
                let provider: String
                /// `password` or `oauth`.
                let auth: String
                let needsReconnect: String?
            }
            var output: [Output] = []
            for account in try await usableAccounts(access) {
                let id = account.id ?? 0
                output.append(Output(
                    id: id, email: account.email.description, dailyCap: account.dailyCap.limit,
                    sentLast24h: try await database.deliveries.sentTimes(accountID: id, since: Date().addingTimeInterval(-86_400)).count,
                    provider: account.provider.rawValue, auth: account.oauth == nil ? "password" : "oauth", needsReconnect: account.oauth?.needsReconnect
                ))
            }
            return try Self.json(output)
        }
    }
}
