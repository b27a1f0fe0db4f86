import CEtpan
import Foundation
import OutreachCore

/// Parses an RFC 5322 header block with libetpan's `mailimf` parser, which copes with the folded, half-broken
/// headers real mail clients send. Every C allocation is freed before returning.
public enum HeaderParser {
    public static func parse(_ bytes: [UInt8]) -> ParsedHeaders {
        var headers = ParsedHeaders()
        var index = 0
        var fieldsPointer: UnsafeMutablePointer<mailimf_fields>?
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                mailimf_fields_parse(chars.baseAddress, chars.count, &index, &fieldsPointer)
            }
        }
        guard status == MAILIMF_NO_ERROR, let fields = fieldsPointer else { return headers }
        defer { mailimf_fields_free(fields) }

        for fieldPointer in CList<mailimf_field>(fields.pointee.fld_list) {
            let field = fieldPointer.pointee
            switch Int(field.fld_type) {
            case MAILIMF_FIELD_MESSAGE_ID:
                if headers.messageID == nil, let id = field.fld_data.fld_message_id?.pointee.mid_value { headers.messageID = String(cString: id) }
            case MAILIMF_FIELD_IN_REPLY_TO:
                if headers.inReplyTo.isEmpty, let list = field.fld_data.fld_in_reply_to?.pointee.mid_list { headers.inReplyTo = strings(list) }
            case MAILIMF_FIELD_REFERENCES:
                if headers.references.isEmpty, let list = field.fld_data.fld_references?.pointee.mid_list { headers.references = strings(list) }
            case MAILIMF_FIELD_FROM:
                if headers.from.isEmpty, let list = field.fld_data.fld_from?.pointee.frm_mb_list { headers.from = mailboxes(list) }
            case MAILIMF_FIELD_TO:
                if headers.to.isEmpty, let list = field.fld_data.fld_to?.pointee.to_addr_list { headers.to = addresses(list) }
            case MAILIMF_FIELD_CC:
                if headers.cc.isEmpty, let list = field.fld_data.fld_cc?.pointee.cc_addr_list { headers.cc = addresses(list) }
            case MAILIMF_FIELD_SUBJECT:
                if headers.subject == nil, let value = field.fld_data.fld_subject?.pointee.sbj_value { headers.subject = decodeWords(value) }
            case MAILIMF_FIELD_ORIG_DATE:
                if headers.date == nil, let dt = field.fld_data.fld_orig_date?.pointee.dt_date_time { headers.date = date(dt.pointee) }
            case MAILIMF_FIELD_OPTIONAL_FIELD:
                guard let optional = field.fld_data.fld_optional_field?.pointee, let namePointer = optional.fld_name else { continue }
                let name = String(cString: namePointer).lowercased()
                let value = optional.fld_value.map { unfold(String(cString: $0)) } ?? ""
                // A structured field libetpan could not parse lands here: recover the ids by their brackets.
                switch name {
                case "message-id": if headers.messageID == nil { headers.messageID = MessageIdentifier.extract(from: value).first }
                case "in-reply-to": if headers.inReplyTo.isEmpty { headers.inReplyTo = MessageIdentifier.extract(from: value) }
                case "references": if headers.references.isEmpty { headers.references = MessageIdentifier.extract(from: value) }
                case "subject": if headers.subject == nil { headers.subject = decodeWords(value) }
                default: if headers.otherFields[name] == nil { headers.otherFields[name] = value }
                }
            default:
                continue
            }
        }
        return headers
    }

    public static func parse(_ text: String) -> ParsedHeaders { parse(Array(text.utf8)) }

    /// Decodes RFC 2047 encoded-words to UTF-8; raw 8-bit bytes are read as UTF-8, which is what modern clients send.
    public static func decodeWords(_ raw: UnsafePointer<CChar>) -> String {
        var index = 0
        var result: UnsafeMutablePointer<CChar>?
        let length = strlen(raw)
        guard mailmime_encoded_phrase_parse("utf-8", raw, length, &index, "utf-8", &result) == MAILIMF_NO_ERROR, let result else {
            return unfold(String(cString: raw))
        }
        defer { free(result) }
        return unfold(String(cString: result))
    }

    static func decodeWords(_ text: String) -> String { text.withCString { decodeWords($0) } }

    /// Drops line breaks and the surrounding spaces and tabs, on bytes (Foundation's string methods bridge through
    /// NSString: a tenth of a first sync went there).
    private static func unfold(_ s: String) -> String {
        var bytes = Array(s.utf8)
        bytes.removeAll { $0 == 0x0D || $0 == 0x0A }
        let isSpace = { (b: UInt8) in b == 0x20 || b == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    private static func strings(_ list: UnsafeMutablePointer<clist>) -> [String] {
        CList<CChar>(list).map { String(cString: $0) }
    }

    private static func mailbox(_ pointer: UnsafeMutablePointer<mailimf_mailbox>) -> Mailbox? {
        guard let spec = pointer.pointee.mb_addr_spec, let address = try? EmailAddress(parsing: String(cString: spec)) else { return nil }
        return Mailbox(address, name: pointer.pointee.mb_display_name.map { decodeWords($0) })
    }

    private static func mailboxes(_ list: UnsafeMutablePointer<mailimf_mailbox_list>) -> [Mailbox] {
        CList<mailimf_mailbox>(list.pointee.mb_list).compactMap(mailbox)
    }

    private static func addresses(_ list: UnsafeMutablePointer<mailimf_address_list>) -> [Mailbox] {
        CList<mailimf_address>(list.pointee.ad_list).flatMap { address -> [Mailbox] in
            switch Int(address.pointee.ad_type) {
            case MAILIMF_ADDRESS_MAILBOX: return address.pointee.ad_data.ad_mailbox.flatMap(mailbox).map { [$0] } ?? []
            case MAILIMF_ADDRESS_GROUP:
                guard let members = address.pointee.ad_data.ad_group?.pointee.grp_mb_list else { return [] }
                return mailboxes(members)
            default: return []
            }
        }
    }

    /// `dt_zone` is the offset written as a decimal number: +0130 arrives as 130.
    private static func date(_ dt: mailimf_date_time) -> Date? {
        let (month, day) = (Int(dt.dt_month), Int(dt.dt_day))
        // Out-of-range fields roll over as Calendar would have done; only nonsense is refused.
        guard (1...12).contains(month), (1...31).contains(day), dt.dt_year > 0 else { return nil }
        let zone = Int(dt.dt_zone)
        let minutes = (zone >= 0 ? 1 : -1) * ((abs(zone) / 100) * 60 + abs(zone) % 100)
        let local = CivilTime.seconds(year: Int(dt.dt_year), month: month, day: day, hour: Int(dt.dt_hour), minute: Int(dt.dt_min), second: Int(dt.dt_sec))
        return Date(timeIntervalSince1970: Double(local - minutes * 60))
    }
}
