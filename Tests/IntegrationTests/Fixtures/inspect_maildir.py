#!/usr/bin/python3
"""Reads every message of the given users' Maildirs (as the test servers store them) with Python's own email
package under the strict policy, and prints one JSON object: user -> folder -> [message summary].

An independent parser: if Outreach wrote something a strict RFC 5322/MIME reader rejects, "defects" says so.

usage: inspect_maildir.py MAIL_ROOT USER [USER ...]
"""
import email
import email.policy
import json
import os
import sys


def folders(maildir):
    yield "INBOX", maildir
    for entry in sorted(os.listdir(maildir)):
        if entry.startswith(".") and os.path.isdir(os.path.join(maildir, entry, "cur")):
            yield entry[1:], os.path.join(maildir, entry)


def summarize(raw, flags):
    problems = []
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.strict)
    except Exception as e:  # the strict policy raises on the first defect
        # Still say which message it is and how it is flagged: a test comparing flags must find every message.
        lenient = email.message_from_bytes(raw, policy=email.policy.compat32)
        header = lambda name: str(lenient[name]) if lenient[name] is not None else None
        return {"messageId": header("Message-ID"), "flags": flags, "defects": [f"strict parse failed: {e!r}"]}
    problems += [repr(d) for d in msg.defects]
    parts = {}
    for part in msg.walk():
        problems += [repr(d) for d in part.defects]
        if part.get_content_maintype() == "multipart":
            continue
        try:
            parts[part.get_content_type()] = part.get_content()
        except Exception as e:
            problems.append(f"{part.get_content_type()}: {e!r}")
    header = lambda name: str(msg[name]) if msg[name] is not None else None
    return {
        "messageId": header("Message-ID"),
        "from": header("From"),
        "to": header("To"),
        "subject": header("Subject"),
        "date": header("Date"),
        # As written (unfolded), not parsed: the test reads the ids itself.
        "inReplyTo": header("In-Reply-To"),
        "references": header("References"),
        "contentType": msg.get_content_type(),
        "text": parts.get("text/plain"),
        "html": parts.get("text/html"),
        "flags": flags,
        "defects": problems,
    }


def main():
    root, users = sys.argv[1], sys.argv[2:]
    out = {}
    for user in users:
        maildir = os.path.join(root, user, "Maildir")
        out[user] = {}
        if not os.path.isdir(maildir):
            continue
        for name, path in folders(maildir):
            messages = []
            for sub in ("new", "cur"):
                directory = os.path.join(path, sub)
                for fname in sorted(os.listdir(directory)):
                    flags = fname.split(":2,", 1)[1] if ":2," in fname else ""
                    with open(os.path.join(directory, fname), "rb") as f:
                        messages.append(summarize(f.read(), flags))
            out[user][name] = messages
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
