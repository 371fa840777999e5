#!/usr/bin/env python3
"""Fake relay SMTP servers for the dms-relay end-to-end test (stdlib only).

Usage:
  fake_relay.py --cert CERT --key KEY --log LOG --ready READY \
                NAME=ADDR[:PORT]/MECH[,MECH...] ...

Each NAME listens on ADDR:PORT (PORT 0 or missing = a free port chosen by the
kernel). Once every listener is bound, READY is written atomically as a JSON
object {NAME: "ADDR:PORT", ...}. Every server speaks ESMTP, offers STARTTLS
(with CERT/KEY) and, only after STARTTLS, `AUTH <MECHS>` (PLAIN and/or LOGIN).
It accepts every command sequence a well-behaved client sends: AUTH with any
credentials (235), any MAIL FROM / RCPT TO (250) and the message (250), so
the client never retries. For every accepted message one JSON line is
appended to LOG:

  {"relay": NAME, "listen": "ADDR:PORT", "peer": "IP:PORT", "session": N,
   "helo": ..., "tls": bool, "tls_version": ..., "auth": null |
   {"mechanism": "PLAIN"|"LOGIN", "authzid": ..., "user": ..., "password": ...},
   "mail_from": "...", "rcpt_to": [...], "size": BYTES}

Failed or refused AUTH attempts and protocol errors are logged as
{"event": ...} lines. The process exits when its stdin reaches EOF (the test
holds the pipe, so the servers die with the test even if it is killed), on
SIGTERM, or after --max-seconds (default 600).
"""

import argparse
import base64
import binascii
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time

LOCK = threading.Lock()
SESSIONS = [0]


def log(path, record):
    line = json.dumps(record, sort_keys=True) + "\n"
    with LOCK:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


def b64(s):
    return base64.b64decode(s.strip(), validate=True).decode("utf-8", "surrogateescape")


def angle(arg):
    """The address of `FROM:<addr> PARAMS` / `TO:<addr> PARAMS`."""
    arg = arg.split(":", 1)[1].strip() if ":" in arg else arg
    if arg.startswith("<"):
        return arg[1 : arg.index(">")] if ">" in arg else arg[1:]
    return arg.split()[0] if arg else ""


class Handler(socketserver.StreamRequestHandler):
    timeout = 60

    def setup(self):
        super().setup()
        with LOCK:
            SESSIONS[0] += 1
            self.session = SESSIONS[0]

    def send(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def recv(self):
        line = self.rfile.readline(65536)
        if not line:
            raise EOFError
        return line.decode("utf-8", "surrogateescape").rstrip("\r\n")

    def event(self, what, **kw):
        rec = {"event": what, "relay": self.server.name, "session": self.session}
        rec.update(kw)
        log(self.server.log_path, rec)

    def handle(self):
        srv = self.server
        self.tls = None
        self.helo = None
        self.auth = None
        self.reset()
        self.send("220 %s ESMTP fake relay" % srv.name)
        try:
            while True:
                line = self.recv()
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                if verb in ("EHLO", "HELO"):
                    self.helo = arg
                    self.reset()
                    if verb == "HELO":
                        self.send("250 %s" % srv.name)
                        continue
                    caps = [srv.name, "SIZE 10240000", "8BITMIME"]
                    if self.tls is None:
                        caps.append("STARTTLS")
                    else:
                        caps.append("AUTH " + " ".join(srv.mechs))
                    caps.append("HELP")
                    for c in caps[:-1]:
                        self.send("250-" + c)
                    self.send("250 " + caps[-1])
                elif verb == "STARTTLS":
                    if self.tls is not None:
                        self.send("503 5.5.1 TLS already active")
                        continue
                    self.send("220 2.0.0 Ready to start TLS")
                    conn = srv.ssl_context.wrap_socket(self.connection, server_side=True)
                    self.connection = conn
                    self.rfile = conn.makefile("rb")
                    self.wfile = conn.makefile("wb")
                    self.tls = conn.version()
                    self.helo = None
                    self.reset()
                elif verb == "AUTH":
                    self.do_auth(arg)
                elif verb == "MAIL":
                    self.mail_from = angle(arg)
                    self.rcpt_to = []
                    self.send("250 2.1.0 Ok")
                elif verb == "RCPT":
                    if self.mail_from is None:
                        self.send("503 5.5.1 Error: need MAIL command")
                        continue
                    self.rcpt_to.append(angle(arg))
                    self.send("250 2.1.5 Ok")
                elif verb == "DATA":
                    if not self.rcpt_to:
                        self.send("503 5.5.1 Error: need RCPT command")
                        continue
                    self.send("354 End data with <CR><LF>.<CR><LF>")
                    size = 0
                    while True:
                        l = self.rfile.readline(1 << 20)
                        if not l:
                            raise EOFError
                        if l in (b".\r\n", b".\n"):
                            break
                        size += len(l)
                    log(
                        srv.log_path,
                        {
                            "relay": srv.name,
                            "listen": srv.listen,
                            "peer": "%s:%d" % self.client_address[:2],
                            "session": self.session,
                            "helo": self.helo,
                            "tls": self.tls is not None,
                            "tls_version": self.tls,
                            "auth": self.auth,
                            "mail_from": self.mail_from,
                            "rcpt_to": self.rcpt_to,
                            "size": size,
                        },
                    )
                    self.send("250 2.0.0 Ok: queued as S%dM" % self.session)
                    self.reset()
                elif verb == "RSET":
                    self.reset()
                    self.send("250 2.0.0 Ok")
                elif verb == "NOOP":
                    self.send("250 2.0.0 Ok")
                elif verb == "QUIT":
                    self.send("221 2.0.0 Bye")
                    return
                else:
                    self.send("502 5.5.2 Error: command not recognized")
        except (EOFError, ConnectionError, ssl.SSLError, socket.timeout, OSError) as e:
            if not isinstance(e, EOFError):
                self.event("connection-error", error=repr(e))

    def reset(self):
        self.mail_from = None
        self.rcpt_to = []

    def do_auth(self, arg):
        srv = self.server
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        if self.tls is None:
            self.event("auth-refused", reason="before STARTTLS", mechanism=mech)
            self.send("530 5.7.0 Must issue a STARTTLS command first")
            return
        if self.auth is not None:
            self.send("503 5.5.1 Error: already authenticated")
            return
        if mech not in srv.mechs:
            self.event("auth-refused", reason="mechanism not offered", mechanism=mech)
            self.send("504 5.5.4 Unrecognized authentication type")
            return
        try:
            if mech == "PLAIN":
                if len(parts) > 1:
                    blob = parts[1]
                else:
                    self.send("334 ")
                    blob = self.recv()
                authzid, user, password = b64(blob).split("\0", 2)
            else:  # LOGIN
                authzid = ""
                if len(parts) > 1:
                    user = b64(parts[1])
                else:
                    self.send("334 VXNlcm5hbWU6")
                    user = b64(self.recv())
                self.send("334 UGFzc3dvcmQ6")
                password = b64(self.recv())
        except (ValueError, binascii.Error) as e:
            self.event("auth-refused", reason="malformed: %r" % e, mechanism=mech)
            self.send("501 5.5.2 Cannot decode response")
            return
        self.auth = {"mechanism": mech, "authzid": authzid, "user": user, "password": password}
        self.send("235 2.7.0 Authentication successful")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("listeners", nargs="+")
    a = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)

    ready = {}
    for spec in a.listeners:
        name, _, rest = spec.partition("=")
        where, _, mechs = rest.partition("/")
        host, _, port = where.partition(":")
        srv = Server((host, int(port or 0)), Handler)
        srv.name = name
        srv.listen = "%s:%d" % srv.server_address[:2]
        srv.mechs = [m.upper() for m in mechs.split(",") if m] or ["PLAIN", "LOGIN"]
        srv.log_path = a.log
        srv.ssl_context = ctx
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        ready[name] = srv.listen

    tmp = a.ready + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(ready, f)
    os.rename(tmp, a.ready)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    time.sleep(a.max_seconds)
    os._exit(3)


if __name__ == "__main__":
    main()
