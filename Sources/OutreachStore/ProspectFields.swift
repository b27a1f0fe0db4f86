import Foundation
import OutreachCore

/// A prospect's fields as both stores keep them: one flat JSON object of strings in a text column, written and read
/// here so SQLite and PostgreSQL hold the same text.
enum ProspectFields {
    /// The fields as a JSON object, written by hand: JSONSerialization bridges every value (and sorts keys with a
    /// locale-aware compare when asked to), which made it nearly all of a million-row import's time.
    static func encode(_ fields: [ColumnKey: String]) throws -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(256)
        // Key order does not matter in a JSON object; not sorting saves a sort per row.
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONStringLiteral.append(field.key.rawValue, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONStringLiteral.append(field.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// A prospect from its stored columns; the address comes from the fields' original spelling when they have it.
    static func prospect(id: Int64?, campaignID: Int64, row: Int, email emailText: String, fields fieldsText: String, selected: Bool, variant: String?) throws
        -> Prospect
    {
        guard let object = FlatJSONObject.strings(fieldsText) ?? (try? JSONDecoder().decode([String: String].self, from: Data(fieldsText.utf8))) else {
            throw StoreError.corrupt("prospect row \(row) has unreadable fields")
        }
        var fields: [ColumnKey: String] = [:]
        for (key, value) in object { fields[ColumnKey(normalizedValue: key)] = value }
        let email: EmailAddress
        let address = fields[.email] ?? emailText
        do {
            email = try EmailAddress(parsing: address)
        } catch {
            // Imports before invisible characters were refused stored such addresses: load them as they are (the row
            // fails when sent, as it always did) rather than make the whole campaign unreadable.
            guard case .invisibleCharacter = error, let at = address.lastIndex(of: "@") else {
                throw StoreError.corrupt("prospect \(emailText.visiblyEscaped): \(error)")
            }
            email = EmailAddress(localPart: String(address[..<at]), domain: String(address[address.index(after: at)...]))
        }
        return Prospect(id: id, campaignID: campaignID, row: row, email: email, fields: fields, selected: selected, variant: variant)
    }
}
