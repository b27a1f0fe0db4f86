/// One row of a campaign.
public struct Prospect: Sendable, Hashable, Codable {
    public var id: Int64?
    public var campaignID: Int64
    /// The data row number in the imported file (1 = the first row after the header).
    public var row: Int
    public var email: EmailAddress
    /// Every column's value by key, as imported (email, first, … included).
    public var fields: [ColumnKey: String]
    public var selected: Bool
    public var variant: String?

    public init(id: Int64? = nil, campaignID: Int64, row: Int, email: EmailAddress, fields: [ColumnKey: String], selected: Bool, variant: String?) {
        self.id = id
        self.campaignID = campaignID
        self.row = row
        self.email = email
        self.fields = fields
        self.selected = selected
        self.variant = variant
    }
}
