import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

extension WebApp {
    static let jobsPerPage = 100

    func addJobRoutes(to router: Router<WebContext>) {
        router.get("/jobs") { request, context in
            let access = try context.access()
            let before = request.uri.queryParameters["before"].flatMap { Int64($0) }
            let page = try await database.jobs.jobs(states: nil, ownerID: access.jobOwnerFilter, before: before, limit: Self.jobsPerPage + 1)
            let names = try await nameLookup(for: page)
            let rows = PageTemplates.jobRow.render(page.prefix(Self.jobsPerPage).map { jobRowValues($0, names) })
            var values: [String: Any] = [:]
            if !rows.isEmpty { values["rows"] = rows }
            if page.count > Self.jobsPerPage, let last = page.prefix(Self.jobsPerPage).last?.id { values["more"] = last }
            return renderer.page("jobs", title: "Jobs", section: "jobs", session: context.session, values: values)
        }

        router.get("/jobs/:id") { _, context in
            let access = try context.access()
            let job = try await job(try context.parameters.require("id", as: Int64.self), for: access)
            let events = try await database.jobs.events(jobID: job.id ?? 0, afterID: 0, limit: 5000)
            var values = jobValues(job, try await nameLookup(for: [job]))
            values["eventRows"] = PageTemplates.eventRow.render(events.map(Self.eventValues))
            values["lastEvent"] = events.last?.id ?? 0
            values["canPause"] = job.state == .running || job.state == .pending
            values["canResume"] = job.state == .paused || job.control == .pause
            values["canCancel"] = !job.state.isFinal
            values["csrf"] = context.session?.csrfToken ?? ""
            return renderer.page("job", title: "Job #\(job.id ?? 0)", section: "jobs", session: context.session, values: ["job": values])
        }

        for action in ["cancel", "pause", "resume"] {
            router.post("/jobs/:id/\(action)") { _, context in
                let access = try context.access()
                let job = try await job(try context.parameters.require("id", as: Int64.self), for: access)
                try await control(job, action, access: access)
                return Response.redirect(to: "/jobs/\(job.id ?? 0)")
            }
        }
    }

    /// Pause, resume or cancel, as the operator asked; the job's own rules decide whether it is allowed.
    func control(_ job: Job, _ action: String, access: Access) async throws {
        let id = job.id ?? 0
        // A user whose grant on the account was revoked may still stop their job, but not start it again.
        if action == "resume", try await !mayStartJob(on: job.accountID, access) { throw Access.notFound() }
        do {
            switch action {
            case "cancel": _ = try await database.jobs.request(.cancel, jobID: id, now: Date())
            case "pause": _ = try await database.jobs.request(.pause, jobID: id, now: Date())
            default: _ = try await database.jobs.resume(jobID: id, now: Date())
            }
        } catch let error as JobRuleError {
            throw HTTPError(.conflict, message: error.description)
        }
    }

    /// Campaign and account names by id, for listings.
    struct NameLookup: Sendable {
        var campaigns: [Int64: String]
        var accounts: [Int64: String]
    }

    /// - Parameter jobs: jobs whose campaign and account must be in the answer (a campaign made a moment ago is
    ///   not in a cached lookup yet).
    func nameLookup(for jobs: [Job] = []) async throws -> NameLookup {
        if let cached = names.value(for: 0), jobs.allSatisfy({ cached.campaigns[$0.campaignID] != nil && cached.accounts[$0.accountID] != nil }) {
            return cached
        }
        var lookup = NameLookup(campaigns: [:], accounts: [:])
        for campaign in try await database.campaigns.allCampaigns() { if let id = campaign.id { lookup.campaigns[id] = campaign.name } }
        for account in try await database.accounts.allAccounts() { if let id = account.id { lookup.accounts[id] = account.email.description } }
        names.store(lookup, for: 0)
        return lookup
    }

    /// A job as the list's row template and the job page show it, all strings.
    func jobRowValues(_ job: Job, _ names: NameLookup) -> [String: String] {
        let c = job.counters
        return [
            "id": String(job.id ?? 0), "state": job.state.rawValue, "campaign": names.campaigns[job.campaignID] ?? "?", "round": String(job.round),
            "account": names.accounts[job.accountID] ?? "?", "start": JobTime.format(job.runAt), "percent": String(Int((c.fraction * 100).rounded())),
            "done": String(c.done), "total": String(c.total), "sent": String(c.sent), "drafted": String(c.drafted), "skipped": String(c.skipped),
            "failed": String(c.failed), "held": String(c.held), "note": job.note ?? "", "mode": job.spec.mode.rawValue,
        ]
    }

    /// The same for the job page's Mustache template, with its sections.
    func jobValues(_ job: Job, _ names: NameLookup) -> [String: Any] {
        var values: [String: Any] = jobRowValues(job, names)
        values["force"] = job.spec.force
        values["domainReplies"] = job.spec.domainReplies
        // Absent, not empty, when there is none: an empty string would still open a Mustache section.
        if job.note?.isEmpty ?? true { values["note"] = nil }
        if let variant = job.spec.variant { values["variant"] = variant }
        return values
    }

    static func eventValues(_ event: JobEvent) -> [String: String] {
        ["id": String(event.id ?? 0), "at": JobTime.format(event.at), "kind": event.kind.rawValue, "row": event.row.map(String.init) ?? "", "email": event.email ?? "", "detail": event.detail]
    }
}
