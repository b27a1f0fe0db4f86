#!/usr/bin/python3
"""Get an OAuth access token from the fake Gmail (gmail/fake_gmail.py), the
way an installed app does: PKCE (S256) + state, loopback redirect.

    oauth_token.py FAKE_DIR --user EMAIL [--scope SCOPE ...]
        Runs the authorization-code flow against the fake started in FAKE_DIR
        (reads FAKE_DIR/state.json) and prints the /token answer as one JSON
        line: {"access_token", "expires_in", "scope", "token_type",
        "refresh_token"}.  Default scope: https://mail.google.com/ (what
        Gmail's IMAP and SMTP require).

The fake's /auth consents at once and answers 302 to the redirect URI; the
Location header is read instead of followed, so no listener is needed on the
redirect port.  Standard library only.  Exit status: 0 ok, 1 failure.
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def main(argv):
    ap = argparse.ArgumentParser(prog="oauth_token.py")
    ap.add_argument("dir", metavar="FAKE_DIR")
    ap.add_argument("--user", required=True)
    ap.add_argument("--scope", action="append")
    args = ap.parse_args(argv)
    with open(os.path.join(args.dir, "state.json")) as f:
        st = json.load(f)

    verifier = b64url(secrets.token_bytes(48))
    state = secrets.token_urlsafe(16)
    # Nothing listens here: the code is taken from the Location header.
    redirect = "http://127.0.0.1:9/oauth2callback"
    query = {"response_type": "code", "client_id": st["clientId"], "redirect_uri": redirect,
             "scope": " ".join(args.scope or ["https://mail.google.com/"]), "state": state,
             "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
             "code_challenge_method": "S256", "access_type": "offline", "prompt": "consent",
             "login_hint": args.user}
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(st["authURL"] + "?" + urllib.parse.urlencode(query), timeout=30)
        print("oauth_token.py: /auth did not redirect", file=sys.stderr)
        return 1
    except urllib.error.HTTPError as e:
        if e.code != 302:
            print(f"oauth_token.py: /auth answered {e.code}: {e.read().decode('utf-8', 'replace')}",
                  file=sys.stderr)
            return 1
        location = e.headers["Location"]
    got = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    if got.get("state") != [state] or "code" not in got:
        print(f"oauth_token.py: unexpected redirect {location}", file=sys.stderr)
        return 1

    form = {"grant_type": "authorization_code", "code": got["code"][0], "redirect_uri": redirect,
            "client_id": st["clientId"], "client_secret": st["clientSecret"],
            "code_verifier": verifier}
    req = urllib.request.Request(st["tokenURL"], data=urllib.parse.urlencode(form).encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            token = json.load(r)
    except urllib.error.HTTPError as e:
        print(f"oauth_token.py: /token answered {e.code}: {e.read().decode('utf-8', 'replace')}",
              file=sys.stderr)
        return 1
    print(json.dumps(token), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
