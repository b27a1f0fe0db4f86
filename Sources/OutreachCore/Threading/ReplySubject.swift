/// The reply and forward prefixes mail clients put in front of a subject ("Re:", "RE :", "AW:", "R:", "SV:", "回复：",
/// "Re[2]:"), behind any bracketed tags a gateway adds ("[EXT] Re:"). One list for the classifier (a subject that
/// answers or forwards is a person's, not a bounce's) and for the follow-up decision's subject fallback (a reply
/// without threading headers is matched to round 1 by its base subject).
public enum ReplySubject {
    /// Whether the subject, after any bracketed tags, starts with a reply or forward prefix.
    public static func isReplyOrForward(_ subject: String) -> Bool {
        var rest = Substring(subject)
        while let next = afterTag(rest) { rest = next }
        return afterPrefix(rest) != nil
    }

    /// The subject without its leading reply and forward prefixes and bracketed tags, however many and in whatever
    /// order ("[EXT] RE: Fwd: AW: Hello"), lowercased, white space collapsed to single spaces: "hello".
    public static func base(_ subject: String) -> String {
        var rest = Substring(subject)
        while let next = afterTag(rest) ?? afterPrefix(rest) { rest = next }
        return rest.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Reply and forward words, lowercased, without the colon (and without a trailing dot: "Réf." is "réf"), as
    /// Outlook and other clients write them in each language (Wikipedia, "List of email subject abbreviations").
    static let prefixes: Set<String> = [
        // English, and the default of most clients in most languages (Outlook in Spanish, French, Japanese, …)
        "re", "fw", "fwd",
        "aw", "wg", "antwort",  // German: Antwort, Weitergeleitet
        "tr", "réf", "ref",  // French: "RE :", "TR :" (transféré), "Réf. :"
        "r", "i", "rif",  // Italian: R: (risposta), I: (inoltrato), Rif:
        "rv",  // Spanish: RV: (reenviado)
        "res", "enc",  // Portuguese (Brazil): RES: (resposta), ENC: (encaminhado)
        "antw", "doorst",  // Dutch: Antw: (antwoord), Doorst: (doorsturen)
        "sv", "vs", "vb", "vl", "fs", "svar",  // Nordic: SV: (svar), VS: (Danish/Norwegian forward, Finnish reply), VB:, VL:, FS:
        "odp", "pd",  // Polish: Odp: (odpowiedź), PD: (przekaż dalej)
        "odg",  // Croatian, Serbian, Slovenian: Odg: (odgovor)
        "vá", "tov",  // Hungarian: Vá: (válasz), Tov: (továbbítás)
        "ynt",  // Turkish: YNT: (yanıt)
        "atb", "ats",  // Latvian, Lithuanian
        "απ", "σχετ", "πρθ",  // Greek
        "השב", "הועבר",  // Hebrew
        "رد",  // Arabic
        "回复", "回覆", "答复", "答覆", "转发", "轉寄", "轉發",  // Chinese, simplified and traditional
        "返信", "転送",  // Japanese
    ]

    /// The longest word in ``prefixes``: a longer word is not worth lowercasing and looking up.
    private static let longestPrefix = prefixes.map(\.count).max() ?? 0

    /// The text after one leading bracketed tag ("[EXT]", "[SPAM]", "[Ticket 42]"), or nil.
    private static func afterTag(_ text: Substring) -> Substring? {
        let text = text.drop(while: \.isWhitespace)
        guard text.first == "[", let close = text.firstIndex(of: "]") else { return nil }
        return text[text.index(after: close)...]
    }

    /// The text after one leading prefix, or nil: a word of ``prefixes``, an optional counter ("Re[2]:", "Re(2):",
    /// "Re^2:"), optional white space ("RE : " in French typography), and an ASCII or full-width colon ("Re：").
    private static func afterPrefix(_ text: Substring) -> Substring? {
        let text = text.drop(while: \.isWhitespace)
        let word = text.prefix { $0.isLetter || $0 == "." }
        guard !word.isEmpty, word.count <= longestPrefix + 1, prefixes.contains(folded(word)) else { return nil }
        var rest = text[word.endIndex...]
        if let open = rest.first, open == "[" || open == "(" || open == "^" {
            let digits = rest.dropFirst().prefix(while: \.isNumber)
            let after = rest[digits.endIndex...]
            let close: Character? = open == "[" ? "]" : open == "(" ? ")" : nil
            if !digits.isEmpty, close == nil || after.first == close { rest = close == nil ? after : after.dropFirst() }
        }
        rest = rest.drop(while: \.isWhitespace)
        guard rest.first == ":" || rest.first == "：" else { return nil }
        return rest.dropFirst()
    }

    /// Lowercased, full-width Latin letters ("ＲＥ", as some Japanese clients write it) folded to ASCII, without a
    /// trailing dot.
    private static func folded(_ word: Substring) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in word.unicodeScalars {
            if (0xFF21...0xFF5A).contains(scalar.value), let ascii = Unicode.Scalar(scalar.value - 0xFEE0) {
                scalars.append(ascii)
            } else {
                scalars.append(scalar)
            }
        }
        var text = String(scalars).lowercased()
        while text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
