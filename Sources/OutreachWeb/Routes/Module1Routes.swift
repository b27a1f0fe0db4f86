import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

extension WebApp {
    /// Rows shown with checkboxes on the compose page; larger campaigns keep their file's `select` for the rest.
    static let rowsShown = 500

    func addModule1Routes(to router: Router<WebContext>) {
        router.get("/module1") { _, context in
            let access = try context.access()
            let names = try await nameLookup()
            var campaigns: [[String: Any]] = []
            for campaign in try await visibleCampaigns(access) {
                campaigns.append([
                    "id": campaign.id ?? 0, "name": campaign.name, "account": names.accounts[campaign.accountID] ?? "?",
                    "prospects": try await database.campaigns.prospectCount(campaignID: campaign.id ?? 0), "file": campaign.sourceFile,
                ])
            }
            let accounts = try await usableAccounts(access).map { ["email": $0.email.description] }
            return renderer.page("module1", title: "Module 1", section: "module1", session: context.session, values: ["campaigns": campaigns, "accounts": accounts])
        }

        // The upload: the file's bytes as the body; the importer detects encoding and delimiter like the CLI's.
        router.post("/api/campaigns") { request, context in
            let access = try context.access()
            let query = request.uri.queryParameters
            guard let name = query["name"].map({ String($0).removingPercentEncoding ?? String($0) })?.trimmingCharacters(in: .whitespaces), !name.isEmpty else {
                throw HTTPError(.badRequest, message: "give the campaign a name")
            }
            let email = query["account"].map { String($0).removingPercentEncoding ?? String($0) } ?? ""
            guard let account = try await database.accounts.account(email: email), let accountID = account.id, access.canUse(accountID: accountID) else {
                throw HTTPError(.badRequest, message: "choose one of the accounts you may send from")
            }
            var request = request
            let body = try await BodyLimit.upload.collect(&request)
            let fileName = query["file"].map { String($0).removingPercentEncoding ?? String($0) } ?? "upload.csv"
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("outreach-upload-\(SessionToken.generate().prefix(12)).csv").path
            try Data(body.readableBytesView).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let importer = CampaignImporter(campaigns: database.campaigns, ledger: database.deliveries, settings: csvImport)
            do {
                let (campaign, report) = try await importer.importFile(at: path, name: name, accountID: accountID, ownerID: access.user.id, sourceName: fileName)
                struct Created: Encodable {
                    let id: Int64
                    let imported: Int
                    let report: String
                }
                return try Self.json(Created(id: campaign.id ?? 0, imported: report.imported, report: report.description), status: .created)
            } catch {
                // The upload's temporary path means nothing to the user; the file's own name does.
                throw HTTPError(.badRequest, message: try ErrorText.forRequest(error).replacingOccurrences(of: path, with: fileName))
            }
        }

        router.get("/campaigns/:id") { _, context in
            let access = try context.access()
            let campaign = try await campaign(try context.parameters.require("id", as: Int64.self), for: access)
            let campaignID = campaign.id ?? 0
            let prospects = try await database.campaigns.prospects(campaignID: campaignID, afterRow: 0, limit: Self.rowsShown)
            let total = try await database.campaigns.prospectCount(campaignID: campaignID)
            // The checkbox is the selection and the variant has its own column: the file's select and variant columns
            // are not repeated in between.
            let columns = campaign.columns.filter { ![.email, .select, .variant].contains($0.key) }
            var rows: [[String: Any]] = []
            for prospect in prospects {
                rows.append([
                    "row": prospect.row, "email": prospect.email.description, "selected": prospect.selected, "variant": prospect.variant ?? "",
                    "cells": [prospect.email.description] + columns.map { prospect.fields[$0.key] ?? "" },
                    // What the page's text filter looks in, as RowSelection.matches does: the address and every cell.
                    "search": ([prospect.email.description] + prospect.fields.values).joined(separator: "\n").lowercased(),
                ])
            }
            let names = try await nameLookup()
            let values: [String: Any] = [
                "id": campaignID, "name": campaign.name, "account": names.accounts[campaign.accountID] ?? "?", "prospects": total, "file": campaign.sourceFile,
                "columns": [["header": "email", "key": "email"]] + columns.map { ["header": $0.header, "key": $0.key.description] },
                "rows": rows, "variants": try await campaignVariants(campaign), "hasSelectColumn": campaign.columnKeys.contains(.select),
                "placeholders": campaign.columns.filter { $0.key != .select }.map(\.key.description),
                "shownRows": prospects.map { String($0.row) }.joined(separator: ","), "moreRows": total > prospects.count, "shown": prospects.count,
                "csrf": access.session.csrfToken, "subject": "", "body": "",
            ]
            return renderer.page("campaign", title: campaign.name, section: "module1", session: context.session, values: ["campaign": values])
        }

        // How many rows a one-step selection takes, for the compose page to show before anything is sent.
        router.get("/api/campaigns/:id/selection") { request, context in
            let campaign = try await campaign(try context.parameters.require("id", as: Int64.self), for: try context.access())
            let query = FormData(request.uri.query ?? "")
            guard let selection = try Self.rowSelection(query) else { throw HTTPError(.badRequest, message: "choose all, filter or file") }
            struct Output: Encodable {
                let selected: Int
                let total: Int
            }
            var selected = 0
            var total = 0
            try await database.campaigns.forEachPage(campaignID: campaign.id ?? 0, pageSize: 5_000) { page in
                total += page.count
                // A round of one variant only reaches that variant's rows, whatever else is selected.
                selected += page.filter { selection.includes($0) && RowSelection.matches($0, variant: selection.variant, text: nil) }.count
            }
            return try Self.json(Output(selected: selected, total: total))
        }

        router.post("/api/campaigns/:id/preview") { request, context in
            let access = try context.access()
            let campaign = try await campaign(try context.parameters.require("id", as: Int64.self), for: access)
            struct Input: Decodable {
                let row: Int
                let subject: String
                let body: String
            }
            struct Output: Encodable {
                let to: String
                let subject: String
                let text: String
                let html: String
                let held: String?
            }
            var request = request
            let input = try await Self.jsonBody(Input.self, &request, context)
            guard let prospect = try await database.campaigns.prospect(campaignID: campaign.id ?? 0, row: input.row) else { throw Access.notFound() }
            let template: EmailTemplate
            do { template = try EmailTemplate(parsing: Self.templateText(subject: input.subject, body: input.body)) } catch {
                return try Self.json(Output(to: prospect.email.description, subject: "", text: "", html: "", held: try ErrorText.forRequest(error)))
            }
            switch RenderedRow.renderer(template)(prospect) {
            case .message(let subject, let text, let html):
                return try Self.json(Output(to: prospect.email.description, subject: subject, text: text, html: html, held: nil))
            case .needsData(let missing):
                return try Self.json(Output(
                    to: prospect.email.description, subject: "", text: "", html: "",
                    held: "row \(prospect.row) has no value and no fallback for \(missing.map { "{\($0)}" }.joined(separator: ", ")): it would be held, not sent"
                ))
            case .unsafe(let reason):
                return try Self.json(Output(to: prospect.email.description, subject: "", text: "", html: "", held: reason))
            }
        }

        // Before submitting: would the guard window or the account lock refuse this start?
        router.post("/api/campaigns/:id/check") { request, context in
            let access = try context.access()
            let campaign = try await campaign(try context.parameters.require("id", as: Int64.self), for: access)
            struct Input: Decodable { let at: String? }
            var request = request
            let input = try await Self.jsonBody(Input.self, &request, context)
            let start = try input.at.flatMap { $0.isEmpty ? nil : $0 }.map { text in
                guard let date = try? Date(text, strategy: .iso8601) else { throw HTTPError(.badRequest, message: "not a time: \(text)") }
                return date
            } ?? Date()
            return try Self.json(try await scheduleCheck(campaign: campaign, start: start))
        }

        router.post("/campaigns/:id/send") { request, context in
            let access = try context.access()
            let campaign = try await campaign(try context.parameters.require("id", as: Int64.self), for: access)
            guard try await mayStartJob(on: campaign.accountID, access) else { throw Access.notFound() }
            var request = request
            let form = try await Self.form(&request, context)
            guard let subject = form.text("subject"), let body = form.text("body") else {
                return message("Nothing was scheduled", "Round 1 needs a subject and a body.", link: "/campaigns/\(campaign.id ?? 0)", session: context.session, status: .badRequest)
            }
            guard let mode = RoundMode(rawValue: form["mode"] ?? "") else { throw HTTPError(.badRequest, message: "unknown mode") }
            let text = Self.templateText(subject: subject, body: body)
            let template: EmailTemplate
            do { template = try EmailTemplate(parsing: text) } catch {
                return message("Nothing was scheduled", try ErrorText.forRequest(error), link: "/campaigns/\(campaign.id ?? 0)", session: context.session, status: .badRequest)
            }
            let errors = template.lint(knownKeys: campaign.columnKeys).filter { $0.severity == .error }
            guard errors.isEmpty else {
                return message("Nothing was scheduled", "The email has errors: " + errors.map(\.description).joined(separator: "; "), link: "/campaigns/\(campaign.id ?? 0)", session: context.session, status: .badRequest)
            }
            // The selection: all rows, the rows matching the filter or the file's select column, chosen in one step;
            // else the checkboxes, where the rows shown take their state from the form and the others keep theirs.
            let oneStep = try Self.rowSelection(form)
            let shown = Set((form["shown"] ?? "").split(separator: ",").compactMap { Int($0) })
            let checked = Set(form.all("row").compactMap(Int.init))
            var selected = Set<Int>()
            try await database.campaigns.forEachPage(campaignID: campaign.id ?? 0, pageSize: 5_000) { page in
                for prospect in page {
                    let chosen = oneStep.map { $0.includes(prospect) } ?? (shown.contains(prospect.row) ? checked.contains(prospect.row) : prospect.selected)
                    if chosen { selected.insert(prospect.row) }
                }
            }
            try await database.campaigns.setSelected(campaignID: campaign.id ?? 0, rows: selected)
            let spec = Job.Spec(mode: mode, variant: form.text("variant"), template: text, templateName: "web: \(subject)")
            do {
                let job = try await scheduler.schedule(campaign: campaign, round: FirstRound.round, spec: spec, at: try Self.start(from: form), ownerID: access.user.id)
                return Response.redirect(to: "/jobs/\(job.id ?? 0)")
            } catch let error as JobRuleError {
                return message("Nothing was scheduled", error.description, link: "/campaigns/\(campaign.id ?? 0)", session: context.session, status: .conflict)
            }
        }
    }

    /// The compose form's one-step selection (`pick`, with the page's `variant` and `filter`); nil for the checkboxes.
    static func rowSelection(_ form: FormData) throws -> RowSelection? {
        let pick = form.text("pick") ?? "boxes"
        if pick == "boxes" { return nil }
        guard let chosen = RowSelection.Pick(rawValue: pick) else {
            throw HTTPError(.badRequest, message: "unknown selection '\(pick)': choose the ticked rows, all rows, the rows matching the filter or the file's select column")
        }
        return RowSelection(pick: chosen, variant: form.text("variant"), text: form.text("filter"))
    }

    static func templateText(subject: String, body: String) -> String {
        "Subject: " + subject.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") + "\n\n" + body.replacingOccurrences(of: "\r\n", with: "\n")
    }

    struct ScheduleCheck: Encodable {
        let ok: Bool
        let message: String
    }

    /// What the guard window and the account lock say about a start, without creating anything.
    func scheduleCheck(campaign: Campaign, start: Date) async throws -> ScheduleCheck {
        guard let account = try await database.accounts.account(id: campaign.accountID) else { throw Access.notFound() }
        let others = try await database.jobs.jobs(states: [.pending, .running], ownerID: nil, limit: 1000).filter { $0.accountID == campaign.accountID }
        let bookings = GuardWindow.bookings(of: others, meanPauseSeconds: account.pacing.meanPause)
        if case .rejected(let conflict, let earliest) = GuardWindow.check(start: start, guardSeconds: account.guardSeconds, others: bookings) {
            return ScheduleCheck(
                ok: false,
                message: "Job #\(conflict) of \(account.email) is too close (guard window \(DurationText.format(seconds: account.guardSeconds))). The earliest start accepted is \(JobTime.format(earliest))."
            )
        }
        if start <= Date().addingTimeInterval(60), let running = others.first(where: { $0.state == .running }) {
            return ScheduleCheck(ok: false, message: "Job #\(running.id ?? 0) of \(account.email) is running now: only one job per account runs at a time, so this one would fail. Schedule it after that job ends.")
        }
        return ScheduleCheck(ok: true, message: start <= Date().addingTimeInterval(60) ? "\(account.email) is free: the job starts now." : "\(account.email) is free at \(JobTime.format(start)).")
    }
}
