/// Which rows a round sends, which it drafts, and which it leaves alone (the seed's five modes).
public enum RoundMode: String, Sendable, CaseIterable, Codable {
    case sendAll = "send-all"
    case sendSelected = "send-selected"
    case draftAll = "draft-all"
    case draftSelected = "draft-selected"
    case draftSelectedSendRest = "draft-selected-send-rest"

    public enum Action: String, Sendable, Codable { case send, draft, skip }

    public func action(selected: Bool) -> Action {
        switch self {
        case .sendAll: .send
        case .sendSelected: selected ? .send : .skip
        case .draftAll: .draft
        case .draftSelected: selected ? .draft : .skip
        case .draftSelectedSendRest: selected ? .draft : .send
        }
    }
}
