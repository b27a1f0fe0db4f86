import Testing

@testable import OutreachCore

struct RowSelectionTests {
    static func prospect(_ row: Int, company: String, select: String?, variant: String?, selected: Bool = false) throws -> Prospect {
        var fields: [ColumnKey: String] = ["email": "p\(row)@example.test", "company": company]
        if let select { fields[.select] = select }
        return Prospect(campaignID: 1, row: row, email: try EmailAddress(parsing: "p\(row)@example.test"), fields: fields, selected: selected, variant: variant)
    }

    @Test("all takes every row; filter takes the variant (any case) and the text in the address or any cell (any case); file takes what the select column ticked, whatever the row's current selection")
    func picks() throws {
        let rows = [
            try Self.prospect(1, company: "Keep Industries", select: "1", variant: "A"),
            try Self.prospect(2, company: "keeper GmbH", select: "", variant: "b"),
            try Self.prospect(3, company: "Other", select: "yes", variant: "A", selected: false),
            try Self.prospect(4, company: "Other", select: "maybe", variant: nil, selected: true),
            try Self.prospect(5, company: "Other", select: nil, variant: "B", selected: true),
        ]
        func picked(_ selection: RowSelection) -> [Int] { rows.filter(selection.includes).map(\.row) }

        #expect(picked(RowSelection(pick: .all, variant: "A", text: "keep")) == [1, 2, 3, 4, 5])
        #expect(picked(RowSelection(pick: .filter)) == [1, 2, 3, 4, 5])
        #expect(picked(RowSelection(pick: .filter, text: "KEEP")) == [1, 2])
        #expect(picked(RowSelection(pick: .filter, variant: "B")) == [2, 5])
        #expect(picked(RowSelection(pick: .filter, variant: "b", text: "keep")) == [2])
        #expect(picked(RowSelection(pick: .filter, text: "p3@")) == [3])
        #expect(picked(RowSelection(pick: .filter, variant: "", text: "")) == [1, 2, 3, 4, 5])
        #expect(picked(RowSelection(pick: .file)) == [1, 3])
    }
}
