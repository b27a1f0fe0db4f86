#!/usr/bin/env python3
"""Drives Outreach's web UI in real headless Chromium (Debian's /usr/bin/chromium, through Playwright) for
BrowserTests.swift, and prints one JSON object: what the pages showed and what the server answered.

    browser_flow.py BASE_URL ARTIFACT_DIR CONFIG_JSON --phase send|followup|google|select

The test decides; this script only drives the browser and reports. It fails (exit 1, traceback on stderr) only when
the UI cannot be driven at all: an element that never appears, a page that never loads. Every screen it visits is
saved as a PNG in ARTIFACT_DIR.

Phase "send": the admin adds two users and grants each an account; the second user uploads a list and schedules a
job for tomorrow; the first user uploads the master file, changes the selection, writes the email with the
placeholder menu, previews a row, sends the selected rows now and watches the job to 100%. Then the isolation and
CSRF probes. Phase "followup" (after the test delivered a reply and a bounce): Module 2's plan, the CSV downloads,
the A/B page, Module 2 for one variant and a follow-up scheduled from it.

Phase "select": an admin uploads a campaign of 2,100 rows (the page shows 500), reads the counts of the one-step
selections (all rows, the file's select column, the rows matching a text filter) and sends to the filtered rows.

Phase "google" (serve pointed at the fake Google of Fixtures/gmail): the admin connects a Gmail account with the
Accounts page's "Connect with Google", the browser following the consent screen's redirect back to /oauth2/callback;
then, with the fake told to refuse the next consent, the same for a second address.
"""
import argparse
import json
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000


class Flow:
    def __init__(self, base, artifacts, config, phase):
        self.base = base.rstrip("/")
        self.artifacts = Path(artifacts)
        self.config = config
        self.phase = phase
        self.observed = {"screenshots": [], "consoleErrors": []}
        self.shots = 0
        # Pages this script opens knowing they answer 404: the browser logs that as an error, which here is the point.
        self.expected_404 = set()
        # Pages (by URL prefix) this script opens knowing they answer with an error status, and that status's text.
        self.expected_errors = []

    # MARK: helpers

    def url(self, path):
        return self.base + path

    def shot(self, page, name):
        self.shots += 1
        path = self.artifacts / f"{self.phase}-{self.shots:02d}-{name}.png"
        page.evaluate("window.scrollTo(0, 0)")  # the sidebar is sticky: a scrolled page would draw it part-way down
        page.screenshot(path=str(path), full_page=True)
        self.observed["screenshots"].append(path.name)

    def new_context(self, browser, who):
        context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-GB", timezone_id="Europe/Berlin")
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", lambda page: self.watch_console(page, who))
        return context

    def watch_console(self, page, who):
        # A script error or a CSP violation on any page is something a user would notice (a dead button, a blank bar).
        def console(message):
            if message.type != "error" or (page.url in self.expected_404 and "status of 404" in message.text):
                return
            if any(page.url.startswith(prefix) and text in message.text for prefix, text in self.expected_errors):
                return
            self.observed["consoleErrors"].append(f"{who} {page.url}: {message.text}")
        page.on("console", console)
        page.on("pageerror", lambda e: self.observed["consoleErrors"].append(f"{who} {page.url}: {e}"))

    def login(self, context, who, shot=None):
        page = context.new_page()
        page.goto(self.url("/login"))
        if shot:
            self.shot(page, shot)
        page.fill("input[name=email]", who["email"])
        page.fill("input[name=password]", who["password"])
        with page.expect_navigation():
            page.click("form[action='/login'] button[type=submit]")
        if "/login" in page.url:
            raise RuntimeError(f"{who['email']} could not sign in: {page.inner_text('main')}")
        return page

    def logout(self, page):
        with page.expect_navigation():
            page.click(".signout button")
        assert "/login" in page.url, page.url

    def flash(self, page):
        return page.inner_text(".flash") if page.locator(".flash").count() else ""

    @staticmethod
    def csrf(page):
        return page.evaluate("document.body.dataset.csrf")

    def submit(self, page, selector):
        with page.expect_navigation():
            page.click(selector)

    def table(self, page, selector):
        return page.eval_on_selector_all(f"{selector} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")

    def upload(self, page, name, account, csv):
        page.goto(self.url("/module1"))
        page.fill("#upload input[name=name]", name)
        page.select_option("#upload select[name=account]", account)
        page.set_input_files("#upload input[name=file]", csv)
        with page.expect_navigation(url=lambda u: "/campaigns/" in u):
            page.click("#upload button[type=submit]")
        return int(page.url.rstrip("/").split("/")[-1])

    def download(self, page, selector):
        """Clicks a download link; the file as saved: its suggested name and its text."""
        with page.expect_download() as info:
            page.click(selector)
        download = info.value
        return {"name": download.suggested_filename, "text": Path(download.path()).read_bytes().decode("utf-8")}

    def status_and_text(self, response):
        return {"status": response.status, "text": response.text()}

    # MARK: phase 1

    def send_phase(self, browser):
        c = self.config
        obs = self.observed

        # The login form's CSRF: a POST without the token (no cookie, then the cookie but no field) signs nobody in.
        probe = self.new_context(browser, "anonymous")
        r = probe.request.post(self.url("/login"), form={"email": c["admin"]["email"], "password": c["admin"]["password"]}, max_redirects=0)
        no_cookie = {"status": r.status, "text": r.text(), "cookies": [k["name"] for k in probe.cookies()]}
        page = probe.new_page()
        page.goto(self.url("/login"))
        r = page.request.post(self.url("/login"), form={"email": c["admin"]["email"], "password": c["admin"]["password"]}, max_redirects=0)
        no_field = {"status": r.status, "text": r.text(), "cookies": [k["name"] for k in probe.cookies()]}
        page.goto(self.url("/jobs"))
        obs["loginCSRF"] = {"withoutCookie": no_cookie, "withoutField": no_field, "jobsAfterwards": page.url}
        probe.close()

        # The admin: two users, one account each, and a one-second pause on the sender so the bar moves visibly.
        admin = self.new_context(browser, "admin")
        page = self.login(admin, c["admin"], shot="login")
        obs["adminLanding"] = page.url
        page.goto(self.url("/users"))
        added = []
        for who, account in [(c["user"], c["account"]), (c["other"], c["otherAccount"])]:
            page.fill("#add-user input[name=email]", who["email"])
            page.fill("#add-user input[name=password]", who["password"])
            page.select_option("#add-user select[name=role]", "user")
            self.submit(page, "#add-user button[type=submit]")
            added.append(self.flash(page))
            page.select_option("#grant select[name=user]", label=who["email"])
            page.select_option("#grant select[name=account]", label=account)
            self.submit(page, "#grant button[type=submit]")
            added.append(self.flash(page))
        obs["adminFlashes"] = added
        obs["users"] = self.table(page, "table.list")
        self.shot(page, "users")
        page.goto(self.url("/accounts"))
        row = page.locator("tr", has_text=c["account"])
        row.locator("input[name=delay]").fill("1s")
        row.locator("input[name=jitter]").fill("0")
        # No guard window: the follow-up of phase 2 starts right after round 1.
        row.locator("input[name=guard]").fill("0")
        self.submit(page, f"tr:has-text('{c['account']}') form button[type=submit]")
        obs["adminAccounts"] = self.table(page, "table.list")
        self.shot(page, "accounts-admin")
        self.logout(page)
        admin.close()

        # The other user: their own campaign on their own account, a job for tomorrow.
        other = self.new_context(browser, "other")
        opage = self.login(other, c["other"])
        other_campaign = self.upload(opage, c["otherCampaign"], c["otherAccount"], c["otherCsv"])
        tomorrow = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86_400))
        r = opage.request.post(
            self.url(f"/api/campaigns/{other_campaign}/jobs"),
            data=json.dumps({"round": 1, "subject": "Private to the other user", "body": "Hello {first}", "mode": "send-all", "at": tomorrow}),
            headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf(opage)},
        )
        created = r.json()
        obs["otherJob"] = {"status": r.status, "id": created.get("id"), "state": created.get("state"), "campaignID": other_campaign}
        other_job = created["id"]

        # The user: sign in, Module 1.
        user = self.new_context(browser, "user")
        page = self.login(user, c["user"])
        obs["userLanding"] = page.url
        obs["userJobsBefore"] = self.table(page, "#jobs")
        self.shot(page, "jobs-empty")
        page.goto(self.url("/module1"))
        obs["module1Accounts"] = page.eval_on_selector_all("#upload select[name=account] option", "os => os.map(o => o.value)")
        obs["module1CampaignsBefore"] = self.table(page, "table.list")
        self.shot(page, "module1")
        campaign = self.upload(page, c["campaign"], c["account"], c["csv"])
        obs["campaignID"] = campaign
        page.wait_for_selector("#rows tbody tr")
        obs["campaignHeading"] = page.inner_text("h1")
        page.wait_for_selector("#import-report:not([hidden])")
        obs["importReport"] = page.inner_text("#import-report pre")
        obs["campaignFacts"] = page.inner_text("main > p.muted")
        obs["columns"] = page.eval_on_selector_all("#rows thead th", "ths => ths.map(t => t.innerText.trim())")
        checked = "() => [...document.querySelectorAll('#rows tbody input[name=row]')].filter(i => i.checked).map(i => Number(i.value))"
        obs["previewTable"] = self.table(page, "#rows")
        obs["checkedFromFile"] = page.evaluate(checked)
        for row in c["untick"]:
            page.uncheck(f"#rows input[name=row][value='{row}']")
        for row in c["tick"]:
            page.check(f"#rows input[name=row][value='{row}']")
        obs["checkedSent"] = page.evaluate(checked)
        obs["selectedCount"] = page.inner_text("#selected-count")

        # The email: a typed subject with {company}; the body typed, with {first} from the toolbar's placeholder menu.
        page.click("#subject")
        page.keyboard.type(c["subject"])
        page.click("#body")
        page.keyboard.type(c["bodyBefore"])
        obs["placeholderMenu"] = page.eval_on_selector_all("#placeholder option", "os => os.map(o => o.value).filter(v => v)")
        page.select_option("#placeholder", "first")
        page.keyboard.type(c["bodyAfter"])
        obs["subjectValue"] = page.input_value("#subject")
        obs["bodyValue"] = page.input_value("#body")

        # Preview a row: the message for that prospect, placeholders filled.
        target = c["previewRow"]
        page.select_option("#preview-row", str(target["row"]))
        page.wait_for_function(
            "email => (document.querySelector('#preview .headers') || {}).textContent?.includes(email)", arg=target["email"]
        )
        obs["preview"] = {
            "headers": page.inner_text("#preview .headers"),
            "html": page.inner_html("#preview .html") if page.locator("#preview .html").count() else "",
            "text": page.inner_text("#preview .html") if page.locator("#preview .html").count() else "",
        }

        page.select_option("#mode", "send-selected")
        page.check("input[name=when][value=now]")
        page.wait_for_function("() => document.getElementById('schedule-check').textContent.trim() !== ''")
        obs["scheduleCheck"] = page.inner_text("#schedule-check")
        self.shot(page, "campaign-compose")
        with page.expect_navigation(url=lambda u: "/jobs/" in u):
            page.click("#submit-round")
        job = int(page.url.rstrip("/").split("/")[-1])
        obs["jobID"] = job

        # The job page: the bar as the user sees it, sampled until the job ends.
        sample = """() => ({
            width: document.querySelector('.live [data-field=bar]').style.width,
            rendered: document.querySelector('.live [data-field=bar]').getBoundingClientRect().width
                / document.querySelector('.live .bar').getBoundingClientRect().width,
            counts: document.querySelector('.live [data-field=counts]').textContent.trim(),
            aria: document.querySelector('.live [role=progressbar]').getAttribute('aria-valuenow'),
            state: document.querySelector('h1 [data-field=state]').textContent.trim()
        })"""
        samples = []
        deadline = time.time() + 90
        while time.time() < deadline:
            s = page.evaluate(sample)
            if not samples or (s["width"], s["counts"], s["state"]) != (samples[-1]["width"], samples[-1]["counts"], samples[-1]["state"]):
                samples.append(s)
                if s["width"] not in ("", "0%", "100%") and "job-running" not in " ".join(self.observed["screenshots"]):
                    self.shot(page, "job-running")
            if s["state"] in ("completed", "failed", "cancelled", "missed") and s["width"] == "100%":
                break
            time.sleep(0.05)
        time.sleep(0.6)  # let the transition finish before measuring what is drawn and taking the picture
        samples.append(page.evaluate(sample))
        obs["progress"] = samples
        page.wait_for_function("n => document.querySelectorAll('#log tbody tr.SENT').length >= n", arg=len(obs["checkedSent"]))
        obs["jobLog"] = self.table(page, "#log")
        obs["jobFacts"] = page.inner_text("dl.facts")
        obs["jobActions"] = page.eval_on_selector_all(".actions button", "bs => bs.filter(b => b.offsetParent !== null).map(b => b.innerText.trim())")
        self.shot(page, "job-100")
        page.goto(self.url("/jobs"))
        obs["userJobsAfter"] = self.table(page, "#jobs")
        obs["jobsListBar"] = page.evaluate(f"document.querySelector('[data-progress=\"{job}\"] [data-field=bar]').style.width")
        self.shot(page, "jobs")

        # Isolation: the other user's job and campaign, by URL, page and API, read and write.
        leaks = [c["otherCampaign"], c["otherAccount"], "Private to the other user"]
        self.expected_404.add(self.url(f"/jobs/{other_job}"))
        response = page.goto(self.url(f"/jobs/{other_job}"))
        body = page.content()
        isolation = {"jobPage": response.status, "jobPageLeaks": [s for s in leaks if s in body], "jobPageHeading": page.inner_text("h1")}
        self.shot(page, "not-found")
        for name, path in [("apiJob", f"/api/jobs/{other_job}"), ("apiEvents", f"/api/jobs/{other_job}/events"), ("campaignPage", f"/campaigns/{other_campaign}"),
                           ("apiPlan", f"/api/campaigns/{other_campaign}/plan?round=2"), ("module2Plan", f"/module2?campaign={other_campaign}&round=2"),
                           ("masterCSV", f"/campaigns/{other_campaign}/master.csv"), ("roundLogCSV", f"/campaigns/{other_campaign}/log.csv?round=1"),
                           ("jobLogCSV", f"/jobs/{other_job}/log.csv"), ("apiSelection", f"/api/campaigns/{other_campaign}/selection?pick=all")]:
            r = page.request.get(self.url(path))
            isolation[name] = {"status": r.status, "leaks": [s for s in leaks if s in r.text()]}
        r = page.request.post(self.url(f"/jobs/{other_job}/cancel"), form={"_csrf": self.csrf(page)}, max_redirects=0)
        isolation["cancelOthers"] = {"status": r.status}
        r = page.request.get(self.url(f"/api/jobs?ids={other_job},{job}"))
        isolation["apiJobsByIDs"] = [j["id"] for j in r.json()]
        obs["isolation"] = isolation

        # CSRF: the same signed-in browser, a form post without its token (and with a wrong one), and the API without
        # its header: all refused before anything happens.
        form = {"subject": "Forged {first}", "body": "Forged", "mode": "send-all", "when": "now", "shown": ""}
        no_token = page.request.post(self.url(f"/campaigns/{campaign}/send"), form=form, max_redirects=0)
        wrong = page.request.post(self.url(f"/campaigns/{campaign}/send"), form={**form, "_csrf": "0" * 64}, max_redirects=0)
        api = page.request.post(
            self.url(f"/api/campaigns/{campaign}/jobs"), data=json.dumps({"round": 1, "subject": "Forged", "body": "Forged", "mode": "send-all"}),
            headers={"Content-Type": "application/json"},
        )
        obs["csrf"] = {"formWithoutToken": self.status_and_text(no_token), "formWrongToken": {"status": wrong.status}, "apiWithoutHeader": self.status_and_text(api)}
        obs["csrf"]["jobsAfter"] = [j["id"] for j in page.request.get(self.url("/api/jobs")).json()]

        # The other user's pending job: a cancel without the token is refused and the job stays; the page's own
        # Cancel button (which carries it) works.
        opage.goto(self.url(f"/jobs/{other_job}"))
        r = opage.request.post(self.url(f"/jobs/{other_job}/cancel"), form={}, max_redirects=0)
        state = opage.request.get(self.url(f"/api/jobs/{other_job}")).json()["state"]
        obs["csrf"]["cancelWithoutToken"] = {**self.status_and_text(r), "stateAfter": state}
        self.submit(opage, "form[action$='/cancel'] button")
        obs["csrf"]["cancelWithButton"] = opage.inner_text("h1 [data-field=state]")
        other.close()

        page.goto(self.url("/accounts"))
        obs["userAccounts"] = self.table(page, "table.list")
        self.shot(page, "accounts")
        page.goto(self.url("/help"))
        obs["helpHeading"] = page.inner_text("h1")
        self.shot(page, "help")
        user.close()

    # MARK: phase 2

    def followup_phase(self, browser):
        c = self.config
        obs = self.observed
        user = self.new_context(browser, "user")
        page = self.login(user, c["user"])
        page.goto(self.url("/module2"))
        obs["module2Campaigns"] = page.eval_on_selector_all("#plan-form select[name=campaign] option", "os => os.map(o => o.textContent.trim())")
        page.select_option("#plan-form select[name=campaign]", label=c["campaign"])
        page.fill("#plan-form input[name=round]", "2")
        self.submit(page, "#plan-form button[type=submit]")
        page.wait_for_selector("#plan tbody tr")
        # The reply and the bounce arrived a moment ago: sync the mailbox (a POST), which shows the plan again.
        self.submit(page, "#sync-form button[type=submit]")
        page.wait_for_selector("#plan tbody tr")
        obs["planHeading"] = page.locator("section.card h2").first.inner_text()
        obs["plan"] = [dict(zip(["row", "email", "decision", "reason"], cells)) for cells in self.table(page, "#plan")]
        obs["followupForm"] = page.locator("#followup-form").count()
        self.shot(page, "module2-plan")

        # The CSV downloads, as the browser saves them: the master file and round 1's log from the plan, the job's
        # log from its page; and the headers they came with.
        obs["downloads"] = {
            "master": self.download(page, "#download-master"),
            "roundLog": self.download(page, "#download-round-log"),
        }
        page.goto(self.url(f"/jobs/{c['jobID']}"))
        obs["downloads"]["jobLog"] = self.download(page, "#download-job-log")
        r = page.request.get(self.url(page.get_attribute("#download-job-log", "href")))
        obs["downloads"]["jobLogHeaders"] = {k: r.headers.get(k, "") for k in ["content-type", "content-disposition", "x-content-type-options"]}

        page.goto(self.url("/ab"))
        page.select_option("select[name=campaign]", label=c["campaign"])
        self.submit(page, "form[action='/ab'] button[type=submit]")
        obs["ab"] = self.table(page, "#ab") if page.locator("#ab").count() else []
        obs["abChart"] = page.locator(".chart svg").count()
        self.shot(page, "ab")

        # Module 2 for one variant, with a colleague's reply counting: the plan shows only that variant's rows, and
        # the follow-up scheduled from it goes to them alone.
        page.goto(self.url("/module2"))
        page.select_option("#plan-form select[name=campaign]", label=c["campaign"])
        page.fill("#plan-form input[name=round]", "2")
        self.submit(page, "#plan-form button[type=submit]")
        obs["variantOptions"] = page.eval_on_selector_all("#plan-variant option", "os => os.map(o => o.textContent.trim())")
        page.select_option("#plan-variant", c["followupVariant"])
        page.check("#plan-form input[name=domainReplies]")
        self.submit(page, "#plan-form button[type=submit]")
        page.wait_for_selector("#plan tbody tr")
        obs["variantPlanHeading"] = page.locator("section.card h2").first.inner_text()
        obs["variantPlan"] = [cells[:3] for cells in self.table(page, "#plan")]
        obs["variantPlanURL"] = page.url
        obs["variantScheduleHeading"] = page.inner_text("#followup-form h2")
        self.shot(page, "module2-variant")
        page.fill("#followup-form textarea[name=body]", c["followupBody"])
        page.select_option("#followup-form select[name=mode]", "send-all")
        with page.expect_navigation(url=lambda u: "/jobs/" in u):
            page.click("#followup-form button[type=submit]")
        obs["followupJobID"] = int(page.url.rstrip("/").split("/")[-1])
        obs["followupJobFacts"] = page.inner_text("dl.facts")
        page.goto(self.url("/jobs"))
        self.shot(page, "jobs")
        user.close()

    # MARK: phase "select"

    def pick(self, page, value):
        """Chooses a one-step selection and waits for the page's count of it."""
        page.select_option("#pick", value)
        page.wait_for_function("() => / rows selected$/.test(document.getElementById('pick-count').textContent)")
        return page.inner_text("#pick-count")

    def select_phase(self, browser):
        """A campaign of more rows than the page shows: the one-step selections' counts, then a send-selected job over
        the rows matching the text filter, most of them beyond the rows shown."""
        c = self.config
        obs = self.observed
        admin = self.new_context(browser, "admin")
        page = self.login(admin, c["admin"])
        campaign = self.upload(page, c["campaign"], c["account"], c["csv"])
        obs["campaignID"] = campaign
        page.wait_for_selector("#rows tbody tr")
        obs["boxes"] = page.locator("#rows input[name=row]").count()
        obs["moreRows"] = page.inner_text("input[name=shown] + p") if page.locator("input[name=shown] + p").count() else ""
        obs["pickOptions"] = page.eval_on_selector_all("#pick option", "os => os.map(o => o.value)")
        obs["counts"] = {"all": self.pick(page, "all"), "file": self.pick(page, "file")}
        obs["boxesDisabled"] = page.evaluate("() => [...document.querySelectorAll('#rows input[name=row]')].every(i => i.disabled)")
        page.select_option("#pick", "boxes")
        page.fill("#text-filter", c["filter"])
        obs["shownMatching"] = page.evaluate("() => [...document.querySelectorAll('#rows tbody tr')].filter(r => !r.hidden).length")
        obs["counts"]["filter"] = self.pick(page, "filter")
        page.fill("#subject", c["subject"])
        page.fill("#body", c["body"])
        page.select_option("#mode", c["mode"])
        page.check("input[name=when][value=now]")
        self.shot(page, "campaign-2000")
        with page.expect_navigation(url=lambda u: "/jobs/" in u):
            page.click("#submit-round")
        obs["jobID"] = int(page.url.rstrip("/").split("/")[-1])
        admin.close()

    # MARK: phase "google"

    @staticmethod
    def redirect_chain(response):
        """The navigation's hops, first to last: each request's method, its URL without the query (codes and state
        are secrets of the moment), the query's parameter names, and the status the hop answered."""
        hops = []
        request = response.request if response else None
        while request is not None:
            hop_response = request.response()
            split = urllib.parse.urlsplit(request.url)
            hops.append({
                "method": request.method,
                "url": urllib.parse.urlunsplit((split.scheme, split.netloc, split.path, "", "")),
                "query": sorted(urllib.parse.parse_qs(split.query, keep_blank_values=True)),
                "status": hop_response.status if hop_response else 0,
            })
            request = request.redirected_from
        return list(reversed(hops))

    def connect_google(self, page, who):
        """Fills "Connect a Gmail account" on /accounts and clicks the button; the browser goes to the consent screen
        and wherever that sends it. Reports the hops and the page it ends on."""
        page.goto(self.url("/accounts"))
        page.fill("#connect-google input[name=email]", who["email"])
        page.fill("#connect-google input[name=name]", who["name"])
        # The consent screen answers with a redirect at once: one navigation, from the POST to wherever that leads.
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Connect with Google").click()
        response = navigation.value
        page.wait_for_load_state("load")
        return {
            "hops": self.redirect_chain(response),
            "finalURL": page.url,
            "status": response.status if response else 0,
            "heading": page.inner_text("main h1"),
            "text": page.inner_text("main"),
            "flash": self.flash(page),
        }

    def fake_control(self, path, body):
        """One of the fake Google's test controls (not Google: plain JSON, no authentication)."""
        request = urllib.request.Request(self.config["fakeGoogle"] + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def google_phase(self, browser):
        c = self.config
        obs = self.observed
        admin = self.new_context(browser, "admin")
        page = self.login(admin, c["admin"])
        page.goto(self.url("/accounts"))
        obs["googleForm"] = {
            "count": page.locator("#connect-google").count(),
            "heading": page.locator("section.card:has(#connect-google) h2").inner_text() if page.locator("#connect-google").count() else "",
            "button": page.inner_text("#connect-google button[type=submit]") if page.locator("#connect-google").count() else "",
        }
        obs["accountsBefore"] = self.table(page, "table.list")
        self.shot(page, "accounts-form")

        # The consent: the fake's screen agrees for the login_hint's mailbox and sends the browser back.
        obs["connected"] = self.connect_google(page, c["connect"])
        obs["connected"]["accounts"] = self.table(page, "table.list")
        self.shot(page, "accounts-connected")

        # The refusal: the next consent screen answers error=access_denied; the callback's page answers 400.
        obs["denyFault"] = self.fake_control("/__faults", {"denyConsent": True}).get("denyConsent")
        self.expected_errors.append((self.url("/oauth2/callback"), "status of 400"))
        obs["refused"] = self.connect_google(page, c["refuse"])
        self.shot(page, "consent-refused")
        page.goto(self.url("/accounts"))
        obs["accountsAfter"] = self.table(page, "table.list")
        obs["flashAfter"] = self.flash(page)
        self.shot(page, "accounts-after")
        admin.close()

    def run(self):
        self.artifacts.mkdir(parents=True, exist_ok=True)
        phases = {"send": self.send_phase, "followup": self.followup_phase, "google": self.google_phase, "select": self.select_phase}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
            try:
                phases[self.phase](browser)
            finally:
                browser.close()
        return self.observed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("artifacts")
    parser.add_argument("config")
    parser.add_argument("--phase", choices=["send", "followup", "google", "select"], required=True)
    args = parser.parse_args()
    config = json.loads(Path(args.config).read_text())
    observed = Flow(args.base, args.artifacts, config, args.phase).run()
    json.dump(observed, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
