import OutreachCore
import Testing

struct FreeMailDomainsTests {
    @Test(
        "free-mail providers, under any of their country domains and in any case",
        arguments: [
            "gmail.com", "googlemail.com", "GMAIL.COM", "yahoo.com", "yahoo.co.uk", "yahoo.com.br", "yahoo.co.jp", "outlook.com",
            "outlook.fr", "hotmail.com", "hotmail.de", "live.com", "live.co.uk", "msn.com", "aol.com", "icloud.com", "me.com",
            "mac.com", "gmx.de", "gmx.net", "web.de", "mail.ru", "yandex.ru", "yandex.com.tr", "proton.me", "protonmail.com",
            "zoho.com", "qq.com", "163.com", "126.com", "orange.fr", "libero.it", "naver.com",
        ]
    )
    func freeMail(domain: String) {
        #expect(FreeMailDomains.contains(domain))
    }

    @Test(
        "company domains are not free mail, even when a label looks like a provider's",
        arguments: ["acme.com", "example.test", "live.acme.com", "yahoo-inc.com", "mail.acme.de", "gmail.acme.com", "outlook.example.org"]
    )
    func companies(domain: String) {
        #expect(!FreeMailDomains.contains(domain))
    }
}
