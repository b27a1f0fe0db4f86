import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

extension WebApp {
    func addModule2Routes(to router: Router<WebContext>) {
        router.get("/module2") { request, context in
            let access = try context.access()
            let query = FormData(request.uri.query ?? "")
            let chosenID = query.text("campaign").flatMap { Int64($0) }
            let options = FollowUpChoice(query)
            let campaigns = try await visibleCampaigns(access)
            var values: [String: Any] = [
                "campaigns": campaigns.map { ["id": $0.id ?? 0, "name": $0.name, "chosen": $0.id == chosenID] }, "round": options.round,
                "force": options.force, "domainReplies": options.domainReplies,
            ]
            if let chosenID {
                let campaign = try await campaign(chosenID, for: access)
                guard options.round >= 2 else { throw HTTPError(.badRequest, message: "follow-ups are rounds 2 and later; round 1 is Module 1") }
                let variants = try await campaignVariants(campaign)
                values["variants"] = variants.map { ["name": $0, "chosen": $0.caseInsensitiveCompare(options.variant ?? "") == .orderedSame] }
                let plan = try await followUpPlan(campaign: campaign, options)
                let status = try await database.syncStatus.statuses()[campaign.accountID]
                var planValues: [String: Any] = [
                    "round": options.round, "campaignName": campaign.name, "campaignID": chosenID, "sendCount": plan.sendCount, "skipCount": plan.skipCount,
                    "rows": plan.rows.map { ["row": $0.row, "email": $0.email, "decision": $0.decision, "reason": $0.reason] }, "force": options.force,
                    "domainReplies": options.domainReplies, "csrf": access.session.csrfToken,
                    "syncedAt": status.map { JobTime.format($0.syncedAt) } ?? "never (the sync timer runs every few minutes)",
                ]
                if let variant = options.variant { planValues["variant"] = variant }
                // The round the plan answers: its log is what the operator checks before following up.
                planValues["previousRound"] = options.round - 1
                if let error = status?.error { planValues["syncError"] = error }
                values["plan"] = planValues
            }
            return renderer.page("module2", title: "Module 2", section: "module2", session: context.session, values: values)
        }

        router.get("/api/campaigns/:id/plan") { request, context in
            let access = try context.access()
            let campaign = try await campaign(try context.parameters.require("id", as: Int64.self), for: access)
            let options = FollowUpChoice(FormData(request.uri.query ?? ""))
            let round = options.round
            guard round >= 2 else { throw HTTPError(.badRequest, message: "follow-ups are rounds 2 and later") }
            let plan = try await followUpPlan(campaign: campaign, options)
            struct Output: Encodable {
                let round: Int
                let send: Int
                let skip: Int
                let rows: [FollowUpPlan.Row]
            }
            return try Self.json(Output(round: round, send: plan.sendCount, skip: plan.skipCount, rows: plan.rows))
        }

        // Syncing changes the index, so it is a POST (with its CSRF token); the plan pages only read.
        router.post("/module2/sync") { request, context in
            let access = try context.access()
            var request = request
            let form = try await Self.form(&request, context)
            guard let campaignID = form.text("campaign").flatMap({ Int64($0) }) else { throw HTTPError(.badRequest, message: "choose a campaign") }
            let campaign = try await campaign(campaignID, for: access)
            guard access.canUse(accountID: campaign.accountID) else { throw Access.notFound() }
            try await syncAccount(of: campaign)
            return Response.redirect(to: "/module2?campaign=\(campaignID)&\(FollowUpChoice(form).query)")
        }

        router.post("/api/campaigns/:id/sync") { _, context in
            let access = try context.access()
            let campaign = try await campaign(try context.parameters.require("id", as: Int64.self), for: access)
            guard access.canUse(accountID: campaign.accountID) else { throw Access.notFound() }
            try await syncAccount(of: campaign)
            return try Self.json(try await database.syncStatus.statuses()[campaign.accountID].map { ["syncedAt": JobTime.format($0.syncedAt), "error": $0.error ?? ""] } ?? [:])
        }

        router.post("/module2/schedule") { request, context in
            let access = try context.access()
            var request = request
            let form = try await Self.form(&request, context)
            guard let campaignID = form.text("campaign").flatMap({ Int64($0) }) else { throw HTTPError(.badRequest, message: "choose a campaign") }
            let campaign = try await campaign(campaignID, for: access)
            guard try await mayStartJob(on: campaign.accountID, access) else { throw Access.notFound() }
            guard let round = form.text("round").flatMap({ Int($0) }), round >= 2 else { throw HTTPError(.badRequest, message: "follow-ups are rounds 2 and later") }
            guard let body = form.text("body") else {
                return message("Nothing was scheduled", "The follow-up needs a body.", link: "/module2?campaign=\(campaignID)&round=\(round)", session: context.session, status: .badRequest)
            }
            guard let mode = RoundMode(rawValue: form["mode"] ?? "") else { throw HTTPError(.badRequest, message: "unknown mode") }
            let text = Self.templateText(subject: form.text("subject") ?? "", body: body)
            do {
                let template = try EmailTemplate(parsing: text)
                let errors = template.lint(knownKeys: campaign.columnKeys).filter { $0.severity == .error && $0.kind != .emptySubject }
                guard errors.isEmpty else { throw HTTPError(.badRequest, message: "the follow-up has errors: " + errors.map(\.description).joined(separator: "; ")) }
            } catch let error as HTTPError {
                throw error
            } catch {
                return message("Nothing was scheduled", try ErrorText.forRequest(error), link: "/module2?campaign=\(campaignID)&round=\(round)", session: context.session, status: .badRequest)
            }
            let options = FollowUpChoice(form)
            let spec = Job.Spec(
                mode: mode, variant: options.variant, force: options.force, domainReplies: options.domainReplies, template: text, templateName: "web: round \(round)"
            )
            do {
                let job = try await scheduler.schedule(campaign: campaign, round: round, spec: spec, at: try Self.start(from: form), ownerID: access.user.id)
                return Response.redirect(to: "/jobs/\(job.id ?? 0)")
            } catch let error as JobRuleError {
                return message("Nothing was scheduled", error.description, link: "/module2?campaign=\(campaignID)&round=\(round)", session: context.session, status: .conflict)
            }
        }
    }

    /// An incremental sync of the campaign's account, recorded for the accounts page. A failure is recorded, not
    /// thrown: the plan is then made from the index as it is, and the page says when it was last synced.
    func syncAccount(of campaign: Campaign) async throws {
        guard let account = try await database.accounts.account(id: campaign.accountID) else { return }
        let sync = AccountSync(
            index: database.threads, ledger: database.deliveries, campaigns: database.campaigns, jobs: database.jobs, registry: registry, logger: logger
        )
        do {
            _ = try await sync.run(account: account)
            try await database.syncStatus.record(SyncStatus(accountID: account.id ?? 0, syncedAt: Date(), error: nil))
        } catch {
            try await database.syncStatus.record(SyncStatus(accountID: account.id ?? 0, syncedAt: Date(), error: "\(error)"))
        }
    }

    /// The plan from the thread index as it is (the sync timer keeps it minutes fresh; "Sync now" refreshes it).
    /// The job syncs again right before it plans, whatever this page showed.
    func followUpPlan(campaign: Campaign, _ options: FollowUpChoice) async throws -> FollowUpPlan {
        try await FollowUpPlan.make(
            campaign: campaign, round: options.round, force: options.force, variant: options.variant, countDomainReplies: options.domainReplies,
            campaigns: database.campaigns, index: database.threads, ledger: database.deliveries
        )
    }

    /// Every variant of the campaign's rows (all of them, not only the rows a page shows), sorted.
    func campaignVariants(_ campaign: Campaign) async throws -> [String] {
        var variants = Set<String>()
        try await database.campaigns.forEachPage(campaignID: campaign.id ?? 0, pageSize: 5_000) { page in
            for prospect in page { if let variant = prospect.variant { variants.insert(variant) } }
        }
        return variants.sorted()
    }
}

/// What Module 2's forms choose besides the campaign, as `outreach plan` and `outreach followup` take it: the round,
/// --force, --variant and --domain-replies. Read from the plan form's query and from the posted forms alike.
struct FollowUpChoice {
    var round: Int
    var force: Bool
    var variant: String?
    var domainReplies: Bool

    init(_ form: FormData) {
        round = form.text("round").flatMap { Int($0) } ?? 2
        force = form.flag("force")
        variant = form.text("variant")
        domainReplies = form.flag("domainReplies")
    }

    /// The same choice as a query string, for the redirect back to the plan.
    var query: String {
        var parts = ["round=\(round)"]
        if force { parts.append("force=on") }
        if let variant { parts.append("variant=" + (variant.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")) }
        if domainReplies { parts.append("domainReplies=on") }
        return parts.joined(separator: "&")
    }
}
