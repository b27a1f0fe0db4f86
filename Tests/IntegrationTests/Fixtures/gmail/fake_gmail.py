#!/usr/bin/python3
"""A fake Gmail API and Google OAuth 2.0 endpoint on loopback, for tests.

Every request to the Gmail API (and every JSON response the fake gives) is
checked against the Gmail discovery document (gmail.v1.json): HTTP method,
path template, query parameters (name, type, format, enum, repeated-ness,
required), JSON body field names and types.  A request the document does not
define is answered 400 in Google's error shape and recorded; GET /__violations
lists what was recorded, so a test can assert that it is empty at the end.

    fake_gmail.py serve --state-dir DIR [--port 0] [options]
        Run in the foreground on 127.0.0.1 until SIGTERM/SIGINT or until DIR
        is deleted.  Prints one JSON line (see README.md) on stdout once the
        port is bound, writes the same to DIR/state.json, logs every request
        and response to DIR/requests.log (JSON lines).
    fake_gmail.py start DIR [--port 0] [options]
        Start "serve" detached (own session, output to DIR/server.log),
        return once it answers, print the state JSON.
    fake_gmail.py stop DIR
        Stop the server of DIR; succeeds when it is already gone.

Options (serve and start):
    --users a@x,b@y        the accounts the fake knows (default alice@example.test,
                           bob@example.test); /auth?login_hint=EMAIL picks one
    --discovery FILE       the discovery document (default: ../shared/contracts/
                           gmail.v1.json relative to the repository root)
    --client-id ID         OAuth client id the fake accepts
    --client-secret S      client secret required at /token ('' = not required)
    --expires-in N         access token lifetime in seconds (default 3600)
    --history-retention N  keep only the last N history records per mailbox
                           (older startHistoryIds answer 404); 0 = keep all
    --seed N               seed for ids and history-id gaps (default 1)

See README.md next to this file for the test controls (/__deliver,
/__faults, /__state, /__violations).

Standard library only; runs under Debian's /usr/bin/python3.
Exit status: 0 ok, 1 failure.
"""

import argparse
import base64
import datetime
import email
import email.header
import email.policy
import email.utils
import hashlib
import http.server
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

HOST = "127.0.0.1"
DEFAULT_USERS = ["alice@example.test", "bob@example.test"]
DEFAULT_CLIENT_ID = "fake-client-id.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "fake-client-secret"
READY_TIMEOUT = 20.0
STATE = "state.json"
PID = "fake_gmail.pid"
SERVER_LOG = "server.log"
REQUEST_LOG = "requests.log"
LOG_BODY_LIMIT = 65536
CODE_LIFETIME = 600          # seconds an authorization code stays valid
MAX_RESULTS_CAP = 500        # messages.list / history.list maximum page size

# Quota units per method (protocols.md §3); anything else costs 5.
QUOTA_UNITS = {
    "gmail.users.messages.send": 100,
    "gmail.users.drafts.create": 10,
    "gmail.users.messages.get": 5,
    "gmail.users.messages.list": 5,
    "gmail.users.history.list": 2,
    "gmail.users.getProfile": 1,
    "gmail.users.threads.get": 10,
    "gmail.users.threads.list": 10,
    "gmail.users.labels.list": 1,
}

SYSTEM_LABELS = ["CHAT", "SENT", "INBOX", "IMPORTANT", "TRASH", "DRAFT", "SPAM",
                 "CATEGORY_FORUMS", "CATEGORY_UPDATES", "CATEGORY_PERSONAL",
                 "CATEGORY_PROMOTIONS", "CATEGORY_SOCIAL", "STARRED", "UNREAD"]

# Scopes /auth accepts besides the discovery document's.
IDENTITY_SCOPES = {"openid", "email", "profile",
                   "https://www.googleapis.com/auth/userinfo.email",
                   "https://www.googleapis.com/auth/userinfo.profile"}
METADATA_SCOPE = "https://www.googleapis.com/auth/gmail.metadata"

AUTH_PARAMS = {"response_type", "client_id", "redirect_uri", "scope", "state",
               "code_challenge", "code_challenge_method", "access_type", "prompt",
               "login_hint", "include_granted_scopes", "nonce", "hd",
               "enable_granular_consent", "authuser"}

# Gmail search operators: the ones the fake evaluates, and the ones it knows
# are Gmail's but does not implement (a query using them is refused loudly
# rather than answered wrongly).
Q_SUPPORTED = {"from", "to", "cc", "bcc", "subject", "rfc822msgid", "after",
               "before", "newer_than", "older_than", "newer", "older", "in",
               "is", "label", "has", "deliveredto"}
Q_KNOWN_UNSUPPORTED = {"list", "filename", "category", "size", "larger",
                       "smaller", "around"}


def eprint(*args):
    print(*args, file=sys.stderr, flush=True)


def now_ms():
    return int(time.time() * 1000)


def b64url(data):
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64url_nopad(data):
    return b64url(data).rstrip("=")


def b64decode_any(text):
    """Standard or URL-safe base64, padded or not -> bytes (ValueError)."""
    if not isinstance(text, str):
        raise ValueError("not a string")
    s = re.sub(r"\s+", "", text)
    if not re.fullmatch(r"[A-Za-z0-9+/_-]*={0,2}", s):
        raise ValueError("characters outside the base64 alphabet")
    s = s.rstrip("=").replace("+", "-").replace("/", "_")
    if len(s) % 4 == 1:
        raise ValueError("impossible length")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def default_discovery():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = here
    for _ in range(4):          # gmail -> Fixtures -> IntegrationTests -> Tests -> repo
        repo = os.path.dirname(repo)
    return os.path.normpath(os.path.join(repo, "..", "shared", "contracts", "gmail.v1.json"))


# --------------------------------------------------------------------------
# Google-shaped errors

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ABORTED", 413: "INVALID_ARGUMENT",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
                503: "UNAVAILABLE"}


class ApiError(Exception):
    """An error answered in Google's JSON error shape.

    kind: if set, the request is also recorded as a violation of that kind
    (client mistakes and fake gaps; not expected flows like an expired token).
    """

    def __init__(self, code, message, reason, domain="global", kind=None,
                 problems=None, headers=None, details=None, extra=None):
        super().__init__(message)
        self.code, self.message, self.reason, self.domain = code, message, reason, domain
        self.kind = kind
        self.problems = problems or [message]
        self.headers = headers or {}
        self.details = details
        self.extra = extra or {}

    def body(self):
        err = {"message": self.message, "domain": self.domain, "reason": self.reason}
        err.update(self.extra)
        out = {"code": self.code, "message": self.message, "errors": [err],
               "status": STATUS_NAMES.get(self.code, "UNKNOWN")}
        if self.details:
            out["details"] = self.details
        return {"error": out}


def bad_request(problems, kind="contract-request"):
    return ApiError(400, "; ".join(problems), "invalid", kind=kind, problems=problems,
                    details=[{"@type": "type.googleapis.com/google.rpc.BadRequest",
                              "fieldViolations": [{"description": p} for p in problems]}])


class OAuthError(Exception):
    """An error of the token endpoint: {"error", "error_description"}."""

    def __init__(self, code, error, description, record=True):
        super().__init__(description)
        self.code, self.error, self.description, self.record = code, error, description, record


# --------------------------------------------------------------------------
# the discovery document

class Contract:
    """Methods, parameters and schemas of a Google discovery document."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)
        self.path = path
        self.schemas = self.doc.get("schemas", {})
        self.global_params = self.doc.get("parameters", {})
        self.scopes = set(self.doc.get("auth", {}).get("oauth2", {}).get("scopes", {}))
        self.service_path = self.doc.get("servicePath", "")
        self.batch_path = "/" + self.doc.get("batchPath", "batch").lstrip("/")
        self.methods = {}      # id -> method
        self.routes = []       # (httpMethod, regex, template, method, protocol)
        self._walk(self.doc.get("resources", {}))
        # Most literal characters first, so .../messages/send beats .../messages/{id}.
        self.routes.sort(key=lambda r: -len(re.sub(r"\{[^}]*\}", "", r[2])))

    def _walk(self, resources):
        for res in resources.values():
            for m in res.get("methods", {}).values():
                self.methods[m["id"]] = m
                templates = {"/" + (self.service_path + m["path"]).lstrip("/")}
                if m.get("flatPath"):
                    templates.add("/" + (self.service_path + m["flatPath"]).lstrip("/"))
                for t in templates:
                    self.routes.append((m["httpMethod"], self._regex(t), t, m, None))
                for proto, spec in m.get("mediaUpload", {}).get("protocols", {}).items():
                    t = "/" + spec["path"].lstrip("/")
                    self.routes.append((m["httpMethod"], self._regex(t), t, m, proto))
            self._walk(res.get("resources", {}))

    @staticmethod
    def _regex(template):
        out, pos = "", 0
        for mt in re.finditer(r"\{(\+?)([^}]+)\}", template):
            out += re.escape(template[pos:mt.start()])
            out += f"(?P<{re.sub(r'[^A-Za-z0-9_]', '_', mt.group(2))}>" + \
                   (".+" if mt.group(1) else "[^/]+") + ")"
            pos = mt.end()
        out += re.escape(template[pos:])
        return re.compile("^" + out + "$")

    def route(self, http_method, path):
        """-> (method, path params, upload protocol) or (None, None, why)."""
        other = []
        for verb, rx, template, m, proto in self.routes:
            mt = rx.match(path)
            if not mt:
                continue
            if verb != http_method:
                other.append(verb)
                continue
            params = {}
            for name in m.get("parameters", {}):
                key = re.sub(r"[^A-Za-z0-9_]", "_", name)
                if key in mt.groupdict():
                    params[name] = urllib.parse.unquote(mt.group(key))
            return m, params, proto
        if other:
            return None, None, f"{http_method} is not defined for {path} (only {', '.join(sorted(set(other)))})"
        return None, None, f"no method of the discovery document has the path {path}"

    def resolve(self, schema):
        seen = 0
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
            seen += 1
            if seen > 50:
                raise ValueError("$ref loop")
        return schema

    # -- query parameters

    @staticmethod
    def is_required(spec):
        return bool(spec.get("required")) or \
            str(spec.get("description", "")).startswith("Required.")

    def check_query(self, method, query, upload_proto):
        problems = []
        params = method.get("parameters", {})
        for name, values in query.items():
            spec = params.get(name)
            if spec is not None and spec.get("location") == "path":
                problems.append(f'Unknown name "{name}": path parameter {name} '
                                f'given in the query string')
                continue
            if spec is None:
                spec = self.global_params.get(name)
            if spec is None:
                problems.append(f'Invalid JSON payload received. Unknown name "{name}": '
                                f'Cannot bind query parameter. Field \'{name}\' could not '
                                f'be found in request message.')
                continue
            if len(values) > 1 and not spec.get("repeated"):
                problems.append(f"query parameter {name} is not repeated but was "
                                f"given {len(values)} times")
            for v in values:
                p = self.check_scalar(v, spec, f"query parameter {name}")
                if p:
                    problems.append(p)
        for name, spec in params.items():
            if spec.get("location") == "query" and self.is_required(spec) and name not in query:
                problems.append(f"required query parameter {name} is missing")
        if upload_proto:
            ut = query.get("uploadType", [None])[0]
            if ut is None:
                problems.append("Upload requests must include an uploadType URL parameter "
                                "and a URL path beginning with /upload/")
        return problems

    def check_path_params(self, method, params):
        problems = []
        for name, spec in method.get("parameters", {}).items():
            if spec.get("location") != "path":
                continue
            if name not in params or params[name] == "":
                if self.is_required(spec):
                    problems.append(f"required path parameter {name} is missing")
                continue
            p = self.check_scalar(params[name], spec, f"path parameter {name}")
            if p:
                problems.append(p)
            if spec.get("pattern") and not re.match(spec["pattern"], params[name]):
                problems.append(f"path parameter {name}={params[name]!r} does not match "
                                f"{spec['pattern']}")
        return problems

    @staticmethod
    def check_scalar(v, spec, where):
        """A query/path parameter value (always a string on the wire)."""
        t, fmt = spec.get("type"), spec.get("format")
        if "enum" in spec and v not in spec["enum"]:
            return f"Invalid value for {where}: {v!r} is not one of {spec['enum']}"
        if t == "integer" or (t == "string" and fmt in ("int64", "uint64")):
            if not re.fullmatch(r"-?[0-9]+", v):
                return f"Invalid value for {where}: {v!r} is not an integer ({fmt or t})"
            return int_range_problem(int(v), fmt, where)
        if t == "boolean" and v.lower() not in ("true", "false"):
            return f"Invalid value for {where}: {v!r} is not a boolean"
        if t == "number":
            try:
                float(v)
            except ValueError:
                return f"Invalid value for {where}: {v!r} is not a number"
        return None

    # -- JSON bodies

    def check_json(self, value, schema, where, problems, direction, method_id=None):
        """Check value against schema; append problems.  direction is
        "request" (Google's lenient parsing: int64 as string or number) or
        "response" (Google's output form: int64 as string, no nulls, no
        empty arrays)."""
        schema = self.resolve(schema)
        here = where or "(root)"
        if value is None:
            if direction == "response":
                problems.append(f"{here}: null (Google omits unset fields)")
            return
        t, fmt = schema.get("type"), schema.get("format")
        if t == "object" or (t is None and "properties" in schema):
            if not isinstance(value, dict):
                problems.append(f"Invalid value at '{here}': expected an object, got "
                                f"{type(value).__name__}")
                return
            props = schema.get("properties", {})
            addl = schema.get("additionalProperties")
            for k, v in value.items():
                sub = f"{where}.{k}" if where else k
                if k in props:
                    self.check_json(v, props[k], sub, problems, direction, method_id)
                elif addl:
                    self.check_json(v, addl, f"{where}[{k!r}]", problems, direction, method_id)
                else:
                    problems.append(f'Invalid JSON payload received. Unknown name "{k}" at '
                                    f"'{here}': Cannot find field.")
            if direction == "request" and method_id:
                for k, spec in props.items():
                    if k in value:
                        continue
                    req = spec.get("annotations", {}).get("required", [])
                    m = re.search(r"@required ([^\n]*)", spec.get("description", ""))
                    if m:
                        req = list(req) + m.group(1).split()
                    if method_id in req:
                        problems.append(f"'{(where + '.') if where else ''}{k}' is required "
                                        f"for {method_id}")
        elif t == "array":
            if not isinstance(value, list):
                problems.append(f"Invalid value at '{here}': expected an array, got "
                                f"{type(value).__name__}")
                return
            if direction == "response" and not value:
                problems.append(f"{here}: empty array (Google omits empty repeated fields)")
            for i, v in enumerate(value):
                self.check_json(v, schema.get("items", {}), f"{where}[{i}]", problems,
                                direction, method_id)
        elif t == "string":
            if fmt in ("int64", "uint64"):
                if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
                    p = int_range_problem(int(value), fmt, here)
                elif direction == "request" and isinstance(value, int) and not isinstance(value, bool):
                    p = int_range_problem(value, fmt, here)
                elif direction == "response":
                    p = (f"Invalid value at '{here}': {fmt} must be a JSON string of digits "
                         f"in Google's JSON mapping, got {value!r}")
                else:
                    p = f"Invalid value at '{here}' ({fmt}): {value!r}"
                if p:
                    problems.append(p)
                return
            if not isinstance(value, str):
                problems.append(f"Invalid value at '{here}' (TYPE_STRING): {value!r}")
                return
            if "enum" in schema and value not in schema["enum"]:
                problems.append(f"Invalid value at '{here}': {value!r} is not one of "
                                f"{schema['enum']}")
            if fmt == "byte":
                try:
                    b64decode_any(value)
                except (ValueError, TypeError) as e:
                    problems.append(f"Invalid value at '{here}' (TYPE_BYTES), Base64 "
                                    f"decoding failed: {e}")
                if direction == "response" and re.search(r"[+/]", value):
                    problems.append(f"{here}: Gmail answers base64url, not base64")
            elif fmt == "google-datetime":
                if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
                    problems.append(f"Invalid value at '{here}': {value!r} is not RFC 3339")
        elif t == "integer":
            if isinstance(value, bool):
                ok = False
            elif isinstance(value, int):
                ok = True
            elif direction == "request" and isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
                ok, value = True, int(value)
            else:
                ok = False
            if not ok:
                problems.append(f"Invalid value at '{here}' ({fmt or 'integer'}): {value!r}")
                return
            p = int_range_problem(value, fmt, here)
            if p:
                problems.append(p)
        elif t == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"Invalid value at '{here}' (number): {value!r}")
        elif t == "boolean":
            if not isinstance(value, bool):
                problems.append(f"Invalid value at '{here}' (TYPE_BOOL): {value!r}")
        elif t == "any" or t is None:
            pass
        else:
            problems.append(f"{here}: the discovery document has an unknown type {t!r}")

    # -- partial responses (?fields=)

    def apply_fields(self, value, mask, schema, where, problems):
        schema = self.resolve(schema)
        if mask is None:
            return value
        if isinstance(value, list):
            return [self.apply_fields(v, mask, schema.get("items", {}), where, problems)
                    for v in value]
        if schema.get("type") == "array":
            schema = self.resolve(schema.get("items", {}))
        props = schema.get("properties", {})
        out = {}
        for name, sub in mask.items():
            if name == "*":
                for k, v in (value or {}).items():
                    out[k] = v
                continue
            if name not in props:
                problems.append(f"Invalid field selection {where + name}")
                continue
            if isinstance(value, dict) and name in value:
                out[name] = self.apply_fields(value[name], sub, props[name],
                                              f"{where}{name}/", problems)
        return out


def int_range_problem(n, fmt, where):
    ranges = {"int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1),
              "int64": (-2**63, 2**63 - 1), "uint64": (0, 2**64 - 1)}
    lo, hi = ranges.get(fmt, (None, None))
    if lo is not None and not lo <= n <= hi:
        return f"Invalid value at '{where}': {n} is out of range for {fmt}"
    return None


def parse_fields(text):
    """Google's fields selector ("a,b(c,d),e/f") -> nested dict; a value of
    None selects the whole field."""
    pos = 0
    name_rx = re.compile(r"\s*([A-Za-z0-9_*]+(?:/[A-Za-z0-9_*]+)*)\s*")

    def merge(dst, name, sub):
        if name in dst and (dst[name] is None or sub is None):
            dst[name] = None
        elif name in dst:
            for k, v in sub.items():
                merge(dst[name], k, v)
        else:
            dst[name] = sub

    def parse_list(closing):
        nonlocal pos
        out = {}
        while True:
            m = name_rx.match(text, pos)
            if not m:
                raise ValueError(f"bad field selector at {pos}: {text!r}")
            pos = m.end()
            sub = None
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = parse_list(")")
                pos += 1
            names = m.group(1).split("/")
            for n in reversed(names[1:]):
                sub = {n: sub}
            merge(out, names[0], sub)
            while pos < len(text) and text[pos] == " ":
                pos += 1
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            if closing is None and pos == len(text):
                return out
            if closing is not None and pos < len(text) and text[pos] == closing:
                return out
            raise ValueError(f"bad field selector at {pos}: {text!r}")

    return parse_list(None)


def split_multipart(ctype, body):
    """multipart/related body -> [(content type, bytes)], byte-exact (the
    email package would re-serialize a message/rfc822 part)."""
    m = re.search(r'boundary="?([^";]+)"?', ctype, re.IGNORECASE)
    if not m:
        raise ValueError("no boundary in Content-Type")
    delim = b"--" + m.group(1).encode()
    chunks = body.split(delim)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise ValueError("missing closing boundary")
    parts = []
    for chunk in chunks[1:-1]:
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk[1:] if chunk.startswith(b"\n") else chunk
        chunk = chunk[:-2] if chunk.endswith(b"\r\n") else chunk[:-1] if chunk.endswith(b"\n") else chunk
        head, nl, content = split_head(chunk)
        content = content[len(nl) * 2:] if content.startswith(nl * 2) else content.lstrip(b"\r\n")
        ptype = "text/plain"
        for line in re.split(rb"\r?\n", head):
            k, _, v = line.decode("latin-1").partition(":")
            if k.strip().lower() == "content-type":
                ptype = v.split(";")[0].strip().lower()
        parts.append((ptype, content))
    return parts


# --------------------------------------------------------------------------
# messages and mailboxes

def gmail_message_id():
    """<CA…@mail.gmail.com> with the characters Gmail's own ids use,
    including '+' and '=' (which a client must percent-encode in q)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=-_"
    body = [secrets.choice(alphabet) for _ in range(44)]
    body[secrets.randbelow(10) + 2] = "+"
    body[secrets.randbelow(10) + 20] = "="
    return "<CA" + "".join(body) + "@mail.gmail.com>"


def decode_header_value(v):
    v = re.sub(r"\r?\n[ \t]", " ", str(v))
    try:
        return str(email.header.make_header(email.header.decode_header(v)))
    except Exception:
        return v


def msgids(text):
    return re.findall(r"<[^<>\s]+>", text or "")


SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|sv|antw|wg|tr|rif|vs)\s*(?:\[\d+\])?\s*:\s*)+",
                            re.IGNORECASE)


def base_subject(s):
    s = SUBJECT_PREFIX.sub("", s or "")
    return " ".join(s.split()).lower()


def split_head(raw):
    """raw bytes -> (header block without the blank line, newline, body incl. blank)."""
    m = re.search(rb"\r?\n\r?\n", raw)
    nl = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    if not m:
        return raw, nl, b""
    return raw[:m.start()], nl, raw[m.start():]


def has_header(head, name):
    return re.search(rb"(?im)^" + re.escape(name.encode()) + rb"[ \t]*:", head) is not None


def html_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def text_of(msg):
    """Plain text of a parsed message for snippets and free-text search."""
    plain, html = None, None
    for part in msg.walk():
        if part.is_multipart() or part.get_filename():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        try:
            data = part.get_payload(decode=True) or b""
            text = data.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:
            text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        if ctype == "text/plain" and plain is None:
            plain = text
        elif ctype == "text/html" and html is None:
            html = re.sub(r"<[^>]*>", " ", text)
    return plain if plain is not None else (html or "")


class Msg:
    def __init__(self, mid, raw, labels, internal_date, seq):
        self.id = mid
        self.raw = raw
        self.labels = list(labels)
        self.internal_date = internal_date
        self.seq = seq
        self.thread_id = None
        self.history_id = None
        self.parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
        self.headers = [(k, decode_header_value(v)) for k, v in self.parsed.items()]
        self.message_id = (msgids(self.header("Message-ID")) or [None])[0]
        self.in_reply_to = msgids(self.header("In-Reply-To"))
        self.references = msgids(self.header("References"))
        self.subject = self.header("Subject") or ""
        body = text_of(self.parsed)
        self.body_text = body
        self.snippet = html_escape(" ".join(body.split())[:200])

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class Mailbox:
    def __init__(self, address, rng, history_start):
        self.address = address
        self.rng = rng
        self.history_id = history_start
        self.history_floor = history_start      # startHistoryId below -> 404
        self.history = []                       # records, increasing id
        self.messages = {}                      # id -> Msg
        self.threads = {}                       # id -> [message ids]
        self.drafts = {}                        # draft id -> message id
        self.by_msgid = {}                      # Message-ID -> [message ids]
        self.page_tokens = {}                   # token -> (signature, anchor)
        self.quota_used = 0

    def bump(self):
        # Not contiguous, like Gmail's: random gaps between valid ids.
        self.history_id += self.rng.randint(1, 9)
        return self.history_id

    def record(self, kind, msg, retention, label_ids=None):
        hid = self.bump()
        msg.history_id = hid
        entry = {"id": hid, "type": kind, "messageId": msg.id, "threadId": msg.thread_id,
                 "labelIds": list(msg.labels), "changedLabels": list(label_ids or [])}
        self.history.append(entry)
        if retention and len(self.history) > retention:
            dropped = self.history[:len(self.history) - retention]
            self.history = self.history[len(self.history) - retention:]
            self.history_floor = max(self.history_floor, dropped[-1]["id"])
        return hid

    def thread_matches(self, tid, msg):
        ids = set(msg.in_reply_to + msg.references)
        if not ids:
            return False
        members = [self.messages[m] for m in self.threads.get(tid, []) if m in self.messages]
        referenced = any(m.message_id in ids for m in members)
        subject_ok = any(base_subject(m.subject) == base_subject(msg.subject) for m in members)
        return referenced and subject_ok

    def pick_thread(self, msg, requested=None, auto=False):
        """Gmail's rules: a message joins a thread only if it references a
        message of the thread (In-Reply-To/References) AND its subject matches;
        an API send/draft also needs the threadId.  Received mail is threaded
        automatically by the same rule."""
        if requested is not None:
            if not re.fullmatch(r"[0-9a-f]{1,16}", str(requested)) or requested not in self.threads:
                raise ApiError(400, "Invalid thread_id value", "invalidArgument",
                               kind="invalid-request")
            return requested if self.thread_matches(requested, msg) else None
        if auto:
            for ref in reversed(msg.references + msg.in_reply_to):
                for mid in self.by_msgid.get(ref, []):
                    m = self.messages.get(mid)
                    if m and self.thread_matches(m.thread_id, msg):
                        return m.thread_id
        return None

    def add(self, msg, thread_id, retention):
        msg.thread_id = thread_id or msg.id
        self.messages[msg.id] = msg
        self.threads.setdefault(msg.thread_id, []).append(msg.id)
        if msg.message_id:
            self.by_msgid.setdefault(msg.message_id, []).append(msg.id)
        self.record("messageAdded", msg, retention)

    def remove(self, msg, retention):
        self.record("messageDeleted", msg, retention)
        self.messages.pop(msg.id, None)
        t = self.threads.get(msg.thread_id, [])
        if msg.id in t:
            t.remove(msg.id)
        if not t:
            self.threads.pop(msg.thread_id, None)
        if msg.message_id and msg.id in self.by_msgid.get(msg.message_id, []):
            self.by_msgid[msg.message_id].remove(msg.id)

    def thread_history_id(self, tid):
        return max(self.messages[m].history_id for m in self.threads[tid])


# --------------------------------------------------------------------------
# Gmail search (q)

class QueryError(Exception):
    def __init__(self, message, unsupported=False):
        super().__init__(message)
        self.unsupported = unsupported


def pacific():
    try:
        from zoneinfo import ZoneInfo
        return ZoneInfo("America/Los_Angeles")
    except Exception:
        return datetime.timezone(datetime.timedelta(hours=-8))


def parse_date_term(v):
    """after:/before: value -> epoch seconds.  Dates are midnight Pacific
    time, as Gmail documents; a plain number is epoch seconds."""
    if re.fullmatch(r"[0-9]{9,}", v):
        return int(v)
    for fmt in ("%Y/%m/%d", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            d = datetime.datetime.strptime(v, fmt)
            return int(d.replace(tzinfo=pacific()).timestamp())
        except ValueError:
            pass
    raise QueryError(f"cannot parse the date {v!r}")


def tokenize_q(q):
    toks, i = [], 0
    while i < len(q):
        c = q[i]
        if c.isspace():
            i += 1
            continue
        if c in "(){}":
            raise QueryError(f"grouping with {c!r} is not implemented by the fake",
                             unsupported=True)
        m = re.compile(r'(-?)(?:([A-Za-z][A-Za-z0-9_]*):)?("([^"]*)"|[^\s(){}"]+)').match(q, i)
        if not m:
            raise QueryError(f"cannot parse the query at {q[i:]!r}")
        neg, op, val = m.group(1) == "-", m.group(2), m.group(4) if m.group(4) is not None else m.group(3)
        if op and op.lower() not in Q_SUPPORTED:
            if op.lower() in Q_KNOWN_UNSUPPORTED:
                raise QueryError(f"the operator {op}: is not implemented by the fake",
                                 unsupported=True)
            val, op = f"{op}:{val}", None      # not an operator: plain text
        toks.append((neg, op.lower() if op else None, val))
        i = m.end()
    return toks


def compile_q(q, me):
    """-> list of clauses (AND) of alternatives (OR) of (neg, op, value)."""
    toks = tokenize_q(q)
    clauses, pending_or = [], False
    for t in toks:
        if t == (False, None, "OR"):
            if not clauses:
                raise QueryError("OR without a left operand")
            pending_or = True
            continue
        if t[1] == "around" or t[2] == "AROUND":
            raise QueryError("AROUND is not implemented by the fake", unsupported=True)
        if pending_or:
            clauses[-1].append(t)
            pending_or = False
        else:
            clauses.append([t])
    if pending_or:
        raise QueryError("OR without a right operand")
    now = time.time()
    for clause in clauses:
        for neg, op, val in clause:   # validate early, for good errors
            if op in ("after", "before", "newer", "older"):
                parse_date_term(val)
            elif op in ("newer_than", "older_than"):
                if not re.fullmatch(r"[0-9]+[dmy]", val.lower()):
                    raise QueryError(f"{op}:{val}: expected a number followed by d, m or y")
            elif op == "in" and val.lower() not in ("inbox", "sent", "draft", "drafts", "spam",
                                                   "trash", "anywhere", "starred", "chats",
                                                   "important", "unread"):
                raise QueryError(f"in:{val} is not implemented by the fake", unsupported=True)
            elif op == "is" and val.lower() not in ("unread", "read", "starred", "important"):
                raise QueryError(f"is:{val} is not implemented by the fake", unsupported=True)
            elif op == "has" and val.lower() not in ("attachment",):
                raise QueryError(f"has:{val} is not implemented by the fake", unsupported=True)
    return clauses, now, me


def q_term_matches(msg, op, val, now, me):
    v = val.lower()
    if op in ("from", "to", "cc", "bcc", "deliveredto"):
        header = {"deliveredto": "Delivered-To"}.get(op, op.capitalize())
        if v == "me":
            v = me
        hay = " ".join(msg.headers_all(header)).lower()
        return v in hay
    if op == "subject":
        return v in msg.subject.lower()
    if op == "rfc822msgid":
        want = v if v.startswith("<") else f"<{v}>"
        return (msg.message_id or "").lower() == want
    if op in ("after", "newer"):
        return msg.internal_date / 1000 >= parse_date_term(val)
    if op in ("before", "older"):
        return msg.internal_date / 1000 < parse_date_term(val)
    if op in ("newer_than", "older_than"):
        n, unit = int(v[:-1]), v[-1]
        span = n * {"d": 86400, "m": 30 * 86400, "y": 365 * 86400}[unit]
        age = now - msg.internal_date / 1000
        return age < span if op == "newer_than" else age > span
    if op == "in":
        label = {"drafts": "DRAFT", "draft": "DRAFT", "chats": "CHAT"}.get(v, v.upper())
        return True if label == "ANYWHERE" else label in msg.labels
    if op == "is":
        if v == "read":
            return "UNREAD" not in msg.labels
        return v.upper() in msg.labels
    if op == "label":
        return any(l.lower() == v or l.lower() == v.replace("-", "_") for l in msg.labels)
    if op == "has":
        return any(p.get_filename() for p in msg.parsed.walk())
    # free text
    hay = " ".join([msg.subject, msg.body_text] +
                   msg.headers_all("From") + msg.headers_all("To") + msg.headers_all("Cc")).lower()
    return v in hay


def q_matches(compiled, msg):
    clauses, now, me = compiled
    for clause in clauses:
        if not any(q_term_matches(msg, op, val, now, me) != neg for neg, op, val in clause):
            return False
    return True


def q_mentions_spam_trash(compiled):
    return any(op == "in" and val.lower() in ("spam", "trash", "anywhere")
               for clause in compiled[0] for _, op, val in clause)


# --------------------------------------------------------------------------
# the fake

class Fake:
    def __init__(self, args, state_dir, contract):
        self.args = args
        self.dir = state_dir
        self.contract = contract
        self.lock = threading.RLock()
        self.rng = random.Random(args.seed)
        self.started = time.time()
        self.client_id = args.client_id
        self.client_secret = args.client_secret
        self.expires_in = args.expires_in
        self.retention = args.history_retention
        self.users = {}
        for i, u in enumerate(args.users):
            self.users[u] = Mailbox(u, random.Random(f"{args.seed}:{u}"),
                                    100000 + 7919 * (i + 1))
        self.codes = {}           # code -> grant
        self.access = {}          # token -> {user, scopes, expires, clientId, refresh}
        self.refresh = {}         # token -> {user, scopes, clientId, revoked}
        self.offline_granted = set()   # (user, client) that consented to offline access
        self.violations = []
        self.requests = []
        self.seq = 0
        self.msg_counter = 0
        self.faults = self.default_faults()
        self.quota_window = {}    # user -> [(t, units)]
        self.log_lock = threading.Lock()
        self.port = None

    @staticmethod
    def default_faults():
        return {"rateLimit": 0, "retryAfter": 1, "rateLimitStatus": 429,
                "serverError": 0, "serverErrorStatus": 503,
                "invalidGrant": False, "denyConsent": False, "grantOnlyScopes": None,
                "replaceMessageId": False, "quotaPerSecond": 0}

    # -- bookkeeping

    def new_message_id(self):
        # 16 hex digits, time-ordered like Gmail's.
        self.msg_counter += 1
        return format(((now_ms() << 20) | (self.msg_counter & 0xFFFFF)) & (2**64 - 1), "016x")

    def violation(self, seq, kind, method, path, method_id, problems):
        v = {"seq": seq, "kind": kind, "method": method, "path": path,
             "methodId": method_id, "problems": list(problems)}
        with self.lock:
            self.violations.append(v)
        eprint("VIOLATION", json.dumps(v))

    def log(self, entry):
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self.log_lock:
            try:
                with open(os.path.join(self.dir, REQUEST_LOG), "a", encoding="utf-8") as f:
                    f.write(line)
            except OSError:
                pass

    # -- tokens

    def bearer(self, headers, query):
        auth = headers.get("Authorization", "")
        if auth:
            m = re.fullmatch(r"(?i)bearer\s+(\S+)\s*", auth)
            if not m:
                return None, "malformed"
            return m.group(1), None
        for key in ("access_token", "oauth_token"):
            if key in query:
                return query[key][0], None
        return None, "missing"

    def authenticate(self, headers, query):
        token, problem = self.bearer(headers, query)
        www = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'}
        if token is None:
            raise ApiError(401, "Request is missing required authentication credential. Expected "
                           "OAuth 2 access token, login cookie or other valid authentication "
                           "credential. See https://developers.google.com/identity/sign-in/web/"
                           "devconsole-project.", "required", kind="auth",
                           extra={"location": "Authorization", "locationType": "header"},
                           headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
                           problems=[f"no access token ({problem} Authorization header)"])
        with self.lock:
            info = self.access.get(token)
            if info is None or info["expires"] <= time.time() or info.get("revoked"):
                why = "unknown" if info is None else ("revoked" if info.get("revoked") else "expired")
                raise ApiError(401, "Request had invalid authentication credentials. Expected "
                               "OAuth 2 access token, login cookie or other valid authentication "
                               "credential. See https://developers.google.com/identity/sign-in/web/"
                               "devconsole-project.", "authError",
                               extra={"location": "Authorization", "locationType": "header"},
                               headers=www, problems=[f"{why} access token"])
            return info

    # -- API dispatch

    def handle_api(self, req):
        """req: dict(method, path, query, headers, body, seq) -> (status, obj, headers)."""
        c = self.contract
        method, params, proto = c.route(req["method"], req["path"])
        req["methodId"] = method["id"] if method else None
        if method is None:
            raise ApiError(404, f"Method not found: {proto}", "notFound", kind="unknown-endpoint",
                           problems=[proto])
        problems = c.check_path_params(method, params) + \
            c.check_query(method, req["query"], proto)
        fields_mask = None
        if "fields" in req["query"]:
            try:
                fields_mask = parse_fields(req["query"]["fields"][0])
            except ValueError as e:
                problems.append(f"Invalid field selection: {e}")
        body, media = None, None
        if proto is None:
            body, more = self.parse_json_body(req, method)
            problems += more
        else:
            body, media, more = self.parse_upload(req, method, proto)
            problems += more
        if problems:
            raise bad_request(problems)
        alt = req["query"].get("alt", ["json"])[0]
        if alt != "json":
            raise ApiError(501, f"alt={alt} is not implemented by the fake", "notImplemented",
                           kind="unimplemented")

        info = self.authenticate(req["headers"], req["query"])
        user = info["user"]
        req["user"] = user
        uid = params.get("userId", "me")
        if uid != "me" and uid.lower() != user:
            raise ApiError(403, f"Delegation denied for {user}", "forbidden", kind="invalid-request")
        if not set(info["scopes"]) & set(method.get("scopes", [])):
            raise ApiError(403, "Request had insufficient authentication scopes.",
                           "insufficientPermissions", kind="scope",
                           problems=[f"token scopes {sorted(info['scopes'])} include none of "
                                     f"{method['id']}'s {method.get('scopes')}"],
                           details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                     "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                                     "domain": "googleapis.com",
                                     "metadata": {"service": "gmail.googleapis.com",
                                                  "method": method["id"]}}])
        if METADATA_SCOPE in info["scopes"]:
            # Gmail applies the metadata scope's limits whenever the token has
            # it, even alongside broader scopes.
            if "q" in req["query"] and method["id"] in ("gmail.users.messages.list",
                                                        "gmail.users.threads.list",
                                                        "gmail.users.drafts.list"):
                raise ApiError(403, "Metadata scope does not support 'q' parameter",
                               "forbidden", kind="scope")
            fmt = req["query"].get("format", [None])[0]
            if fmt in ("full", "raw") or (fmt is None and "format" in method.get("parameters", {})):
                raise ApiError(403, f"Metadata scope doesn't allow format {(fmt or 'full').upper()}",
                               "forbidden", kind="scope")
        self.injected_faults(user, method)

        handler = getattr(self, "m_" + method["id"].replace("gmail.users.", "").replace(".", "_"), None)
        if handler is None:
            raise ApiError(501, f"{method['id']} is defined by the discovery document but not "
                           f"implemented by the fake", "notImplemented", kind="unimplemented")
        with self.lock:
            mb = self.users[user]
            obj = handler(mb, params, req["query"], body, media, proto)
        if obj is None:
            return 204, None, {}
        resp_schema = method.get("response")
        if resp_schema:
            problems = []
            c.check_json(obj, resp_schema, "", problems, "response")
            if problems:
                raise ApiError(500, "fake_gmail produced a response that does not match the "
                               "discovery document: " + "; ".join(problems), "backendError",
                               kind="contract-response", problems=problems)
            if fields_mask is not None:
                fproblems = []
                obj = c.apply_fields(obj, fields_mask, resp_schema, "", fproblems)
                if fproblems:
                    raise bad_request(fproblems)
        return 200, obj, {}

    def parse_json_body(self, req, method):
        raw, problems = req["body"], []
        if not method.get("request"):
            if raw.strip():
                problems.append(f"{method['id']} takes no request body, got {len(raw)} bytes")
            return None, problems
        ctype = req["headers"].get("Content-Type", "")
        if not raw.strip():
            body = {}
        else:
            if ctype.split(";")[0].strip().lower() != "application/json":
                problems.append(f"request body must be application/json, Content-Type was "
                                f"{ctype or 'missing'}")
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                return None, problems + [f"Invalid JSON payload received. {e}"]
        self.contract.check_json(body, method["request"], "", problems, "request", method["id"])
        return body, problems

    def parse_upload(self, req, method, proto):
        """Media upload paths: uploadType=media (the message itself) or
        multipart (multipart/related: JSON metadata, then the message)."""
        problems = []
        ut = req["query"].get("uploadType", [None])[0]
        if proto == "resumable" or ut == "resumable":
            raise ApiError(501, "resumable uploads are not implemented by the fake",
                           "notImplemented", kind="unimplemented")
        ctype = req["headers"].get("Content-Type", "")
        accept = method.get("mediaUpload", {}).get("accept", [])
        max_size = int(method.get("mediaUpload", {}).get("maxSize", "0") or 0)
        if max_size and len(req["body"]) > max_size:
            raise ApiError(413, "Request Entity Too Large", "uploadTooLarge", kind="invalid-request")

        def accepted(t):
            t = t.split(";")[0].strip().lower()
            return any(t == a or (a.endswith("/*") and t.startswith(a[:-1])) for a in accept)

        if ut == "media":
            if not accepted(ctype):
                problems.append(f"media Content-Type {ctype!r} is not accepted ({accept})")
            return {}, req["body"], problems
        if ut == "multipart":
            if not ctype.lower().startswith("multipart/related"):
                problems.append(f"uploadType=multipart needs multipart/related, got {ctype!r}")
                return {}, None, problems
            try:
                parts = split_multipart(ctype, req["body"])
            except ValueError as e:
                return {}, None, problems + [f"multipart upload: {e}"]
            if len(parts) != 2:
                problems.append(f"multipart upload needs 2 parts (metadata, media), got {len(parts)}")
                return {}, None, problems
            (meta_type, meta), (media_type, media) = parts
            if meta_type != "application/json":
                problems.append("the first part of a multipart upload must be application/json")
            try:
                body = json.loads(meta.decode("utf-8") or "{}")
            except ValueError as e:
                return {}, None, problems + [f"Invalid JSON payload received. {e}"]
            if not accepted(media_type):
                problems.append(f"media part type {media_type!r} is not accepted ({accept})")
            p = []
            self.contract.check_json(body, method["request"], "", p, "request", None)
            return body, media, problems + p
        problems.append(f"uploadType={ut!r} is not one of media, multipart, resumable")
        return {}, None, problems

    def injected_faults(self, user, method):
        with self.lock:
            f = self.faults
            if f["serverError"] > 0:
                f["serverError"] -= 1
                code = int(f["serverErrorStatus"])
                raise ApiError(code, "Backend Error" if code == 500 else
                               "The service is currently unavailable.", "backendError")
            if f["rateLimit"] > 0:
                f["rateLimit"] -= 1
                raise self.rate_limit_error(f["rateLimitStatus"], f["retryAfter"])
            units = QUOTA_UNITS.get(method["id"], 5)
            mb = self.users[user]
            limit = f["quotaPerSecond"]
            if limit:
                now = time.monotonic()
                win = [(t, u) for t, u in self.quota_window.get(user, []) if now - t < 1.0]
                if sum(u for _, u in win) + units > limit:
                    self.quota_window[user] = win
                    raise self.rate_limit_error(429, f["retryAfter"])
                win.append((now, units))
                self.quota_window[user] = win
            mb.quota_used += units

    @staticmethod
    def rate_limit_error(status, retry_after):
        headers = {}
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        until = datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(seconds=retry_after or 1)
        stamp = until.strftime("%Y-%m-%dT%H:%M:%S.") + f"{until.microsecond // 1000:03d}Z"
        if status == 403:
            return ApiError(403, "Quota exceeded for quota metric 'Queries' and limit 'Queries "
                            "per minute per user' of service 'gmail.googleapis.com' for "
                            "consumer 'project_number:000000000000'.", "rateLimitExceeded",
                            domain="usageLimits", headers=headers)
        return ApiError(429, f"User-rate limit exceeded.  Retry after {stamp}",
                        "rateLimitExceeded", headers=headers)

    # -- message creation

    def ingest(self, mb, raw, labels, requested_thread=None, auto=False, internal_date=None,
               outgoing=False, force_thread=None):
        """Store a message in mb: Gmail's header fixes for outgoing mail,
        threading, history.  -> Msg"""
        if outgoing:
            head, nl, rest = split_head(raw)
            add = []
            gen = gmail_message_id()
            if self.faults["replaceMessageId"] and has_header(head, "Message-ID"):
                head = re.sub(rb"(?im)^Message-ID[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*", b"Message-ID: " +
                              gen.encode(), head, count=1)
            elif not has_header(head, "Message-ID"):
                add.append(b"Message-ID: " + gen.encode())
            if not has_header(head, "Date"):
                add.append(b"Date: " + email.utils.formatdate(localtime=True).encode())
            if not has_header(head, "From"):
                add.append(b"From: " + mb.address.encode())
            else:
                # Gmail sends as the account (no send-as aliases in the fake):
                # another From address is replaced, the display name kept.
                m = re.search(rb"(?im)^From[ \t]*:([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)", head)
                name, addr = email.utils.parseaddr(decode_header_value(m.group(1).decode("utf-8", "replace")))
                if addr.lower() != mb.address:
                    value = email.utils.formataddr((name, mb.address)) if name else mb.address
                    value = str(email.header.Header(value, "utf-8")) if not value.isascii() else value
                    head = head[:m.start()] + b"From: " + value.encode() + head[m.end():]
            if add:
                head = nl.join(add) + nl + head
            raw = head + (rest if rest else nl + nl)
        msg = Msg(self.new_message_id(), raw, labels, internal_date or now_ms(),
                  self.msg_counter)
        if force_thread is not None:
            if force_thread not in mb.threads:
                raise ValueError(f"threadId {force_thread} does not exist in {mb.address}")
            tid = force_thread
        else:
            tid = mb.pick_thread(msg, requested=requested_thread, auto=auto)
        mb.add(msg, tid, self.retention)
        return msg

    def decode_raw(self, body, media, field="raw"):
        if media is not None:
            return media
        try:
            data = b64decode_any(body.get(field, ""))
        except ValueError:
            data = b""
        if not data.strip():
            raise ApiError(400, "'raw' RFC822 payload message string or uploading message via "
                           "/upload/* URL required", "invalidArgument", kind="invalid-request")
        return data

    def check_recipients(self, raw):
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        vals = msg.get_all("To", []) + msg.get_all("Cc", []) + msg.get_all("Bcc", [])
        addrs = [a for _, a in email.utils.getaddresses([decode_header_value(v) for v in vals])]
        if not any("@" in a for a in addrs):
            raise ApiError(400, "Recipient address required", "invalidArgument",
                           kind="invalid-request")
        bad = [a for a in addrs if a and "@" not in a]
        if bad:
            raise ApiError(400, f"Invalid To header: {bad[0]}", "invalidArgument",
                           kind="invalid-request")
        return [a.lower() for a in addrs if "@" in a]

    def deliver_local(self, raw, recipients, sender):
        """A sent message reaches the fake's other accounts like real mail."""
        head, nl, rest = split_head(raw)
        head = re.sub(rb"(?im)^Bcc[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*(?:\r?\n|\Z)", b"", head)
        copy = head + rest
        for rcpt in dict.fromkeys(recipients):
            if rcpt in self.users and rcpt != sender:
                self.ingest(self.users[rcpt], copy, ["INBOX", "UNREAD"], auto=True)

    # -- message rendering

    def part_json(self, part, part_id):
        out = {"partId": part_id, "mimeType": part.get_content_type(),
               "filename": decode_header_value(part.get_filename() or ""),
               "headers": [{"name": k, "value": decode_header_value(v)} for k, v in part.items()]}
        if not out["headers"]:
            del out["headers"]
        if part.is_multipart():
            out["body"] = {"size": 0}
            subs = part.get_payload()
            out["parts"] = [self.part_json(p, f"{part_id}.{i}" if part_id else str(i))
                            for i, p in enumerate(subs)]
            if not out["parts"]:
                del out["parts"]
        else:
            data = part.get_payload(decode=True) or b""
            body = {"size": len(data)}
            if data:
                body["data"] = b64url(data)
            out["body"] = body
        return out

    def render(self, mb, msg, fmt, metadata_headers=None):
        out = {"id": msg.id, "threadId": msg.thread_id}
        if msg.labels:
            out["labelIds"] = list(msg.labels)
        out.update({"snippet": msg.snippet, "sizeEstimate": len(msg.raw),
                    "historyId": str(msg.history_id), "internalDate": str(msg.internal_date)})
        if fmt == "raw":
            out["raw"] = b64url(msg.raw)
        elif fmt == "metadata":
            wanted = {h.lower() for h in (metadata_headers or [])}
            hdrs = [{"name": k, "value": v} for k, v in msg.headers
                    if not wanted or k.lower() in wanted]
            payload = {"mimeType": msg.parsed.get_content_type()}
            if hdrs:
                payload["headers"] = hdrs
            out["payload"] = payload
        elif fmt == "full":
            out["payload"] = self.part_json(msg.parsed, "")
        return out

    @staticmethod
    def check_id(value, what="id"):
        # Gmail answers 400 (not 404) for ids that cannot be one of its ids,
        # e.g. a Message-ID passed where a message id belongs.
        if not re.fullmatch(r"[0-9a-f]{1,16}", value):
            raise ApiError(400, f"Invalid {what} value", "invalidArgument", kind="invalid-request",
                           problems=[f"{value!r} is not a Gmail {what} (hex digits)"])

    def get_msg(self, mb, mid):
        self.check_id(mid)
        msg = mb.messages.get(mid)
        if msg is None:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        return msg

    @staticmethod
    def max_results(query, default=100):
        n = int(query.get("maxResults", [str(default)])[0])
        return max(1, min(n, MAX_RESULTS_CAP)) if n > 0 else default

    def page(self, mb, items, query, signature, key, descending):
        """Keyset paging over items sorted by key (descending or not): the
        token remembers the key of the last item handed out, so items added
        between pages neither repeat nor shift the next page."""
        token = query.get("pageToken", [None])[0]
        start = 0
        if token is not None:
            saved = mb.page_tokens.get(token)
            if saved is None or saved[0] != signature:
                raise ApiError(400, "Invalid pageToken", "invalidArgument", kind="invalid-request",
                               problems=["pageToken unknown, or used with other parameters "
                                         "than the request that returned it"])
            anchor = saved[1]
            after = (lambda k: k < anchor) if descending else (lambda k: k > anchor)
            start = next((i for i, it in enumerate(items) if after(key(it))), len(items))
        n = self.max_results(query)
        chunk = items[start:start + n]
        nxt = None
        if start + n < len(items):
            nxt = "".join(self.rng.choice("0123456789") for _ in range(20))
            mb.page_tokens[nxt] = (signature, key(chunk[-1]))
        return chunk, nxt

    # -- Gmail methods (names: m_ + method id after "gmail.users.")

    def m_getProfile(self, mb, params, query, body, media, proto):
        return {"emailAddress": mb.address,
                "messagesTotal": sum(1 for m in mb.messages.values() if "DRAFT" not in m.labels),
                "threadsTotal": len(mb.threads), "historyId": str(mb.history_id)}

    def m_messages_send(self, mb, params, query, body, media, proto):
        raw = self.decode_raw(body, media)
        recipients = self.check_recipients(raw)
        labels = ["SENT"]
        if mb.address in recipients:
            labels = ["UNREAD", "SENT", "INBOX"]
        msg = self.ingest(mb, raw, labels, requested_thread=(body or {}).get("threadId"),
                          outgoing=True)
        self.deliver_local(msg.raw, recipients, mb.address)
        return {"id": msg.id, "threadId": msg.thread_id, "labelIds": list(msg.labels)}

    def m_drafts_create(self, mb, params, query, body, media, proto):
        body = body or {}
        message = body.get("message") or {}
        if media is None and not message.get("raw"):
            raise ApiError(400, "Missing draft message", "invalidArgument", kind="invalid-request")
        raw = self.decode_raw(message, media)
        msg = self.ingest(mb, raw, ["DRAFT"], requested_thread=message.get("threadId"),
                          outgoing=True)
        did = "r" + str(self.rng.randint(10**17, 10**19 - 1))
        if self.rng.random() < 0.5:
            did = "r-" + did[1:]
        mb.drafts[did] = msg.id
        return {"id": did, "message": {"id": msg.id, "threadId": msg.thread_id,
                                       "labelIds": list(msg.labels)}}

    def draft(self, mb, did):
        mid = mb.drafts.get(did)
        if mid is None or mid not in mb.messages:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        return mb.messages[mid]

    def m_drafts_get(self, mb, params, query, body, media, proto):
        msg = self.draft(mb, params["id"])
        fmt = query.get("format", ["full"])[0]
        return {"id": params["id"], "message": self.render(mb, msg, fmt)}

    def m_drafts_list(self, mb, params, query, body, media, proto):
        if "q" in query:
            raise ApiError(501, "drafts.list with q is not implemented by the fake",
                           "notImplemented", kind="unimplemented")
        items = sorted(mb.drafts.items(), key=lambda kv: (-mb.messages[kv[1]].internal_date,
                                                          -mb.messages[kv[1]].seq))
        chunk, nxt = self.page(mb, items, query, "drafts", descending=True,
                               key=lambda kv: (mb.messages[kv[1]].internal_date,
                                               mb.messages[kv[1]].seq))
        out = {}
        if chunk:
            out["drafts"] = [{"id": did, "message": {"id": mid, "threadId": mb.messages[mid].thread_id}}
                             for did, mid in chunk]
        if nxt:
            out["nextPageToken"] = nxt
        out["resultSizeEstimate"] = len(items)
        return out

    def m_drafts_delete(self, mb, params, query, body, media, proto):
        msg = self.draft(mb, params["id"])
        del mb.drafts[params["id"]]
        mb.remove(msg, self.retention)
        return None

    def m_drafts_send(self, mb, params, query, body, media, proto):
        """drafts.send: the draft goes to the recipients in its To, Cc and Bcc.
        Sent as it is, it keeps its message (id, thread, Message-ID): DRAFT
        gives way to SENT (history: labelRemoved, then labelAdded).  Sent with
        new content (message.raw, or an upload), the draft's message is
        replaced: deleted, and the new content sent as a new message (history:
        messageDeleted, then messageAdded)."""
        body = body or {}
        did = body.get("id")
        msg = self.draft(mb, did)
        message = body.get("message") or {}
        if media is not None or message.get("raw"):
            raw = self.decode_raw(message, media)
            recipients = self.check_recipients(raw)
            del mb.drafts[did]
            mb.remove(msg, self.retention)
            labels = ["UNREAD", "SENT", "INBOX"] if mb.address in recipients else ["SENT"]
            requested = message.get("threadId")
            if requested is None and msg.thread_id in mb.threads:
                requested = msg.thread_id
            sent = self.ingest(mb, raw, labels, requested_thread=requested, outgoing=True)
        else:
            recipients = self.check_recipients(msg.raw)
            del mb.drafts[did]
            msg.labels.remove("DRAFT")
            mb.record("labelRemoved", msg, self.retention, ["DRAFT"])
            added = ["UNREAD", "SENT", "INBOX"] if mb.address in recipients else ["SENT"]
            msg.labels += added
            msg.internal_date = now_ms()
            mb.record("labelAdded", msg, self.retention, added)
            sent = msg
        self.deliver_local(sent.raw, recipients, mb.address)
        return {"id": sent.id, "threadId": sent.thread_id, "labelIds": list(sent.labels)}

    def m_messages_get(self, mb, params, query, body, media, proto):
        msg = self.get_msg(mb, params["id"])
        fmt = query.get("format", ["full"])[0]
        return self.render(mb, msg, fmt, query.get("metadataHeaders"))

    def list_matching(self, mb, query):
        compiled = None
        if query.get("q", [""])[0].strip():
            try:
                compiled = compile_q(query["q"][0], mb.address)
            except QueryError as e:
                if e.unsupported:
                    raise ApiError(501, f"q={query['q'][0]!r}: {e}", "notImplemented",
                                   kind="unimplemented")
                raise ApiError(400, f"Invalid query: {e}", "invalidArgument",
                               kind="invalid-request")
        labels = query.get("labelIds", [])
        spam_trash = query.get("includeSpamTrash", ["false"])[0].lower() == "true" or \
            (compiled is not None and q_mentions_spam_trash(compiled))
        out = []
        for m in mb.messages.values():
            if not spam_trash and ("SPAM" in m.labels or "TRASH" in m.labels):
                continue
            if any(l not in m.labels for l in labels):
                continue
            if compiled is not None and not q_matches(compiled, m):
                continue
            out.append(m)
        out.sort(key=lambda m: (m.internal_date, m.seq), reverse=True)
        sig = hashlib.sha1(json.dumps([query.get("q"), sorted(labels),
                                       spam_trash]).encode()).hexdigest()[:12]
        return out, sig

    def m_messages_list(self, mb, params, query, body, media, proto):
        items, sig = self.list_matching(mb, query)
        chunk, nxt = self.page(mb, items, query, "m" + sig, descending=True,
                               key=lambda m: (m.internal_date, m.seq))
        out = {}
        if chunk:
            out["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in chunk]
        if nxt:
            out["nextPageToken"] = nxt
        out["resultSizeEstimate"] = len(items)
        return out

    def m_threads_list(self, mb, params, query, body, media, proto):
        items, sig = self.list_matching(mb, query)
        seen, threads = set(), []
        for m in items:
            if m.thread_id not in seen:
                seen.add(m.thread_id)
                threads.append(m)
        chunk, nxt = self.page(mb, threads, query, "t" + sig, descending=True,
                               key=lambda m: (m.internal_date, m.seq))
        out = {}
        if chunk:
            out["threads"] = [{"id": m.thread_id, "snippet": m.snippet,
                               "historyId": str(mb.thread_history_id(m.thread_id))} for m in chunk]
        if nxt:
            out["nextPageToken"] = nxt
        out["resultSizeEstimate"] = len(threads)
        return out

    def m_threads_get(self, mb, params, query, body, media, proto):
        tid = params["id"]
        self.check_id(tid)
        if tid not in mb.threads:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        fmt = query.get("format", ["full"])[0]
        msgs = sorted((mb.messages[i] for i in mb.threads[tid]),
                      key=lambda m: (m.internal_date, m.seq))
        return {"id": tid, "historyId": str(mb.thread_history_id(tid)),
                "messages": [self.render(mb, m, fmt, query.get("metadataHeaders")) for m in msgs]}

    def m_labels_list(self, mb, params, query, body, media, proto):
        return {"labels": [{"id": l, "name": l, "type": "system"} for l in SYSTEM_LABELS]}

    def m_history_list(self, mb, params, query, body, media, proto):
        start = int(query["startHistoryId"][0])
        if start < mb.history_floor:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        types = query.get("historyTypes")
        label = query.get("labelId", [None])[0]
        records = []
        for r in mb.history:
            if r["id"] <= start:
                continue
            if types and r["type"] not in types:
                continue
            if label and label not in r["labelIds"] and label not in r["changedLabels"]:
                continue
            records.append(r)
        sig = "h" + hashlib.sha1(json.dumps([start, types, label]).encode()).hexdigest()[:12]
        chunk, nxt = self.page(mb, records, query, sig, key=lambda r: r["id"], descending=False)
        out = {}
        if chunk:
            out["history"] = [self.history_json(r) for r in chunk]
        if nxt:
            out["nextPageToken"] = nxt
        out["historyId"] = str(mb.history_id)
        return out

    @staticmethod
    def history_json(r):
        m = {"id": r["messageId"], "threadId": r["threadId"]}
        full = dict(m)
        if r["labelIds"]:
            full["labelIds"] = list(r["labelIds"])
        out = {"id": str(r["id"]), "messages": [m]}
        key = {"messageAdded": "messagesAdded", "messageDeleted": "messagesDeleted",
               "labelAdded": "labelsAdded", "labelRemoved": "labelsRemoved"}[r["type"]]
        entry = {"message": full}
        if r["type"] in ("labelAdded", "labelRemoved"):
            entry["labelIds"] = list(r["changedLabels"])
        out[key] = [entry]
        return out

    # -- OAuth

    def handle_auth(self, req):
        """GET /auth: auto-approving consent -> 302 to the loopback redirect."""
        q = {k: v[0] for k, v in req["query"].items()}
        problems = [f"unknown authorization parameter {k}" for k in req["query"] if k not in AUTH_PARAMS]
        problems += [f"authorization parameter {k} given more than once"
                     for k, v in req["query"].items() if len(v) > 1]
        if q.get("client_id") != self.client_id:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        redirect = q.get("redirect_uri", "")
        u = urllib.parse.urlsplit(redirect)
        if u.scheme != "http" or u.hostname != "127.0.0.1" or u.port is None or u.fragment:
            raise OAuthError(400, "redirect_uri_mismatch",
                             f"redirect_uri {redirect!r} must be http://127.0.0.1:PORT/... "
                             "(loopback IP address flow)")
        if q.get("response_type") != "code":
            problems.append(f"response_type must be code, got {q.get('response_type')!r}")
        scopes = q.get("scope", "").split()
        if not scopes:
            problems.append("scope is missing")
        unknown = [s for s in scopes if s not in self.contract.scopes and s not in IDENTITY_SCOPES]
        if unknown:
            problems.append(f"invalid_scope: {unknown}")
        if not q.get("code_challenge"):
            problems.append("code_challenge is missing (PKCE is required by this project)")
        elif q.get("code_challenge_method") != "S256":
            problems.append(f"code_challenge_method must be S256, got "
                            f"{q.get('code_challenge_method')!r}")
        elif not re.fullmatch(r"[A-Za-z0-9_-]{43}", q["code_challenge"]):
            problems.append("code_challenge is not a base64url SHA-256 (43 characters, no padding)")
        if not q.get("state"):
            problems.append("state is missing (needed against CSRF)")
        hint = q.get("login_hint", "").lower()
        if hint and hint not in self.users:
            problems.append(f"login_hint {hint!r} is not an account of the fake "
                            f"({', '.join(self.users)})")
        if problems:
            raise OAuthError(400, "invalid_request", "; ".join(problems))
        user = hint or next(iter(self.users))
        sep = "&" if u.query else "?"
        with self.lock:
            if self.faults["denyConsent"]:
                self.faults["denyConsent"] = False
                params = {"error": "access_denied", "state": q["state"]}
                return 302, redirect + sep + urllib.parse.urlencode(params)
            granted = scopes
            if self.faults["grantOnlyScopes"] is not None:
                granted = [s for s in scopes if s in self.faults["grantOnlyScopes"]]
                self.faults["grantOnlyScopes"] = None
            code = "4/0A" + secrets.token_urlsafe(40)
            offline = q.get("access_type") == "offline"
            prompt = q.get("prompt", "").split()
            issue_refresh = offline and ((user, self.client_id) not in self.offline_granted
                                         or "consent" in prompt)
            if offline:
                self.offline_granted.add((user, self.client_id))
            self.codes[code] = {"user": user, "clientId": self.client_id, "redirect": redirect,
                                "challenge": q["code_challenge"], "scopes": granted,
                                "expires": time.time() + CODE_LIFETIME, "refresh": issue_refresh,
                                "nonce": q.get("nonce")}
        params = {"state": q["state"], "code": code, "scope": " ".join(granted),
                  "authuser": "0", "prompt": "consent"}
        return 302, redirect + sep + urllib.parse.urlencode(params)

    def client_auth(self, form, headers):
        cid, secret = form.get("client_id"), form.get("client_secret")
        basic = headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
                cid, secret = urllib.parse.unquote(cid), urllib.parse.unquote(secret)
            except ValueError:
                raise OAuthError(401, "invalid_client", "Unauthorized")
        if cid != self.client_id:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        if self.client_secret:
            if secret is None:
                raise OAuthError(400, "invalid_request", "client_secret is missing.")
            if secret != self.client_secret:
                raise OAuthError(401, "invalid_client", "Unauthorized")
        return cid

    def handle_token(self, req):
        ctype = req["headers"].get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise OAuthError(400, "invalid_request",
                             f"token requests must be application/x-www-form-urlencoded, "
                             f"got {ctype or 'no Content-Type'}")
        pairs = urllib.parse.parse_qs(req["body"].decode("utf-8", "replace"), keep_blank_values=True)
        dup = [k for k, v in pairs.items() if len(v) > 1]
        if dup:
            raise OAuthError(400, "invalid_request", f"parameters given more than once: {dup}")
        form = {k: v[0] for k, v in pairs.items()}
        grant = form.get("grant_type")
        if grant not in ("authorization_code", "refresh_token"):
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant or ''}")
        cid = self.client_auth(form, req["headers"])
        with self.lock:
            if grant == "authorization_code":
                code = self.codes.pop(form.get("code", ""), None)
                if code is None:
                    raise OAuthError(400, "invalid_grant", "Malformed auth code.")
                if code["expires"] < time.time():
                    raise OAuthError(400, "invalid_grant", "Bad Request")
                if form.get("redirect_uri") != code["redirect"]:
                    raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
                verifier = form.get("code_verifier")
                if not verifier:
                    raise OAuthError(400, "invalid_grant", "Missing code verifier.")
                if not re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier):
                    raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
                if b64url_nopad(hashlib.sha256(verifier.encode()).digest()) != code["challenge"]:
                    raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
                out = self.issue_access(code["user"], code["scopes"], cid)
                if code["refresh"]:
                    rt = "1//0g" + secrets.token_urlsafe(48)
                    self.refresh[rt] = {"user": code["user"], "scopes": code["scopes"],
                                        "clientId": cid, "revoked": False}
                    out["refresh_token"] = rt
                    self.access[out["access_token"]]["refresh"] = rt
                if "openid" in code["scopes"]:
                    out["id_token"] = self.id_token(code["user"], cid, code.get("nonce"))
                return out
            rt = form.get("refresh_token", "")
            info = self.refresh.get(rt)
            if info is None or info["revoked"] or info["clientId"] != cid:
                raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.",
                                 record=info is None)
            scopes = info["scopes"]
            if form.get("scope"):
                asked = form["scope"].split()
                if any(s not in info["scopes"] for s in asked):
                    raise OAuthError(400, "invalid_scope",
                                     "Some requested scopes were invalid.")
                scopes = asked
            out = self.issue_access(info["user"], scopes, cid)
            self.access[out["access_token"]]["refresh"] = rt
            return out

    def issue_access(self, user, scopes, cid):
        token = "ya29.a0" + secrets.token_urlsafe(60)
        self.access[token] = {"user": user, "scopes": list(scopes), "clientId": cid,
                              "expires": time.time() + self.expires_in, "refresh": None}
        return {"access_token": token, "expires_in": self.expires_in,
                "scope": " ".join(scopes), "token_type": "Bearer"}

    def id_token(self, user, cid, nonce):
        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "azp": cid, "aud": cid,
                  "sub": str(int(hashlib.sha1(user.encode()).hexdigest()[:15], 16)),
                  "email": user, "email_verified": True, "iat": now, "exp": now + 3600}
        if nonce:
            claims["nonce"] = nonce
        head = {"alg": "RS256", "kid": "fake-gmail", "typ": "JWT"}
        enc = lambda o: b64url_nopad(json.dumps(o, separators=(",", ":")).encode())
        return f"{enc(head)}.{enc(claims)}.{b64url_nopad(b'fake-signature')}"

    def handle_revoke(self, req):
        form = {k: v[0] for k, v in urllib.parse.parse_qs(
            req["body"].decode("utf-8", "replace")).items()}
        token = form.get("token") or req["query"].get("token", [None])[0]
        with self.lock:
            if token in self.refresh:
                self.refresh[token]["revoked"] = True
                for a in self.access.values():
                    if a.get("refresh") == token:
                        a["revoked"] = True
                return 200, {}
            if token in self.access:
                self.access[token]["revoked"] = True
                return 200, {}
        raise OAuthError(400, "invalid_token", "Token expired or revoked", record=False)

    def handle_tokeninfo(self, req):
        """GET /tokeninfo?access_token=T, as at oauth2.googleapis.com: how a
        mail server (Dovecot's oauth2 passdb, the test SMTP relay) checks the
        bearer token of an XOAUTH2 login.  Not a client mistake when refused."""
        token = req["query"].get("access_token", [""])[0]
        with self.lock:
            info = self.access.get(token)
            now = time.time()
            if info is None or info["expires"] <= now or info.get("revoked"):
                raise OAuthError(400, "invalid_token", "Invalid Value", record=False)
            req["user"] = info["user"]
            # Google answers numbers as strings here.
            out = {"azp": info["clientId"], "aud": info["clientId"],
                   "sub": str(int(hashlib.sha1(info["user"].encode()).hexdigest()[:15], 16)),
                   "scope": " ".join(info["scopes"]),
                   "exp": str(int(info["expires"])),
                   "expires_in": str(max(0, int(info["expires"] - now))),
                   "email": info["user"], "email_verified": "true"}
            if info.get("refresh"):
                out["access_type"] = "offline"
            return out

    # -- test controls

    def control(self, req):
        path, m = req["path"], req["method"]
        if path == "/__health" and m == "GET":
            return 200, {"ok": True}
        if path == "/__violations":
            with self.lock:
                out = {"violations": list(self.violations), "count": len(self.violations)}
                if m == "DELETE":
                    self.violations.clear()
                    return 200, out
            if m == "GET":
                return 200, out
        if path == "/__state" and m == "GET":
            return 200, self.state(req["query"])
        if path == "/__faults":
            if m == "GET":
                with self.lock:
                    return 200, dict(self.faults)
            if m == "POST":
                return 200, self.set_faults(json.loads(req["body"] or b"{}"))
        if path == "/__deliver" and m == "POST":
            return 200, self.control_deliver(json.loads(req["body"] or b"{}"))
        raise ValueError(f"no test control {m} {path}")

    def set_faults(self, f):
        if not isinstance(f, dict):
            raise ValueError("expected a JSON object")
        known = set(self.default_faults()) | {"clear", "expireHistoryBefore", "user",
                                               "expireAccessTokens", "expiresIn"}
        unknown = set(f) - known
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}; known: {sorted(known)}")
        who = f.get("user")
        if who is not None and str(who).lower() not in self.users:
            raise ValueError(f"unknown user {who!r}")
        who = str(who).lower() if who is not None else None
        with self.lock:
            if f.get("clear"):
                self.faults = self.default_faults()
            for k in self.default_faults():
                if k in f:
                    self.faults[k] = f[k]
            fg = self.faults["invalidGrant"]
            self.faults["invalidGrant"] = False
            if fg:
                # An action, not a state: the refresh tokens issued so far are
                # revoked for good; a new consent gives a working one.
                fg = fg.lower() if isinstance(fg, str) else fg
                for info in self.refresh.values():
                    if fg is True or fg == info["user"]:
                        info["revoked"] = True
            boxes = [self.users[who]] if who else list(self.users.values())
            if "expireHistoryBefore" in f:
                for mb in boxes:
                    v = f["expireHistoryBefore"]
                    floor = mb.history_id + 1 if v == "now" else int(v)
                    mb.history_floor = max(mb.history_floor, floor)
                    mb.history = [r for r in mb.history if r["id"] >= floor]
            if f.get("expireAccessTokens"):
                for a in self.access.values():
                    if not who or a["user"] == who:
                        a["expires"] = 0
            if "expiresIn" in f:
                self.expires_in = int(f["expiresIn"])
            out = dict(self.faults)
            out["expiresIn"] = self.expires_in
            out["historyFloors"] = {mb.address: str(mb.history_floor) for mb in self.users.values()}
            return out

    def control_deliver(self, d):
        to = str(d.get("to", "")).lower()
        if to not in self.users:
            raise ValueError(f"'to' must be one of {list(self.users)}, got {to!r}")
        if "raw" in d:
            raw = d["raw"].encode("utf-8") if isinstance(d["raw"], str) else b""
        elif "rawBase64" in d:
            raw = b64decode_any(d["rawBase64"])
        else:
            raise ValueError("give 'raw' (message text) or 'rawBase64'")
        if b"\r\n" not in raw:
            raw = raw.replace(b"\n", b"\r\n")
        labels = d.get("labelIds") or ["INBOX", "UNREAD"]
        with self.lock:
            mb = self.users[to]
            date = int(d["internalDate"]) if d.get("internalDate") is not None else None
            msg = self.ingest(mb, raw, labels, auto=True, internal_date=date,
                              force_thread=d.get("threadId"))
            return {"id": msg.id, "threadId": msg.thread_id, "labelIds": msg.labels,
                    "historyId": str(msg.history_id)}

    def state(self, query):
        with_raw = query.get("raw", ["0"])[0] not in ("0", "false", "")
        with self.lock:
            users = {}
            for mb in self.users.values():
                msgs = []
                for m in sorted(mb.messages.values(), key=lambda m: m.seq):
                    e = {"id": m.id, "threadId": m.thread_id, "labelIds": m.labels,
                         "historyId": str(m.history_id), "internalDate": str(m.internal_date),
                         "headers": {h: m.header(h) for h in ("Message-ID", "In-Reply-To",
                                                               "References", "Subject", "From",
                                                               "To", "Cc", "Date")
                                     if m.header(h) is not None}}
                    if with_raw:
                        e["raw"] = m.raw.decode("utf-8", "replace")
                    msgs.append(e)
                users[mb.address] = {
                    "historyId": str(mb.history_id), "historyFloor": str(mb.history_floor),
                    "messages": msgs,
                    "threads": [{"id": t, "messageIds": list(ids)} for t, ids in mb.threads.items()],
                    "drafts": [{"id": d, "messageId": mid} for d, mid in mb.drafts.items()],
                    "history": [{"id": str(r["id"]), "type": r["type"], "messageId": r["messageId"]}
                                for r in mb.history],
                    "quotaUnitsUsed": mb.quota_used,
                }
            return {"users": users, "requests": list(self.requests),
                    "violations": list(self.violations), "faults": dict(self.faults),
                    "tokens": {"access": len(self.access), "refresh": len(self.refresh)},
                    "issuedTokens": list(self.access) + list(self.refresh)}


# --------------------------------------------------------------------------
# HTTP

def make_handler(fake):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fake-gmail"

        def version_string(self):
            return self.server_version

        def log_message(self, fmt, *args):
            pass

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def send(self, status, obj=None, headers=None, text=None):
            if text is not None:
                data = text.encode("utf-8")
                ctype = "text/plain; charset=utf-8"
            elif obj is None:
                data, ctype = b"", None
            else:
                data = json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8")
                ctype = "application/json; charset=UTF-8"
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()
            return data

        def handle_any(self):
            t0 = time.time()
            split = urllib.parse.urlsplit(self.path)
            path = split.path
            query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
            body = self.read_body()
            with fake.lock:
                fake.seq += 1
                seq = fake.seq
            req = {"seq": seq, "method": self.command, "path": path, "query": query,
                   "headers": self.headers, "body": body, "methodId": None, "user": None}
            status, resp_obj, resp_headers, violation_kind, problems = 500, None, {}, None, None
            location = None
            text = None
            try:
                if path.startswith("/__"):
                    try:
                        status, resp_obj = fake.control(req)
                    except (ValueError, KeyError, TypeError) as e:
                        status, resp_obj = 400, {"error": str(e)}
                elif path == "/auth":
                    try:
                        status, location = fake.handle_auth(req)
                        resp_headers = {"Location": location}
                    except OAuthError as e:
                        status, text = e.code, f"Error {e.code}: {e.error}\n\n{e.description}\n"
                        violation_kind, problems = "oauth", [f"{e.error}: {e.description}"]
                elif path == "/token" and self.command == "POST":
                    try:
                        resp_obj = fake.handle_token(req)
                        status = 200
                        resp_headers = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
                                        "Pragma": "no-cache"}
                    except OAuthError as e:
                        status = e.code
                        resp_obj = {"error": e.error, "error_description": e.description}
                        if e.record:
                            violation_kind, problems = "oauth", [f"{e.error}: {e.description}"]
                elif path == "/tokeninfo" and self.command == "GET":
                    try:
                        resp_obj, status = fake.handle_tokeninfo(req), 200
                    except OAuthError as e:
                        status = e.code
                        resp_obj = {"error": e.error, "error_description": e.description}
                elif path == "/revoke" and self.command == "POST":
                    try:
                        status, resp_obj = fake.handle_revoke(req)
                    except OAuthError as e:
                        status = e.code
                        resp_obj = {"error": e.error, "error_description": e.description}
                else:
                    if path.startswith(fake.contract.batch_path + "/") or path == fake.contract.batch_path:
                        raise ApiError(501, "batch requests are not implemented by the fake",
                                       "notImplemented", kind="unimplemented")
                    status, resp_obj, resp_headers = fake.handle_api(req)
            except ApiError as e:
                status, resp_obj, resp_headers = e.code, e.body(), e.headers
                if e.kind:
                    violation_kind, problems = e.kind, e.problems
            except Exception as e:  # a bug in the fake: say so loudly
                import traceback
                traceback.print_exc()
                status = 500
                resp_obj = ApiError(500, f"fake_gmail internal error: {e!r}", "backendError").body()
                violation_kind, problems = "fake-bug", [repr(e)]
            if violation_kind:
                fake.violation(seq, violation_kind, self.command, path, req["methodId"], problems)
            data = self.send(status, resp_obj, resp_headers, text=text)
            if not path.startswith("/__"):
                entry = {"seq": seq, "t": round(t0, 3), "method": self.command, "path": path,
                         "query": query, "status": status, "methodId": req["methodId"],
                         "user": req["user"]}
                with fake.lock:
                    fake.requests.append(entry)
            fake.log({"seq": seq, "t": round(t0, 3), "ms": round((time.time() - t0) * 1000, 1),
                      "method": self.command, "path": path, "query": query,
                      "requestHeaders": {k: (v if k.lower() != "authorization" else v[:16] + "…")
                                         for k, v in self.headers.items()},
                      "requestBody": body[:LOG_BODY_LIMIT].decode("utf-8", "replace"),
                      "status": status, "responseHeaders": resp_headers,
                      "responseBody": data[:LOG_BODY_LIMIT].decode("utf-8", "replace"),
                      "violation": violation_kind})

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


# --------------------------------------------------------------------------
# commands

def paths(d):
    d = os.path.abspath(d)
    return {"dir": d, "state": os.path.join(d, STATE), "pid": os.path.join(d, PID),
            "server_log": os.path.join(d, SERVER_LOG), "requests": os.path.join(d, REQUEST_LOG)}


def parse_users(spec):
    if spec is None:
        return list(DEFAULT_USERS)
    if os.path.isfile(spec):
        with open(spec, encoding="utf-8") as f:
            items = [i for line in f for i in line.strip().split(",")]
    else:
        items = spec.split(",")
    users = []
    for item in items:
        item = item.strip().lower()
        if not item or item.startswith("#"):
            continue
        if "@" not in item:
            raise SystemExit(f"bad --users entry {item!r}: expected an email address")
        users.append(item)
    if not users:
        raise SystemExit("--users gave no users")
    return users


def cmd_serve(args):
    p = paths(args.state_dir)
    os.makedirs(p["dir"], exist_ok=True)
    contract = Contract(args.discovery)
    fake = Fake(args, p["dir"], contract)
    server = Server((HOST, args.port), make_handler(fake))
    port = server.server_address[1]
    fake.port = port
    base = f"http://{HOST}:{port}"
    state = {"port": port, "apiBase": base, "tokenURL": f"{base}/token",
             "authURL": f"{base}/auth", "revokeURL": f"{base}/revoke",
             "clientId": fake.client_id, "clientSecret": fake.client_secret,
             "users": list(fake.users), "pid": os.getpid(), "dir": p["dir"],
             "discovery": os.path.abspath(args.discovery)}
    text = json.dumps(state)
    with open(p["pid"], "w") as f:
        f.write(f"{os.getpid()}\n")
    tmp = p["state"] + f".{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, p["state"])

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    print(text, flush=True)
    eprint(f"fake_gmail listening on {base} (users {', '.join(fake.users)}; "
           f"contract {args.discovery})")
    reason = "signal"
    while not stop.wait(0.5):
        # Safety net for callers that delete DIR without calling "stop".
        if not os.path.isdir(p["dir"]):
            reason = f"{p['dir']} vanished"
            break
    eprint(f"fake_gmail stopping ({reason})")
    server.shutdown()
    server.server_close()
    for f in (p["pid"],):
        try:
            if read_pid(f) == os.getpid():
                os.unlink(f)
        except OSError:
            pass
    return 0


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def our_server(p):
    pid = read_pid(p["pid"])
    cl = cmdline(pid) if pid else None
    if pid and alive(pid) and cl and "fake_gmail.py" in cl and " serve " in cl and p["dir"] in cl:
        return pid
    return None


def terminate(pid, grace=3.0):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.05)
    if alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.05)


def tail(path, lines=30):
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""


def passthrough(args):
    out = ["--port", str(args.port), "--discovery", os.path.abspath(args.discovery),
           "--client-id", args.client_id, "--client-secret", args.client_secret,
           "--expires-in", str(args.expires_in), "--history-retention",
           str(args.history_retention), "--seed", str(args.seed),
           "--users", ",".join(args.users)]
    return out


def cmd_start(args):
    p = paths(args.dir)
    os.makedirs(p["dir"], exist_ok=True)
    if our_server(p):
        raise SystemExit(f"a fake_gmail server is already running for {p['dir']} "
                         f"(pid {read_pid(p['pid'])}); stop it first")
    for f in (p["state"], p["pid"]):
        try:
            os.unlink(f)
        except FileNotFoundError:
            pass
    with open(p["server_log"], "ab") as log:
        # Detached: own session, no inherited stdio.  A leftover child holding
        # the caller's stdout open would make CI wait forever.
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "serve", "--state-dir", p["dir"]]
            + passthrough(args),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, cwd=p["dir"])
    deadline = time.monotonic() + READY_TIMEOUT
    state = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"fake_gmail serve exited with status {proc.returncode}:\n"
                             + tail(p["server_log"]))
        try:
            with open(p["state"]) as f:
                state = json.load(f)
            if state.get("pid") == proc.pid:
                with urllib.request.urlopen(f"{state['apiBase']}/__health", timeout=2) as r:
                    if r.status == 200:
                        break
        except (OSError, ValueError):
            pass
        state = None
        time.sleep(0.05)
    if state is None:
        terminate(proc.pid)
        raise SystemExit("timed out waiting for fake_gmail to answer:\n" + tail(p["server_log"]))
    print(json.dumps(state), flush=True)
    return 0


def cmd_stop(args):
    p = paths(args.dir)
    if not os.path.isdir(p["dir"]):
        return 0
    pid = our_server(p)
    if pid:
        terminate(pid)
    return 0


def main(argv):
    # A test runner may start us with signals blocked or ignored; the server
    # would then shrug off SIGTERM.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    ap = argparse.ArgumentParser(prog="fake_gmail.py", description="Fake Gmail API + OAuth for tests.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(s):
        s.add_argument("--port", type=int, default=0)
        s.add_argument("--users", type=parse_users, default=list(DEFAULT_USERS),
                       metavar="a@x,b@y")
        s.add_argument("--discovery", default=os.environ.get("FAKE_GMAIL_DISCOVERY")
                       or default_discovery())
        s.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
        s.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
        s.add_argument("--expires-in", type=int, default=3600)
        s.add_argument("--history-retention", type=int, default=0)
        s.add_argument("--seed", default="1")

    s = sub.add_parser("serve", help="run in the foreground")
    s.add_argument("--state-dir", required=True, metavar="DIR")
    common(s)
    s = sub.add_parser("start", help="start detached in DIR, print the state JSON")
    s.add_argument("dir", metavar="DIR")
    common(s)
    s = sub.add_parser("stop", help="stop the server of DIR")
    s.add_argument("dir", metavar="DIR")
    args = ap.parse_args(argv)
    if args.cmd in ("serve", "start") and not os.path.isfile(args.discovery):
        eprint(f"fake_gmail.py: discovery document {args.discovery} not found (--discovery)")
        return 1
    try:
        if args.cmd == "serve":
            return cmd_serve(args)
        if args.cmd == "start":
            return cmd_start(args)
        return cmd_stop(args)
    except SystemExit as e:
        if isinstance(e.code, str):
            eprint(f"fake_gmail.py {args.cmd}: {e.code}")
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
