import OutreachCore

/// Round 1 (Module 1): the first, personal email to each prospect — sent or drafted as the mode and the row's
/// `select` column say.
public enum FirstRound {
    public static let round = 1

    /// Plans a row of round 1.
    public static func plan(_ prospect: Prospect, mode: RoundMode, render: (Prospect) -> RenderedRow) -> RoundRunner.RowPlan {
        let action = mode.action(selected: prospect.selected)
        guard action != .skip else { return .skip(reason: "not selected (mode \(mode.rawValue))") }
        switch render(prospect) {
        case .message(let subject, let text, let html):
            return .deliver(.init(action: action, subject: subject, text: text, html: html))
        case .needsData(let missing):
            return .hold(reason: "needs data: no value and no fallback for \(missing.map { "{\($0)}" }.joined(separator: ", "))")
        case .unsafe(let reason):
            return .hold(reason: reason)
        }
    }
}
