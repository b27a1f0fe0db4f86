#!/usr/bin/python3
"""Outreach benchmarks: each figure printed next to a baseline measured in the same run, on the same files and servers.

  scripts/bench.py import [--rows 1000000]   CSV import (stored in the database) against Python csv + sqlite3
  scripts/bench.py send   [--messages 5000]  send with throttle 0 over one TLS connection to a discarding SMTP sink,
                                             against a Python smtplib loop sending the same messages the same way
  scripts/bench.py sync   [--mailbox 100000]  first sync of a mailbox into the thread index, against Python imaplib
                                             fetching the same header fields; then an incremental sync with nothing
                                             new, at a tenth of the size and at full size (it must not grow)
  scripts/bench.py plan   [--prospects 10000] [--mailbox 100000]
                                             plan a follow-up round from the index, against one live UID SEARCH
                                             HEADER per prospect on the same Dovecot (measured on 20, scaled)
  scripts/bench.py web    [--jobs 10000]     the web UI's job list (HTML page and JSON) with that many jobs in the
                                             database, 50 connections (wrk), against the same server's /healthz;
                                             and the resident memory of an idle `outreach serve`
  scripts/bench.py classify [--corpus DIR]   `outreach classify --json` over the bounce corpus against Debian's Sisimai
                                             (libsisimai-perl, Sisimai->make) over the same files: where the two
                                             disagree on bounce/not and hard/soft, and both timed in the same run
  scripts/bench.py postgres [--messages 5000] [--prospects 10000] [--mailbox 20000] [--claim-jobs 600]
  scripts/bench.py claims [--claim-jobs 600]  only the claims part of `postgres`
                                             the send and the plan above on SQLite and on a private PostgreSQL server
                                             started for the run, side by side; then how many jobs per second 1, 2 and
                                             4 `outreach worker` processes claim and finish from one PostgreSQL
  scripts/bench.py all

Run `swift build -c release --product outreach` first (or pass --outreach PATH). Needs the "bench" packages of
conf/debian-packages (scripts/install-deps --bench). Everything runs on loopback in a temporary folder.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_measured(argv, cwd=None, stdin=None, env=None):
    """Runs a command to its end; returns (seconds, peak RSS in MB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate(stdin.encode() if stdin is not None else None)
    # communicate() has reaped the child; its rusage is in RUSAGE_CHILDREN, but that is the max over all children.
    # So measure peak RSS separately with wait4 in a fresh process when it matters (see peak_rss).
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{out.decode()}\n{err.decode()}")
    return seconds, out.decode()


def peak_rss(argv, cwd=None, env=None):
    """Runs a command and returns (seconds, peak RSS in MB) of that one process, via wait4."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        if cwd:
            os.chdir(cwd)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.execvpe(argv[0], argv, env or os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} failed")
    return seconds, usage.ru_maxrss / 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def outreach_env(work, db=None):
    """The environment of one benchmark's `outreach` commands; `db` a postgres:// URL, or None for SQLite in `work`."""
    env = dict(os.environ)
    env.pop("OUTREACH_MASTER_KEY", None)
    env["OUTREACH_DB"] = db or os.path.join(work, "outreach.db")
    env["OUTREACH_MASTER_KEY_FILE"] = os.path.join(work, "outreach.key")
    return env


def postgres_binaries():
    found = sorted((d for d in os.listdir("/usr/lib/postgresql") if os.path.isdir(f"/usr/lib/postgresql/{d}/bin")), key=int) if os.path.isdir("/usr/lib/postgresql") else []
    if not found:
        sys.exit("PostgreSQL is missing: run scripts/install-deps --test")
    return f"/usr/lib/postgresql/{found[-1]}/bin"


def start_postgres(work, procs):
    """A private PostgreSQL server for this run (as the postgres user when run as root); returns a postgres:// URL."""
    binaries = postgres_binaries()
    folder = os.path.join(work, "pg")
    os.makedirs(folder)
    as_user = []
    if os.getuid() == 0:
        import pwd
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_user = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups", "--"]
    subprocess.run(as_user + [f"{binaries}/initdb", "-D", f"{folder}/data", "-U", "outreach", "--auth=trust", "--no-sync"],
                   check=True, capture_output=True)
    port = free_port()
    log = open(os.path.join(work, "postgres.log"), "w")
    procs.append(subprocess.Popen(as_user + [f"{binaries}/postgres", "-D", f"{folder}/data", "-p", str(port), "-c", "listen_addresses=127.0.0.1",
                                             "-c", f"unix_socket_directories={folder}", "-c", "fsync=on"],
                                  stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True))
    wait_for_port(port, timeout=30)
    for _ in range(100):
        if subprocess.run([f"{binaries}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "outreach", "bench"], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    return f"postgres://outreach@127.0.0.1:{port}/bench?sslmode=disable", port


def psql(port, sql):
    return subprocess.run([f"{postgres_binaries()}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "outreach", "-d", "bench", "-Atqc", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def write_csv(path, rows):
    first = ["Anna", "Jürgen", "Zoë", "Li", "Maria", "Tom", "Ana", "Paul"]
    companies = ["ACME", "Müller & Söhne", "Initech", "Globex", "Umbrella, Inc.", "Hooli"]
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("Email,First Name,Last Name,Company,Job Title,Select,Variant\r\n")
        for n in range(rows):
            company = companies[n % len(companies)]
            company = f'"{company}"' if "," in company else company
            f.write(f"p{n}@example.test,{first[n % 8]},Person {n},{company},Head of Sales,{'x' if n % 3 == 0 else ''},{'AB'[n % 2]}\r\n")


PYTHON_IMPORT = r'''
import csv, sqlite3, sys
db = sqlite3.connect(sys.argv[2])
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE prospect (id INTEGER PRIMARY KEY, row INTEGER, email TEXT UNIQUE, first TEXT, last TEXT, company TEXT, title TEXT, selected INTEGER, variant TEXT)")
with open(sys.argv[1], newline="", encoding="utf-8-sig") as f:
    reader = csv.reader(f)
    next(reader)
    batch = []
    for n, r in enumerate(reader, 1):
        batch.append((n, r[0].strip().lower(), r[1], r[2], r[3], r[4], r[5].strip().lower() in ("x", "1", "yes", "true"), r[6]))
        if len(batch) == 2000:
            db.executemany("INSERT OR IGNORE INTO prospect (row, email, first, last, company, title, selected, variant) VALUES (?,?,?,?,?,?,?,?)", batch)
            db.commit()
            batch = []
    db.executemany("INSERT OR IGNORE INTO prospect (row, email, first, last, company, title, selected, variant) VALUES (?,?,?,?,?,?,?,?)", batch)
    db.commit()
'''


def bench_import(outreach, rows):
    work = tempfile.mkdtemp(prefix="outreach-bench-import-")
    try:
        csv_path = os.path.join(work, "prospects.csv")
        write_csv(csv_path, rows)
        size = os.path.getsize(csv_path) / 1e6
        env = outreach_env(work)
        run_measured([outreach, "init"], cwd=work, env=env)
        run_measured([outreach, "account", "add", "bench@example.test", "--smtp", "smtps://127.0.0.1:1", "--imap", "imaps://127.0.0.1:1",
                      "--password-stdin"], cwd=work, stdin="x", env=env)
        ours, ours_rss = peak_rss([outreach, "campaign", "import", "Bench", csv_path, "--account", "bench@example.test"], cwd=work, env=env)
        script = os.path.join(work, "baseline.py")
        with open(script, "w") as f:
            f.write(PYTHON_IMPORT)
        theirs, theirs_rss = peak_rss([sys.executable, script, csv_path, os.path.join(work, "baseline.db")], cwd=work)
        print(f"CSV import, {rows:,} rows ({size:.0f} MB), stored in SQLite:")
        print(f"  outreach campaign import     {ours:7.2f} s  {rows / ours:>10,.0f} rows/s  peak RSS {ours_rss:6.1f} MB")
        print(f"  Python csv + sqlite3         {theirs:7.2f} s  {rows / theirs:>10,.0f} rows/s  peak RSS {theirs_rss:6.1f} MB")
        print(f"  ratio                        {theirs / ours:7.2f}x faster")
        return ours
    finally:
        shutil.rmtree(work, ignore_errors=True)


TEMPLATE = """Subject: A quick idea for {company}

Hi {first|there},

I saw that you are **{Job Title}** at {company} and wondered whether a short call next week would be useful.

- one thing we do
- another thing we do

Best regards,
Sam
"""

PYTHON_SEND = r'''
import smtplib, ssl, sys, time, email.utils
from email.message import EmailMessage
port, ca, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
context = ssl.create_default_context(cafile=ca)
start = time.perf_counter()
with smtplib.SMTP_SSL("127.0.0.1", port, context=context, local_hostname="localhost") as smtp:
    smtp.login("bench@example.test", "x")
    for n in range(count):
        msg = EmailMessage()
        msg["From"] = email.utils.formataddr(("Sam Sender", "bench@example.test"))
        msg["To"] = f"p{n}@example.test"
        msg["Subject"] = "A quick idea for ACME"
        msg["Date"] = email.utils.formatdate(localtime=True)
        msg["Message-ID"] = email.utils.make_msgid(domain="example.test")
        msg.set_content("Hi Anna,\n\nI saw that you are Head of Sales at ACME and wondered whether a short call next week would be useful.\n\n- one thing we do\n- another thing we do\n\nBest regards,\nSam\n")
        msg.add_alternative("<p>Hi Anna,</p><p>I saw that you are <strong>Head of Sales</strong> at ACME and wondered whether a short call next week would be useful.</p><ul><li>one thing we do</li><li>another thing we do</li></ul><p>Best regards,<br>Sam</p>", subtype="html")
        smtp.send_message(msg)
print(time.perf_counter() - start)
'''


def make_tls(work):
    tls = os.path.join(work, "tls")
    os.makedirs(tls)
    conf = os.path.join(tls, "openssl.cnf")
    with open(conf, "w") as f:
        f.write("[req]\ndistinguished_name=dn\n[dn]\n[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                "[srv]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    q = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=Bench CA",
                    "-keyout", f"{tls}/ca.key", "-out", f"{tls}/ca.pem", "-config", conf, "-extensions", "ca"], **q)
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                    "-keyout", f"{tls}/server.key", "-out", f"{tls}/server.csr", "-config", conf], **q)
    subprocess.run(["openssl", "x509", "-req", "-in", f"{tls}/server.csr", "-CA", f"{tls}/ca.pem", "-CAkey", f"{tls}/ca.key", "-CAcreateserial",
                    "-days", "2", "-out", f"{tls}/server.pem", "-extfile", conf, "-extensions", "srv"], **q)
    return tls


def wait_for_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on 127.0.0.1:{port}")


def start_sink(work, procs):
    """Starts the discarding SMTP sink behind stunnel (implicit TLS); returns (tls folder, TLS port)."""
    tls = make_tls(work)
    sink_port, tls_port = free_port(), free_port()
    log = open(os.path.join(work, "servers.log"), "w")
    # A fast discarding receiver like Postfix's smtp-sink, but one that answers AUTH with 235 (smtp-sink says 250,
    # which libcurl and smtplib both take as a refused login). See scripts/bench/smtp-sink-auth.c.
    sink = os.path.join(work, "smtp-sink-auth")
    subprocess.run(["cc", "-O2", "-o", sink, os.path.join(ROOT, "scripts/bench/smtp-sink-auth.c")], check=True)
    procs.append(subprocess.Popen([sink, "127.0.0.1", str(sink_port)], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True))
    # The sink speaks no TLS and Outreach never sends without it: stunnel terminates implicit TLS in front of it.
    stunnel_conf = os.path.join(work, "stunnel.conf")
    with open(stunnel_conf, "w") as f:
        f.write(f"foreground = yes\npid =\nsyslog = no\ndebug = 3\n[smtps]\naccept = 127.0.0.1:{tls_port}\nconnect = 127.0.0.1:{sink_port}\n"
                f"cert = {tls}/server.pem\nkey = {tls}/server.key\n")
    procs.append(subprocess.Popen(["stunnel4", stunnel_conf], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True))
    wait_for_port(sink_port)
    wait_for_port(tls_port)
    return tls, tls_port


def stop_processes(procs):
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def bench_send(outreach, count, db=None, label=None, baseline=True):
    for tool in ("stunnel4", "openssl", "cc"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/install-deps --bench")
    work = tempfile.mkdtemp(prefix="outreach-bench-send-")
    os.chmod(work, 0o755)
    procs = []
    try:
        tls, tls_port = start_sink(work, procs)

        env = outreach_env(work, db)
        csv_path = os.path.join(work, "prospects.csv")
        write_csv(csv_path, count)
        template = os.path.join(work, "first.md")
        with open(template, "w") as f:
            f.write(TEMPLATE)
        run_measured([outreach, "init"], cwd=work, env=env)
        run_measured([outreach, "account", "add", "bench@example.test", "--name", "Sam Sender", "--smtp", f"smtps://127.0.0.1:{tls_port}",
                      "--imap", "imaps://127.0.0.1:1", "--ca-file", f"{tls}/ca.pem", "--no-copy-to-sent", "--password-stdin"],
                     cwd=work, stdin="x", env=env)
        run_measured([outreach, "account", "set", "bench@example.test", "--delay", "0", "--jitter", "0", "--daily-cap", "0"], cwd=work, env=env)
        run_measured([outreach, "campaign", "import", "Bench", csv_path, "--account", "bench@example.test"], cwd=work, env=env)
        send = [outreach, "send", "Bench", "--template", template, "--mode", "send-all", "--wait"]
        if os.environ.get("BENCH_PROFILE"):
            # perf record of the send itself, for finding where the time goes (not part of the figures).
            send = ["perf", "record", "-g", "-o", os.environ["BENCH_PROFILE"]] + send
        ours, out = run_measured(send, cwd=work, env=env)
        sent = out.count("\nSENT ") + out.startswith("SENT ")
        if sent != count:
            sys.exit(f"outreach sent {sent} of {count}:\n{out[-2000:]}")
        if not baseline:
            print(f"  {label:<27}  {ours:7.2f} s  {count / ours:>10,.0f} msgs/s")
            return ours
        script = os.path.join(work, "baseline.py")
        with open(script, "w") as f:
            f.write(PYTHON_SEND)
        _, theirs_text = run_measured([sys.executable, script, str(tls_port), f"{tls}/ca.pem", str(count)], cwd=work)
        theirs = float(theirs_text.strip())
        print(f"Send, {count:,} personalized multipart messages, throttle 0, one TLS connection, into a discarding sink behind stunnel:")
        print(f"  {label or 'outreach send (with ledger)':<27}  {ours:7.2f} s  {count / ours:>10,.0f} msgs/s")
        print(f"  Python smtplib loop          {theirs:7.2f} s  {count / theirs:>10,.0f} msgs/s")
        print(f"  ratio                        {theirs / ours:7.2f}x faster")
        return ours
    finally:
        stop_processes(procs)
        shutil.rmtree(work, ignore_errors=True)


PYTHON_IMAP = r'''
import imaplib, ssl, sys, time, email, email.policy
port, ca, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
fields = "MESSAGE-ID IN-REPLY-TO REFERENCES FROM TO CC SUBJECT DATE AUTO-SUBMITTED PRECEDENCE X-AUTOREPLY X-AUTORESPOND CONTENT-TYPE X-FAILED-RECIPIENTS RETURN-PATH"
start = time.perf_counter()
imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ssl.create_default_context(cafile=ca))
imap.login(user, password)
imap.select("INBOX", readonly=True)
_, data = imap.uid("SEARCH", None, "ALL")
uids = data[0].split()
count = 0
for i in range(0, len(uids), 500):
    chunk = b",".join(uids[i:i + 500]).decode()
    _, items = imap.uid("FETCH", chunk, f"(UID BODY.PEEK[HEADER.FIELDS ({fields})])")
    for item in items:
        if isinstance(item, tuple):
            msg = email.message_from_bytes(item[1], policy=email.policy.default)
            _ = (msg["Message-ID"], msg["In-Reply-To"], msg["References"], msg["From"], msg["Subject"], msg["Date"])
            count += 1
imap.logout()
print(count, time.perf_counter() - start)
'''


def fill_maildir(maildir, count, start=0):
    """Writes messages straight into a Maildir (Dovecot indexes them on first access): fast for large mailboxes."""
    cur = os.path.join(maildir, "cur")
    os.makedirs(cur, exist_ok=True)
    for n in range(start, start + count):
        reply = f"In-Reply-To: <out{n - 1}@example.test>\r\nReferences: <out0@example.test> <out{n - 1}@example.test>\r\n" if n % 3 else ""
        with open(os.path.join(cur, f"{1700000000 + n}.M{n}P1.bench:2,S"), "w") as f:
            f.write(f"From: Person {n} <p{n % 5000}@example.test>\r\nTo: bench@example.test\r\nSubject: Re: Hello {n % 977}\r\n"
                    f"Message-ID: <in{n}@example.test>\r\n{reply}Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n"
                    f"Content-Type: text/plain; charset=utf-8\r\n\r\nThanks for your note, number {n}.\r\n")
    # A maildir whose cur/ changed in the last moments looks "dirty" to Dovecot, which then re-scans it on every
    # open; a real mailbox was not written a second ago. Date the directory back so both sides see a settled one.
    past = time.time() - 3600
    os.utime(cur, (past, past))


def best_incremental(command, work, env, runs=3):
    """A sync with nothing new, best of `runs`: (whole command in seconds, the sync itself in ms as the command reports it)."""
    best_whole, best_inner = float("inf"), float("inf")
    for _ in range(runs):
        seconds, out = run_measured(command, cwd=work, env=env)
        match = re.search(r"; (\d+) ms$", out.strip())
        best_whole = min(best_whole, seconds)
        best_inner = min(best_inner, int(match.group(1)) if match else float("nan"))
    return best_whole, best_inner


def bench_sync(outreach, size):
    servers = os.path.join(ROOT, "Tests/IntegrationTests/Fixtures/mailservers.py")
    work = tempfile.mkdtemp(prefix="outreach-bench-sync-")
    os.chmod(work, 0o755)
    mail = os.path.join(work, "mail")
    try:
        state = json.loads(subprocess.run(["/usr/bin/python3", servers, "start", mail, "--users", "bench@example.test:bench-pw"],
                                          check=True, capture_output=True, text=True).stdout)
        maildir = os.path.join(mail, "mail", "bench@example.test", "Maildir")
        small = size // 10
        fill_maildir(maildir, small)
        subprocess.run(["chown", "-R", "mail:mail", os.path.join(mail, "mail")], check=True)
        env = outreach_env(work)
        run_measured([outreach, "init"], cwd=work, env=env)
        run_measured([outreach, "account", "add", "bench@example.test", "--smtp", "smtps://127.0.0.1:1", "--imap",
                      f"imaps://127.0.0.1:{state['imapsPort']}", "--ca-file", state["caFile"], "--password-stdin"], cwd=work, stdin="bench-pw", env=env)
        sync = [outreach, "sync", "--since", "2000-01-01"]
        baseline = [sys.executable, "-c", PYTHON_IMAP, str(state["imapsPort"]), state["caFile"], "bench@example.test", "bench-pw"]
        run_measured(baseline, cwd=work)  # lets Dovecot build its index first, so neither side pays for it
        run_measured(sync, cwd=work, env=env)
        # A sync that runs every few minutes meets a settled mailbox: report the best of three.
        incremental_small = best_incremental([outreach, "sync"], work, env)

        fill_maildir(maildir, size - small, start=small)
        subprocess.run(["chown", "-R", "mail:mail", os.path.join(mail, "mail")], check=True)
        run_measured(baseline, cwd=work)
        _, out = run_measured(baseline, cwd=work)
        count, theirs = out.split()
        run_measured(sync, cwd=work, env=env)
        incremental_large = best_incremental([outreach, "sync"], work, env)
        # A first sync of the whole mailbox, in a fresh database.
        fresh = dict(env)
        fresh["OUTREACH_DB"] = os.path.join(work, "fresh.db")
        shutil.copy(os.path.join(work, "outreach.db.key"), os.path.join(work, "fresh.db.key"))
        run_measured([outreach, "init"], cwd=work, env=fresh)
        run_measured([outreach, "account", "add", "bench@example.test", "--smtp", "smtps://127.0.0.1:1", "--imap",
                      f"imaps://127.0.0.1:{state['imapsPort']}", "--ca-file", state["caFile"], "--password-stdin"], cwd=work, stdin="bench-pw", env=fresh)
        ours, _ = run_measured(sync, cwd=work, env=fresh)
        theirs = float(theirs)
        print(f"First sync of a {size:,}-message INBOX (header fields of every message), Dovecot on loopback over TLS:")
        print(f"  outreach sync (into the thread index)  {ours:7.2f} s  {size / ours:>9,.0f} msgs/s")
        print(f"  Python imaplib + email (parse only)    {theirs:7.2f} s  {int(count) / theirs:>9,.0f} msgs/s")
        print(f"  ratio                                  {theirs / ours:7.2f}x faster")
        print("Incremental sync with nothing new (one STATUS per folder, nothing opened or fetched; best of 3):")
        print("  mailbox            the sync (as `serve`'s timer runs it)   the whole `outreach sync` command")
        for count, (whole, inner) in ((small, incremental_small), (size, incremental_large)):
            print(f"  {count:>9,} messages   {inner:7.0f} ms                            {whole * 1000:7.0f} ms (process start, database open included)")
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"(kept {work}; stop its servers with: {servers} stop {mail})")
        else:
            subprocess.run(["/usr/bin/python3", servers, "stop", mail], capture_output=True)
            shutil.rmtree(work, ignore_errors=True)


PYTHON_LIVE = r'''
import imaplib, ssl, sys, time
port, ca, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ids = sys.argv[5:]
imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ssl.create_default_context(cafile=ca))
imap.login(user, password)
imap.select("INBOX", readonly=True)
start = time.perf_counter()
for message_id in ids:
    imap.uid("SEARCH", None, "HEADER", "In-Reply-To", f"<{message_id}>")
print((time.perf_counter() - start) / len(ids))
imap.logout()
'''


def bench_plan(outreach, prospects, mailbox, db=None, label="outreach plan (from the index)", baseline=True):
    """Planning a follow-up round from the index, against asking the server about each prospect (one UID SEARCH)."""
    servers = os.path.join(ROOT, "Tests/IntegrationTests/Fixtures/mailservers.py")
    work = tempfile.mkdtemp(prefix="outreach-bench-plan-")
    os.chmod(work, 0o755)
    mail = os.path.join(work, "mail")
    procs = []
    try:
        state = json.loads(subprocess.run(["/usr/bin/python3", servers, "start", mail, "--users", "bench@example.test:bench-pw"],
                                          check=True, capture_output=True, text=True).stdout)
        fill_maildir(os.path.join(mail, "mail", "bench@example.test", "Maildir"), mailbox)
        subprocess.run(["chown", "-R", "mail:mail", os.path.join(mail, "mail")], check=True)
        tls, tls_port = start_sink(work, procs)
        both = os.path.join(work, "both-ca.pem")  # one account, two servers with two test CAs
        with open(both, "w") as f:
            f.write(open(state["caFile"]).read() + open(f"{tls}/ca.pem").read())
        env = outreach_env(work, db)
        csv_path = os.path.join(work, "prospects.csv")
        write_csv(csv_path, prospects)
        template = os.path.join(work, "first.md")
        with open(template, "w") as f:
            f.write(TEMPLATE)
        run_measured([outreach, "init"], cwd=work, env=env)
        run_measured([outreach, "account", "add", "bench@example.test", "--smtp", f"smtps://127.0.0.1:{tls_port}", "--imap",
                      f"imaps://127.0.0.1:{state['imapsPort']}", "--ca-file", both, "--no-copy-to-sent", "--password-stdin"],
                     cwd=work, stdin="bench-pw", env=env)
        run_measured([outreach, "account", "set", "bench@example.test", "--delay", "0", "--jitter", "0", "--daily-cap", "0"], cwd=work, env=env)
        run_measured([outreach, "campaign", "import", "Bench", csv_path, "--account", "bench@example.test"], cwd=work, env=env)
        _, sent = run_measured([outreach, "send", "Bench", "--template", template, "--wait"], cwd=work, env=env)
        run_measured([outreach, "sync", "--since", "2000-01-01"], cwd=work, env=env)
        plan = [outreach, "plan", "Bench", "--round", "2", "--no-sync", "--json"]
        run_measured(plan, cwd=work, env=env)  # the database file in the page cache, as for any plan after a sync
        ours = min(run_measured(plan, cwd=work, env=env)[0] for _ in range(3))
        if os.environ.get("BENCH_PROFILE"):
            # perf record of the plan itself, for finding where the time goes (not part of the figures).
            run_measured(["perf", "record", "-g", "-o", os.environ["BENCH_PROFILE"]] + plan, cwd=work, env=env)
        if not baseline:
            print(f"  {label:<40} {ours:8.2f} s  (whole command, best of 3)")
            return ours
        ids = [line.split("<", 1)[1].split(">", 1)[0] for line in sent.splitlines() if line.startswith("SENT ")]
        sample = random.Random(7).sample(ids, 20)
        run_measured([sys.executable, "-c", PYTHON_LIVE, str(state["imapsPort"]), state["caFile"], "bench@example.test", "bench-pw", sample[0]])
        _, per = run_measured([sys.executable, "-c", PYTHON_LIVE, str(state["imapsPort"]), state["caFile"], "bench@example.test", "bench-pw"] + sample)
        live = float(per) * prospects
        print(f"Planning a {prospects:,}-prospect follow-up round, {mailbox:,} messages in the mailbox:")
        print(f"  {label:<40} {ours:8.2f} s  (whole command, best of 3)")
        print(f"  live: one UID SEARCH HEADER per prospect {live:8.2f} s  ({float(per) * 1000:.0f} ms each, measured on 20, times {prospects:,})")
        print(f"  ratio                                    {live / ours:8.0f}x faster")
    finally:
        stop_processes(procs)
        subprocess.run(["/usr/bin/python3", servers, "stop", mail], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def bench_claims(outreach, jobs, workers_counts=(1, 2, 4)):
    """Jobs per second that N `outreach worker` processes claim, run and finish from one PostgreSQL: one job for each
    of `jobs` accounts (jobs of one account wait for each other, so they would measure the account lock instead),
    each with nothing to send, so claiming and finishing is all there is."""
    work = tempfile.mkdtemp(prefix="outreach-bench-claims-")
    os.chmod(work, 0o755)
    procs = []
    try:
        url, port = start_postgres(work, procs)
        env = outreach_env(work, url)
        csv_path = os.path.join(work, "one.csv")
        with open(csv_path, "w") as f:
            f.write("email,select\np@example.test,\n")
        run_measured([outreach, "init"], cwd=work, env=env)
        run_measured([outreach, "account", "add", "a0@example.test", "--smtp", "smtps://127.0.0.1:1", "--imap", "imaps://127.0.0.1:1", "--password-stdin"],
                     cwd=work, stdin="x", env=env)
        run_measured([outreach, "campaign", "import", "C0", csv_path, "--account", "a0@example.test"], cwd=work, env=env)

        def columns(table, leave_out):
            names = psql(port, f"SELECT string_agg(quote_ident(column_name), ',' ORDER BY ordinal_position) FROM information_schema.columns "
                               f"WHERE table_schema = current_schema() AND table_name = '{table}'").split(",")
            return [n for n in names if n.strip('"') not in leave_out]

        # The other accounts through the CLI (a sealed password is bound to its account); their campaigns and
        # prospects as copies of the first.
        for n in range(1, jobs):
            run_measured([outreach, "account", "add", f"a{n}@example.test", "--smtp", "smtps://127.0.0.1:1", "--imap", "imaps://127.0.0.1:1",
                          "--password-stdin"], cwd=work, stdin="x", env=env)
        campaign_cols = columns("campaign", {"id", "name", "accountID"})
        psql(port, f"INSERT INTO campaign (name, \"accountID\", {','.join(campaign_cols)}) SELECT 'C' || a.id, a.id, {','.join('c.' + c for c in campaign_cols)} "
                   f"FROM campaign c CROSS JOIN account a WHERE c.name = 'C0' AND a.email <> 'a0@example.test'")
        prospect_cols = columns("prospect", {"id", "campaignID"})
        psql(port, f"INSERT INTO prospect (\"campaignID\", {','.join(prospect_cols)}) SELECT c.id, {','.join('p.' + x for x in prospect_cols)} "
                   f"FROM prospect p CROSS JOIN campaign c WHERE p.\"campaignID\" = (SELECT id FROM campaign WHERE name = 'C0') AND c.name <> 'C0'")
        counters = '{"total":0,"sent":0,"drafted":0,"skipped":0,"failed":0,"held":0}'
        print(f"Claims from one PostgreSQL: {jobs:,} jobs, one for each of {jobs:,} accounts, each with nothing to send (send-selected, no row selected);")
        print("  each worker process runs up to OUTREACH_WORKER_CONCURRENCY (4) jobs at once and polls every 50 ms:")
        for workers in workers_counts:
            psql(port, "DELETE FROM job; DELETE FROM delivery; DELETE FROM account_lease")
            psql(port, f"""INSERT INTO job ("campaignID", "accountID", round, mode, force, "domainReplies", template, "templateName", state, "runAt", "createdAt", counters)
                SELECT c.id, c."accountID", 1, 'send-selected', false, false, 'Subject: x' || chr(10) || chr(10) || 'y', 'bench.md', 'pending', now(), now(), '{counters}'
                FROM campaign c""")
            total = int(psql(port, "SELECT count(*) FROM job"))
            start = time.perf_counter()
            running = []
            for w in range(workers):
                worker_env = dict(env, OUTREACH_WORKER_POLL="50ms")
                running.append(subprocess.Popen([outreach, "worker"], cwd=work, env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                stdin=subprocess.DEVNULL, start_new_session=True))
            procs.extend(running)
            while int(psql(port, "SELECT count(*) FROM job WHERE state IN ('completed', 'failed', 'cancelled', 'missed')")) < total:
                if time.perf_counter() - start > 600:
                    sys.exit("the workers did not finish the jobs in 10 minutes")
                time.sleep(0.05)
            seconds = time.perf_counter() - start
            for p in running:
                p.send_signal(signal.SIGTERM)
            for p in running:
                p.wait(timeout=30)
            failed = int(psql(port, "SELECT count(*) FROM job WHERE state <> 'completed'"))
            twice = psql(port, """SELECT count(*) FROM (SELECT "jobID" FROM job_event WHERE detail LIKE 'started by %' GROUP BY "jobID" HAVING count(*) > 1) t""")
            print(f"  {workers} worker{'s' if workers > 1 else ' '}  {seconds:7.2f} s  {total / seconds:8.1f} jobs/s   ({failed} not completed, {twice} started twice)")
            if failed:
                print("    for example: " + psql(port, "SELECT state || ': ' || coalesce(note, '') FROM job WHERE state <> 'completed' LIMIT 1"))
    finally:
        stop_processes(procs)
        shutil.rmtree(work, ignore_errors=True)


def bench_postgres(outreach, messages, prospects, mailbox, claim_jobs):
    """The send and the plan on SQLite and on PostgreSQL in one run, then claims by 1, 2 and 4 workers."""
    work = tempfile.mkdtemp(prefix="outreach-bench-pg-")
    os.chmod(work, 0o755)
    procs = []
    try:
        url, _ = start_postgres(work, procs)
        print(f"Send, {messages:,} messages, throttle 0, one TLS connection, into a discarding sink; SQLite and PostgreSQL ledgers:")
        sqlite = bench_send(outreach, messages, label="outreach send on SQLite", baseline=False)
        postgres = bench_send(outreach, messages, db=url, label="outreach send on PostgreSQL", baseline=False)
        print(f"  PostgreSQL / SQLite          {postgres / sqlite:7.2f}x the time")
        # The plan needs an empty database: a second one on the same server.
        port = int(url.split(":")[2].split("/")[0])
        subprocess.run([f"{postgres_binaries()}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "outreach", "plan"], check=True)
        print(f"Planning a {prospects:,}-prospect follow-up round, {mailbox:,} messages in the mailbox; SQLite and PostgreSQL:")
        sqlite = bench_plan(outreach, prospects, mailbox, label="outreach plan on SQLite", baseline=False)
        postgres = bench_plan(outreach, prospects, mailbox, db=url.replace("/bench?", "/plan?"), label="outreach plan on PostgreSQL", baseline=False)
        print(f"  PostgreSQL / SQLite                      {postgres / sqlite:8.2f}x the time")
    finally:
        stop_processes(procs)
        shutil.rmtree(work, ignore_errors=True)
    bench_claims(outreach, claim_jobs)


WRK_LATENCY = ("50%", "90%", "99%")


def wrk(url, cookie, seconds=10, connections=50):
    """Runs wrk with a session cookie; returns (requests/s, {percentile: ms}, errors)."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Cookie: {cookie}", url],
                         capture_output=True, text=True, check=True).stdout
    def ms(text):
        value, unit = float(text[:-2] if text.endswith(("ms", "us")) else text[:-1]), text[-2:] if text.endswith(("ms", "us")) else text[-1:]
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    latency = {}
    errors = 0
    rate = 0.0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in WRK_LATENCY:
            latency[parts[0]] = ms(parts[1])
        if line.strip().startswith("Requests/sec:"):
            rate = float(parts[1])
        if "Non-2xx or 3xx responses" in line or line.strip().startswith("Socket errors"):
            errors += sum(int(x.strip(",")) for x in parts if x.strip(",").isdigit())
    return rate, latency, errors


def bench_web(outreach, jobs):
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: run scripts/install-deps --bench")
    work = tempfile.mkdtemp(prefix="outreach-bench-web-")
    procs = []
    try:
        env = outreach_env(work)
        env["OUTREACH_SYNC_EVERY"] = "1h"
        run_measured([outreach, "init"], cwd=work, env=env)
        run_measured([outreach, "account", "add", "bench@example.test", "--smtp", "smtps://127.0.0.1:1", "--imap", "imaps://127.0.0.1:1",
                      "--password-stdin"], cwd=work, stdin="x", env=env)
        csv_path = os.path.join(work, "prospects.csv")
        write_csv(csv_path, 200)
        run_measured([outreach, "campaign", "import", "Bench", csv_path, "--account", "bench@example.test"], cwd=work, env=env)
        run_measured([outreach, "user", "add", "admin@example.test", "--admin", "--password-stdin"], cwd=work, stdin="bench-admin-pw", env=env)
        # 10,000 finished jobs, written straight into the database (creating them through the guard window would
        # need 10,000 different hours).
        import sqlite3
        db = sqlite3.connect(env["OUTREACH_DB"])
        counters = json.dumps({"total": 200, "sent": 180, "drafted": 0, "skipped": 15, "failed": 3, "held": 2})
        now = time.time()
        db.executemany(
            "INSERT INTO job (campaignID, accountID, round, mode, variant, force, template, templateName, state, runAt, createdAt, startedAt, "
            "finishedAt, counters, note) VALUES (1, 1, 1, 'send-all', NULL, 0, 'Subject: x\n\nHi', 'bench.md', 'completed', ?, ?, ?, ?, ?, NULL)",
            [(time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime(now - 7200 * i)),) * 4 + (counters,) for i in range(jobs)])
        db.commit()
        db.close()
        port = free_port()
        log = open(os.path.join(work, "serve.log"), "w")
        serve = subprocess.Popen([outreach, "serve", "--port", str(port)], cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        procs.append(serve)
        wait_for_port(port)
        time.sleep(2)
        with open(f"/proc/{serve.pid}/status") as f:
            idle_rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
        # Sign in as a browser would: the login form's CSRF cookie and token, then the session cookie.
        import http.cookiejar, re, urllib.parse, urllib.request
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"http://127.0.0.1:{port}/login").read().decode()
        token = re.search(r'name="_csrf" value="([0-9a-f]+)"', page).group(1)
        form = urllib.parse.urlencode({"_csrf": token, "email": "admin@example.test", "password": "bench-admin-pw", "next": "/jobs"}).encode()
        opener.open(f"http://127.0.0.1:{port}/login", data=form).read()
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar if c.name == "outreach_session")
        if not cookie:
            sys.exit("could not sign in to the benchmark server")
        print(f"Web UI, {jobs:,} jobs in the database, 50 connections for 10 s each (wrk), one `outreach serve` on loopback:")
        for label, path in (("GET /jobs (HTML, newest 100)", "/jobs"), ("GET /api/jobs (JSON, newest 100)", "/api/jobs"),
                            ("baseline: GET /healthz", "/healthz")):
            profiler = None
            if os.environ.get("BENCH_PROFILE") and path == "/jobs":
                # perf record of the server under this load, for finding where the time goes (not part of the figures).
                profiler = subprocess.Popen(["perf", "record", "-g", "-p", str(serve.pid), "-o", os.environ["BENCH_PROFILE"], "--", "sleep", "8"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            rate, latency, errors = wrk(f"http://127.0.0.1:{port}{path}", cookie)
            if profiler:
                profiler.wait()
            print(f"  {label:34} {rate:>9,.0f} req/s  p50 {latency.get('50%', 0):6.2f} ms  p90 {latency.get('90%', 0):6.2f} ms  "
                  f"p99 {latency.get('99%', 0):6.2f} ms  errors {errors}")
        print(f"  idle `outreach serve` resident memory: {idle_rss:.1f} MB")
    finally:
        stop_processes(procs)
        shutil.rmtree(work, ignore_errors=True)


SISIMAI = r'''
use strict; use warnings; use Sisimai; use JSON::PP;
# Sisimai 4.25's API: make() parses a file (mbox or one message) and returns Sisimai::Data, one per recipient.
my @rows;
for my $file (@ARGV) {
    my $data = Sisimai->make($file, 'delivered' => 1) || [];
    push @rows, { file => $file, results => [ map { { reason => $_->reason, soft => $_->softbounce + 0,
        status => $_->deliverystatus } } @$data ] };
}
print JSON::PP->new->canonical->encode(\@rows);
'''

# Where Outreach differs from Sisimai on purpose (README, "Bounce reasons"): Sisimai calls everything but an unknown
# user or host, a moved mailbox and a null MX soft; Outreach calls policy, reputation, authentication, content and
# rate refusals "sender" (neither hard nor soft: the account's problem), and a permanent failure whose reason it
# cannot tell soft.
DELIBERATE = {
    ("user-unknown", "filtered"): "Sisimai 4.25 calls a refusal after DATA 'filtered' (soft) even when it says 'user unknown'",
    ("user-unknown", "rejected"): "'does not exist' / 'unknown user' read as the recipient's, Sisimai blames the sender",
    ("user-unknown", "mailboxfull"): "the reply says 'user unknown' (5.x.1); Sisimai goes by its 5.2.x status",
    ("user-unknown", "expired"): "Gmail's 'failed permanently … does not exist': Sisimai reads the retry wording",
    ("user-unknown", "mailererror"): "procmail 'No such user': Sisimai calls the local delivery agent's error its own",
    ("user-unknown", "securityerror"): "SES '5.1.0 Unknown address error': the address, not the security of our mail",
    ("undefined", "userunknown"): "no wording Outreach can tie to the address: soft until proven (a wrong suppression loses a lead)",
    ("undefined", "notaccept"): "no wording Outreach can tie to the address: soft until proven",
    ("blocked", "hostunknown"): "Exim's 'the account or domain may not exist, they may be blacklisted': never suppress on a maybe",
    ("user-unknown", "userunknown"): "a 4.x.x 'user unknown' is temporary: soft until the MTA gives up",
    ("host-unknown", "networkerror"): "Postfix 'Name service error … type=MX': the domain's DNS, read as host unknown",
}


def bench_classify(outreach, corpus):
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus) if f.endswith(".eml"))
    work = tempfile.mkdtemp(prefix="outreach-bench-classify-")
    try:
        script = os.path.join(work, "sisimai.pl")
        with open(script, "w") as f:
            f.write(SISIMAI)
        best_ours = best_theirs = None
        for _ in range(3):
            ours, ours_out = run_measured([outreach, "classify", "--json"] + files)
            theirs, theirs_out = run_measured(["perl", script] + files)
            best_ours = ours if best_ours is None else min(best_ours, ours)
            best_theirs = theirs if best_theirs is None else min(best_theirs, theirs)
        outreach_rows = {os.path.basename(r["file"]): r for r in json.loads(ours_out)}
        sisimai_rows = {os.path.basename(r["file"]): r["results"] for r in json.loads(theirs_out)}
        not_bounce = ("delivered", "feedback", "vacation")
        bounce_disagreements, severity_disagreements, deliberate = [], [], {}
        both = 0
        for name, row in sorted(outreach_rows.items()):
            theirs = [r for r in sisimai_rows.get(name, []) if r["reason"] not in not_bounce]
            ours_bounce = row["class"] == "bounce"
            if ours_bounce != bool(theirs):
                said = ",".join(r["reason"] for r in sisimai_rows.get(name, [])) or "nothing parsed"
                bounce_disagreements.append(f"{name}: outreach {row['class']}, sisimai {said}")
                continue
            if not ours_bounce:
                continue
            both += 1
            their_hard = any(r["soft"] == 0 for r in theirs)
            if their_hard == (row["severity"] == "hard"):
                continue
            key = (row["bounceReason"], theirs[0]["reason"])
            line = (f"{name}: outreach {row['severity']} ({row['bounceReason']}), sisimai "
                    f"{'hard' if their_hard else 'soft'} ({','.join(sorted({r['reason'] for r in theirs}))})")
            if key in DELIBERATE:
                deliberate.setdefault(key, []).append(name)
            else:
                severity_disagreements.append(line)
        print(f"Bounce classification, {len(files)} files of {corpus}:")
        print(f"  outreach classify --json     {best_ours:7.2f} s  {len(files) / best_ours:>8,.0f} files/s  (best of 3)")
        print(f"  Sisimai {sisimai_version():<21}{best_theirs:7.2f} s  {len(files) / best_theirs:>8,.0f} files/s  (best of 3)")
        print(f"  ratio                        {best_theirs / best_ours:7.2f}x faster")
        print(f"  bounce or not: {len(bounce_disagreements)} disagreements")
        for line in bounce_disagreements:
            print(f"    {line}")
        sender = sum(1 for r in outreach_rows.values() if r["severity"] == "sender")
        print(f"  hard/soft, {both} bounces both read ('sender' counts as not hard; {sender} of Outreach's are 'sender'):")
        print(f"    deliberate differences: {sum(len(v) for v in deliberate.values())}")
        for key, names in sorted(deliberate.items(), key=lambda kv: -len(kv[1])):
            print(f"      {len(names):3}  outreach {key[0]} / sisimai {key[1]}: {DELIBERATE[key]}")
        print(f"    other disagreements: {len(severity_disagreements)}")
        for line in severity_disagreements:
            print(f"      {line}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sisimai_version():
    out = subprocess.run(["perl", "-MSisimai", "-e", "print $Sisimai::VERSION"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["import", "send", "sync", "plan", "web", "classify", "postgres", "claims", "all"])
    parser.add_argument("--claim-jobs", type=int, default=600)
    parser.add_argument("--corpus", default=os.path.join(os.path.dirname(ROOT), "shared/corpora/bounces"))
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--prospects", type=int, default=10_000)
    parser.add_argument("--mailbox", type=int, default=None, help="100000 (20000 for postgres)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--outreach", default=os.path.join(ROOT, ".build/release/outreach"))
    args = parser.parse_args()
    if not os.path.exists(args.outreach):
        sys.exit(f"{args.outreach} not found: run `swift build -c release --product outreach` first")
    outreach = os.path.abspath(args.outreach)
    if args.what == "claims":
        bench_claims(outreach, args.claim_jobs)
        return
    if args.what == "postgres":
        bench_postgres(outreach, args.messages, args.prospects, args.mailbox or 20_000, args.claim_jobs)
        return
    args.mailbox = args.mailbox or 100_000
    if args.what in ("import", "all"):
        bench_import(outreach, args.rows)
    if args.what in ("send", "all"):
        bench_send(outreach, args.messages)
    if args.what in ("sync", "all"):
        bench_sync(outreach, args.mailbox)
    if args.what in ("plan", "all"):
        bench_plan(outreach, args.prospects, args.mailbox)
    if args.what in ("web", "all"):
        bench_web(outreach, args.jobs)
    if args.what in ("classify", "all"):
        bench_classify(outreach, os.path.abspath(args.corpus))


if __name__ == "__main__":
    main()
