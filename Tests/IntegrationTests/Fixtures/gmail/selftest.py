#!/usr/bin/python3
"""Self-test of fake_gmail.py, standard library only (urllib).

    selftest.py [--discovery FILE] [--keep]

Starts the fake (detached, in a temporary directory), runs the OAuth
loopback flow with PKCE, sends, threads, syncs, injects faults and checks
that contract violations are caught; then stops it and checks the "serve"
mode and the directory watchdog.  Exit status 0 when every check passes.
"""

import argparse
import base64
import email.utils
import hashlib
import http.server as httpserver
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_gmail.py")
ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"
SEND = "https://www.googleapis.com/auth/gmail.send"
COMPOSE = "https://www.googleapis.com/auth/gmail.compose"
READONLY = "https://www.googleapis.com/auth/gmail.readonly"
METADATA = "https://www.googleapis.com/auth/gmail.metadata"

failures = []
passed = 0


def check(cond, what, detail=None):
    global passed
    if cond:
        passed += 1
        print(f"  ok    {what}")
    else:
        failures.append(what)
        print(f"  FAIL  {what}" + (f"\n        {detail}" if detail is not None else ""))
    return cond


def section(name):
    print(f"\n== {name}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def http(method, url, body=None, headers=None, follow=True):
    """-> (status, headers, parsed JSON or text)."""
    headers = dict(headers or {})
    data = None
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as r:
            status, hdrs, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, hdrs, json.loads(text) if text else None
    except ValueError:
        return status, hdrs, text


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def rfc5322(frm, to, subject, body="Hello.\r\n", message_id=None, in_reply_to=None,
            references=None, extra=()):
    lines = [f"From: {frm}", f"To: {to}", f"Subject: {subject}",
             f"Date: {email.utils.formatdate()}", "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    if references:
        lines.append(f"References: {references}")
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


class Loopback:
    """The client's loopback redirect listener (RFC 8252 §7.3)."""

    def __init__(self):
        self.got = None
        outer = self

        class H(httpserver.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.got = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                outer.path = urllib.parse.urlsplit(self.path).path
                data = b"You may close this window."
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = httpserver.HTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Session:
    def __init__(self, st):
        self.st = st
        self.base = st["apiBase"]

    def ctl(self, method, path, body=None):
        return http(method, self.base + path, body)

    def violations(self):
        return self.ctl("GET", "/__violations")[2]["violations"]

    def clear_violations(self):
        return self.ctl("DELETE", "/__violations")[2]["violations"]

    def consent(self, scopes, login_hint=None, verifier=None, access_type="offline",
                prompt="consent", bad_verifier=False):
        """Loopback + PKCE flow -> (token response status, body, redirect query)."""
        lb = Loopback()
        try:
            verifier = verifier or b64url(secrets.token_bytes(48))
            challenge = b64url(hashlib.sha256(verifier.encode()).digest())
            state = secrets.token_urlsafe(16)
            redirect = f"http://127.0.0.1:{lb.port}/oauth2callback"
            q = {"response_type": "code", "client_id": self.st["clientId"],
                 "redirect_uri": redirect, "scope": " ".join(scopes), "state": state,
                 "code_challenge": challenge, "code_challenge_method": "S256",
                 "access_type": access_type, "prompt": prompt}
            if login_hint:
                q["login_hint"] = login_hint
            status, _, body = http("GET", self.st["authURL"] + "?" + urllib.parse.urlencode(q))
            got = lb.got or {}
            if status != 200 or "code" not in got:
                return status, body, got
            if got.get("state", [None])[0] != state:
                return 0, "state mismatch", got
            form = {"grant_type": "authorization_code", "code": got["code"][0],
                    "redirect_uri": redirect, "client_id": self.st["clientId"],
                    "client_secret": self.st["clientSecret"],
                    "code_verifier": verifier + ("x" if bad_verifier else "")}
            s, _, tok = http("POST", self.st["tokenURL"], urllib.parse.urlencode(form),
                             {"Content-Type": "application/x-www-form-urlencoded"})
            tok = tok if isinstance(tok, dict) else {"raw": tok}
            tok["_form"] = form
            return s, tok, got
        finally:
            lb.close()

    def refresh(self, refresh_token):
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
                "client_id": self.st["clientId"], "client_secret": self.st["clientSecret"]}
        return http("POST", self.st["tokenURL"], urllib.parse.urlencode(form),
                    {"Content-Type": "application/x-www-form-urlencoded"})


class Api:
    def __init__(self, sess, token, user="me"):
        self.sess, self.token, self.user = sess, token, user

    def call(self, method, path, query=(), body=None, headers=None, base_path=None):
        url = self.sess.base + (base_path or f"/gmail/v1/users/{urllib.parse.quote(self.user)}") + path
        if query:
            url += "?" + urllib.parse.urlencode(list(query))
        h = {"Authorization": f"Bearer {self.token}"}
        h.update(headers or {})
        return http(method, url, body, h)

    def call_retrying(self, method, path, query=(), body=None, log=None):
        """Exponential backoff on 429/403-rate-limit/5xx, honouring Retry-After."""
        delay = 0.2
        for attempt in range(6):
            s, h, b = self.call(method, path, query, body)
            if log is not None:
                log.append((s, h.get("Retry-After")))
            reasons = [e.get("reason") for e in (b or {}).get("error", {}).get("errors", [])] \
                if isinstance(b, dict) else []
            if s == 429 or s >= 500 or (s == 403 and set(reasons) & {"rateLimitExceeded",
                                                                      "userRateLimitExceeded"}):
                wait = float(h.get("Retry-After") or delay)
                time.sleep(min(wait, 2.0))
                delay *= 2
                continue
            return s, h, b
        return s, h, b

    def send(self, raw, thread_id=None):
        body = {"raw": b64url(raw)}
        if thread_id:
            body["threadId"] = thread_id
        return self.call("POST", "/messages/send", body=body)

    def get_meta(self, mid, *headers):
        q = [("format", "metadata")] + [("metadataHeaders", h) for h in headers]
        return self.call("GET", f"/messages/{mid}", q)

    def list_all(self, q=None, page=100, labels=()):
        ids, token, pages = [], None, 0
        while True:
            query = [("maxResults", str(page))] + [("labelIds", l) for l in labels]
            if q is not None:
                query.append(("q", q))
            if token:
                query.append(("pageToken", token))
            s, _, b = self.call("GET", "/messages", query)
            if s != 200:
                return s, b, pages
            pages += 1
            ids += [m["id"] for m in b.get("messages", [])]
            token = b.get("nextPageToken")
            if not token:
                return 200, ids, pages

    def history_all(self, start, page=100, types=("messageAdded",), label=None):
        records, token = [], None
        while True:
            query = [("startHistoryId", str(start)), ("maxResults", str(page))] + \
                [("historyTypes", t) for t in types]
            if label:
                query.append(("labelId", label))
            if token:
                query.append(("pageToken", token))
            s, _, b = self.call("GET", "/history", query)
            if s != 200:
                return s, b, None
            records += b.get("history", [])
            token = b.get("nextPageToken")
            if not token:
                return 200, records, b["historyId"]


def header(msg_json, name):
    for h in msg_json.get("payload", {}).get("headers", []):
        if h["name"].lower() == name.lower():
            return h["value"]
    return None


# --------------------------------------------------------------------------

def run(st):
    sess = Session(st)

    section("OAuth loopback flow with PKCE")
    s, tok, got = sess.consent([SEND, COMPOSE, READONLY], login_hint=ALICE)
    check(s == 200, "authorization code exchanged for tokens", (s, tok))
    check(set(tok) >= {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
          and tok.get("token_type") == "Bearer" and tok.get("expires_in") == 3600,
          "token response has access_token, expires_in=3600, refresh_token, scope, token_type=Bearer",
          tok)
    check(set(tok.get("scope", "").split()) == {SEND, COMPOSE, READONLY}, "granted scopes echoed")
    check("code" in got and "scope" in got, "redirect carried code, state and scope", got)
    # the code is single-use
    form = tok["_form"]
    s2, _, b2 = http("POST", st["tokenURL"], urllib.parse.urlencode(form),
                     {"Content-Type": "application/x-www-form-urlencoded"})
    check(s2 == 400 and b2.get("error") == "invalid_grant", "authorization code cannot be reused", b2)
    alice = Api(sess, tok["access_token"])
    alice_refresh = tok["refresh_token"]

    s, tokb, _ = sess.consent([SEND, COMPOSE, READONLY], login_hint=BOB)
    check(s == 200, "second account (login_hint=bob) consents", tokb)
    bob = Api(sess, tokb["access_token"])

    s, bad, _ = sess.consent([SEND], login_hint=CAROL, bad_verifier=True)
    check(s == 400 and bad.get("error") == "invalid_grant"
          and bad.get("error_description") == "Invalid code verifier.",
          "wrong PKCE code_verifier -> 400 invalid_grant", bad)
    st_auth, body, _ = http("GET", st["authURL"] + "?" + urllib.parse.urlencode(
        {"response_type": "code", "client_id": st["clientId"], "scope": SEND, "state": "x",
         "redirect_uri": "https://example.com/cb", "code_challenge": "a" * 43,
         "code_challenge_method": "S256"}), follow=False)
    check(st_auth == 400, "non-loopback redirect_uri refused", body)
    st_auth, body, _ = http("GET", st["authURL"] + "?" + urllib.parse.urlencode(
        {"response_type": "code", "client_id": st["clientId"], "scope": SEND, "state": "x",
         "redirect_uri": "http://127.0.0.1:9/cb"}), follow=False)
    check(st_auth == 400, "authorization without PKCE refused", body)
    v = sess.clear_violations()
    check([x["kind"] for x in v] == ["oauth", "oauth", "oauth", "oauth"],
          "the four OAuth mistakes above were recorded as violations", v)

    s, _, prof = alice.call("GET", "/profile")
    check(s == 200 and prof["emailAddress"] == ALICE and isinstance(prof["historyId"], str),
          "users.getProfile: emailAddress, historyId as a string", prof)
    h0 = int(prof["historyId"])
    s, _, prof2 = Api(sess, tok["access_token"], ALICE).call("GET", "/profile")
    check(s == 200 and prof2["emailAddress"] == ALICE, "userId may be the address instead of me")

    section("Round 1: 20 prospects via users.messages.send")
    sent = []
    for i in range(1, 21):
        mid = f"<round1.{i}.{secrets.token_hex(6)}@outreach.test>"
        raw = rfc5322(f"Alice <{ALICE}>", f"p{i}@prospects.test", f"Quick question {i}",
                      message_id=mid)
        s, _, b = alice.send(raw)
        if not check(s == 200, f"send {i}", b):
            continue
        sent.append({"i": i, "id": b["id"], "threadId": b["threadId"], "mid": mid,
                     "subject": f"Quick question {i}"})
    check(all(len(x["id"]) == 16 and all(c in "0123456789abcdef" for c in x["id"]) for x in sent),
          "message ids are 16 hex digits")
    check(all(x["threadId"] == x["id"] for x in sent), "each first message starts its own thread")
    check(len({x["id"] for x in sent}) == 20, "ids are distinct")
    s, _, b = alice.call("POST", "/messages/send", body={"raw": b64url(rfc5322(ALICE, "p1@prospects.test", "x"))})
    check(s == 200 and b.get("labelIds") == ["SENT"], "send answers {id, threadId, labelIds:[SENT]}", b)
    extra_id = b["id"]

    section("Message-ID read back (messages.get format=metadata)")
    s, _, m = alice.get_meta(sent[0]["id"], "Message-ID", "Subject")
    check(s == 200 and header(m, "Message-ID") == sent[0]["mid"], "client Message-ID kept", m)
    check({h["name"] for h in m["payload"]["headers"]} == {"Message-ID", "Subject"},
          "metadataHeaders filters payload.headers", m["payload"]["headers"])
    check(set(m) >= {"id", "threadId", "labelIds", "snippet", "historyId", "internalDate",
                     "sizeEstimate"} and isinstance(m["internalDate"], str)
          and isinstance(m["sizeEstimate"], int), "metadata message fields and types", m)
    nomid = rfc5322(ALICE, "p21@prospects.test", "No id")
    s, _, b = alice.send(nomid)
    s, _, m = alice.get_meta(b["id"], "Message-ID")
    gen = header(m, "Message-ID") or ""
    check(gen.startswith("<") and gen.endswith("@mail.gmail.com>"),
          "a missing Message-ID is generated <…@mail.gmail.com>", gen)
    s, ids, _ = alice.list_all(f"rfc822msgid:{gen}")
    check(ids == [b["id"]], "rfc822msgid: with a generated id (its '+' percent-encoded)", ids)
    s, _, raw_plus = alice.call("GET", "/messages?q=rfc822msgid:" + gen.replace("=", "%3D"))
    check(s == 200 and "messages" not in raw_plus,
          "an unencoded '+' in q is a space, as at Google: no match", raw_plus)
    s, _, b = alice.send(rfc5322("Alice Sales <someone.else@example.test>", "p23@prospects.test", "From"))
    s, _, m = alice.get_meta(b["id"], "From")
    check(header(m, "From") == f"Alice Sales <{ALICE}>", "another From address is rewritten to the account",
          header(m, "From"))
    s, _, m = alice.call("GET", "/messages/" + urllib.parse.quote(sent[0]["mid"]))
    check(s == 400 and m["error"]["message"] == "Invalid id value", "a Message-ID is not a message id", m)
    sess.clear_violations()
    sess.ctl("POST", "/__faults", {"replaceMessageId": True})
    mine = f"<replaced.{secrets.token_hex(4)}@outreach.test>"
    s, _, b = alice.send(rfc5322(ALICE, "p22@prospects.test", "Replaced", message_id=mine))
    s, _, m = alice.get_meta(b["id"], "Message-ID")
    check(header(m, "Message-ID") not in (None, mine), "fault replaceMessageId: Gmail's own id",
          header(m, "Message-ID"))
    sess.ctl("POST", "/__faults", {"replaceMessageId": False})

    section("Follow-ups in the thread (threadId + References + subject)")
    first = sent[0]
    fu = rfc5322(ALICE, "p1@prospects.test", "Re: " + first["subject"],
                 message_id=f"<fu.{secrets.token_hex(4)}@outreach.test>",
                 in_reply_to=first["mid"], references=first["mid"])
    s, _, b = alice.send(fu, thread_id=first["threadId"])
    check(s == 200 and b["threadId"] == first["threadId"], "follow-up joins the thread", b)
    fu_id = b["id"]
    fu2 = rfc5322(ALICE, "p2@prospects.test", "Another subject", in_reply_to=sent[1]["mid"],
                  references=sent[1]["mid"])
    s, _, b = alice.send(fu2, thread_id=sent[1]["threadId"])
    check(s == 200 and b["threadId"] != sent[1]["threadId"],
          "subject mismatch -> new thread, as Gmail does", b)
    fu3 = rfc5322(ALICE, "p3@prospects.test", "Re: " + sent[2]["subject"])
    s, _, b = alice.send(fu3, thread_id=sent[2]["threadId"])
    check(s == 200 and b["threadId"] != sent[2]["threadId"],
          "no In-Reply-To/References -> new thread", b)
    s, _, b = alice.send(fu, thread_id="ffffffffffffffff")
    check(s == 400 and "thread" in b["error"]["message"], "unknown threadId -> 400", b)
    v = sess.clear_violations()
    check(len(v) == 1 and v[0]["kind"] == "invalid-request", "…and recorded", v)

    section("users.drafts.create")
    draft_raw = rfc5322(ALICE, "p4@prospects.test", "Re: " + sent[3]["subject"],
                        in_reply_to=sent[3]["mid"], references=sent[3]["mid"])
    s, _, d = alice.call("POST", "/drafts", body={"message": {"raw": b64url(draft_raw),
                                                             "threadId": sent[3]["threadId"]}})
    check(s == 200 and d["message"]["labelIds"] == ["DRAFT"]
          and d["message"]["threadId"] == sent[3]["threadId"] and d["id"].startswith("r"),
          "draft created in the thread with label DRAFT", d)
    s, _, dg = alice.call("GET", f"/drafts/{d['id']}", [("format", "metadata")])
    check(s == 200 and dg["message"]["id"] == d["message"]["id"], "drafts.get", dg)

    section("Received mail via /__deliver (reply, auto-reply, bounce)")
    reply = rfc5322("P One <p1@prospects.test>", ALICE, "Re: " + first["subject"],
                    body="Sounds good, let's talk.\r\n",
                    message_id="<reply1@prospects.test>", in_reply_to=first["mid"],
                    references=first["mid"])
    s, _, r = sess.ctl("POST", "/__deliver", {"to": ALICE, "raw": reply.decode()})
    check(s == 200 and r["threadId"] == first["threadId"] and r["labelIds"] == ["INBOX", "UNREAD"],
          "reply threaded into the prospect's thread, INBOX+UNREAD", r)
    reply_id = r["id"]
    auto = rfc5322("p5@prospects.test", ALICE, "Automatic reply: " + sent[4]["subject"],
                   in_reply_to=sent[4]["mid"], references=sent[4]["mid"],
                   extra=["Auto-Submitted: auto-replied"])
    s, _, r = sess.ctl("POST", "/__deliver", {"to": ALICE, "raw": auto.decode()})
    check(s == 200 and r["threadId"] != sent[4]["threadId"],
          "auto-reply with another subject starts a new thread", r)
    auto2 = rfc5322("p6@prospects.test", ALICE, "RE: " + sent[5]["subject"],
                    in_reply_to=sent[5]["mid"], extra=["Auto-Submitted: auto-replied"])
    s, _, r = sess.ctl("POST", "/__deliver", {"to": ALICE, "raw": auto2.decode()})
    check(s == 200 and r["threadId"] == sent[5]["threadId"],
          "auto-reply with RE: subject joins the thread", r)
    bounce = rfc5322("Mail Delivery Subsystem <mailer-daemon@googlemail.com>", ALICE,
                     "Delivery Status Notification (Failure)", in_reply_to=sent[6]["mid"],
                     references=sent[6]["mid"])
    s, _, r = sess.ctl("POST", "/__deliver", {"to": ALICE, "raw": bounce.decode(),
                                              "threadId": sent[6]["threadId"]})
    check(s == 200 and r["threadId"] == sent[6]["threadId"], "bounce forced into a thread", r)
    old = rfc5322(ALICE, "old@prospects.test", "Old one")
    old_ms = int((time.time() - 90 * 86400) * 1000)
    s, _, r = sess.ctl("POST", "/__deliver", {"to": ALICE, "raw": old.decode(),
                                              "labelIds": ["SENT"], "internalDate": old_ms})
    check(s == 200, "an old sent message planted with internalDate", r)
    old_id = r["id"]

    section("users.messages.list with q, then get format=metadata")
    s, ids, pages = alice.list_all("in:sent newer_than:30d", page=7)
    n_sent = 20 + 1 + 3 + 3     # round 1, extra, no-id/From/replaced, follow-ups
    check(s == 200 and len(ids) == n_sent and len(set(ids)) == n_sent and pages == 4,
          f"in:sent newer_than:30d -> {n_sent} ids over 4 pages of 7, no duplicates",
          (s, len(ids), pages))
    check(old_id not in ids and reply_id not in ids, "old and received mail excluded")
    s, ids, _ = alice.list_all(f"rfc822msgid:{first['mid']}")
    check(ids == [first["id"]], "rfc822msgid: finds exactly our message", ids)
    s, ids, _ = alice.list_all("from:p1@prospects.test")
    check(ids == [reply_id], "from: finds the reply", ids)
    s, ids, _ = alice.list_all(f"after:{int(old_ms / 1000) - 10} before:{int(old_ms / 1000) + 10}")
    check(ids == [old_id], "after:/before: with epoch seconds", ids)
    s, ids, _ = alice.list_all("in:inbox is:unread -from:mailer-daemon")
    check(reply_id in ids and len(ids) == 3, "in:inbox is:unread with a negated term", ids)
    s, ids, _ = alice.list_all(None, labels=["DRAFT"])
    check(ids == [d["message"]["id"]], "labelIds=DRAFT", ids)
    s, ids, _ = alice.list_all("in:inbox subject:\"Automatic reply\" OR from:p6@prospects.test")
    check(s == 200 and len(ids) == 2, "OR and a quoted phrase", ids)
    s, _, empty = alice.call("GET", "/messages", [("q", "from:nobody@nowhere.test")])
    check(s == 200 and empty == {"resultSizeEstimate": 0},
          "no match -> {resultSizeEstimate: 0}, no messages field (Gmail omits empty lists)", empty)
    s, _, b = alice.call("GET", "/messages", [("q", "in:sent"), ("maxResults", "3"),
                                              ("fields", "messages(id),nextPageToken")])
    check(s == 200 and set(b) == {"messages", "nextPageToken"} and set(b["messages"][0]) == {"id"},
          "fields= partial response", b)
    s, _, tl = alice.call("GET", "/messages", [("q", "in:sent"), ("maxResults", "3")])
    s, _, b = alice.call("GET", "/messages", [("q", "in:inbox"), ("pageToken", tl["nextPageToken"])])
    check(s == 400, "pageToken reused with another q -> 400", b)
    sess.clear_violations()
    s, _, th = alice.call("GET", f"/threads/{first['threadId']}", [("format", "metadata"),
                                                                   ("metadataHeaders", "Message-ID")])
    check(s == 200 and [m["id"] for m in th["messages"]] == [first["id"], fu_id, reply_id],
          "threads.get format=metadata: the thread's messages in order", th)
    s, _, raw = alice.call("GET", f"/messages/{reply_id}", [("format", "raw")])
    check(s == 200 and base64.urlsafe_b64decode(raw["raw"] + "==").startswith(b"From: P One"),
          "format=raw is base64url of the stored message")
    s, _, full = alice.call("GET", f"/messages/{reply_id}", [("format", "full")])
    check(s == 200 and full["payload"]["mimeType"] == "text/plain"
          and base64.urlsafe_b64decode(full["payload"]["body"]["data"] + "==")
          .startswith(b"Sounds good"), "format=full payload body")
    check(full.get("snippet") == "Sounds good, let&#39;s talk.", "snippet is HTML-escaped like Gmail's",
          full.get("snippet"))

    section("users.history.list")
    s, recs, hid = alice.history_all(h0, page=5)
    added = [r["messagesAdded"][0]["message"]["id"] for r in recs]
    s2, _, prof = alice.call("GET", "/profile")
    check(s == 200 and hid == prof["historyId"], "history.list historyId = current historyId",
          (hid, prof.get("historyId")))
    check(all(int(a["id"]) < int(b["id"]) for a, b in zip(recs, recs[1:])),
          "history records in increasing id order")
    check(first["id"] in added and reply_id in added and d["message"]["id"] in added
          and len(added) == len(set(added)), "every added message once, across pages", len(added))
    check(all(isinstance(r["id"], str) for r in recs), "history ids are strings (uint64)")
    s, inbox_recs, _ = alice.history_all(h0, label="INBOX")
    inbox_ids = alice_inbox_ids(alice)
    check(s == 200 and len(inbox_ids) == 4 and sorted(
          r["messagesAdded"][0]["message"]["id"] for r in inbox_recs) == sorted(inbox_ids),
          "labelId=INBOX filters to received mail", (len(inbox_recs), len(inbox_ids)))
    s, none, hid2 = alice.history_all(int(prof["historyId"]))
    check(s == 200 and none == [] and hid2 == prof["historyId"], "no changes -> no history field")
    s, _, b = alice.call("GET", "/history", [("historyTypes", "messageAdded")])
    check(s == 400, "startHistoryId is required", b)
    sess.clear_violations()

    section("Too-old historyId -> 404 (client falls back to a full resync)")
    s, _, f = sess.ctl("POST", "/__faults", {"expireHistoryBefore": "now", "user": ALICE})
    s, _, b = alice.call("GET", "/history", [("startHistoryId", str(h0)),
                                             ("historyTypes", "messageAdded")])
    check(s == 404 and b["error"]["errors"][0]["reason"] == "notFound",
          "history.list 404 notFound", b)
    check(sess.violations() == [], "an expected 404 is not a violation")

    section("429 rate limit, retried with backoff")
    sess.ctl("POST", "/__faults", {"rateLimit": 2, "retryAfter": 1})
    log = []
    t0 = time.time()
    s, _, b = alice.call_retrying("GET", "/profile", log=log)
    check(s == 200 and [x[0] for x in log] == [429, 429, 200] and log[0][1] == "1",
          "two 429s with Retry-After: 1, then 200", log)
    check(time.time() - t0 >= 1.9, "the client waited as told")
    sess.ctl("POST", "/__faults", {"rateLimit": 1, "rateLimitStatus": 403})
    s, _, b = alice.call("GET", "/profile")
    check(s == 403 and b["error"]["errors"][0]["reason"] == "rateLimitExceeded"
          and b["error"]["errors"][0]["domain"] == "usageLimits", "403 rateLimitExceeded variant", b)
    sess.ctl("POST", "/__faults", {"clear": True})
    sess.ctl("POST", "/__faults", {"serverError": 1})
    log = []
    s, _, b = alice.call_retrying("GET", "/profile", log=log)
    check([x[0] for x in log] == [503, 200], "503 backendError then success", log)

    section("Token expiry, refresh, invalid_grant")
    sess.ctl("POST", "/__faults", {"expireAccessTokens": True, "user": ALICE})
    s, h, b = alice.call("GET", "/profile")
    check(s == 401 and b["error"]["errors"][0]["reason"] == "authError"
          and "invalid_token" in (h.get("WWW-Authenticate") or ""), "expired token -> 401 authError", b)
    s, _, nt = sess.refresh(alice_refresh)
    check(s == 200 and "access_token" in nt and "refresh_token" not in nt,
          "refresh_token grant -> new access token", nt)
    alice.token = nt["access_token"]
    s, _, _ = alice.call("GET", "/profile")
    check(s == 200, "new access token works")
    sess.ctl("POST", "/__faults", {"invalidGrant": True})
    s, _, b = sess.refresh(alice_refresh)
    check(s == 400 and b == {"error": "invalid_grant",
                             "error_description": "Token has been expired or revoked."},
          "refresh after revocation -> Google's invalid_grant body", b)
    check(sess.violations() == [], "expected token errors are not violations", sess.violations())
    s, tok2, _ = sess.consent([SEND, COMPOSE, READONLY], login_hint=ALICE, prompt="consent")
    s3, _, nt = sess.refresh(tok2.get("refresh_token", ""))
    check(s == 200 and s3 == 200, "re-consent gives a working refresh token", (tok2, nt))
    s, tok3, _ = sess.consent([SEND], login_hint=ALICE, prompt="select_account")
    check(s == 200 and "refresh_token" not in tok3,
          "no refresh_token without prompt=consent after an earlier offline grant", tok3)

    section("Scopes")
    s, tsend, _ = sess.consent([SEND], login_hint=CAROL)
    carol = Api(sess, tsend["access_token"])
    s, _, b = carol.call("GET", "/messages")
    check(s == 403 and b["error"]["errors"][0]["reason"] == "insufficientPermissions",
          "gmail.send token cannot list", b)
    s, tmeta, _ = sess.consent([METADATA, READONLY], login_hint=CAROL)
    s, _, b = Api(sess, tmeta["access_token"]).call("GET", "/messages", [("q", "in:inbox")])
    check(s == 403 and "Metadata scope" in b["error"]["message"],
          "a token with gmail.metadata cannot use q (even with readonly)", b)
    v = sess.clear_violations()
    check([x["kind"] for x in v] == ["scope", "scope"], "scope errors recorded", v)

    section("Mail between the fake's accounts; delegation")
    s, _, b = alice.send(rfc5322(ALICE, f"Bob <{BOB}>", "Lunch?", message_id="<lunch@outreach.test>"))
    s, ids, _ = bob.list_all("rfc822msgid:<lunch@outreach.test>")
    check(s == 200 and len(ids) == 1, "bob received alice's message in his INBOX", ids)
    s, _, b = Api(sess, bob.token, ALICE).call("GET", "/profile")
    check(s == 403, "bob's token cannot read alice's mailbox", b)
    sess.clear_violations()

    section("Media upload paths")
    up = rfc5322(ALICE, "p7@prospects.test", "Via upload", message_id="<upload@outreach.test>")
    s, _, b = alice.call("POST", "/messages/send", [("uploadType", "media")], up,
                         {"Content-Type": "message/rfc822"},
                         base_path="/upload/gmail/v1/users/me")
    check(s == 200 and b["labelIds"] == ["SENT"], "uploadType=media", b)
    boundary = "b" + secrets.token_hex(8)
    fu7 = rfc5322(ALICE, "p7@prospects.test", "Re: Via upload", in_reply_to="<upload@outreach.test>",
                  references="<upload@outreach.test>")
    mp = (f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
          + json.dumps({"threadId": b["threadId"]}) +
          f"\r\n--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n").encode() + fu7 + \
        f"\r\n--{boundary}--\r\n".encode()
    s, _, b2 = alice.call("POST", "/messages/send", [("uploadType", "multipart")], mp,
                          {"Content-Type": f"multipart/related; boundary={boundary}"},
                          base_path="/upload/gmail/v1/users/me")
    check(s == 200 and b2["threadId"] == b["threadId"], "uploadType=multipart with threadId", b2)

    section("Requests the discovery document does not define are caught")
    s, _, b = alice.call("GET", "/messages", [("q", "in:sent"), ("sortOrder", "asc")])
    check(s == 400 and "sortOrder" in b["error"]["message"], "unknown query parameter -> 400", b)
    s, _, b = alice.call("POST", "/messages/send", body={"raw": b64url(fu), "thread_id": "x"})
    check(s == 400 and "thread_id" in b["error"]["message"], "unknown body field -> 400", b)
    s, _, b = alice.call("POST", "/messages/send", body={"raw": b64url(fu), "threadId": 12})
    check(s == 400 and "threadId" in b["error"]["message"], "wrong body field type -> 400", b)
    s, _, b = alice.call("POST", "/messages/send", body={"threadId": first["threadId"]})
    check(s == 400 and "raw" in b["error"]["message"], "send without raw -> 400", b)
    s, _, b = alice.call("POST", "/messages/send", body={"raw": "not base64 !!"})
    check(s == 400 and "Base64" in b["error"]["message"], "raw not base64 -> 400", b)
    s, _, b = alice.call("GET", f"/messages/{first['id']}", [("format", "METADATA")])
    check(s == 400, "enum values are case-sensitive", b)
    s, _, b = alice.call("GET", "/messages", [("maxResults", "10"), ("maxResults", "20")])
    check(s == 400, "non-repeated parameter given twice -> 400", b)
    s, _, b = alice.call("GET", "/mesages")
    check(s == 404, "unknown path -> 404", b)
    s, _, b = alice.call("DELETE", "/profile")
    check(s == 404, "wrong HTTP method -> 404", b)
    s, _, b = alice.call("POST", "/messages/send", body=b64url(fu),
                         headers={"Content-Type": "text/plain"})
    check(s == 400, "body that is not JSON -> 400", b)
    s, _, b = alice.call("GET", "/settings/vacation")
    check(s == 501, "a defined but unimplemented method -> 501", b)
    v = sess.clear_violations()
    kinds = [x["kind"] for x in v]
    check(kinds == ["contract-request"] * 7 + ["unknown-endpoint"] * 2 + ["contract-request",
                                                                          "unimplemented"],
          "every one of them recorded with its kind", kinds)

    section("Other implemented methods (responses checked against the contract too)")
    s, _, b = alice.call("GET", "/drafts", [("maxResults", "10")])
    check(s == 200 and [x["id"] for x in b.get("drafts", [])] == [d["id"]], "drafts.list", b)
    s, _, b = alice.call("GET", "/threads", [("q", "in:inbox"), ("maxResults", "2")])
    check(s == 200 and len(b.get("threads", [])) == 2 and "nextPageToken" in b, "threads.list", b)
    s, _, b = alice.call("GET", "/labels")
    check(s == 200 and any(l["id"] == "INBOX" for l in b["labels"]), "labels.list")
    s, _, b = alice.call("GET", f"/messages/{first['id']}", [("format", "minimal")])
    check(s == 200 and "payload" not in b and b["labelIds"] == ["SENT"], "format=minimal", b)
    s, _, prof_before = alice.call("GET", "/profile")
    s, _, b = alice.call("DELETE", f"/drafts/{d['id']}")
    check(s == 204, "drafts.delete", b)
    s, recs, _ = alice.history_all(int(prof_before["historyId"]), types=("messageDeleted",))
    check(s == 200 and len(recs) == 1 and recs[0]["messagesDeleted"][0]["message"]["id"]
          == d["message"]["id"], "history messageDeleted after drafts.delete", recs)
    section("users.drafts.send")
    mid_kept = "<kept." + str(os.getpid()) + "@prospects.test>"
    s, _, dk = alice.call("POST", "/drafts", body={"message": {"raw": b64url(
        rfc5322(ALICE, "p7@prospects.test", "Draft sent as it is", message_id=mid_kept))}})
    s, _, de = alice.call("POST", "/drafts", body={"message": {"raw": b64url(
        rfc5322(ALICE, "p8@prospects.test", "Draft edited, then sent"))}})
    s, _, prof_before = alice.call("GET", "/profile")
    s, _, b = alice.call("POST", "/drafts/send", body={"id": dk["id"]})
    check(s == 200 and b["id"] == dk["message"]["id"] and b["labelIds"] == ["SENT"],
          "a draft sent as it is keeps its message, now SENT", b)
    s, _, mk = alice.call("GET", f"/messages/{b['id']}", [("format", "metadata"),
                                                          ("metadataHeaders", "Message-ID")])
    check(s == 200 and header(mk, "Message-ID") == mid_kept, "…and its Message-ID", mk)
    edited = rfc5322(ALICE, "p8@prospects.test", "Draft edited, then sent", body="Edited.\r\n",
                     message_id="<edited." + str(os.getpid()) + "@prospects.test>")
    s, _, b2 = alice.call("POST", "/drafts/send", body={"id": de["id"], "message": {"raw": b64url(edited)}})
    check(s == 200 and b2["id"] != de["message"]["id"] and b2["labelIds"] == ["SENT"],
          "a draft sent with new content is a new message", b2)
    s, _, gone = alice.call("GET", f"/messages/{de['message']['id']}", [("format", "minimal")])
    check(s == 404, "…and the draft's message is gone", gone)
    s, recs, _ = alice.history_all(int(prof_before["historyId"]),
                                   types=("messageAdded", "messageDeleted", "labelAdded", "labelRemoved"))
    kinds = [next(k for k in r if k not in ("id", "messages")) for r in recs]
    check(s == 200 and kinds == ["labelsRemoved", "labelsAdded", "messagesDeleted", "messagesAdded"]
          and recs[1]["labelsAdded"][0]["labelIds"] == ["SENT"], "drafts.send in the history", recs)
    s, _, b = alice.call("POST", "/drafts/send", body={"id": dk["id"]})
    check(s == 404, "a sent draft is no longer a draft", b)
    s, _, b = alice.call("GET", "/drafts", [("maxResults", "10")])
    check(s == 200 and "drafts" not in b, "no drafts left", b)
    sess.ctl("POST", "/__faults", {"quotaPerSecond": 5})
    s1, _, _ = alice.call("GET", f"/messages/{first['id']}", [("format", "minimal")])
    s2, _, b = alice.call("GET", f"/messages/{first['id']}", [("format", "minimal")])
    check((s1, s2) == (200, 429), "quotaPerSecond: 5 units/s allows one messages.get (5) a second",
          (s1, s2, b))
    sess.ctl("POST", "/__faults", {"clear": True})
    s, tid, _ = sess.consent(["openid", "email", SEND], login_hint=BOB)
    claims = json.loads(base64.urlsafe_b64decode(tid.get("id_token", "..").split(".")[1] + "=="))
    check(s == 200 and claims.get("email") == BOB, "openid scope -> id_token with the email", claims)
    s, _, b = http("POST", st["revokeURL"], urllib.parse.urlencode({"token": tid["refresh_token"]}),
                   {"Content-Type": "application/x-www-form-urlencoded"})
    s2, _, b2 = sess.refresh(tid["refresh_token"])
    check(s == 200 and s2 == 400 and b2["error"] == "invalid_grant", "/revoke", (s, b, s2, b2))
    check(sess.violations() == [], "none of this was a violation", sess.violations())

    section("Test state")
    s, _, state = sess.ctl("GET", "/__state")
    a = state["users"][ALICE]
    thread1 = next(t for t in a["threads"] if t["id"] == first["threadId"])
    check(thread1["messageIds"] == [first["id"], fu_id, reply_id], "__state threads", thread1)
    m0 = next(m for m in a["messages"] if m["id"] == first["id"])
    check(m0["headers"]["Message-ID"] == first["mid"] and m0["labelIds"] == ["SENT"],
          "__state messages with headers and labels", m0)
    check(any(r["path"] == "/gmail/v1/users/me/history" and r["query"].get("historyTypes")
              == ["messageAdded"] for r in state["requests"]), "__state lists requests with query")
    check(a["drafts"] == [] and a["quotaUnitsUsed"] > 2000, "__state drafts (deleted above) and quota",
          (a["drafts"], a["quotaUnitsUsed"]))
    check(extra_id in {m["id"] for m in a["messages"]}, "every sent message is in __state")

    check(sess.violations() == [], "no violations left at the end", sess.violations())


def alice_inbox_ids(api):
    s, ids, _ = api.list_all(None, labels=["INBOX"])
    return ids


def lifecycle(discovery):
    section("serve mode: JSON line on stdout, state.json, watchdog")
    d = tempfile.mkdtemp(prefix="fake-gmail-serve-")
    proc = subprocess.Popen([sys.executable, FAKE, "serve", "--port", "0", "--state-dir", d,
                             "--discovery", discovery], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline().decode()
        st = json.loads(line)
        check(set(st) >= {"port", "apiBase", "tokenURL", "authURL"}
              and st["apiBase"] == f"http://127.0.0.1:{st['port']}"
              and st["tokenURL"] == st["apiBase"] + "/token"
              and st["authURL"] == st["apiBase"] + "/auth", "serve prints the JSON line", line)
        with open(os.path.join(d, "state.json")) as f:
            check(json.load(f) == st, "state.json holds the same JSON")
        s, _, b = http("GET", st["apiBase"] + "/__health")
        check(s == 200, "serve answers")
        shutil.rmtree(d)
        try:
            proc.wait(timeout=5)
            check(True, "serve exits when its state dir is deleted")
        except subprocess.TimeoutExpired:
            check(False, "serve exits when its state dir is deleted")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--discovery", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the state directory")
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="fake-gmail-selftest-")
    cmd = [sys.executable, FAKE, "start", d, "--users", f"{ALICE},{BOB},{CAROL}"]
    if args.discovery:
        cmd += ["--discovery", args.discovery]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        print("start failed:", r.stderr.decode(), r.stdout.decode())
        return 1
    st = json.loads(r.stdout.decode().splitlines()[-1])
    print("started:", json.dumps(st))
    try:
        run(st)
    except Exception as e:
        import traceback
        traceback.print_exc()
        failures.append(f"exception: {e!r}")
    finally:
        subprocess.run([sys.executable, FAKE, "stop", d], timeout=30)
        gone = True
        try:
            os.kill(st["pid"], 0)
            with open(f"/proc/{st['pid']}/stat") as f:
                gone = f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except (OSError, ProcessLookupError):
            pass
        section("start/stop")
        check(gone, "stop ended the server")
        with open(os.path.join(d, "requests.log")) as f:
            lines = [json.loads(l) for l in f]
        check(len(lines) > 100 and all("status" in l and "responseBody" in l for l in lines),
              "requests.log has every request and response", len(lines))
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("state kept in", d)
    lifecycle(args.discovery or st["discovery"])
    print(f"\n{passed} passed, {len(failures)} failed")
    for f in failures:
        print("  failed:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
