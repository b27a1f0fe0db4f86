import Foundation

/// One scheduled execution of a round for one account: created by the CLI or the web UI, run by a worker.
///
/// pending → running → completed | failed | cancelled; a running job may be paused (by the operator, or by an
/// account-level limit the server reported) and resumed; a pending job whose time passed by more than the grace
/// period while no worker ran is `missed`, never fired hours late without a word.
public struct Job: Sendable, Hashable, Codable, Identifiable {
    public enum State: String, Sendable, Codable, CaseIterable {
        case pending, running, paused, completed, failed, cancelled, missed

        /// States a job never leaves.
        public var isFinal: Bool { self == .completed || self == .failed || self == .cancelled || self == .missed }
        /// States that hold a place in the account's schedule (the guard window is measured against them).
        public var isBooked: Bool { self == .pending || self == .running }
    }

    /// What the operator asked a running job to do; the worker acts on it between two rows.
    public enum Control: String, Sendable, Codable { case pause, cancel }

    public var id: Int64?
    public var campaignID: Int64
    public var accountID: Int64
    public var round: Int
    public var spec: Spec
    public var state: State
    public var control: Control?
    /// When the job should start.
    public var runAt: Date
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var counters: Counters
    /// Why the job is paused, failed, missed or waiting; shown beside the state.
    public var note: String?
    /// Who created it (web users; nil from the CLI).
    public var ownerID: Int64?

    /// What to run: the template and the row selection, fixed when the job is created.
    public struct Spec: Sendable, Hashable, Codable {
        public var mode: RoundMode
        public var variant: String?
        /// Follow-ups: send even where the sender wrote again in the thread.
        public var force: Bool
        /// Follow-ups: a human reply from the prospect's domain (not free mail) counts as their reply.
        public var domainReplies: Bool
        /// The template file's text as it was when the job was created: editing the file later changes nothing.
        public var template: String
        /// Where the template came from, for the operator's eyes only.
        public var templateName: String

        public init(
            mode: RoundMode, variant: String? = nil, force: Bool = false, domainReplies: Bool = false, template: String, templateName: String
        ) {
            self.mode = mode
            self.variant = variant
            self.force = force
            self.domainReplies = domainReplies
            self.template = template
            self.templateName = templateName
        }
    }

    public struct Counters: Sendable, Hashable, Codable {
        public var total = 0
        public var sent = 0
        public var drafted = 0
        public var skipped = 0
        public var failed = 0
        /// Held for the operator: missing data, or an outcome the server never confirmed.
        public var held = 0

        public init(total: Int = 0, sent: Int = 0, drafted: Int = 0, skipped: Int = 0, failed: Int = 0, held: Int = 0) {
            self.total = total
            self.sent = sent
            self.drafted = drafted
            self.skipped = skipped
            self.failed = failed
            self.held = held
        }

        public var done: Int { sent + drafted + skipped + failed + held }
        public var remaining: Int { max(0, total - done) }
        /// 0…1 for progress bars.
        public var fraction: Double { total == 0 ? 0 : Double(min(done, total)) / Double(total) }
    }

    public init(
        id: Int64? = nil, campaignID: Int64, accountID: Int64, round: Int, spec: Spec, state: State = .pending, runAt: Date,
        createdAt: Date = Date(), counters: Counters = Counters(), note: String? = nil, ownerID: Int64? = nil
    ) {
        self.id = id
        self.campaignID = campaignID
        self.accountID = accountID
        self.round = round
        self.spec = spec
        self.state = state
        self.runAt = runAt
        self.createdAt = createdAt
        self.counters = counters
        self.note = note
        self.ownerID = ownerID
    }

    /// "#12" as jobs are named to operators.
    public var label: String { "#\(id ?? 0)" }
}
