import OutreachCore
import Testing

/// The subjects real clients write when they answer or forward "Hello Chloé" — the subject fallback matches a reply
/// without threading headers by them, so a prefix missed here is a follow-up to someone who answered.
struct ReplySubjectTests {
    @Test(
        "every client's reply and forward prefixes come off",
        arguments: [
            // English clients (Thunderbird, Gmail, Apple Mail, Outlook), and Outlook in Spanish, Portuguese, Japanese
            "Re: Hello Chloé", "RE: Hello Chloé", "re:Hello Chloé", "Fwd: Hello Chloé", "FW: Hello Chloé", "Fw: Hello Chloé",
            // French Outlook: a space (or a no-break space) before the colon
            "RE : Hello Chloé", "RE\u{A0}: Hello Chloé", "TR : Hello Chloé", "Réf. : Hello Chloé",
            // German, Italian, Spanish, Portuguese (Brazil), Dutch
            "AW: Hello Chloé", "WG: Hello Chloé", "R: Hello Chloé", "I: Hello Chloé", "Rif: Hello Chloé", "RV: Hello Chloé",
            "RES: Hello Chloé", "ENC: Hello Chloé", "Antw: Hello Chloé", "Doorst: Hello Chloé",
            // Swedish, Danish, Norwegian (SV reply, VB and VS forward), Finnish (VS reply, VL forward), Icelandic
            "SV: Hello Chloé", "VB: Hello Chloé", "VS: Hello Chloé", "VL: Hello Chloé", "FS: Hello Chloé",
            // Polish, Turkish, Hungarian, Greek
            "Odp: Hello Chloé", "YNT: Hello Chloé", "Vá: Hello Chloé", "ΑΠ: Hello Chloé", "ΠΡΘ: Hello Chloé",
            // Chinese (simplified and traditional), ASCII or full-width colon
            "回复: Hello Chloé", "回复：Hello Chloé", "答复: Hello Chloé", "回覆：Hello Chloé", "转发: Hello Chloé", "轉寄：Hello Chloé",
            // Japanese clients: RE with a full-width colon or full-width letters, an ideographic space, 返信 and 転送
            "RE：Hello Chloé", "Re：\u{3000}Hello Chloé", "ＲＥ：Hello Chloé", "返信: Hello Chloé", "転送: Hello Chloé",
            // counters (The Bat!, old Eudora), repeats, mixed languages, gateway tags before and between prefixes
            "Re[2]: Hello Chloé", "Re^2: Hello Chloé", "RE(3): Hello Chloé", "Re: RE: Fwd: Hello Chloé", "RE: FW: AW: WG: Hello Chloé",
            "[EXT] Re: Hello Chloé", "Re: [EXT] RE : Hello Chloé", "[SPAM] [External] SV: Hello Chloé",
            // spacing and case
            "  re :  HELLO   chloé ", "Hello Chloé",
        ]
    )
    func prefixesComeOff(subject: String) {
        #expect(ReplySubject.base(subject) == "hello chloé")
        #expect(ReplySubject.isReplyOrForward(subject) == (subject != "Hello Chloé"))
    }

    @Test(
        "a word before a colon that is no reply prefix stays, as does a prefix without its colon",
        arguments: [
            ("Regarding: Hello Chloé", "regarding: hello chloé"), ("Undeliverable: Hello Chloé", "undeliverable: hello chloé"),
            ("Re Hello Chloé", "re hello chloé"), ("Fwd Hello Chloé", "fwd hello chloé"), ("Ire: Hello", "ire: hello"),
            ("Re(vision): Hello", "re(vision): hello"), ("Hello: Re: Chloé", "hello: re: chloé"), ("Re:", ""),
        ]
    )
    func otherWordsStay(subject: String, base: String) {
        #expect(ReplySubject.base(subject) == base)
    }

    @Test("a subject counts as a reply or forward only at its start, after tags")
    func replyOrForward() {
        #expect(ReplySubject.isReplyOrForward("[SPAM] Re: Undeliverable: Hello"))
        #expect(!ReplySubject.isReplyOrForward("Undeliverable: Re: Hello"))
        #expect(!ReplySubject.isReplyOrForward("[EXT] Undeliverable: Hello"))
        #expect(!ReplySubject.isReplyOrForward("Returned mail: see transcript for details"))
    }
}
