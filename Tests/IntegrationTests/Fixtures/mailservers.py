#!/usr/bin/python3
"""Real mail servers on loopback for the integration tests.

A private Dovecot (IMAP, IMAPS, LMTP) plus an aiosmtpd submission relay
(SMTP with mandatory STARTTLS, and implicit-TLS SMTPS) that hands every
accepted message to Dovecot over LMTP, so a message sent through SMTP shows
up in the recipient's INBOX over IMAP.  Everything lives in one directory;
nothing under /etc or /var/run is touched, so several instances can run side
by side.

    mailservers.py start DIR [--users FILE_OR_INLINE] [--cert-host HOST] [--file-sent] [--latency MS]
                             [--oauth-tokeninfo URL] [--also-listen ADDR]
        Generate a test CA and server certificate, start the servers, wait
        until they answer, then write DIR/state.json and print it on stdout.
        --users  "a@x:pw,b@x:pw" or a file with one "email:password" a line.
        --cert-host  issue the server certificate for DNS:HOST only (IP:HOST
                     if HOST is an address) for host-name mismatch tests;
                     default SANs are DNS:localhost + IP:127.0.0.1.
        --file-sent  the relay files a copy of each message it accepts in the
                     sender's Sent folder before its final reply, as Gmail's
                     and Microsoft 365's SMTP do.
        --latency    wait MS milliseconds (after delivering) before answering
                     each final dot, as a real server's processing time.
        --oauth-tokeninfo  also accept OAuth 2.0 bearer tokens, checked at URL
                     the way Google's tokeninfo is (GET URL?access_token=T;
                     gmail/fake_gmail.py's /tokeninfo): Dovecot offers
                     AUTH=XOAUTH2 and AUTH=OAUTHBEARER through its oauth2
                     passdb, the relay AUTH XOAUTH2 (and a refusing
                     OAUTHBEARER, as Gmail lists both).  The token must carry
                     the https://mail.google.com/ scope and belong to the
                     user named in the SASL string.  Passwords still work.
                     A tokeninfo that cannot be reached is a temporary
                     failure: IMAP NO [UNAVAILABLE], SMTP 454 4.7.0.
        --also-listen  IMAP, IMAPS, SMTP and SMTPS also listen on ADDR (an
                     address of this machine other than 127.0.0.1, on the same
                     ports), and the certificate names IP:ADDR too: for
                     clients in other network namespaces.
    mailservers.py stop DIR
        Stop the relay and Dovecot; succeeds when they are already gone.
    mailservers.py deliver DIR --from A --to B [--to C ...] FILE|-
        Deliver raw RFC 5322 bytes over LMTP into the recipients' INBOX.
    mailservers.py relay-outage DIR --seconds S
        Kill the SMTP relay (SIGKILL: open connections are cut, as in a
        crash) unless it is dead already, keep its ports closed for S
        seconds, start it again with the same settings, and return once both
        ports greet.
    mailservers.py fault DIR --greeting "421 4.7.0 Service not available"
    mailservers.py fault DIR --clear
        Set (DIR/faults.json) or clear the connection-level fault: while set,
        every new relay connection on either port gets that line as its
        greeting (on SMTPS after the TLS handshake) and is closed.  The relay
        reads the file at each connection; "start" removes a stale one.

Fault injection for SMTP failure tests.  A recipient whose local part
(case-insensitive) starts with one of these gets the fault, whether or not
it exists as a user; every injected fault is logged in smtp-relay.log.
    fault-rcpt550-*    RCPT: 550 5.1.1 <addr>: Recipient address rejected:
                       User unknown in virtual mailbox table
    fault-rcpt451xN-*  RCPT: 451 4.3.0 <addr>: Temporary lookup failure, for
                       the first N RCPTs of that address (counted per address
                       for the life of the relay), then handled normally
    fault-rcpt552-*    RCPT: 552 5.2.2 <addr>: Mailbox full
    fault-quota545-*   RCPT: 550 5.4.5 Daily user sending quota exceeded.
    fault-rcpt421-*    RCPT: 421 4.7.0 Too many messages from this account,
                       try again later; then the relay closes the connection
    fault-data552-*    RCPT accepted; end of DATA: 552 5.3.4 Message size
                       exceeds fixed limit; nothing is delivered
    fault-drop-*       RCPT accepted; the message is delivered over LMTP as
                       usual (if the user exists), then the connection is cut
                       with no reply to the final dot and no TLS close_notify,
                       every time: the client cannot know the outcome

Must run as root under Debian's /usr/bin/python3 (python3-aiosmtpd).
Exit status: 0 ok, 1 failure, 2 something required is not installed.
"""

import argparse
import asyncio
import base64
import ipaddress
import json
import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time

HOST = "127.0.0.1"
DEFAULT_USERS = [
    ("alice@example.test", "alice-secret-pw"),
    ("bob@example.test", "bob-secret-pw"),
]
READY_TIMEOUT = 20.0      # seconds to wait for every port to greet
CERT_DAYS = 5
RELAY_LOG = "smtp-relay.log"
RELAY_PID = "smtp-relay.pid"
RELAY_CONFIG = "smtp-relay.json"
DOVECOT_LOG = "dovecot.log"
DOVECOT_START_LOG = "dovecot-start.log"
FAULTS = "faults.json"    # connection-level fault, written by "fault"


class Fatal(Exception):
    """Startup/usage failure: message for stderr, plus an exit status."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------
# small helpers

def eprint(*args):
    print(*args, file=sys.stderr, flush=True)


def paths(d):
    """All well-known file locations inside an instance directory."""
    d = os.path.abspath(d)
    tls = os.path.join(d, "tls")
    return {
        "dir": d,
        "tls": tls,
        "ca": os.path.join(tls, "ca.pem"),
        "ca_key": os.path.join(tls, "ca.key"),
        "other_ca": os.path.join(tls, "other-ca.pem"),
        "other_ca_key": os.path.join(tls, "other-ca.key"),
        "cert": os.path.join(tls, "server.pem"),
        "key": os.path.join(tls, "server.key"),
        "conf": os.path.join(d, "dovecot.conf"),
        "users": os.path.join(d, "users"),
        "oauth_conf": os.path.join(d, "dovecot-oauth2.conf.ext"),
        "base": os.path.join(d, "run"),        # dovecot base_dir (sockets)
        "state_dir": os.path.join(d, "state"),
        "mail": os.path.join(d, "mail"),
        "master_pid": os.path.join(d, "run", "master.pid"),
        "dovecot_log": os.path.join(d, DOVECOT_LOG),
        "dovecot_start_log": os.path.join(d, DOVECOT_START_LOG),
        "relay_log": os.path.join(d, RELAY_LOG),
        "relay_pid": os.path.join(d, RELAY_PID),
        "relay_config": os.path.join(d, RELAY_CONFIG),
        "state": os.path.join(d, "state.json"),
        "faults": os.path.join(d, FAULTS),
    }


def tail(path, lines=20):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


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
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # state is the field after the ")" that closes the comm field
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def descendants(pid):
    """Pids of all descendants of pid (scan of /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def terminate(pids, grace):
    """SIGTERM pids, wait up to grace seconds, then SIGKILL the survivors."""
    pids = [p for p in pids if p and alive(p)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    for p in pids:
        if alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)


def find_dovecot():
    # /usr/sbin is not always on PATH (e.g. sudo-less CI shells).
    return shutil.which("dovecot", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def parse_users(spec):
    """--users value: a file (one "email:password" a line, or comma separated)
    or the inline form "email:password,email:password"."""
    if spec is None:
        return list(DEFAULT_USERS)
    if os.path.isfile(spec):
        with open(spec, encoding="utf-8") as f:
            items = [i for line in f for i in line.strip().split(",")]
    else:
        items = spec.split(",")
    users = []
    for item in items:
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        email, sep, password = item.partition(":")
        email = email.strip().lower()  # dovecot lower-cases logins (%Lu)
        if not sep or "@" not in email or not password:
            raise Fatal(f"bad --users entry {item!r}: expected email:password")
        # passwd-file is colon separated, so a ':' would corrupt the line.
        if ":" in password or any(c.isspace() for c in password):
            raise Fatal(f"password for {email} must not contain ':' or whitespace")
        users.append((email, password))
    if not users:
        raise Fatal("--users gave no users")
    return users


def lmtp_deliver(port, mail_from, rcpt, data, mail_options=()):
    """One LMTP transaction for one recipient -> (code, text)."""
    return lmtp_deliver_all(port, mail_from, [rcpt], data, mail_options)[0][1:]


def lmtp_deliver_all(port, mail_from, rcpts, data, mail_options=()):
    """One LMTP transaction for all recipients -> [(rcpt, code, text)].

    One transaction on purpose: once Dovecot has the final dot it delivers to
    every recipient it accepted, even if this process dies a moment later, so
    a relay killed mid-delivery leaves all of the copies or none of them (as a
    real MTA's queue commit does).  After DATA an LMTP server answers once per
    accepted recipient, in RCPT order; smtplib's data() reads the first.
    """
    results = {}
    try:
        # local_hostname avoids smtplib's getfqdn(), which stalls without DNS.
        with smtplib.LMTP(HOST, port, local_hostname="localhost", timeout=60) as lmtp:
            lmtp.ehlo_or_helo_if_needed()
            opts = [o for o in mail_options
                    if (o.startswith("BODY=") and lmtp.has_extn("8bitmime"))
                    or (o == "SMTPUTF8" and lmtp.has_extn("smtputf8"))]
            code, msg = lmtp.mail(mail_from, opts)
            if code != 250:
                return [(r, code, one_line(msg)) for r in rcpts]
            accepted = []
            for rcpt in rcpts:
                code, msg = lmtp.rcpt(rcpt)
                if code in (250, 251):
                    accepted.append(rcpt)
                else:
                    results[rcpt] = (code, one_line(msg))
            if accepted:
                if isinstance(data, str):
                    data = data.encode("utf-8")
                replies = [lmtp.data(data)]
                replies += [lmtp.getreply() for _ in accepted[1:]]
                for rcpt, (code, msg) in zip(accepted, replies):
                    results[rcpt] = (code, one_line(msg) if code != 250 else "OK")
    except smtplib.SMTPResponseException as e:  # DATA refused, ...
        for r in rcpts:
            results.setdefault(r, (e.smtp_code, one_line(e.smtp_error)))
    except (OSError, smtplib.SMTPException) as e:
        for r in rcpts:
            results.setdefault(r, (451, f"4.3.0 LMTP delivery failed: {e}"))
    return [(r, *results[r]) for r in rcpts]


def one_line(msg):
    """LMTP multi-line reply text (bytes or str) -> one line."""
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    return " ".join(msg.split())


def greets(port, prefix, ssl_ctx=None, timeout=1.0):
    """Connect to port (optionally through TLS) and check the greeting."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as raw:
            sock = ssl_ctx.wrap_socket(raw, server_hostname=None) if ssl_ctx else raw
            buf = b""
            while b"\n" not in buf:
                chunk = sock.recv(512)
                if not chunk:
                    return False
                buf += chunk
            return buf.startswith(prefix)
    except (OSError, ssl.SSLError):
        return False


# --------------------------------------------------------------------------
# prerequisites

def check_prerequisites():
    if os.geteuid() != 0:
        raise Fatal("mailservers.py must run as root (dovecot drops to the "
                    "mail/dovenull/dovecot users and the mail dir is chowned to mail)", 2)
    missing = []
    if not find_dovecot():
        missing.append("dovecot (apt-get install dovecot-imapd dovecot-lmtpd)")
    else:
        # Debian's layout; the protocol binaries come from separate packages.
        for binary, pkg in (("imap", "dovecot-imapd"), ("imap-login", "dovecot-imapd"),
                            ("lmtp", "dovecot-lmtpd")):
            if os.path.isdir("/usr/lib/dovecot") and \
                    not os.path.exists(f"/usr/lib/dovecot/{binary}"):
                missing.append(f"/usr/lib/dovecot/{binary} (apt-get install {pkg})")
    if not shutil.which("openssl"):
        missing.append("openssl (apt-get install openssl)")
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        missing.append("the aiosmtpd Python module for /usr/bin/python3 "
                       "(apt-get install python3-aiosmtpd)")
    for user in ("dovenull", "dovecot", "mail"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            missing.append(f"system user {user!r} (created by the dovecot-core package)")
    if missing:
        raise Fatal("missing prerequisites:\n  " + "\n  ".join(missing), 2)


# --------------------------------------------------------------------------
# certificates

OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = {san}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def openssl(args, cnf):
    # OPENSSL_CONF points at our file so the system openssl.cnf cannot add
    # or clash with extensions.
    env = dict(os.environ, OPENSSL_CONF=cnf)
    r = subprocess.run(["openssl"] + args, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    if r.returncode != 0:
        raise Fatal("openssl " + " ".join(args) + " failed:\n"
                    + r.stdout.decode("utf-8", "replace"))


def make_ca(cert, key, cn, cnf):
    openssl(["req", "-x509", "-config", cnf, "-extensions", "ca_ext",
             "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", cert, "-days", str(CERT_DAYS), "-sha256",
             "-set_serial", serial(), "-subj", f"/O=Mail Gateway Tests/CN={cn}"], cnf)


def serial():
    # 127 random bits, positive (top bit clear) as RFC 5280 wants
    return "0x" + format(secrets.randbits(127) | (1 << 120), "x")


def make_certificates(p, cert_host, also_listen=None):
    os.makedirs(p["tls"], exist_ok=True)
    os.chmod(p["tls"], 0o755)
    if cert_host:
        try:
            ipaddress.ip_address(cert_host)
            san = f"IP:{cert_host}"
        except ValueError:
            san = f"DNS:{cert_host}"
        cn = cert_host
    else:
        san, cn = "DNS:localhost, IP:127.0.0.1", "localhost"
    if also_listen:
        san += f", IP:{also_listen}"
    cnf = os.path.join(p["tls"], "openssl.cnf")
    with open(cnf, "w") as f:
        f.write(OPENSSL_CNF.format(san=san))
    tag = secrets.token_hex(4)  # unique CA names per instance
    make_ca(p["ca"], p["ca_key"], f"Test CA {tag}", cnf)
    make_ca(p["other_ca"], p["other_ca_key"], f"Unrelated Test CA {tag}", cnf)
    csr = os.path.join(p["tls"], "server.csr")
    openssl(["req", "-new", "-config", cnf,
             "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", p["key"], "-out", csr, "-subj", f"/O=Mail Gateway Tests/CN={cn}"], cnf)
    openssl(["x509", "-req", "-in", csr, "-CA", p["ca"], "-CAkey", p["ca_key"],
             "-set_serial", serial(), "-days", str(CERT_DAYS), "-sha256",
             "-extfile", cnf, "-extensions", "server_ext", "-out", p["cert"]], cnf)
    for f in (p["ca"], p["other_ca"], p["cert"]):
        os.chmod(f, 0o644)
    for f in (p["ca_key"], p["other_ca_key"], p["key"]):
        os.chmod(f, 0o600)  # dovecot reads ssl_key as root (config process)
    return cn, [s.strip() for s in san.split(",")]


# --------------------------------------------------------------------------
# dovecot

DOVECOT_CONF = """\
# Private test instance generated by mailservers.py -- not /etc/dovecot.
instance_name = {instance}
base_dir = {base}
state_dir = {state_dir}
log_path = {log}
info_log_path = {log}
debug_log_path = {log}
listen = {listen}
protocols = imap lmtp
hostname = localhost
postmaster_address = postmaster@example.test

ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2

# Login processes refuse to run as root; mail must not be owned by uid 0.
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = 1

disable_plaintext_auth = no
auth_mechanisms = plain login{oauth_mechanisms}
auth_verbose = yes
# Default is a 2 s penalty per failed login; wrong-password tests need no delay.
auth_failure_delay = 0

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}{password_mechanisms}
}}
{oauth_passdb}# A static userdb checks user existence through the passdb, so LMTP
# answers 550 5.1.1 for unknown recipients.
userdb {{
  driver = static
  args = uid=mail gid=mail home={mail}/%u
}}

mail_location = maildir:~/Maildir
mail_fsync = never
# "user+Sent@…" over LMTP files into the user's Sent folder: how the relay's
# --file-sent plays a provider that keeps a copy of what it relays.
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes

namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \\Archive
    auto = subscribe
  }}
}}

# Anvil's per-IP auth penalty would delay every later login from 127.0.0.1
# (2 -> 15 s) after one wrong-password test; mode 0 disables it.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}

service imap-login {{
  inet_listener imap {{
    address = {listen}
    port = {imap}
  }}
  inet_listener imaps {{
    address = {listen}
    port = {imaps}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
"""


OAUTH_SCOPE = "https://mail.google.com/"  # what Gmail's IMAP and SMTP require

# Only the token mechanisms reach the oauth2 passdb, and tokens never reach
# the password file ("none" is LMTP's user lookup, which has no mechanism).
OAUTH_PASSWORD_MECHANISMS = """
  mechanisms = plain login none"""
OAUTH_PASSDB = """passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {conf}
}}
"""
# tokeninfo_url: Dovecot appends the token and takes a 2xx with a matching
# username_attribute as valid, a 4xx as a wrong token.  (Its introspection
# path would turn the 400 into "temporary failure", so it is not used.)
OAUTH_CONF = """\
tokeninfo_url = {tokeninfo}?access_token=
username_attribute = email
scope = {scope}
timeout_msecs = 10000
"""


def write_dovecot_config(p, users, ports):
    with open(p["users"], "w") as f:
        for email, password in users:
            f.write(f"{email}:{{PLAIN}}{password}\n")
    # read by the auth process, which runs as the dovecot user
    os.chown(p["users"], 0, grp.getgrnam("dovecot").gr_gid)
    os.chmod(p["users"], 0o640)
    for d in (p["state_dir"], p["mail"]):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
    mail = pwd.getpwnam("mail")
    for root, dirs, files in os.walk(p["mail"]):
        for name in [root] + [os.path.join(root, x) for x in dirs + files]:
            os.chown(name, mail.pw_uid, mail.pw_gid)
    conf = DOVECOT_CONF.format(
        instance="dovecot-test-" + secrets.token_hex(3),
        base=p["base"], state_dir=p["state_dir"], log=p["dovecot_log"],
        cert=p["cert"], key=p["key"], users=p["users"], mail=p["mail"],
        imap=ports["imap"], imaps=ports["imaps"], lmtp=ports["lmtp"],
        listen=", ".join(p["listen"]),
        **oauth_dovecot_parts(p))
    with open(p["conf"], "w") as f:
        f.write(conf)
    os.chmod(p["conf"], 0o644)


def oauth_dovecot_parts(p):
    """The dovecot.conf pieces for --oauth-tokeninfo (all empty without it)."""
    tokeninfo = p.get("oauth_tokeninfo")
    if not tokeninfo:
        return {"oauth_mechanisms": "", "password_mechanisms": "", "oauth_passdb": ""}
    with open(p["oauth_conf"], "w") as f:
        f.write(OAUTH_CONF.format(tokeninfo=tokeninfo, scope=OAUTH_SCOPE))
    os.chmod(p["oauth_conf"], 0o644)  # read by the auth process; holds no secret
    return {"oauth_mechanisms": " xoauth2 oauthbearer",
            "password_mechanisms": OAUTH_PASSWORD_MECHANISMS,
            "oauth_passdb": OAUTH_PASSDB.format(conf=p["oauth_conf"])}


def start_dovecot(p):
    with open(p["dovecot_start_log"], "ab") as log:
        # dovecot daemonizes: this returns once the master has forked.
        r = subprocess.run([find_dovecot(), "-c", p["conf"]], stdin=subprocess.DEVNULL,
                           stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True, timeout=30)
    if r.returncode != 0:
        raise Fatal(f"dovecot exited with status {r.returncode}\n"
                    + tail(p["dovecot_start_log"]) + "\n" + tail(p["dovecot_log"]))


def dovecot_master(p):
    """Master pid from base_dir/master.pid, only if it really is our dovecot."""
    pid = read_pid(p["master_pid"])
    if pid and alive(pid) and p["conf"] in (cmdline(pid) or ""):
        return pid
    return None


def stop_dovecot(p, pid=None):
    """Stop our dovecot master (pid given, or read from base_dir/master.pid)."""
    if pid is None:
        pid = dovecot_master(p)
    elif not (alive(pid) and p["conf"] in (cmdline(pid) or "")):
        pid = None  # gone, or the pid was reused by an unrelated process
    if not pid:
        return
    # Collect the children first: if the master needs SIGKILL they would
    # otherwise be orphaned and impossible to attribute to this instance.
    # Each with its start time: once the master is gone its children end too,
    # and on a busy machine (pid_max 32768, a test suite starting hundreds of
    # processes) their pids are reused within seconds — by another test's
    # server, which a bare pid list would then kill.
    family = [(q, started(q)) for q in [pid] + descendants(pid)]
    terminate([pid], grace=5)
    terminate([q for q, start in family if start is not None and started(q) == start], grace=1)


def started(pid):
    """The process's start time (clock ticks since boot, /proc/PID/stat field 22), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


# --------------------------------------------------------------------------
# fault injection (see the docstring)

# "fault-KIND-..." in the local part; rcpt451 carries its count: rcpt451x2.
RCPT_FAULT = re.compile(
    r"fault-(rcpt550|rcpt552|rcpt421|quota545|data552|drop|rcpt451x([0-9]+))-",
    re.IGNORECASE)
# Reply texts of real servers (Postfix, Gmail), so the product's error
# mapping is tested against what it will meet in the wild.
RCPT_FAULT_REPLIES = {
    "rcpt550": "550 5.1.1 <{addr}>: Recipient address rejected: "
               "User unknown in virtual mailbox table",
    "rcpt451": "451 4.3.0 <{addr}>: Temporary lookup failure",
    "rcpt552": "552 5.2.2 <{addr}>: Mailbox full",
    "quota545": "550 5.4.5 Daily user sending quota exceeded.",
    "rcpt421": "421 4.7.0 Too many messages from this account, try again later",
}
DATA552_REPLY = "552 5.3.4 Message size exceeds fixed limit"
DATA_FAULTS = ("data552", "drop")  # RCPT accepted, the fault comes after DATA


def rcpt_fault(address):
    """Fault a recipient asks for -> (kind, count), or (None, None).
    count is the N of "rcpt451xN" (kind "rcpt451"), else None."""
    local = address.rpartition("@")[0] or address
    m = RCPT_FAULT.match(local)
    if not m:
        return None, None
    if m.group(2) is not None:
        return "rcpt451", int(m.group(2))
    return m.group(1).lower(), None


def read_faults(p):
    """DIR/faults.json as written by "fault" -> dict ({} when there is none)."""
    try:
        with open(p["faults"]) as f:
            faults = json.load(f)
    except FileNotFoundError:
        return {}
    if not isinstance(faults, dict):
        raise ValueError("not a JSON object")
    return faults


def clear_faults(p):
    try:
        os.unlink(p["faults"])
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------
# OAuth bearer tokens (--oauth-tokeninfo)

# The SASL XOAUTH2 initial response, exactly (Google's xoauth2_protocol).
XOAUTH2_RESPONSE = re.compile(rb"user=([^\x01]+)\x01auth=Bearer ([^\x01]+)\x01\x01")
# Gmail's SMTP answers a refused token with this JSON as a 334 challenge and,
# after the client's (empty) answer, the 535.
XOAUTH2_ERROR = json.dumps({"status": "400", "schemes": "Bearer", "scope": OAUTH_SCOPE},
                           separators=(",", ":"))
XOAUTH2_REFUSED = ("535-5.7.8 Username and Password not accepted. Learn more at\r\n"
                   "535 5.7.8  https://support.google.com/mail/?p=BadCredentials")
# RFC 4954's answer when the server cannot check credentials right now.
XOAUTH2_UNAVAILABLE = "454 4.7.0 Temporary authentication failure"


def check_bearer(tokeninfo, user, token):
    """None if tokeninfo vouches for token as user's with the mail scope,
    else (why not, for the log and never with the token; whether it is only
    that tokeninfo could not be asked)."""
    import urllib.error
    import urllib.parse
    import urllib.request
    url = tokeninfo + "?" + urllib.parse.urlencode({"access_token": token})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            info = json.load(r)
    except urllib.error.HTTPError as e:
        return f"tokeninfo answered {e.code}", e.code >= 500
    except (OSError, ValueError) as e:
        return f"tokeninfo failed: {e}", True
    if str(info.get("email", "")).lower() != user.lower():
        return f"token belongs to {info.get('email')!r}, not {user!r}", False
    if OAUTH_SCOPE not in str(info.get("scope", "")).split():
        return f"token lacks the {OAUTH_SCOPE} scope", False
    return None


# --------------------------------------------------------------------------
# SMTP relay (runs as "mailservers.py smtp-relay DIR", detached)

def relay_main(d):
    import logging
    import warnings
    from aiosmtpd.smtp import MISSING, SMTP, AuthResult

    p = paths(d)
    with open(p["relay_config"]) as f:
        cfg = json.load(f)
    users = {u["email"]: u["password"] for u in cfg["users"]}
    lmtp_port = cfg["lmtpPort"]
    file_sent = cfg.get("fileSent", False)
    latency = cfg.get("latencyMs", 0) / 1000.0
    tokeninfo = cfg.get("oauthTokeninfo")

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    # aiosmtpd's own logger warns on every AUTH (login_data deprecation)
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    log = logging.getLogger("relay")
    # "Requiring AUTH while not requiring TLS" is expected on the SMTPS port:
    # the socket is already TLS, aiosmtpd just cannot tell.
    warnings.simplefilter("ignore")

    def authenticator(server, session, envelope, mechanism, auth_data):
        login = getattr(auth_data, "login", b"") or b""
        password = getattr(auth_data, "password", b"") or b""
        login = login.decode("utf-8", "replace").lower()
        ok = login in users and secrets.compare_digest(
            users[login].encode(), password)
        if not ok:
            log.info("AUTH %s failed for %r", mechanism, login)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    rcpt451_given = {}  # address -> 451s answered so far (fault-rcpt451xN)

    def rcpt_fault_reply(server, address, kind, count):
        """Reply for a fault recipient at RCPT, or None to go on (accepted
        DATA fault, or a rcpt451xN whose N failures have been given)."""
        if kind in DATA_FAULTS:
            log.warning("fault %s <%s>: RCPT accepted, fault follows at end of DATA",
                        kind, address)
            return None
        if kind == "rcpt451":
            given = rcpt451_given.get(address.lower(), 0)
            if given >= count:
                log.info("fault rcpt451x%d <%s>: %d failures given, handled normally",
                         count, address, given)
                return None
            rcpt451_given[address.lower()] = given + 1
            log.warning("fault rcpt451x%d <%s>: 451 at RCPT (%d of %d)",
                        count, address, given + 1, count)
        else:
            log.warning("fault %s <%s>: %s at RCPT", kind, address,
                        RCPT_FAULT_REPLIES[kind][:3])
        if kind == "rcpt421":
            server.after_reply = "close"  # 421 means the server hangs up
        return RCPT_FAULT_REPLIES[kind].format(addr=address)

    async def deliver(envelope):
        """LMTP delivery to every recipient -> the reply for the final dot."""
        loop = asyncio.get_running_loop()
        opts = list(envelope.mail_options)
        recipients = list(envelope.rcpt_tos)
        sender = (envelope.mail_from or "").lower()
        sent_copy = None
        if file_sent and sender in users:
            # Like Gmail's or Microsoft 365's SMTP: the relayed message lands in
            # the sender's Sent folder before the final reply, in the same
            # transaction as the recipients' copies (all or none of them).
            local, _, domain = sender.partition("@")
            sent_copy = f"{local}+Sent@{domain}"
        results = await loop.run_in_executor(
            None, lmtp_deliver_all, lmtp_port, envelope.mail_from,
            recipients + ([sent_copy] if sent_copy else []),
            envelope.original_content, opts)
        reply = "250 OK"
        for rcpt, code, text in results:
            if code == 250:
                continue
            if rcpt == sent_copy:
                log.warning("filing in Sent of %s failed: %s %s", sender, code, text)
            else:
                log.warning("LMTP refused %s -> %s: %s %s",
                            envelope.mail_from, rcpt, code, text)
                if reply == "250 OK":
                    reply = f"{code} {text}"
        if reply == "250 OK":
            log.info("delivered %d bytes from %s to %s",
                     len(envelope.original_content), envelope.mail_from,
                     ",".join(recipients))
        return reply

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            # Faults first: a fault mailbox need not exist as a user.
            kind, count = rcpt_fault(address)
            if kind:
                reply = rcpt_fault_reply(server, address, kind, count)
                if reply:
                    return reply
            elif address.lower().startswith("fault-"):
                # most likely a typo in a test: say so instead of failing silently
                log.warning("<%s> names no known fault; handled normally", address)
            if kind not in DATA_FAULTS and address.lower() not in users:
                return f"550 5.1.1 <{address}>: user unknown"
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            faults = {rcpt: rcpt_fault(rcpt)[0] for rcpt in envelope.rcpt_tos}
            too_big = [r for r, kind in faults.items() if kind == "data552"]
            if too_big:
                log.warning("fault data552 %s: 552 at end of DATA, nothing delivered",
                            ",".join(too_big))
                return DATA552_REPLY
            # Once the final dot is in, the message is the server's to deliver even
            # if the client hangs up now (as a real MTA does): aiosmtpd cancels a
            # session's handler when the connection is lost, so shield it.
            reply = await asyncio.shield(deliver(envelope))
            if latency:
                # A real server takes tens of milliseconds per message; loopback
                # Dovecot takes one or two.  --latency restores the gap between
                # the final dot and the reply that crash tests need to hit.
                await asyncio.sleep(latency)
            dropped = [r for r, kind in faults.items() if kind == "drop"]
            if dropped:
                log.warning("fault drop %s: connection cut instead of replying %r "
                            "to the final dot", ",".join(dropped), reply)
                server.after_reply = "drop"
            return reply

    def greeting_fault():
        try:
            return read_faults(p).get("greeting")
        except (OSError, ValueError) as e:
            log.warning("ignoring unreadable %s: %s", p["faults"], e)
            return None

    class FaultySMTP(SMTP):
        """aiosmtpd's SMTP plus the faults a handler hook cannot express: a
        different greeting, and closing the connection around a reply."""

        # Set by the handler for its next reply only: "close" sends it and
        # then closes, "drop" closes without sending it.
        after_reply = None

        async def _handle_client(self):
            # aiosmtpd has no greeting hook; _handle_client() (started from
            # connection_made, i.e. after the SMTPS handshake) sends the
            # greeting first thing, so refusing a connection goes here.
            greeting = greeting_fault()
            if greeting is None:
                return await super()._handle_client()
            log.warning("fault greeting: %r on port %s gets %r and is closed",
                        self.session.peer,
                        self.transport.get_extra_info("sockname")[1], greeting)
            await self.push(greeting)
            self.transport.close()

        async def push(self, status):
            action, self.after_reply = self.after_reply, None
            if action == "drop":
                # abort(), not close(): the TCP connection goes at once with
                # no TLS close_notify, as when a server crashes or a line is
                # cut (a strict TLS client reports an unexpected EOF).
                self.transport.abort()
                return
            await super().push(status)
            if action == "close":
                self.transport.close()

        # aiosmtpd offers every auth_* method; without --oauth-tokeninfo
        # these two are excluded, so the default EHLO is unchanged.
        async def auth_XOAUTH2(self, _, args):
            if len(args) == 1:  # no initial response: curl's way
                blob = await self.challenge_auth("")
                if blob is MISSING:
                    return AuthResult(success=False, handled=True)
            else:
                try:
                    blob = base64.b64decode(args[1], validate=True)
                except ValueError:
                    await self.push("501 5.5.2 Cannot decode base64")
                    return AuthResult(success=False, handled=True)
            m = XOAUTH2_RESPONSE.fullmatch(blob)
            if not m:
                # Show the shape only: the blob holds the token.
                shape, hidden = re.subn(rb"(?i)(auth=)[^\x01]*", rb"\1<hidden>", blob)
                if not hidden:
                    shape = f"<{len(blob)} bytes without auth=>"
                log.warning("AUTH XOAUTH2 malformed initial response %r", shape)
                await self.push("501 5.5.2 Malformed XOAUTH2 initial response")
                return AuthResult(success=False, handled=True)
            user = m.group(1).decode("utf-8", "replace")
            token = m.group(2).decode("ascii", "replace")
            problem = None if user.lower() in users else (f"unknown user {user!r}", False)
            if problem is None:
                problem = await asyncio.get_running_loop().run_in_executor(
                    None, check_bearer, tokeninfo, user, token)
            if problem is None:
                log.info("AUTH XOAUTH2 ok for %r", user)
                return AuthResult(success=True, auth_data=AuthUser(user.lower().encode()))
            why, temporary = problem
            log.info("AUTH XOAUTH2 failed for %r: %s", user, why)
            if temporary:
                await self.push(XOAUTH2_UNAVAILABLE)
                return AuthResult(success=False, handled=True)
            if await self.challenge_auth(XOAUTH2_ERROR) is MISSING:
                return AuthResult(success=False, handled=True)
            await self.push(XOAUTH2_REFUSED)
            return AuthResult(success=False, handled=True)

        async def auth_OAUTHBEARER(self, _, args):
            # Listed because Gmail lists it too: a client must pick XOAUTH2
            # on purpose (curl prefers OAUTHBEARER when both are offered).
            log.warning("AUTH OAUTHBEARER refused: this relay checks XOAUTH2 only")
            await self.push("504 5.5.4 OAUTHBEARER is not supported by the test relay")
            return AuthResult(success=False, handled=True)

    class AuthUser:
        def __init__(self, login):
            self.login = login

    exclude = [] if tokeninfo else ["XOAUTH2", "OAUTHBEARER"]
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(p["cert"], p["key"])
    handler = Handler()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory(**kwargs):
        # hostname= avoids socket.getfqdn(), which stalls without DNS.
        return lambda: FaultySMTP(handler, hostname="localhost", loop=loop,
                                  authenticator=authenticator, auth_required=True,
                                  auth_exclude_mechanism=exclude,
                                  enable_SMTPUTF8=True, **kwargs)

    servers = [
        # submission: STARTTLS mandatory before AUTH/MAIL
        loop.run_until_complete(loop.create_server(
            factory(tls_context=tls, require_starttls=True),
            host=cfg.get("hosts", HOST), port=cfg["smtpPort"])),
        # implicit TLS
        loop.run_until_complete(loop.create_server(
            factory(auth_require_tls=False),
            host=cfg.get("hosts", HOST), port=cfg["smtpsPort"], ssl=tls)),
    ]
    with open(p["relay_pid"], "w") as f:
        f.write(f"{os.getpid()}\n")

    dovecot_pid = None

    def watchdog():
        # Safety net for callers that delete DIR without calling "stop":
        # take dovecot down and exit instead of leaking processes.  The
        # master pid is remembered because master.pid goes away with DIR.
        nonlocal dovecot_pid
        if os.path.isdir(p["dir"]):
            dovecot_pid = dovecot_master(p) or dovecot_pid
            loop.call_later(1, watchdog)
        else:
            log.warning("%s vanished; stopping dovecot and the relay", p["dir"])
            if dovecot_pid:
                stop_dovecot(p, dovecot_pid)
            loop.stop()

    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    loop.call_later(0.3, watchdog)
    log.info("listening: smtp %s (STARTTLS required), smtps %s; LMTP -> %s",
             cfg["smtpPort"], cfg["smtpsPort"], lmtp_port)
    try:
        loop.run_forever()
    finally:
        for s in servers:
            s.close()
        try:
            os.unlink(p["relay_pid"])
        except OSError:
            pass
        log.info("stopped")
    return 0


def start_relay(p, users, ports):
    with open(p["relay_config"], "w") as f:
        json.dump({"users": [{"email": e, "password": pw} for e, pw in users],
                   "lmtpPort": ports["lmtp"], "smtpPort": ports["smtp"],
                   "smtpsPort": ports["smtps"], "hosts": p["listen"],
                   "fileSent": p.get("file_sent", False),
                   "latencyMs": p.get("latency_ms", 0),
                   "oauthTokeninfo": p.get("oauth_tokeninfo")}, f)
    os.chmod(p["relay_config"], 0o600)
    with open(p["relay_log"], "ab") as log:
        # Detached: own session, no inherited stdio.  A leftover child holding
        # the caller's stdout open would make CI wait forever.
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "smtp-relay", p["dir"]],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, cwd=p["dir"])
    return proc


def relay_pid(p):
    """Relay pid from its pid file, only if it really is our relay."""
    pid = read_pid(p["relay_pid"])
    cl = cmdline(pid) if pid else None
    if pid and alive(pid) and cl and "smtp-relay" in cl and p["dir"] in cl:
        return pid
    return None


# --------------------------------------------------------------------------
# commands

def free_ports(names):
    # Hold all sockets open until every port is chosen so they are distinct.
    socks = []
    try:
        for _ in names:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return {n: s.getsockname()[1] for n, s in zip(names, socks)}
    finally:
        for s in socks:
            s.close()


def wait_ready(p, ports, relay_proc):
    ctx = ssl.create_default_context(cafile=p["ca"])
    ctx.check_hostname = False  # --cert-host may name another host; chain is still checked
    checks = {
        "imap": (ports["imap"], b"* OK", None),
        "imaps": (ports["imaps"], b"* OK", ctx),
        "lmtp": (ports["lmtp"], b"220", None),
        "smtp": (ports["smtp"], b"220", None),
        "smtps": (ports["smtps"], b"220", ctx),
    }
    pending = dict(checks)
    deadline = time.monotonic() + READY_TIMEOUT
    while pending:
        if relay_proc.poll() is not None:
            raise Fatal(f"SMTP relay exited with status {relay_proc.returncode}:\n"
                        + tail(p["relay_log"]))
        for name, (port, prefix, c) in list(pending.items()):
            if greets(port, prefix, c):
                del pending[name]
        if not pending:
            break
        fatal = [l for l in tail(p["dovecot_log"], 200).splitlines() if " Fatal: " in l]
        if fatal:
            raise Fatal("dovecot failed:\n" + "\n".join(fatal[-10:]))
        if time.monotonic() > deadline:
            raise Fatal("timed out waiting for " + ", ".join(
                f"{n} (port {v[0]})" for n, v in pending.items())
                + "\n--- dovecot.log ---\n" + tail(p["dovecot_log"])
                + "\n--- smtp-relay.log ---\n" + tail(p["relay_log"]))
        time.sleep(0.05)


def launch(p, users, ports):
    """Start dovecot and the relay, wait until all ports greet -> pids.
    On failure everything started here is stopped again."""
    relay_proc = None
    try:
        start_dovecot(p)
        relay_proc = start_relay(p, users, ports)
        wait_ready(p, ports, relay_proc)
        dpid, rpid = dovecot_master(p), relay_pid(p)
        if not dpid or not rpid:
            raise Fatal("servers answered but their pid files are missing\n"
                        + tail(p["dovecot_log"]) + "\n" + tail(p["relay_log"]))
        return dpid, rpid
    except BaseException:
        if relay_proc is not None and relay_proc.poll() is None:
            terminate([relay_proc.pid], grace=3)
        stop_dovecot(p)
        raise


def cmd_start(args):
    check_prerequisites()
    users = parse_users(args.users)
    p = paths(args.dir)
    # The path ends up unquoted in dovecot.conf, where '%' is also expanded.
    if any(c.isspace() or c in "%\"'\\<{}#" for c in p["dir"]):
        raise Fatal(f"DIR {p['dir']!r} must not contain whitespace, quotes or %<{{}}#\\")
    os.makedirs(p["dir"], exist_ok=True)
    os.chmod(p["dir"], 0o755)
    # dovecot's unprivileged processes must traverse every parent directory.
    parent = os.path.dirname(p["dir"])
    while parent != "/":
        if not os.stat(parent).st_mode & 0o001:
            eprint(f"warning: {parent} is not world-searchable; dovecot's "
                   f"unprivileged processes may fail to reach {p['dir']}")
        parent = os.path.dirname(parent)

    # A fault left over from an earlier run would refuse the readiness check.
    clear_faults(p)
    p["file_sent"] = args.file_sent
    p["latency_ms"] = args.latency
    if args.oauth_tokeninfo and not re.fullmatch(r"https?://[^\s?#%]+", args.oauth_tokeninfo):
        raise Fatal(f"--oauth-tokeninfo {args.oauth_tokeninfo!r}: expected an http(s) URL "
                    "without query, like http://127.0.0.1:PORT/tokeninfo")
    p["oauth_tokeninfo"] = args.oauth_tokeninfo
    if args.also_listen:
        try:
            ipaddress.ip_address(args.also_listen)
        except ValueError:
            raise Fatal(f"--also-listen {args.also_listen!r}: expected an IP address")
    p["listen"] = [HOST] + ([args.also_listen] if args.also_listen else [])
    cert_host, sans = make_certificates(p, args.cert_host, args.also_listen)
    # Ports are picked, released and then bound by dovecot/the relay; another
    # process can grab one in between (parallel test runs), so a bind
    # failure gets a couple of retries with fresh ports.
    for attempt in range(3):
        ports = free_ports(["imap", "imaps", "lmtp", "smtp", "smtps"])
        write_dovecot_config(p, users, ports)
        try:
            dpid, rpid = launch(p, users, ports)
            break
        except Fatal as e:
            if attempt < 2 and "address already in use" in str(e).lower():
                eprint("note: port collision, retrying with new ports")
                for log in (p["dovecot_log"], p["dovecot_start_log"], p["relay_log"]):
                    if os.path.exists(log):  # keep for diagnosis, out of the way
                        os.replace(log, f"{log}.attempt{attempt + 1}")
                continue
            raise

    state = {
        "dir": p["dir"],
        "host": HOST,
        "caFile": p["ca"],
        "otherCAFile": p["other_ca"],
        "serverCertFile": p["cert"],
        "serverCertHost": cert_host,
        "serverCertSANs": sans,
        "imapPort": ports["imap"],
        "imapsPort": ports["imaps"],
        "lmtpPort": ports["lmtp"],
        "smtpPort": ports["smtp"],
        "smtpsPort": ports["smtps"],
        "users": [{"email": e, "password": pw} for e, pw in users],
        "oauthTokeninfo": p["oauth_tokeninfo"],
        "dovecotPid": dpid,
        "relayPid": rpid,
    }
    text = json.dumps(state)
    with open(p["state"], "w") as f:
        f.write(text + "\n")
    print(text, flush=True)
    return 0


def cmd_stop(args):
    p = paths(args.dir)
    if not os.path.isdir(p["dir"]):
        return 0
    # Pid files are authoritative (state.json may be absent if start failed);
    # both are checked against /proc/PID/cmdline before anything is killed.
    rpid = relay_pid(p)
    if rpid:
        terminate([rpid], grace=3)
    stop_dovecot(p)
    return 0


def cmd_deliver(args):
    p = paths(args.dir)
    try:
        with open(p["state"]) as f:
            port = json.load(f)["lmtpPort"]
    except (OSError, ValueError, KeyError) as e:
        raise Fatal(f"cannot read {p['state']}: {e} (is the instance started?)")
    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(args.file, "rb") as f:
            data = f.read()
    status = 0
    for rcpt in args.to:
        code, text = lmtp_deliver(port, args.sender, rcpt, data, ["BODY=8BITMIME"])
        if code != 250:
            eprint(f"{rcpt}: {code} {text}")
            status = 1
    return status


def cmd_fault(args):
    p = paths(args.dir)
    # relay config is written by "start": catches a mistyped DIR
    if not os.path.exists(p["relay_config"]):
        raise Fatal(f"{p['dir']} holds no instance (no {RELAY_CONFIG}); run start first")
    if args.clear:
        clear_faults(p)
        return 0
    # One reply line: a line break would let the text inject protocol lines.
    if not re.fullmatch(r"[2-5][0-9][0-9]( [^\r\n]*)?", args.greeting):
        raise Fatal(f"--greeting {args.greeting!r}: expected one line like "
                    "\"421 4.7.0 Service not available\"")
    # Written aside and renamed: the relay may read it at any moment.
    tmp = f"{p['faults']}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump({"greeting": args.greeting}, f)
    os.replace(tmp, p["faults"])
    return 0


def cmd_relay_outage(args):
    """Kill the relay (SIGKILL: open connections are cut, as in a crash),
    keep its ports closed for --seconds, then start it again with the same
    settings and wait until both ports greet."""
    p = paths(args.dir)
    if not os.path.exists(p["relay_config"]):
        raise Fatal(f"{p['dir']} holds no instance (no {RELAY_CONFIG}); run start first")
    with open(p["relay_config"]) as f:
        cfg = json.load(f)
    # The caller may have killed it already (at the exact moment it wanted): then only the restart is left.
    pid = relay_pid(p)
    if pid:
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
    time.sleep(args.seconds)
    with open(p["relay_log"], "ab") as log:
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "smtp-relay", p["dir"]],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, cwd=p["dir"])
    ctx = ssl.create_default_context(cafile=p["ca"])
    ctx.check_hostname = False
    deadline = time.monotonic() + READY_TIMEOUT
    while not (greets(cfg["smtpPort"], b"220") and greets(cfg["smtpsPort"], b"220", ctx)):
        if time.monotonic() > deadline:
            raise Fatal("the relay did not come back:\n" + tail(p["relay_log"]))
        time.sleep(0.05)
    return 0


def main(argv):
    # A test runner may start us with signals blocked or ignored (a blocked mask survives fork and exec); the
    # servers we start would then shrug off SIGTERM and every stop would wait for its SIGKILL fallback.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    ap = argparse.ArgumentParser(prog="mailservers.py",
                                 description="Loopback IMAP/LMTP/SMTP servers for tests.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start", help="start servers in DIR, print state JSON")
    s.add_argument("dir", metavar="DIR")
    s.add_argument("--users", metavar="FILE_OR_INLINE",
                   help='"email:password,email:password" or a file of such lines')
    s.add_argument("--cert-host", metavar="HOST",
                   help="issue the server certificate for DNS:HOST only")
    s.add_argument("--file-sent", action="store_true",
                   help="file a copy of every relayed message in the sender's Sent folder")
    s.add_argument("--latency", type=int, default=0, metavar="MS",
                   help="wait MS milliseconds before answering each final dot")
    s.add_argument("--oauth-tokeninfo", metavar="URL",
                   help="also accept XOAUTH2 bearer tokens, checked at this tokeninfo URL")
    s.add_argument("--also-listen", metavar="ADDR",
                   help="IMAP(S) and SMTP(S) also listen on this address")
    s = sub.add_parser("stop", help="stop the servers of DIR")
    s.add_argument("dir", metavar="DIR")
    s = sub.add_parser("deliver", help="deliver a raw message over LMTP")
    s.add_argument("dir", metavar="DIR")
    s.add_argument("--from", dest="sender", required=True, metavar="ADDR")
    s.add_argument("--to", action="append", required=True, metavar="ADDR")
    s.add_argument("file", metavar="FILE", help="message file, or - for stdin")
    s = sub.add_parser("fault", help="set or clear the relay's greeting fault")
    s.add_argument("dir", metavar="DIR")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--greeting", metavar="LINE",
                   help="greet every new relay connection with LINE, then close it")
    g.add_argument("--clear", action="store_true", help="remove the fault")
    s = sub.add_parser("relay-outage", help="kill the relay, keep it down, start it again")
    s.add_argument("dir", metavar="DIR")
    s.add_argument("--seconds", type=float, required=True, help="how long its ports stay closed")
    s = sub.add_parser("smtp-relay")  # internal: the detached relay process
    s.add_argument("dir", metavar="DIR")
    args = ap.parse_args(argv)

    try:
        if args.cmd == "start":
            return cmd_start(args)
        if args.cmd == "stop":
            return cmd_stop(args)
        if args.cmd == "deliver":
            return cmd_deliver(args)
        if args.cmd == "fault":
            return cmd_fault(args)
        if args.cmd == "relay-outage":
            return cmd_relay_outage(args)
        return relay_main(args.dir)
    except Fatal as e:
        eprint(f"mailservers.py {args.cmd}: {e}")
        return e.status
    except subprocess.TimeoutExpired as e:
        eprint(f"mailservers.py {args.cmd}: timed out: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
