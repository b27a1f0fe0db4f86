import Foundation
import OutreachCore
import OutreachStore
import Testing

/// The master file carries its history: an export imported into another installation, or a master CSV written by
/// the original app, restores round 1's ledger, so follow-ups there decide as they would have here.
@Suite("Master files with history, against real servers", .timeLimit(.minutes(4)))
struct MasterFileHistoryTests {
    @Test("an export after round 1 and a sync, imported into a fresh database and synced, plans round 2 exactly as the original; the original app's layout imports with its history")
    func historyTravelsWithTheFile() async throws {
        let sender = PostgresInstallationTests.sender
        let servers = try MailServers(users: [sender] + PostgresInstallationTests.prospects)
        defer { servers.stop() }
        let here = try OutreachSandbox()
        defer { here.remove() }
        try PostgresInstallationTests.writeInputs(here)
        try await offThePool {
            try here.initialize(sender: sender, servers: servers)
            try here.expectSuccess(["campaign", "import", "T", here.directory + "/l.csv", "--account", sender.email])
            try here.expectSuccess(["send", "T", "--template", here.directory + "/first.md", "--wait"])
        }
        let stores = Stores(try SQLiteDatabase(path: here.databasePath, create: false))
        try await PostgresInstallationTests.p1Replies(servers, stores: stores)
        let campaign = try #require(try await stores.campaigns.campaign(named: "T"))
        var roots: [String] = []
        for row in 1...5 {
            let prospect = try #require(try await stores.campaigns.prospect(campaignID: campaign.id!, row: row))
            roots.append(try #require(try await stores.deliveries.deliveries(campaignID: campaign.id!, round: 1)[prospect.id!]?.messageID))
        }
        let exported = here.directory + "/master.csv"
        let before = try await offThePool { () -> String in
            try here.expectSuccess(["sync"])
            try here.expectSuccess(["campaign", "export", "T", "-o", exported])
            return try here.expectSuccess(["plan", "T", "--round", "2", "--no-sync"]).stdout
        }
        #expect(before.contains("p1@example.test: skip: replied") && before.components(separatedBy: "send: no reply").count - 1 == 4, "\(before)")

        // Another installation, the same mailbox.
        let there = try OutreachSandbox()
        defer { there.remove() }
        let (imported, after) = try await offThePool { () -> (CommandRunner.Result, String) in
            try there.initialize(sender: sender, servers: servers)
            try FileManager.default.copyItem(atPath: exported, toPath: there.directory + "/master.csv")
            let imported = try there.expectSuccess(["campaign", "import", "T", there.directory + "/master.csv", "--account", sender.email])
            try there.expectSuccess(["sync"])
            return (imported, try there.expectSuccess(["plan", "T", "--round", "2", "--no-sync"]).stdout)
        }
        #expect(imported.stdout.contains("Round 1's ledger restored from the file's history: 5 sent."), "\(imported.output)")
        #expect(after == before, "the plan differs on the installation that imported the export:\nhere:\n\(before)\nthere:\n\(after)")

        // The original app's master file: its columns plus message_id, thread_id and a status in its words. p3's
        // draft was never sent: its Message-ID is in no Sent folder (a drafted row whose message is there turns sent
        // at the sync, see DraftsSentByHandTests).
        let legacy = """
            email,first,message_id,thread_id,status
            p1@example.test,Name1,<\(roots[0])>,18c0ffee00000001,SENT
            p2@example.test,Name2,<\(roots[1])>,18c0ffee00000002,SENT
            p3@example.test,Name3,<never-sent.p3@example.test>,,DRAFTED
            p4@example.test,Name4,,,ERROR
            p5@example.test,Name5,<\(roots[4])>,,Maybe

            """
        let elsewhere = try OutreachSandbox()
        defer { elsewhere.remove() }
        try legacy.write(toFile: elsewhere.directory + "/legacy.csv", atomically: true, encoding: .utf8)
        let (legacyImport, legacyPlan, legacyExport) = try await offThePool { () -> (CommandRunner.Result, String, String) in
            try elsewhere.initialize(sender: sender, servers: servers)
            let imported = try elsewhere.expectSuccess(["campaign", "import", "Legacy", elsewhere.directory + "/legacy.csv", "--account", sender.email])
            let plan = try elsewhere.expectSuccess(["plan", "Legacy", "--round", "2"]).stdout
            return (imported, plan, try elsewhere.expectSuccess(["campaign", "export", "Legacy"]).stdout)
        }
        #expect(legacyImport.stdout.contains("Round 1's ledger restored from the file's history") && legacyImport.stdout.contains("2 sent"), "\(legacyImport.output)")
        #expect(legacyImport.stdout.contains("r1_status is 'Maybe'"), "the unreadable status is not reported:\n\(legacyImport.output)")
        #expect(legacyPlan.contains("p1@example.test: skip: replied"), "\(legacyPlan)")
        #expect(legacyPlan.contains("p2@example.test: send: no reply"), "\(legacyPlan)")
        for row in ["p3", "p4", "p5"] {
            #expect(legacyPlan.split(separator: "\n").contains { $0.contains("\(row)@example.test: skip") }, "\(row) must not get a follow-up:\n\(legacyPlan)")
        }
        #expect(legacyExport.contains("<\(roots[1])>,<\(roots[1])>,sent"), "round 1's thread is its own Message-ID:\n\(legacyExport)")
    }
}
