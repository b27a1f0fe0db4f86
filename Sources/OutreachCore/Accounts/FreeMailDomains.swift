/// Domains of mail providers anyone can sign up with (Gmail, Outlook.com, Yahoo, GMX, QQ, …) and of the big ISPs'
/// consumer mail: two addresses there share a provider, not an employer.
public enum FreeMailDomains {
    /// Whether `domain` (any case) is a free-mail domain: one of ``domains``, or a provider of ``brands`` under a
    /// country or generic ending ("yahoo.co.uk", "hotmail.fr", "gmx.net", "yandex.com.tr").
    public static func contains(_ domain: String) -> Bool {
        let domain = domain.lowercased()
        if domains.contains(domain) { return true }
        let labels = domain.split(separator: ".")
        guard labels.count >= 2, brands.contains(String(labels[0])) else { return false }
        // "yahoo.co.uk" is Yahoo; "live.example.com" is someone's host named live.
        return labels.dropFirst().allSatisfy { $0.count <= 3 }
    }

    /// Providers that sign up users under many country domains.
    static let brands: Set<String> = ["yahoo", "hotmail", "live", "outlook", "aol", "gmx", "yandex"]

    static let domains: Set<String> = [
        // Google, Microsoft, Apple, Yahoo, AOL
        "gmail.com", "googlemail.com", "msn.com", "windowslive.com", "passport.com", "icloud.com", "me.com", "mac.com",
        "ymail.com", "rocketmail.com", "aim.com",
        // privacy and independent providers
        "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "tutanota.com", "tutanota.de", "tutamail.com", "tuta.io",
        "tuta.com", "zoho.com", "zohomail.com", "fastmail.com", "fastmail.fm", "hey.com", "mail.com", "email.com",
        "hushmail.com", "posteo.de", "mailbox.org", "disroot.org",
        // Germany, Austria, Switzerland
        "web.de", "t-online.de", "freenet.de", "arcor.de", "bluewin.ch",
        // France, Italy, Spain, Portugal, Benelux
        "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "neuf.fr", "libero.it", "virgilio.it", "tiscali.it",
        "alice.it", "tin.it", "telefonica.net", "sapo.pt", "telenet.be", "skynet.be", "ziggo.nl", "kpnmail.nl", "home.nl",
        // United Kingdom, Ireland, North America, Australia
        "btinternet.com", "sky.com", "virginmedia.com", "talktalk.net", "eircom.net", "comcast.net", "att.net",
        "sbcglobal.net", "verizon.net", "cox.net", "charter.net", "earthlink.net", "shaw.ca", "rogers.com", "sympatico.ca",
        "bigpond.com", "optusnet.com.au",
        // Central and Eastern Europe, Russia
        "seznam.cz", "centrum.cz", "wp.pl", "o2.pl", "interia.pl", "onet.pl", "op.pl", "mail.ru", "bk.ru", "inbox.ru",
        "list.ru", "ya.ru", "rambler.ru", "ukr.net", "abv.bg",
        // Asia, Latin America
        "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com", "sina.cn", "sohu.com", "aliyun.com",
        "naver.com", "daum.net", "hanmail.net", "nate.com", "rediffmail.com", "uol.com.br", "bol.com.br", "terra.com.br",
        "ig.com.br",
    ]
}
