import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

/// The pages' Mustache templates. They live in the binary (no template folder to deploy), and every value is
/// HTML-escaped by `{{…}}`; only `{{{content}}}` — a page already rendered — is inserted raw.
enum PageTemplates {
    static let all: [String: String] = [
        "layout": layout, "login": login, "jobs": jobs, "job": job, "accounts": accounts, "module1": module1, "campaign": campaign,
        "module2": module2, "ab": ab, "users": users, "help": help, "message": message, "progress": progress,
    ]

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Outreach</title>
        <link rel="stylesheet" href="/assets/app.css">
        <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
        </head>
        <body data-csrf="{{csrf}}">
        {{#signedIn}}
        <aside class="sidebar"><div class="sidebar-inner">
          <div class="brand">Outreach</div>
          <nav>
            <a href="/module1" class="{{#nav.module1}}current{{/nav.module1}}">Module 1 – Initial Outreach</a>
            <a href="/module2" class="{{#nav.module2}}current{{/nav.module2}}">Module 2 – Follow-ups</a>
            <a href="/jobs" class="{{#nav.jobs}}current{{/nav.jobs}}">Jobs</a>
            <a href="/ab" class="{{#nav.ab}}current{{/nav.ab}}">A/B tests</a>
            <a href="/accounts" class="{{#nav.accounts}}current{{/nav.accounts}}">Accounts / Settings</a>
            {{#isAdmin}}<a href="/users" class="{{#nav.users}}current{{/nav.users}}">Users</a>{{/isAdmin}}
            <a href="/help" class="{{#nav.help}}current{{/nav.help}}">Help</a>
          </nav>
          <form method="post" action="/logout" class="signout">
            <input type="hidden" name="_csrf" value="{{csrf}}">
            <span>{{userEmail}}</span>
            <button type="submit" class="link">Sign out</button>
          </form>
        </div></aside>
        {{/signedIn}}
        <main class="{{^signedIn}}bare{{/signedIn}}">
        {{#flash}}<div class="flash {{kind}}" role="status">{{message}}</div>{{/flash}}
        {{{content}}}
        </main>
        <script src="/assets/app.js"></script>
        </body>
        </html>
        """

    static let login = """
        <section class="login">
          <h1>Outreach</h1>
          <p class="muted">Sign in to send first emails and reply-aware follow-ups from your own mailboxes.</p>
          {{#error}}<div class="flash error" role="alert">{{error}}</div>{{/error}}
          <form method="post" action="/login">
            <input type="hidden" name="_csrf" value="{{csrf}}">
            <input type="hidden" name="next" value="{{next}}">
            <label>Email <input type="email" name="email" value="{{email}}" required autofocus autocomplete="username"></label>
            <label>Password <input type="password" name="password" required autocomplete="current-password"></label>
            <button type="submit" class="primary">Sign in</button>
          </form>
        </section>
        """

    static let jobs = """
        <h1>Jobs</h1>
        <p class="muted">Every round runs as a job. Progress updates by itself.</p>
        <table class="list" id="jobs">
          <thead><tr><th>Job</th><th>State</th><th>Campaign</th><th>Round</th><th>Account</th><th>Start</th><th>Progress</th><th>Note</th></tr></thead>
          <tbody>
          {{{rows}}}
          {{^rows}}<tr><td colspan="8" class="muted">No jobs yet. Start one from Module 1.</td></tr>{{/rows}}
          </tbody>
        </table>
        {{#more}}<p><a href="/jobs?before={{more}}">Older jobs</a></p>{{/more}}
        """

    /// One row of the job list (a ``RowTemplate``: rendered in Swift, not by Mustache).
    static let jobRow = RowTemplate("""
          <tr data-job="{{id}}">
            <td><a href="/jobs/{{id}}">#{{id}}</a></td>
            <td><span class="state {{state}}" data-field="state">{{state}}</span></td>
            <td>{{campaign}}</td><td>{{round}}</td><td>{{account}}</td><td>{{start}}</td>
            <td>
        """ + progressRow + """
            </td>
            <td class="note" data-field="note">{{note}}</td>
          </tr>

        """)

    /// A job's log line (a ``RowTemplate``).
    static let eventRow = RowTemplate("""
        <tr class="{{kind}}"><td>{{at}}</td><td>{{kind}}</td><td>{{row}}</td><td>{{email}}</td><td>{{detail}}</td></tr>

        """)

    static let progressRow = progress

    static let progress = """
        <div class="progress" data-progress="{{id}}">
          <div class="bar" role="progressbar" aria-label="Job #{{id}}" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{{percent}}"><span data-field="bar" data-percent="{{percent}}"></span></div>
          <div class="counts" data-field="counts">{{done}}/{{total}} · sent {{sent}} · drafted {{drafted}} · skipped {{skipped}} · failed {{failed}} · held {{held}}</div>
        </div>
        """

    static let job = """
        {{#job}}
        <h1>Job #{{id}} <span class="state {{state}}" data-field="state">{{state}}</span></h1>
        <dl class="facts">
          <dt>Campaign</dt><dd>{{campaign}}, round {{round}}</dd>
          <dt>Account</dt><dd>{{account}}</dd>
          <dt>Mode</dt><dd>{{mode}}{{#variant}}, variant {{variant}}{{/variant}}{{#force}}, force{{/force}}{{#domainReplies}}, replies from the prospect's domain count{{/domainReplies}}</dd>
          <dt>Start</dt><dd>{{start}}</dd>
          <dt>Note</dt><dd data-field="note">{{note}}{{^note}}–{{/note}}</dd>
        </dl>
        <section class="live" data-job="{{id}}" data-live="1">
          {{> progress}}
        </section>
        <div class="actions" data-actions="{{id}}">
          <form method="post" action="/jobs/{{id}}/pause" data-action="pause" {{^canPause}}hidden{{/canPause}}><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit">Pause</button></form>
          <form method="post" action="/jobs/{{id}}/resume" data-action="resume" {{^canResume}}hidden{{/canResume}}><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit">Resume</button></form>
          <form method="post" action="/jobs/{{id}}/cancel" data-action="cancel" {{^canCancel}}hidden{{/canCancel}}><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit" class="danger">Cancel</button></form>
        </div>
        <h2>Log</h2>
        <p class="downloads"><a href="/jobs/{{id}}/log.csv" id="download-job-log">Download the log as CSV</a></p>
        <table class="list log" id="log" data-after="{{lastEvent}}">
          <thead><tr><th>Time</th><th>What</th><th>Row</th><th>Address</th><th>Detail</th></tr></thead>
          <tbody>
          {{{eventRows}}}
          </tbody>
        </table>
        {{/job}}
        """

    static let accounts = """
        <h1>Accounts / Settings</h1>
        <table class="list">
          <thead><tr><th>Account</th><th>Servers</th><th>Last sync</th><th>Indexed</th><th>Sent today</th><th>Pacing</th></tr></thead>
          <tbody>
          {{#accounts}}
          <tr>
            <td><strong>{{email}}</strong>{{#name}}<br><span class="muted">{{name}}</span>{{/name}}</td>
            <td class="small">{{smtp}}<br>{{imap}}{{#needsReconnect}}<br><span class="error">Needs reconnecting: {{needsReconnect}}</span>{{/needsReconnect}}
              {{#reconnectWithGoogle}}<form method="post" action="/accounts/google" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="email" value="{{email}}"><button type="submit">Reconnect with Google</button></form>{{/reconnectWithGoogle}}</td>
            <td>{{lastSync}}{{#syncError}}<br><span class="error">{{syncError}}</span>{{/syncError}}</td>
            <td>{{indexed}}</td>
            <td>{{sentToday}} / {{cap}}</td>
            <td>
              {{#isAdmin}}
              <form method="post" action="/accounts/{{id}}/settings" class="inline">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label>Pause <input name="delay" value="{{delay}}" size="5"></label>
                <label>+ jitter <input name="jitter" value="{{jitter}}" size="5"></label>
                <label>Cap/day <input name="dailyCap" value="{{capSetting}}" size="5"></label>
                <label>Guard <input name="guard" value="{{guard}}" size="4"></label>
                <label>Window <input name="window" value="{{window}}" placeholder="Mon-Fri 09:00-17:00 Europe/Berlin" size="28"></label>
                <button type="submit">Save</button>
              </form>
              {{/isAdmin}}
              {{^isAdmin}}{{delay}} between messages (+ up to {{jitter}}); jobs {{guard}} apart; {{#window}}sends {{window}}{{/window}}{{^window}}any time{{/window}}{{/isAdmin}}
            </td>
          </tr>
          {{/accounts}}
          {{^accounts}}<tr><td colspan="6" class="muted">No accounts you may use yet.{{^isAdmin}} Ask an admin to grant you one.{{/isAdmin}}</td></tr>{{/accounts}}
          </tbody>
        </table>
        {{#isAdmin}}
        <section class="card">
        <h2>Connect a Gmail account</h2>
        {{#googleConfigured}}
        <form method="post" action="/accounts/google" class="grid" id="connect-google">
          <input type="hidden" name="_csrf" value="{{csrf}}">
          <label>Gmail address <input type="email" name="email" required></label>
          <label>Display name <input name="name"></label>
          <div class="actions"><button type="submit" class="primary">Connect with Google</button></div>
        </form>
        <p class="muted small">Google asks you to allow sending, drafts and reading message headers; the same button reconnects an account that needs it.</p>
        {{/googleConfigured}}
        {{^googleConfigured}}<p class="muted">Set GMAIL_CLIENT_ID and GMAIL_CLIENT_SECRET for <code>outreach serve</code> to connect Gmail accounts here, or use <code>outreach account connect-gmail EMAIL --client-id ID</code>.</p>{{/googleConfigured}}
        </section>
        <section class="card">
        <h2>Add an SMTP/IMAP account</h2>
        <form method="post" action="/accounts" class="grid" id="add-account">
          <input type="hidden" name="_csrf" value="{{csrf}}">
          <label>Address <input type="email" name="email" required></label>
          <label>Display name <input name="name"></label>
          <label>SMTP URL <input name="smtp" placeholder="smtps://smtp.example.com:465" required></label>
          <label>IMAP URL <input name="imap" placeholder="imaps://imap.example.com:993" required></label>
          <label>User name (if not the address) <input name="username"></label>
          <label>Password <input type="password" name="password" required autocomplete="new-password"></label>
          <label>CA file (PEM path on the server, optional) <input name="caFile"></label>
          <div class="actions">
            <button type="button" id="test-connection">Test connection</button>
            <button type="submit" class="primary">Add account</button>
          </div>
          <pre class="result" id="test-result" hidden></pre>
        </form>
        </section>
        {{/isAdmin}}
        """

    static let module1 = """
        <h1>Module 1 – Initial Outreach</h1>
        <section class="card">
          <h2>1. Upload the master file</h2>
          <p class="muted">A CSV export (UTF-8, UTF-16 or Windows-1252; comma, semicolon, tab or pipe). It becomes a campaign: every round runs from it.</p>
          <form id="upload" class="grid">
            <label>Campaign name <input name="name" required></label>
            <label>Send from
              <select name="account" required>{{#accounts}}<option value="{{email}}">{{email}}</option>{{/accounts}}</select>
            </label>
            <label>CSV file <input type="file" name="file" accept=".csv,text/csv,text/plain" required></label>
            <div class="actions"><button type="submit" class="primary">Upload</button></div>
            <pre class="result" id="upload-result" hidden></pre>
          </form>
        </section>
        <h2>Your campaigns</h2>
        <table class="list">
          <thead><tr><th>Campaign</th><th>Account</th><th>Prospects</th><th>File</th></tr></thead>
          <tbody>
          {{#campaigns}}<tr><td><a href="/campaigns/{{id}}">{{name}}</a></td><td>{{account}}</td><td>{{prospects}}</td><td>{{file}}</td></tr>{{/campaigns}}
          {{^campaigns}}<tr><td colspan="4" class="muted">None yet.</td></tr>{{/campaigns}}
          </tbody>
        </table>
        """

    static let campaign = """
        {{#campaign}}
        <h1>{{name}}</h1>
        <p class="muted">From {{account}} · {{prospects}} prospects · {{file}}</p>
        <p class="downloads">Download as CSV: <a href="/campaigns/{{id}}/master.csv" id="download-master">the master file</a> (with every round's Message-IDs and statuses; import it to continue elsewhere) · <a href="/campaigns/{{id}}/log.csv" id="download-log">the round log</a></p>
        <section class="card" id="import-report" hidden><h2>Import report</h2><pre class="report"></pre></section>
        <form method="post" action="/campaigns/{{id}}/send" id="compose" data-campaign="{{id}}">
          <input type="hidden" name="_csrf" value="{{csrf}}">
          <section class="card">
            <h2>2. Choose the rows</h2>
            <div class="toolbar">
              <label class="inline">Variant <select id="variant-filter" name="variant"><option value="">all</option>{{#variants}}<option>{{.}}</option>{{/variants}}</select></label>
              <label class="inline">Containing <input type="search" id="text-filter" name="filter" placeholder="text in any column"></label>
              <button type="button" data-select="all">Select all shown</button>
              <button type="button" data-select="none">Select none</button>
              <span class="muted" id="selected-count"></span>
            </div>
            <div class="toolbar">
              <label class="inline">Rows for the "selected" modes
                <select name="pick" id="pick">
                  <option value="boxes">the ticked rows{{#moreRows}} (rows not shown keep their selection){{/moreRows}}</option>
                  <option value="all">all {{prospects}} rows of the campaign</option>
                  <option value="filter">every row matching the variant and text filter</option>
                  {{#hasSelectColumn}}<option value="file">the rows the file's select column ticks</option>{{/hasSelectColumn}}
                </select>
              </label>
              <span class="muted" id="pick-count" aria-live="polite"></span>
            </div>
            <div class="scroll">
            <table class="list rows" id="rows">
              <thead><tr><th></th><th>Row</th>{{#columns}}<th title="{{header}}">{{key}}</th>{{/columns}}<th>variant</th></tr></thead>
              <tbody>
              {{#rows}}
              <tr data-variant="{{variant}}" data-search="{{search}}"><td><input type="checkbox" name="row" value="{{row}}" {{#selected}}checked{{/selected}}></td><td>{{row}}</td>{{#cells}}<td>{{.}}</td>{{/cells}}<td>{{variant}}</td></tr>
              {{/rows}}
              </tbody>
            </table>
            </div>
            <input type="hidden" name="shown" value="{{shownRows}}">
            {{#moreRows}}<p class="muted">Showing the first {{shown}} of {{prospects}} rows. To select rows beyond them, choose all rows, the rows matching the filter or the file's select column above.</p>{{/moreRows}}
          </section>
          <section class="card">
            <h2>3. Write the email</h2>
            <label>Subject <input name="subject" id="subject" required value="{{subject}}"></label>
            <div class="toolbar" id="editor-tools">
              <button type="button" data-wrap="**" title="Bold"><b>B</b></button>
              <button type="button" data-wrap="*" title="Italic"><i>I</i></button>
              <button type="button" data-link="1" title="Link">Link</button>
              <button type="button" data-list="- " title="Bulleted list">• List</button>
              <button type="button" data-list="1. " title="Numbered list">1. List</button>
              <button type="button" data-insert="[gap:1]" title="An empty line">[gap:N]</button>
              <select id="placeholder" title="Insert a placeholder"><option value="">Insert placeholder…</option>{{#placeholders}}<option value="{{.}}">{{.}}</option>{{/placeholders}}</select>
            </div>
            <textarea name="body" id="body" rows="12" required>{{body}}</textarea>
            <p class="muted">Markdown: **bold**, *italic*, [text](https://…), lists. {first|there} gives a fallback; a row missing a value with no fallback is held, never sent with a blank.</p>
          </section>
          <section class="card">
            <h2>4. Preview</h2>
            <label>Row <select id="preview-row">{{#rows}}<option value="{{row}}">{{row}} · {{email}}</option>{{/rows}}</select></label>
            <div class="preview" id="preview"><p class="muted">Write a subject and body to see the message for a row.</p></div>
          </section>
          <section class="card">
            <h2>5. Send</h2>
            <label>Mode
              <select name="mode" id="mode">
                <option value="send-selected">Send selected</option>
                <option value="send-all">Send all</option>
                <option value="draft-selected">Draft selected</option>
                <option value="draft-all">Draft all</option>
                <option value="draft-selected-send-rest">Draft selected, send the rest</option>
              </select>
            </label>
            <div class="when">
              <label><input type="radio" name="when" value="now" checked> Now</label>
              <label><input type="radio" name="when" value="at"> At <input type="datetime-local" name="at" id="at"></label>
            </div>
            <input type="hidden" name="atInstant" id="at-instant">
            <p class="check" id="schedule-check" aria-live="polite"></p>
            <button type="submit" class="primary" id="submit-round">Create the job</button>
          </section>
        </form>
        {{/campaign}}
        """

    static let module2 = """
        <h1>Module 2 – Follow-ups</h1>
        <p class="muted">A follow-up goes into the same thread to everyone who has not answered. Decisions come from the synced thread index: replies (also in Junk, also without threading headers), bounces, complaints, auto-replies, and your own messages.</p>
        {{^campaigns}}<p class="flash note">No campaigns yet: import a master file in <a href="/module1">Module 1</a> and send round 1 first.</p>{{/campaigns}}
        <form method="get" action="/module2" class="grid card" id="plan-form">
          <label>Campaign <select name="campaign" required>{{#campaigns}}<option value="{{id}}" {{#chosen}}selected{{/chosen}}>{{name}}</option>{{/campaigns}}</select></label>
          <label>Round <input type="number" name="round" min="2" value="{{round}}" required></label>
          <label>Variant <select name="variant" id="plan-variant"><option value="">all</option>{{#variants}}<option value="{{name}}" {{#chosen}}selected{{/chosen}}>{{name}}</option>{{/variants}}</select></label>
          <label><input type="checkbox" name="force" {{#force}}checked{{/force}}> Force send (a reminder even where you wrote to them yourself)</label>
          <label><input type="checkbox" name="domainReplies" {{#domainReplies}}checked{{/domainReplies}}> Count a reply from a colleague at the prospect's domain (never at free-mail domains such as gmail.com)</label>
          <div class="actions"><button type="submit" class="primary">Show the plan</button></div>
        </form>
        {{#plan}}
        <section class="card">
          <h2>Plan for round {{round}} of {{campaignName}}{{#variant}}, variant {{variant}}{{/variant}}: {{sendCount}} to send, {{skipCount}} to skip</h2>
          <form method="post" action="/module2/sync" class="inline" id="sync-form">
            <input type="hidden" name="_csrf" value="{{csrf}}">
            <input type="hidden" name="campaign" value="{{campaignID}}">
            <input type="hidden" name="round" value="{{round}}">
            <input type="hidden" name="force" value="{{#force}}on{{/force}}">
            <input type="hidden" name="variant" value="{{variant}}">
            <input type="hidden" name="domainReplies" value="{{#domainReplies}}on{{/domainReplies}}">
            <span class="muted">Mailbox last synced: {{syncedAt}}{{#syncError}} — <span class="error">{{syncError}}</span>{{/syncError}}</span>
            <button type="submit">Sync now</button>
          </form>
          <p class="downloads">Download as CSV: <a href="/campaigns/{{campaignID}}/master.csv" id="download-master">the master file</a> · <a href="/campaigns/{{campaignID}}/log.csv?round={{previousRound}}" id="download-round-log">round {{previousRound}}'s log</a> · <a href="/campaigns/{{campaignID}}/log.csv" id="download-log">every round's log</a></p>
          <table class="list" id="plan">
            <thead><tr><th>Row</th><th>Address</th><th>Decision</th><th>Why</th></tr></thead>
            <tbody>{{#rows}}<tr class="{{decision}}"><td>{{row}}</td><td>{{email}}</td><td><span class="decision {{decision}}">{{decision}}</span></td><td>{{reason}}</td></tr>{{/rows}}</tbody>
          </table>
        </section>
        <form method="post" action="/module2/schedule" class="card stack" id="followup-form">
          <input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="campaign" value="{{campaignID}}">
          <input type="hidden" name="round" value="{{round}}">
          <input type="hidden" name="force" value="{{#force}}on{{/force}}">
          <input type="hidden" name="variant" value="{{variant}}">
          <input type="hidden" name="domainReplies" value="{{#domainReplies}}on{{/domainReplies}}">
          <h2>Schedule round {{round}}{{#variant}} for variant {{variant}}{{/variant}}</h2>
          <label>Subject (empty: "Re: " and the first email's subject) <input name="subject"></label>
          <label>Follow-up (Markdown; the same placeholders as round 1) <textarea name="body" rows="8" required placeholder="Just following up, {first}."></textarea></label>
          <label>Mode <select name="mode"><option value="send-all">Send all</option><option value="send-selected">Send selected</option><option value="draft-all">Draft all</option><option value="draft-selected">Draft selected</option><option value="draft-selected-send-rest">Draft selected, send the rest</option></select></label>
          <div class="when">
            <label><input type="radio" name="when" value="now" checked> Now</label>
            <label><input type="radio" name="when" value="at"> At <input type="datetime-local" name="at"></label>
          </div>
          <input type="hidden" name="atInstant">
          <button type="submit" class="primary">Create the job</button>
        </form>
        {{/plan}}
        """

    static let ab = """
        <h1>A/B tests</h1>
        {{^campaigns}}<p class="flash note">No campaigns yet: a variant column in the master file (Module 1) splits a campaign into A/B variants.</p>{{/campaigns}}
        <form method="get" action="/ab" class="card row" id="ab-form">
          <label>Campaign <select name="campaign">{{#campaigns}}<option value="{{id}}" {{#chosen}}selected{{/chosen}}>{{name}}</option>{{/campaigns}}</select></label>
          <button type="submit">Show</button>
        </form>
        {{#report}}
        <table class="list" id="ab">
          <thead><tr><th>Variant</th><th>Sent</th><th>Replies</th><th>Reply rate</th><th>95% interval</th><th>Against {{baseline}}</th></tr></thead>
          <tbody>{{#variants}}<tr><td>{{name}}</td><td>{{sent}}</td><td>{{replies}}</td><td>{{rate}}</td><td>{{low}} – {{high}}</td><td>{{comparison}}</td></tr>{{/variants}}</tbody>
        </table>
        <figure class="chart">{{{chart}}}<figcaption>Reply rate by variant, with 95% Wilson intervals.</figcaption></figure>
        <p class="muted">{{verdict}}</p>
        {{/report}}
        """

    static let users = """
        <h1>Users</h1>
        <table class="list">
          <thead><tr><th>User</th><th>Role</th><th>Accounts granted</th></tr></thead>
          <tbody>
          {{#users}}
          <tr><td>{{email}}</td><td>{{role}}</td><td>{{#isAdmin}}<span class="muted">all accounts (admin)</span>{{/isAdmin}}{{^isAdmin}}{{^grants}}<span class="muted">none yet</span>{{/grants}}{{/isAdmin}}{{#grants}}<form method="post" action="/users/{{userID}}/revoke" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="account" value="{{accountID}}">{{email}} <button type="submit" class="link">revoke</button></form> {{/grants}}</td></tr>
          {{/users}}
          </tbody>
        </table>
        <section class="card">
          <h2>Add a user</h2>
          <form method="post" action="/users" class="grid" id="add-user">
            <input type="hidden" name="_csrf" value="{{csrf}}">
            <label>Email <input type="email" name="email" required></label>
            <label>Password (10 characters or more) <input type="password" name="password" required autocomplete="new-password"></label>
            <label>Role <select name="role"><option value="user">user</option><option value="admin">admin</option></select></label>
            <div class="actions"><button type="submit" class="primary">Add user</button></div>
          </form>
        </section>
        <section class="card">
          <h2>Grant an account</h2>
          <form method="post" action="/users/grant" class="grid" id="grant">
            <input type="hidden" name="_csrf" value="{{csrf}}">
            <label>User <select name="user">{{#users}}{{^isAdmin}}<option value="{{id}}">{{email}}</option>{{/isAdmin}}{{/users}}</select></label>
            <label>Account <select name="account">{{#accounts}}<option value="{{id}}">{{email}}</option>{{/accounts}}</select></label>
            <div class="actions"><button type="submit" class="primary">Grant</button></div>
          </form>
        </section>
        """

    static let help = """
        <h1>Help</h1>
        <section class="card prose">
          <h2>The master-file workflow</h2>
          <ol>
            <li><strong>Import the master file</strong> in Module 1: your prospect list as a CSV. It becomes a campaign; every round runs from it.</li>
            <li><strong>Send the first email</strong> (round 1): choose rows (the file's <code>select</code> column pre-ticks them), write the email with placeholders such as <code>{first}</code>, preview it for any row, and send now or at a time — or create drafts in your own Drafts folder to send by hand.</li>
            <li><strong>Let the sync run.</strong> Outreach reads your mailbox (INBOX, Sent, Junk, Archive) into its thread index; it never changes a flag or marks anything read.</li>
            <li><strong>Follow up</strong> in Module 2: pick the campaign and round 2 (then 3, …). The plan shows who gets a follow-up and why each other row is skipped. Follow-ups go into the same thread.</li>
          </ol>
          <p>Always use the campaign — the master file — for follow-ups. An exported round log is a record, not a new list: importing one is refused.</p>
          <h2>FAQ</h2>
          <dl>
            <dt>What happens if I start two jobs for the same account at once?</dt>
            <dd>Only one job per account runs at a time. A job that comes due while another runs fails at once and says which job holds the account.</dd>
            <dt>Why can't I schedule two jobs close together on one account?</dt>
            <dd>The guard window (2 hours by default, per account) keeps jobs of one account apart, measured from another job's start and its projected end. The message names the earliest time that works.</dd>
            <dt>My campaign has more rows than the page shows. How do I select them?</dt>
            <dd>Under the rows, "Rows for the selected modes" takes all rows of the campaign, every row matching the variant and text filter, or the rows the file's <code>select</code> column ticks; the count is shown before you create the job.</dd>
            <dt>Can I get the master file back, with what was sent?</dt>
            <dd>Yes: the campaign page and Module 2 download it as CSV, with every round's Message-IDs, statuses and times (import it again to continue elsewhere), and the round log; each job's page downloads its log.</dd>
            <dt>Can I only create drafts and send them myself?</dt>
            <dd>Yes: the draft modes put each message in your Drafts folder, in both modules.</dd>
            <dt>Does Outreach see replies?</dt>
            <dd>Yes. Replies with threading headers, replies whose client dropped them (matched by address and subject), replies filed as spam, and replies you deleted after they were synced all count. Out-of-office answers and bounces are recognized and never count as replies; a hard bounce stops the sequence.</dd>
            <dt>What if the server or Outreach stops in the middle of a round?</dt>
            <dd>Nothing is sent twice. Each message's id is recorded before it goes out; after a crash, a message whose fate is unknown is looked up in Sent, and if it cannot be confirmed it waits for you instead of going out again.</dd>
            <dt>How fast does it send?</dt>
            <dd>Each account waits between messages (30 s plus up to 15 s by default), keeps to a daily cap, and can be limited to a sending window. A job that reaches the cap waits for the next slot; it does not fail.</dd>
          </dl>
        </section>
        """

    static let message = """
        <section class="card">
          <h1>{{heading}}</h1>
          <p>{{text}}</p>
          {{#link}}<p><a href="{{link}}">{{linkText}}</a></p>{{/link}}
        </section>
        """
}
