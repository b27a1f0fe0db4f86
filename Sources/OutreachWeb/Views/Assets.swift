import Foundation
import Hummingbird
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore

/// The UI's stylesheet and script, served by the app itself (no CDN; works offline).
enum Assets {
    static func response(_ name: String) -> Response? {
        let (body, type): (String, String)
        switch name {
        case "app.css": (body, type) = (css, "text/css; charset=utf-8")
        case "app.js": (body, type) = (js, "text/javascript; charset=utf-8")
        case "favicon.svg": (body, type) = (favicon, "image/svg+xml")
        default: return nil
        }
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// An envelope on the sidebar's colour.
    static let favicon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#111827"/>\
        <rect x="6" y="9" width="20" height="14" rx="2" fill="none" stroke="#fff" stroke-width="2"/>\
        <path d="M7 10l9 7 9-7" fill="none" stroke="#2f5bd3" stroke-width="2.2"/></svg>
        """

    static let css = """
        :root { --ink: #1d2330; --muted: #667085; --line: #e4e7ec; --accent: #2f5bd3; --bg: #f7f8fa; --ok: #17803d; --warn: #b54708; --bad: #b42318; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); display: flex; min-height: 100vh; }
        .sidebar { width: 250px; flex-shrink: 0; background: #111827; color: #e5e7eb; }
        .sidebar-inner { padding: 20px 16px; display: flex; flex-direction: column; gap: 18px; position: sticky; top: 0; height: 100vh; }
        .sidebar .brand { font-weight: 700; font-size: 20px; letter-spacing: .02em; }
        .sidebar nav { display: flex; flex-direction: column; gap: 2px; }
        .sidebar nav a { color: #cbd5e1; text-decoration: none; padding: 8px 10px; border-radius: 6px; }
        .sidebar nav a:hover, .sidebar nav a.current { background: #1f2937; color: #fff; }
        .sidebar .signout { margin-top: auto; font-size: 13px; color: #9ca3af; display: flex; flex-direction: column; align-items: flex-start; gap: 4px; }
        main { flex: 1; min-width: 0; padding: 28px 36px; max-width: 1300px; }
        main.bare { display: flex; justify-content: center; align-items: flex-start; padding-top: 10vh; }
        h1 { font-size: 24px; margin: 0 0 8px; } h2 { font-size: 18px; margin: 0 0 10px; }
        .muted { color: var(--muted); } .small { font-size: 12px; } .error { color: var(--bad); }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin: 16px 0; }
        .login { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 28px; width: 380px; }
        .login form { display: flex; flex-direction: column; gap: 12px; }
        label { display: flex; flex-direction: column; gap: 4px; font-size: 13px; color: #344054; }
        label:has(input[type=checkbox]), label:has(input[type=radio]), label.inline { flex-direction: row; align-items: center; gap: 6px; }
        input, select, textarea { font: inherit; padding: 7px 9px; border: 1px solid #d0d5dd; border-radius: 6px; background: #fff; }
        input:not([type=checkbox]):not([type=radio]):not([type=file]), select { height: 36px; }
        label > select { max-width: 420px; }
        .when { display: flex; gap: 20px; align-items: center; margin: 12px 0 4px; }
        textarea { width: 100%; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
        button { font: inherit; padding: 7px 14px; border: 1px solid #d0d5dd; border-radius: 6px; background: #fff; cursor: pointer; }
        button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
        button.danger { color: var(--bad); border-color: #fda29b; }
        button.link { border: 0; background: none; color: inherit; text-decoration: underline; padding: 0; }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px 18px; align-items: end; }
        .grid .actions, .grid .result { grid-column: 1 / -1; }
        .actions { display: flex; gap: 8px; margin: 12px 0; }
        form.row { display: flex; gap: 12px; align-items: flex-end; flex-wrap: wrap; }
        .stack { display: flex; flex-direction: column; gap: 12px; } .stack > button { align-self: flex-start; } .stack h2 { margin: 0; }
        .actions form { margin: 0; }
        .toolbar { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
        form.inline { display: inline-flex; gap: 6px; align-items: end; flex-wrap: wrap; }
        table.list { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
        table.list th, table.list td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
        table.list th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); background: #fafbfc; }
        table.log td { font-size: 13px; } table.log tr.ERROR td { color: var(--bad); } table.log tr.SKIPPED td { color: var(--muted); } table.log tr.HELD td { color: var(--warn); }
        .scroll { max-height: 420px; overflow: auto; }
        .state { font-size: 12px; padding: 2px 8px; border-radius: 99px; background: #eef2ff; color: #3538cd; }
        .state.completed { background: #ecfdf3; color: var(--ok); } .state.failed, .state.missed { background: #fef3f2; color: var(--bad); }
        .state.paused, .state.cancelled { background: #fffaeb; color: var(--warn); }
        .progress { min-width: 220px; } .progress .bar { height: 8px; background: #eaecf0; border-radius: 99px; overflow: hidden; }
        .progress .bar span { display: block; width: 0; height: 100%; background: var(--accent); transition: width .4s; }
        .progress .counts { font-size: 12px; color: var(--muted); margin-top: 4px; }
        .flash { padding: 10px 14px; border-radius: 8px; margin-bottom: 14px; background: #ecfdf3; border: 1px solid #abefc6; }
        .flash.error { background: #fef3f2; border-color: #fecdca; color: var(--bad); } .flash.note { background: #fff; border-color: var(--line); color: #475467; }
        .preview { border: 1px dashed #d0d5dd; border-radius: 8px; padding: 12px 16px; margin-top: 10px; background: #fff; }
        .preview .headers { font-size: 13px; color: var(--muted); margin-bottom: 8px; }
        .check { min-height: 1.4em; } .check.bad { color: var(--bad); } .check.ok { color: var(--ok); }
        pre.result { background: #0f172a; color: #e2e8f0; padding: 10px; border-radius: 6px; white-space: pre-wrap; }
        dl.facts { display: grid; grid-template-columns: 120px 1fr; gap: 4px 12px; } dl.facts dt { color: var(--muted); }
        figure.chart { margin: 16px 0; } .chart svg { max-width: 640px; width: 100%; height: auto; } .chart figcaption { font-size: 13px; color: var(--muted); }
        pre.report { white-space: pre-wrap; margin: 0; font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace; }
        .prose dt { font-weight: 600; margin-top: 10px; } .prose dd { margin-left: 0; }
        tr.skip td { color: var(--muted); } .downloads { font-size: 13px; color: var(--muted); }
        .decision { font-size: 12px; padding: 2px 8px; border-radius: 99px; } .decision.send { background: #ecfdf3; color: var(--ok); } .decision.skip { background: #f2f4f7; color: #475467; }
        """

    static let js = """
        'use strict';
        const csrf = document.body.dataset.csrf || '';
        async function api(method, url, body, type) {
          const headers = { 'X-CSRF-Token': csrf };
          let payload = body;
          if (body !== undefined && type === undefined) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
          if (type) headers['Content-Type'] = type;
          const response = await fetch(url, { method, headers, body: payload, credentials: 'same-origin' });
          const text = await response.text();
          let data = null; try { data = JSON.parse(text); } catch (e) { data = { error: text }; }
          if (!response.ok) throw new Error((data && (data.error || data.reason)) || response.statusText);
          return data;
        }
        function instantOf(localValue) { return localValue ? new Date(localValue).toISOString() : ''; }
        const finalStates = ['completed', 'failed', 'cancelled', 'missed'];

        // Progress bars: every job on the page, refreshed each second until it ends. The width is set from here, not
        // in a style attribute: the Content-Security-Policy allows no inline style.
        function paintBar(bar, percent) {
          bar.style.width = percent + '%'; bar.dataset.percent = percent;
          bar.parentElement.setAttribute('aria-valuenow', percent);
        }
        document.querySelectorAll('[data-field=bar][data-percent]').forEach(bar => paintBar(bar, bar.dataset.percent));
        function paintJob(job) {
          document.querySelectorAll('[data-progress="' + job.id + '"]').forEach(el => {
            paintBar(el.querySelector('[data-field=bar]'), job.percent);
            const c = job.counters;
            el.querySelector('[data-field=counts]').textContent = `${job.done}/${c.total} · sent ${c.sent} · drafted ${c.drafted} · skipped ${c.skipped} · failed ${c.failed} · held ${c.held}`;
          });
          document.querySelectorAll('[data-job="' + job.id + '"] [data-field=state], h1 [data-field=state]').forEach(el => {
            if (el.closest('[data-job]') && el.closest('[data-job]').dataset.job != job.id) return;
            el.textContent = job.state; el.className = 'state ' + job.state;
          });
          document.querySelectorAll('[data-job="' + job.id + '"] [data-field=note]').forEach(el => { el.textContent = job.note || ''; });
          document.querySelectorAll('dd[data-field=note]').forEach(el => { el.textContent = job.note || '–'; });
          // The job page's buttons follow the state: nothing to pause or cancel once the job has ended.
          document.querySelectorAll('[data-actions="' + job.id + '"]').forEach(el => {
            el.querySelector('[data-action=pause]').hidden = !['pending', 'running'].includes(job.state);
            el.querySelector('[data-action=resume]').hidden = job.state !== 'paused';
            el.querySelector('[data-action=cancel]').hidden = finalStates.includes(job.state);
          });
        }
        async function pollJobs() {
          const ids = [...new Set([...document.querySelectorAll('[data-progress]')].map(e => e.dataset.progress))];
          if (ids.length === 0) return;
          try {
            const jobs = await api('GET', '/api/jobs?ids=' + ids.join(','));
            jobs.forEach(paintJob);
            const log = document.getElementById('log');
            if (log) {
              const id = document.querySelector('[data-live]').dataset.job;
              const events = await api('GET', `/api/jobs/${id}/events?after=${log.dataset.after || 0}`);
              for (const e of events) {
                const tr = document.createElement('tr'); tr.className = e.kind;
                for (const v of [e.at, e.kind, e.row ?? '', e.email ?? '', e.detail]) { const td = document.createElement('td'); td.textContent = v; tr.appendChild(td); }
                log.tBodies[0].appendChild(tr); log.dataset.after = e.id;
              }
            }
            if (jobs.some(j => !finalStates.includes(j.state))) setTimeout(pollJobs, 1000);
          } catch (e) { setTimeout(pollJobs, 3000); }
        }
        pollJobs();

        // Accounts: test the connection with what is in the form, before adding.
        const testButton = document.getElementById('test-connection');
        if (testButton) testButton.addEventListener('click', async () => {
          const form = document.getElementById('add-account'); const out = document.getElementById('test-result');
          const fields = Object.fromEntries(new FormData(form).entries()); delete fields._csrf;
          out.hidden = false; out.textContent = 'Testing…';
          try { const r = await api('POST', '/api/accounts/test', fields); out.textContent = r.lines.join('\\n'); }
          catch (e) { out.textContent = e.message; }
        });

        // Module 1: the upload goes as the file's bytes; the server reads any encoding.
        const upload = document.getElementById('upload');
        if (upload) upload.addEventListener('submit', async (event) => {
          event.preventDefault();
          const out = document.getElementById('upload-result'); const file = upload.file.files[0];
          out.hidden = false; out.textContent = 'Uploading…';
          try {
            const r = await api('POST', `/api/campaigns?name=${encodeURIComponent(upload.name.value)}&account=${encodeURIComponent(upload.account.value)}&file=${encodeURIComponent(file.name)}`, await file.arrayBuffer(), 'text/csv');
            // The campaign page shows what the import did (rows skipped and why) once.
            try { sessionStorage.setItem('import-report-' + r.id, r.report); } catch (e) { /* storage off: no report */ }
            window.location = '/campaigns/' + r.id;
          } catch (e) { out.textContent = e.message; }
        });

        // Module 1: rows, editor, preview, schedule check.
        const compose = document.getElementById('compose');
        if (compose) {
          const campaign = compose.dataset.campaign;
          const report = sessionStorage.getItem('import-report-' + campaign);
          if (report) {
            const card = document.getElementById('import-report');
            card.querySelector('pre').textContent = report; card.hidden = false;
            sessionStorage.removeItem('import-report-' + campaign);
          }
          const rows = [...document.querySelectorAll('#rows tbody tr')];
          const count = () => { document.getElementById('selected-count').textContent = rows.filter(r => r.querySelector('input').checked).length + ' selected'; };
          const variantFilter = document.getElementById('variant-filter'); const textFilter = document.getElementById('text-filter');
          const pick = document.getElementById('pick'); const pickCount = document.getElementById('pick-count');
          // Only the rows shown are here; the server counts (and on sending selects) every row of the campaign.
          let pickTimer = null; let pickAsked = 0;
          function updatePick() {
            const oneStep = pick.value !== 'boxes';
            rows.forEach(r => { r.querySelector('input').disabled = oneStep; });
            document.querySelectorAll('[data-select]').forEach(b => { b.disabled = oneStep; });
            document.getElementById('selected-count').hidden = oneStep;
            clearTimeout(pickTimer);
            if (!oneStep) { pickAsked++; pickCount.textContent = ''; return; }
            pickCount.textContent = 'counting…';
            pickTimer = setTimeout(async () => {
              const asked = ++pickAsked;
              const query = new URLSearchParams({ pick: pick.value, variant: variantFilter.value, filter: textFilter.value });
              try {
                const r = await api('GET', `/api/campaigns/${campaign}/selection?${query}`);
                if (asked === pickAsked) pickCount.textContent = `${r.selected} of ${r.total} rows selected`;
              } catch (e) { if (asked === pickAsked) pickCount.textContent = e.message; }
            }, 200);
          }
          // The server's test for the same filter: the variant (any case), the text in the address or any cell (any case).
          function applyFilter() {
            const variant = variantFilter.value.toLowerCase(); const text = textFilter.value.trim().toLowerCase();
            rows.forEach(r => { r.hidden = (variant !== '' && r.dataset.variant.toLowerCase() !== variant) || (text !== '' && !r.dataset.search.includes(text)); });
            updatePick();
          }
          variantFilter.addEventListener('change', applyFilter);
          textFilter.addEventListener('input', applyFilter);
          pick.addEventListener('change', updatePick);
          document.querySelectorAll('[data-select]').forEach(b => b.addEventListener('click', () => {
            rows.filter(r => !r.hidden).forEach(r => { r.querySelector('input').checked = b.dataset.select === 'all'; }); count();
          }));
          rows.forEach(r => r.querySelector('input').addEventListener('change', count)); count();
          const body = document.getElementById('body'); const subject = document.getElementById('subject');
          function replaceSelection(make) {
            const s = body.selectionStart, e = body.selectionEnd; const text = make(body.value.slice(s, e));
            body.setRangeText(text, s, e, 'end'); body.focus(); schedulePreview();
          }
          document.querySelectorAll('#editor-tools [data-wrap]').forEach(b => b.addEventListener('click', () => replaceSelection(t => b.dataset.wrap + (t || 'text') + b.dataset.wrap)));
          document.querySelectorAll('#editor-tools [data-link]').forEach(b => b.addEventListener('click', () => { const url = prompt('Link address', 'https://'); if (url) replaceSelection(t => `[${t || 'link'}](${url})`); }));
          document.querySelectorAll('#editor-tools [data-list]').forEach(b => b.addEventListener('click', () => replaceSelection(t => (t || 'item').split('\\n').map(l => b.dataset.list + l).join('\\n'))));
          document.querySelectorAll('#editor-tools [data-insert]').forEach(b => b.addEventListener('click', () => replaceSelection(() => b.dataset.insert)));
          document.getElementById('placeholder').addEventListener('change', (e) => { if (e.target.value) { replaceSelection(() => '{' + e.target.value + '}'); e.target.value = ''; } });
          let timer = null;
          function schedulePreview() { clearTimeout(timer); timer = setTimeout(preview, 250); }
          async function preview() {
            const target = document.getElementById('preview');
            if (!subject.value && !body.value) return;
            try {
              const r = await api('POST', `/api/campaigns/${campaign}/preview`, { row: Number(document.getElementById('preview-row').value), subject: subject.value, body: body.value });
              target.replaceChildren();
              const head = document.createElement('div'); head.className = 'headers';
              head.textContent = r.held ? ('Held: ' + r.held) : `To: ${r.to} · Subject: ${r.subject}`;
              target.appendChild(head);
              if (!r.held) { const html = document.createElement('div'); html.className = 'html'; html.innerHTML = r.html; target.appendChild(html); }
            } catch (e) { target.textContent = e.message; }
          }
          [subject, body].forEach(el => el.addEventListener('input', schedulePreview));
          document.getElementById('preview-row').addEventListener('change', preview);
          const check = document.getElementById('schedule-check'); const at = document.getElementById('at');
          async function checkSchedule() {
            const when = compose.querySelector('input[name=when]:checked').value;
            const instant = when === 'at' ? instantOf(at.value) : '';
            document.getElementById('at-instant').value = instant;
            try { const r = await api('POST', `/api/campaigns/${campaign}/check`, { at: instant || null }); check.textContent = r.message; check.className = 'check ' + (r.ok ? 'ok' : 'bad'); }
            catch (e) { check.textContent = e.message; check.className = 'check bad'; }
          }
          compose.querySelectorAll('input[name=when]').forEach(r => r.addEventListener('change', checkSchedule));
          at.addEventListener('change', checkSchedule);
          compose.addEventListener('submit', () => { const when = compose.querySelector('input[name=when]:checked').value; document.getElementById('at-instant').value = when === 'at' ? instantOf(at.value) : ''; });
          checkSchedule();
        }
        // Module 2: a variant belongs to the campaign it was listed for.
        const planForm = document.getElementById('plan-form');
        if (planForm) planForm.campaign.addEventListener('change', () => { planForm.variant.value = ''; });
        const followup = document.getElementById('followup-form');
        if (followup) followup.addEventListener('submit', () => {
          const when = followup.querySelector('input[name=when]:checked').value;
          followup.atInstant.value = when === 'at' ? instantOf(followup.at.value) : '';
        });
        """
}
