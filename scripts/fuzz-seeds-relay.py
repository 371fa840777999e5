#!/usr/bin/env python3
"""(Re)builds the seeds of the `relay_syntax` and `dms_env` fuzz targets.

relay_syntax (layout: fuzz/src/relay_syntax_checks.rs, value A, 0xff, value B):
  hand-picked relay hosts, ports, domains, users, passwords, table references
  and main.cf values, plus every ENV value and `setup relay` argument of
  conformance/dms and every map reference in conformance/maincf.
dms_env (layout: `decode` in fuzz/src/dms_env_checks.rs): one seed per
  conformance/dms scenario (its env file and in/ files), plus hostile ones.
"""
import os, re, shlex, struct, sys

root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
dms = os.path.join(root, "conformance", "dms")
NAMES = ["DEFAULT_RELAY_HOST", "RELAY_HOST", "RELAY_PORT", "RELAY_USER", "RELAY_PASSWORD",
         "DEFAULT_RELAY_HOST__FILE", "RELAY_HOST__FILE", "RELAY_PORT__FILE", "RELAY_USER__FILE",
         "RELAY_PASSWORD__FILE", "PATH", "relay_host", "RELAY_HOST ", "RELAY_PASSWORD__FILE__FILE"]


def reset(d):
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))


def encode(pairs, file=b"", relaymap=None, sasl=None, accounts=b"", virtual=b""):
    out = bytearray([len(pairs[:7])])
    for name, value in pairs[:7]:
        out.append(NAMES.index(name))
        v = value[:255]
        out.append(len(v))
        out += v
    out.append(len(file[:255])); out += file[:255]
    out.append((relaymap is not None) | ((sasl is not None) << 1))
    for part in (relaymap, sasl):
        p = (part or b"")[:65535]
        out += struct.pack("<H", len(p)); out += p
    out.append(len(accounts[:255])); out += accounts[:255]
    out += virtual
    return bytes(out)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------- relay_syntax
values = set()
for scen in sorted(os.listdir(dms)):
    d = os.path.join(dms, scen)
    if not os.path.isdir(d):
        continue
    for line in (read(os.path.join(d, "env")) or b"").splitlines():
        if b"=" in line:
            values.add(line.split(b"=", 1)[1])
    for line in (read(os.path.join(d, "commands")) or b"").decode().splitlines():
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        for w in words[2:]:
            values.add(w.encode())
for v in [
    "smtp.relay.test", "[smtp.relay.test]", "[smtp.relay.test]:587", "smtp.relay.test:587",
    "[IPv6:2001:db8::1]:587", "[2001:db8::1]", "[192.0.2.1]:25", "192.0.2.1", "2001:db8::1",
    "[h]:", "[h]x", "h:25:26", "[[h]]", "[h]]:25", "h]", "[1.2.3]", "relay_1.test",
    "ехаmple.com", "example\uff1acom", "exa\u200bmple.org", "\u202eexample.org", "a*b.test",
    "0", "25", "025", "65535", "65536", "25abc", "+25", "-1", " 25", "99999999999999999999",
    "Example.ORG", "xn--bcher-kva.example", "1.2.3.4", "a..b", "-a.test", "a-.test",
    "user", "apikey", "us:er", "#u", "p:w&\\1", "pw #x", " pw", "pw ", "p\tw", "p\nw", "p\x00w",
    "hash:/etc/postfix/a", "texthash:/etc/postfix/relayhost_map", "inline:{ a=b, { c = d e } }",
    "static:{ x y }", "proxy:hash:/x", "unionmap:{ hash:/a, hash:/b }", "regexp:{ {/a/ b} }",
    "randmap:{a, b}", "pipemap:{hash:/a, inline:{x=y}}", "inline:{", "inline:{}", ":x", "x:",
    "yes", "NO", "true", "10s", "1h", "3d", "2w", "2147483647", "-2147483648", "9223372036854775808",
    "a, b { c d },e", "{a}b", "${a}", "$a:b", "hash:/a,\x00hash:/b",
    "proxy:" * 70 + "hash:/x", "unionmap:{" * 70 + "hash:/x" + "}" * 70,
]:
    values.add(v.encode())
pairs = [
    (b"user", b"secret"), (b"apikey", b"s3cr:et"), (b"u:x", b"pw"), (b"u", b" pw"),
    (b"u", b"pw #c"), (b"u", b"pw\nx"), (b"smtp.relay.test", b"587"), (b"[h]:25", b"2525"),
    (b"h", b"0"), (b"h", b"65536"), (b"h", b"25abc"), (b"2001:db8::1", b"25"), (b"[h", b""),
]
out = os.path.join(root, "fuzz", "seeds", "relay_syntax")
reset(out)
for i, v in enumerate(sorted(values)):
    with open(os.path.join(out, "v%03d" % i), "wb") as f:
        f.write(v)
for i, (a, b) in enumerate(pairs):
    with open(os.path.join(out, "p%03d" % i), "wb") as f:
        f.write(a + b"\xff" + b)

# ---------------------------------------------------------------- dms_env
out = os.path.join(root, "fuzz", "seeds", "dms_env")
reset(out)
for scen in sorted(os.listdir(dms)):
    d = os.path.join(dms, scen)
    if not os.path.isdir(d):
        continue
    pairs = []
    for line in (read(os.path.join(d, "env")) or b"").splitlines():
        if b"=" in line:
            k, v = line.split(b"=", 1)
            if k.decode() in NAMES:
                pairs.append((k.decode(), v))
    inn = os.path.join(d, "in")
    seed = encode(pairs, relaymap=read(os.path.join(inn, "postfix-relaymap.cf")),
                  sasl=read(os.path.join(inn, "postfix-sasl-password.cf")),
                  accounts=read(os.path.join(inn, "postfix-accounts.cf")) or b"",
                  virtual=read(os.path.join(inn, "postfix-virtual.cf")) or b"")
    with open(os.path.join(out, scen), "wb") as f:
        f.write(seed)
acc = b"a@alpha.test|x\nb@beta.test|y\n"
hostile = {
    "file-variants": encode([("RELAY_HOST__FILE", b"/h"), ("RELAY_PASSWORD__FILE", b"/p"),
                             ("RELAY_USER", b"u")], file=b"smtp.relay.test\n\n", accounts=acc),
    "file-missing": encode([("RELAY_PASSWORD__FILE", b"missing")], accounts=acc),
    "file-not-utf8": encode([("RELAY_USER__FILE", b"/u")], file=b"\xff\xfe\n", accounts=acc),
    "both-set": encode([("RELAY_HOST", b"h.test"), ("RELAY_HOST__FILE", b"/x")], file=b"x", accounts=acc),
    "injection": encode([("RELAY_HOST", b"h.test\n@evil.test [x]"), ("RELAY_PASSWORD", b"p\nw"),
                         ("RELAY_USER", b"u")], accounts=acc),
    "crlf-files": encode([("RELAY_HOST", b"[h.test]:587"), ("RELAY_USER", b"u"), ("RELAY_PASSWORD", b"pw")],
                         relaymap=b"@a.test [x]:25\r\n  @b.test\r\n@c.test [y] # c\r\n@a.test dup\r\n",
                         sasl=b"@a.test u:p\r\n[h.test]:587 v:q\r\nnovalue\r\n@a.test again\r\n",
                         accounts=b"a@a.test|x\r\nb@b.test|y\r\n"),
    "cr-separators": encode([("RELAY_HOST", b"h.test")], relaymap=b"@a.test\r[x]:25\n@b.test \r [y]\n",
                            sasl=b"@a.test\ru:p\n", accounts=acc),
    "nul-bytes": encode([("DEFAULT_RELAY_HOST", b"[d.test]:25"), ("RELAY_USER", b"u"), ("RELAY_PASSWORD", b"p")],
                        relaymap=b"@a\x00.test [x]\n", sasl=b"@a.test u\x00:p\n", accounts=acc),
    "both-hosts": encode([("DEFAULT_RELAY_HOST", b"[d.test]:587"), ("RELAY_HOST", b"h.test:2525"),
                          ("RELAY_PORT", b"25"), ("RELAY_USER", b"u"), ("RELAY_PASSWORD", b"p")], accounts=acc),
    "virtual": encode([("RELAY_HOST", b"h.test")], accounts=b"",
                      virtual=b"@wild.test a@b.test\n  info@B.test\tx\n a\rb@c.test y\n"),
}
for name, seed in hostile.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(seed)
print("relay_syntax:", len(os.listdir(os.path.join(root, "fuzz", "seeds", "relay_syntax"))),
      "dms_env:", len(os.listdir(out)))
