#!/usr/bin/env python3
"""Independent check of the linkgate link format v1 test vectors.

A second implementation of docs/link-format.md (a verifier and a signer), written
from the specification with the Python standard library only, run against the
three vector files of tests/vectors/:

- v1.json (tokens): every valid vector must verify, give exactly the vector's
  claims, have the vector's payload, and re-signing those claims must give the
  same token; every invalid vector must be refused with exactly its code;
- requests.json (requests): each request, from its raw path, raw query, Host,
  client address text, method and time, must be allowed (with the vector's
  canonical path and jti) or refused with the vector's status, code and, for
  path_invalid, the §7 reason;
- forms.json (text forms): LINKGATE_KEYS values parse to the vector's key ids
  or are refused; host and CIDR inputs give the vector's claim text or are
  refused;
- sealed.json (sealed links, §17): HChaCha20 against the draft's test vector;
  every valid sealed vector opens to the vector's claims and inner payload, and
  re-sealing them with the vector's nonce gives the same token; every invalid
  one is refused with exactly its code.
- credentials.json (scoped admin credentials, docs/admin.md "Format"): every
  valid credential is what signing its claims gives and verifies to them;
  every invalid one is refused with its code. `--write-credentials` writes
  the file from this implementation (the Rust tests check the core against it).
- ed25519.json (Ed25519-signed links, §18): every primitive vector (RFC 8032
  and the strict rules) gives its verdict; every valid token verifies to its
  claims and payload and re-signing with the vector's seed gives the same
  token; every invalid one is refused with exactly its code. The curve
  equation comes from `cryptography` (OpenSSL); the strict rules of §18.3
  (canonical S, canonical points, small order as [8]P = O) are written out
  here on a small Edwards-curve implementation from RFC 8032 §6.
- jwt.json (identity assertions, docs/identity.md): each assertion is judged
  by jwt_vectors.py (strict JWS reader, JWKS key selection, RS256/ES256 by
  `cryptography`, registered claims, person, groups, freshness) and must reach
  the vector's outcome and recorded identity.

Everything but the AEAD is the standard library. XChaCha20-Poly1305 is built
here from its definition (draft-irtf-cfrg-xchacha-03 §2): HChaCha20 is written
out below, the ChaCha20-Poly1305 AEAD (RFC 8439) comes from PyPI's
`cryptography` (scripts/test.sh installs it when missing).

Prints one line per failure and a final "N passed, M failed"; exits 1 on any
failure.

    python3 tests/vectors/check_vectors.py [path/to/tests/vectors]
"""

import base64
import hashlib
import struct
import hmac
import ipaddress
import json
import os
import re
import sys
import unicodedata

# --- constants (docs/link-format.md §3, §5) ----------------------------------

VERSION = 0x01
DOMAIN = b"linkgate-link-v1\x00"
TAG_BYTES = 32
MAX_TOKEN_CHARS = 2774
MAX_PAYLOAD_BYTES = 2048
MAX_CIDRS = 16
MAX_KID = 32
MAX_LABEL = 128
MAX_HOST = 259
MAX_FILENAME = 255
MAX_CONTENT_TYPE = 127
MAX_PATH = 1024
MAX_RAW_PATH = 3 * MAX_PATH
MAX_NAME = 253
MIN_KEY, MAX_KEY = 32, 64
# WHATWG's ASCII whitespace: what the key ring trims (§6), and nothing else.
ASCII_WS = " \t\n\f\r"

B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
B64_VALUE = {c: i for i, c in enumerate(B64_ALPHABET)}
KID_CHARS = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
HOST_CHARS = set(b"abcdefghijklmnopqrstuvwxyz0123456789-.:[]")
TCHARS = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~")
HEX_DIGITS = set(b"0123456789abcdefABCDEF")

# field tags (§4.2)
KID, JTI, IAT, EXP, NBF, SCOPE, HOST, SUB, TENANT, IP, USES, MODE, FILENAME, CONTENT_TYPE = range(1, 15)
MODES = {1: "stream", 2: "redirect"}


class Refused(Exception):
    """A refusal with its contract code."""

    def __init__(self, code, why=""):
        super().__init__(f"{code}: {why}")
        self.code = code
        self.why = why


def malformed(why):
    return Refused("token_malformed", why)


def path_invalid(why):
    return Refused("path_invalid", why)


# --- §2 strict base64url ------------------------------------------------------

def b64url_decode(text):
    """Strict: alphabet only, no padding, length not 1 mod 4, zero trailing bits."""
    if len(text) % 4 == 1:
        raise ValueError("impossible length")
    vals = []
    for ch in text:
        if ch not in B64_VALUE:
            raise ValueError(f"character {ch!r}")
        vals.append(B64_VALUE[ch])
    rem = len(text) % 4
    if rem == 2 and vals[-1] & 0x0F:
        raise ValueError("non-canonical trailing bits")
    if rem == 3 and vals[-1] & 0x03:
        raise ValueError("non-canonical trailing bits")
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded)


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


# --- §6 key ring --------------------------------------------------------------

def valid_kid(b):
    return 1 <= len(b) <= MAX_KID and all(c in KID_CHARS for c in b)


def parse_keys(text):
    ring = {}  # insertion-ordered: the first key signs
    for entry in text.split(","):
        entry = entry.strip(ASCII_WS)
        if not entry:
            continue
        if ":" not in entry:
            raise ValueError("entry without ':'")
        kid, key = entry.split(":", 1)
        kid = kid.strip(ASCII_WS)
        if not valid_kid(kid.encode("utf-8")):
            raise ValueError(f"bad kid {kid!r}")
        if kid in ring:
            raise ValueError(f"duplicate kid {kid!r}")
        raw = b64url_decode(key.strip(ASCII_WS).rstrip("="))
        if not MIN_KEY <= len(raw) <= MAX_KEY:
            raise ValueError(f"key {kid!r} has {len(raw)} bytes")
        ring[kid] = raw
    if not ring:
        raise ValueError("no keys")
    return ring


# --- §7 canonical paths, §8 scopes --------------------------------------------

def is_control(cp):
    return cp <= 0x1F or 0x7F <= cp <= 0x9F


_COMPOSING = None


def composing_characters():
    """Characters that can be the second of a primary composite's two-character
    canonical decomposition (NFC_QC=Maybe): they may compose with the character
    before them. Computed once from unicodedata (a second or so)."""
    global _COMPOSING
    if _COMPOSING is None:
        found = set()
        for cp in range(0x110000):
            c = chr(cp)
            d = unicodedata.normalize("NFD", c)
            if d == c:
                continue
            # The pairwise decomposition: from unicodedata.decomposition, or
            # for Hangul syllables (which it leaves empty) L+V / LV+T.
            parts = unicodedata.decomposition(c).split()
            if parts and not parts[0].startswith("<"):
                pair = "".join(chr(int(p, 16)) for p in parts)
            else:
                pair = d if len(d) == 2 else unicodedata.normalize("NFC", d[:2]) + d[2:]
            if len(pair) == 2 and unicodedata.normalize("NFC", pair) == c:
                found.add(pair[1])
        _COMPOSING = frozenset(found)
    return _COMPOSING


def nfc_ok(text):
    """§7 step 7: the text is NFC, and not one of the sequences refused
    conservatively: a composing (Maybe) character right after a non-starter,
    or a composing mark right after a character whose decomposition ends in a
    mark of a higher combining class."""
    if text.isascii():
        return True
    if not unicodedata.is_normalized("NFC", text):
        return False
    maybe = composing_characters()
    for prev, c in zip(text, text[1:]):
        if c in maybe:
            k = unicodedata.combining(c)
            if unicodedata.combining(prev):
                return False
            if k and unicodedata.combining(unicodedata.normalize("NFD", prev)[-1]) > k:
                return False
    return True


def check_decoded_path(text, allow_trailing_slash):
    """Steps 3-7 of §7 on decoded text; returns None or a reason."""
    if not text.startswith("/"):
        return "not_absolute"
    if len(text.encode("utf-8")) > MAX_PATH:
        return "too_long"
    for ch in text:
        if ch == "\x00":
            return "nul"
        if is_control(ord(ch)):
            return "control_character"
        if ch == "\\":
            return "backslash"
    rest = text[1:]
    if rest == "":
        return None if allow_trailing_slash else "empty_segment"
    if allow_trailing_slash and rest.endswith("/"):
        rest = rest[:-1]
    for seg in rest.split("/"):
        if seg == "":
            return "empty_segment"
        if seg in (".", ".."):
            return "dot_segment"
    if not nfc_ok(text):
        return "not_nfc"
    return None


def canonicalize(raw):
    """§7: the canonical path of a raw (percent-encoded) request path."""
    data = raw.encode("utf-8")
    if not data.startswith(b"/"):
        raise path_invalid("not_absolute")
    if len(data) > MAX_RAW_PATH:
        raise path_invalid("too_long")
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == 0x25:  # '%'
            pair = data[i + 1:i + 3]
            if len(pair) != 2 or not all(c in HEX_DIGITS for c in pair):
                raise path_invalid("bad_percent_escape")
            v = int(pair.decode("ascii"), 16)
            if v == 0x2F:
                raise path_invalid("encoded_slash")
            if v == 0x5C:
                raise path_invalid("backslash")
            if v == 0x00:
                raise path_invalid("nul")
            out.append(v)
            i += 3
        else:
            out.append(b)
            i += 1
    if len(out) > MAX_PATH:
        raise path_invalid("too_long")
    try:
        text = bytes(out).decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise path_invalid("invalid_utf8") from None
    why = check_decoded_path(text, allow_trailing_slash=False)
    if why:
        raise path_invalid(why)
    return text


def valid_scope(text):
    return check_decoded_path(text, allow_trailing_slash=text.endswith("/")) is None


def scope_covers(scope, path):
    if scope.endswith("/"):
        return path.startswith(scope)
    return path == scope


# --- address and host text (§4.2, §4.3, §9, §10) --------------------------------

DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
IPV4_TEXT = rf"{DEC_OCTET}(?:\.{DEC_OCTET}){{3}}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{IPV4_TEXT})"
# RFC 3986 §3.2.2 IPv6address, alternative by alternative.
IPV6_TEXT = "(?:" + "|".join([
    rf"(?:{_H16}:){{6}}{_LS32}",
    rf"::(?:{_H16}:){{5}}{_LS32}",
    rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
    rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
    rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
    rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
]) + ")"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_LAST_LABEL = r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
DNS_NAME = rf"(?:{_LABEL}\.)*{_LAST_LABEL}"


def parse_client_addr(text):
    """§9: IPv4 dotted decimal without leading zeros, or RFC 3986 IPv6address;
    anything else (zone ids, brackets, whitespace) is no address: None."""
    if re.fullmatch(IPV4_TEXT, text) or re.fullmatch(IPV6_TEXT, text):
        return ipaddress.ip_address(text)
    return None


def v6_text(packed):
    """§10: RFC 5952 text, never dotted: lowercase, no leading zeros, the
    longest run of two or more zero groups as '::' (the first if tied)."""
    groups = [int.from_bytes(packed[i:i + 2], "big") for i in range(0, 16, 2)]
    best_start, best_len, i = 0, 0, 0
    while i < 8:
        if groups[i] == 0:
            j = i
            while j < 8 and groups[j] == 0:
                j += 1
            if j - i > best_len:
                best_start, best_len = i, j - i
            i = j
        else:
            i += 1
    hexes = [format(g, "x") for g in groups]
    if best_len < 2:
        return ":".join(hexes)
    return ":".join(hexes[:best_start]) + "::" + ":".join(hexes[best_start + best_len:])


def split_host(text):
    """Name and port (None: no port) of a host text; None if it cannot be split."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        name, rest = text[:end + 1], text[end + 1:]
        if rest == "":
            return name, None
        if not rest.startswith(":"):
            return None
        return name, rest[1:]
    colons = text.count(":")
    if colons == 0:
        return text, None
    if colons == 1:
        name, port = text.split(":")
        return name, port
    return None


def valid_host_claim(text):
    """§4.2's host grammar."""
    if not 1 <= len(text) <= MAX_HOST or not all(ord(c) < 128 and ord(c) in HOST_CHARS for c in text):
        return False
    parts = split_host(text)
    if parts is None:
        return False
    name, port = parts
    if port is not None:
        if not re.fullmatch(r"[1-9][0-9]{0,4}", port) or int(port) > 65535:
            return False
    if name.startswith("["):
        inner = name[1:-1]
        return bool(re.fullmatch(IPV6_TEXT, inner)) and v6_text(ipaddress.IPv6Address(inner).packed) == inner
    if re.fullmatch(IPV4_TEXT, name):
        return True
    return len(name) <= MAX_NAME and bool(re.fullmatch(DNS_NAME, name))


def cidr_claim(text):
    """§4.3's text form, as a signer reads it: the claim's §10 text, or None."""
    addr, sep, prefix = text.partition("/")
    if sep and not re.fullmatch(r"0|[1-9][0-9]{0,2}", prefix):
        return None
    a = parse_client_addr(addr)
    if a is None:
        return None
    bits = 32 if a.version == 4 else 128
    p = int(prefix) if sep else bits
    if p > bits or int(a) & ((1 << (bits - p)) - 1):
        return None
    if a.version == 6 and a.packed[:12] == b"\x00" * 10 + b"\xff\xff" and p >= 96:
        return f"{ipaddress.IPv4Address(a.packed[12:])}/{p - 96}"
    if a.version == 4:
        return f"{a}/{p}"
    return f"{v6_text(a.packed)}/{p}"


# --- §4 payload ---------------------------------------------------------------

def utf8(value, what):
    try:
        return value.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise malformed(f"{what} is not UTF-8") from None


def u64(value, what):
    if len(value) != 8:
        raise malformed(f"{what} must be 8 bytes")
    return int.from_bytes(value, "big")


def printable_label(value, what, no_at):
    if not 1 <= len(value) <= MAX_LABEL or not all(0x21 <= c <= 0x7E for c in value):
        raise malformed(f"bad {what}")
    if no_at and b"@" in value:
        raise malformed(f"{what} contains @")
    return value.decode("ascii")


def valid_content_type(value):
    if not 1 <= len(value) <= MAX_CONTENT_TYPE or not all(0x20 <= c <= 0x7E for c in value):
        return False
    essence = value.split(b";", 1)[0].rstrip(b" ")
    if b"/" not in essence:
        return False
    t, st = essence.split(b"/", 1)
    return bool(t) and bool(st) and all(c in TCHARS for c in t) and all(c in TCHARS for c in st)


def valid_filename(text):
    if not 1 <= len(text.encode("utf-8")) <= MAX_FILENAME:
        return False
    if any(is_control(ord(c)) or c in "/\\" for c in text):
        return False
    return text not in (".", "..")


def is_v4_mapped(addr16):
    return addr16[:10] == b"\x00" * 10 and addr16[10:12] == b"\xff\xff"


def decode_ip(value):
    """§4.3: returns a list of (family, address bytes, prefix)."""
    entries = []
    i = 0
    while i < len(value):
        family = value[i]
        if family == 4:
            size, bits = 4, 32
        elif family == 6:
            size, bits = 16, 128
        else:
            raise malformed("ip family")
        if i + 1 + size + 1 > len(value):
            raise malformed("ip entry cut short")
        addr = value[i + 1:i + 1 + size]
        prefix = value[i + 1 + size]
        if prefix > bits:
            raise malformed("ip prefix length")
        n = int.from_bytes(addr, "big")
        if n & ((1 << (bits - prefix)) - 1):
            raise malformed("ip host bits set")
        if family == 6 and is_v4_mapped(addr):
            raise malformed("IPv4-mapped network as family 6")
        entries.append((family, addr, prefix))
        if len(entries) > MAX_CIDRS:
            raise malformed("too many ip entries")
        i += 1 + size + 1
    if not entries:
        raise malformed("empty ip list")
    return entries


def cidr_text(entry):
    family, addr, prefix = entry
    if family == 4:
        return f"{ipaddress.IPv4Address(addr)}/{prefix}"
    return f"{v6_text(addr)}/{prefix}"


def decode_token(text):
    """§2-§4: returns (claims dict, payload, tag). Raises token_malformed."""
    if not 1 <= len(text) <= MAX_TOKEN_CHARS:
        raise malformed("length")
    try:
        raw = b64url_decode(text)
    except ValueError as e:
        raise malformed(f"base64url: {e}") from None
    if len(raw) < 1 + TAG_BYTES:
        raise malformed("truncated")
    payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    return parse_payload(payload), payload, tag


def parse_payload(payload):
    """§4: the claims of a v1 payload (also the payload of §17 and §18 tokens)."""
    if not payload or payload[0] != VERSION:
        raise malformed("version")
    c = {}
    pos, last = 1, 0
    while pos < len(payload):
        if pos + 3 > len(payload):
            raise malformed("field header overrun")
        t = payload[pos]
        n = int.from_bytes(payload[pos + 1:pos + 3], "big")
        if pos + 3 + n > len(payload):
            raise malformed("field value overrun")
        v = payload[pos + 3:pos + 3 + n]
        pos += 3 + n
        if not KID <= t <= CONTENT_TYPE:
            raise malformed(f"unknown tag {t:#04x}")
        if t <= last:
            raise malformed("fields out of order or repeated")
        last = t
        if t == KID:
            if not valid_kid(v):
                raise malformed("kid")
            c["kid"] = v.decode("ascii")
        elif t == JTI:
            if len(v) != 16:
                raise malformed("jti must be 16 bytes")
            c["jti"] = v.hex()
        elif t == IAT:
            c["iat"] = u64(v, "iat")
        elif t == EXP:
            c["exp"] = u64(v, "exp")
        elif t == NBF:
            c["nbf"] = u64(v, "nbf")
        elif t == SCOPE:
            s = utf8(v, "scope")
            if not valid_scope(s):
                raise malformed("scope")
            c["scope"] = s
        elif t == HOST:
            if not all(b in HOST_CHARS for b in v) or not valid_host_claim(v.decode("ascii")):
                raise malformed("host")
            c["host"] = v.decode("ascii")
        elif t == SUB:
            c["sub"] = printable_label(v, "sub", no_at=True)
        elif t == TENANT:
            c["tenant"] = printable_label(v, "tenant", no_at=False)
        elif t == IP:
            c["ip"] = decode_ip(v)
        elif t == USES:
            if len(v) != 4:
                raise malformed("uses must be 4 bytes")
            u = int.from_bytes(v, "big")
            if u < 1:
                raise malformed("uses must be at least 1")
            c["uses"] = u
        elif t == MODE:
            if len(v) != 1 or v[0] not in MODES:
                raise malformed("mode")
            c["mode"] = MODES[v[0]]
        elif t == FILENAME:
            s = utf8(v, "filename")
            if not valid_filename(s):
                raise malformed("filename")
            c["filename"] = s
        elif t == CONTENT_TYPE:
            if not valid_content_type(v):
                raise malformed("content_type")
            c["content_type"] = v.decode("ascii")
    for required in ("kid", "jti", "iat", "exp", "scope"):
        if required not in c:
            raise malformed(f"missing {required}")
    if not c["exp"] > c["iat"]:
        raise malformed("exp must be after iat")
    if "nbf" in c and not c["nbf"] < c["exp"]:
        raise malformed("nbf must be before exp")
    return c


def claims_json(c):
    """§10."""
    out = {"version": VERSION}
    for k, v in c.items():
        if k != "path":
            out[k] = [cidr_text(e) for e in v] if k == "ip" else v
    return out


# --- §5 tag -------------------------------------------------------------------

def compute_tag(key, payload):
    return hmac.new(key, DOMAIN + payload, hashlib.sha256).digest()


# --- §9 verification ------------------------------------------------------------

def ascii_lower(s):
    return "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else ch for ch in s)


def host_matches(claim, header):
    """§9 step 11."""
    c, r = split_host(claim), split_host(header)
    if c is None or r is None:
        return False
    (cname, cport), (rname, rport) = c, r
    if rport is not None and (rport == "" or not all(ch in "0123456789" for ch in rport)):
        return False
    if rname.endswith("."):
        rname = rname[:-1]
    return ascii_lower(rname) == cname and (cport is None or rport == cport)


def ip_allowed(entries, client):
    addr = parse_client_addr(client)
    if addr is None:
        return False
    if addr.version == 6 and addr.packed[:12] == b"\x00" * 10 + b"\xff\xff":
        addr = ipaddress.IPv4Address(addr.packed[12:])
    family = 4 if addr.version == 4 else 6
    bits = 32 if family == 4 else 128
    n = int(addr)
    for fam, net, prefix in entries:
        if fam != family:
            continue
        mask = ((1 << prefix) - 1) << (bits - prefix)
        if n & mask == int.from_bytes(net, "big"):
            return True
    return False


def query_token(query):
    """§1: the lg value (None: no lg piece), or Refused for two tokens."""
    lg, lgs = [], []
    for piece in query.split("&"):
        name, _, value = piece.partition("=")
        if name == "lg":
            lg.append(value)
        elif name == "lgs":
            lgs.append(value)
    if len(lg) > 1 or len(lgs) > 1:
        return Refused("token_malformed", "two lg (or lgs) pieces")
    if lg and lgs:
        return Refused("token_malformed", "lg beside lgs")
    return lg[0] if lg else None


def verify(ring, rules, token, req):
    """Returns the claims dict of a valid link; raises Refused otherwise.
    `token` is the lg value, None, or the Refused of an ambiguous query."""
    path = canonicalize(req["path"])
    if isinstance(token, Refused):
        raise token
    if token is None or token == "":
        raise Refused("token_missing")
    if is_ed25519_text(token):
        c = verify_ed25519_token(ring, token)
    elif is_sealed_text(token):
        c, _ = open_sealed(ring, token)
    else:
        c, payload, tag = decode_token(token)
        key = ring.get(c["kid"])
        if key is None:
            raise Refused("key_unknown")
        if not hmac.compare_digest(compute_tag(key, payload), tag):
            raise Refused("signature_invalid")
    now = req["now"]
    horizon = now + rules["skew_secs"]
    if c["iat"] > horizon:
        raise Refused("not_yet_valid", "iat")
    if "nbf" in c and c["nbf"] > horizon:
        raise Refused("not_yet_valid", "nbf")
    if not now < c["exp"]:
        raise Refused("expired")
    if c["exp"] - c["iat"] > rules["max_ttl_secs"]:
        raise Refused("policy_denied", "lifetime")
    if not scope_covers(c["scope"], path):
        raise Refused("scope_mismatch")
    if "host" in c and (req["host"] is None or not host_matches(c["host"], req["host"])):
        raise Refused("host_mismatch")
    if "ip" in c and (req["client_ip"] is None or not ip_allowed(c["ip"], req["client_ip"])):
        raise Refused("ip_mismatch")
    method = req["method"]
    if not (method in ("GET", "HEAD") or (method == "POST" and "uses" in c)):
        raise Refused("method_not_allowed")
    c["path"] = path
    return c


# --- signer (§4, §5), to check that valid tokens are reproducible ---------------

def encode_ip_text(text):
    net = ipaddress.ip_network(text, strict=True)
    if net.version == 6 and net.network_address.ipv4_mapped is not None and net.prefixlen >= 96:
        return bytes([4]) + net.network_address.ipv4_mapped.packed + bytes([net.prefixlen - 96])
    return bytes([net.version]) + net.network_address.packed + bytes([net.prefixlen])


def sign(claims, key):
    def field(tag, value):
        return bytes([tag]) + len(value).to_bytes(2, "big") + value

    p = bytearray([VERSION])
    p += field(KID, claims["kid"].encode("ascii"))
    p += field(JTI, bytes.fromhex(claims["jti"]))
    p += field(IAT, claims["iat"].to_bytes(8, "big"))
    p += field(EXP, claims["exp"].to_bytes(8, "big"))
    if "nbf" in claims:
        p += field(NBF, claims["nbf"].to_bytes(8, "big"))
    p += field(SCOPE, claims["scope"].encode("utf-8"))
    for tag, name in ((HOST, "host"), (SUB, "sub"), (TENANT, "tenant")):
        if name in claims:
            p += field(tag, claims[name].encode("ascii"))
    if "ip" in claims:
        p += field(IP, b"".join(encode_ip_text(t) for t in claims["ip"]))
    if "uses" in claims:
        p += field(USES, claims["uses"].to_bytes(4, "big"))
    if "mode" in claims:
        p += field(MODE, bytes([{"stream": 1, "redirect": 2}[claims["mode"]]]))
    if "filename" in claims:
        p += field(FILENAME, claims["filename"].encode("utf-8"))
    if "content_type" in claims:
        p += field(CONTENT_TYPE, claims["content_type"].encode("ascii"))
    assert len(p) <= MAX_PAYLOAD_BYTES
    return b64url_encode(bytes(p) + compute_tag(key, bytes(p)))


# --- §17 sealed links ------------------------------------------------------------

SEALED_VERSION = 0x02
NONCE_BYTES = 24
AEAD_TAG_BYTES = 16
MAX_SEALED_PAYLOAD = 2080 - 1 - 1 - 32 - 24 - 16
SEAL_LABELS = {"link": b"linkgate-seal-link-v2\x00", "session": b"linkgate-seal-session-v2\x00"}


def _rotl32(v, n):
    return ((v << n) | (v >> (32 - n))) & 0xFFFFFFFF


def hchacha20(key, nonce16):
    """draft-irtf-cfrg-xchacha-03 §2.2: the ChaCha20 block function's 20
    rounds without the final addition; words 0-3 and 12-15 are the subkey."""
    assert len(key) == 32 and len(nonce16) == 16
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8L", key)) + list(struct.unpack("<4L", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF
        s[d] = _rotl32(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF
        s[b] = _rotl32(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF
        s[d] = _rotl32(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF
        s[b] = _rotl32(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12)
        qr(1, 5, 9, 13)
        qr(2, 6, 10, 14)
        qr(3, 7, 11, 15)
        qr(0, 5, 10, 15)
        qr(1, 6, 11, 12)
        qr(2, 7, 8, 13)
        qr(3, 4, 9, 14)
    return struct.pack("<8L", *(s[0:4] + s[12:16]))


def _chacha20poly1305(key):
    # Imported here: only the sealed vectors need it.
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    return ChaCha20Poly1305(key)


def xchacha_seal(key, nonce, aad, plaintext):
    sub = hchacha20(key, nonce[:16])
    return _chacha20poly1305(sub).encrypt(b"\x00" * 4 + nonce[16:], plaintext, aad)


def xchacha_open(key, nonce, aad, ciphertext_and_tag):
    """The plaintext, or None when the tag does not verify."""
    from cryptography.exceptions import InvalidTag
    sub = hchacha20(key, nonce[:16])
    try:
        return _chacha20poly1305(sub).decrypt(b"\x00" * 4 + nonce[16:], ciphertext_and_tag, aad)
    except InvalidTag:
        return None


def seal_key(key, domain="link"):
    return hmac.new(key, SEAL_LABELS[domain], hashlib.sha256).digest()


def decode_sealed_header(raw):
    """§17.4 step 3 on token bytes whose first byte is 0x02: (kid, header
    length). Raises token_malformed."""
    if len(raw) < 2 + 1 + NONCE_BYTES + 1 + AEAD_TAG_BYTES:
        raise malformed("sealed: truncated")
    n = raw[1]
    kid = raw[2:2 + n]
    if len(kid) != n or not valid_kid(kid):
        raise malformed("sealed: kid")
    header = 2 + n + NONCE_BYTES
    body = len(raw) - header - AEAD_TAG_BYTES
    if body < 1:
        raise malformed("sealed: no ciphertext")
    if body > MAX_SEALED_PAYLOAD:
        raise malformed("sealed: ciphertext too long")
    return kid.decode("ascii"), header


def open_sealed(ring, text):
    """§17.4 steps 3-5a: (claims, inner payload); raises Refused."""
    if not 1 <= len(text) <= MAX_TOKEN_CHARS:
        raise malformed("length")
    try:
        raw = b64url_decode(text)
    except ValueError as e:
        raise malformed(f"base64url: {e}") from None
    kid, header = decode_sealed_header(raw)
    key = ring.get(kid)
    if key is None:
        raise Refused("key_unknown")
    payload = xchacha_open(seal_key(key), raw[header - NONCE_BYTES:header], raw[:header], raw[header:])
    if payload is None:
        raise Refused("signature_invalid")
    # The inner payload is a v1 payload: reuse the v1 decoder on it with a
    # dummy tag appended (decode_token splits the last 32 bytes off).
    c, inner, _ = decode_token(b64url_encode(payload + b"\x00" * TAG_BYTES))
    if c["kid"] != kid:
        raise malformed("sealed: inner kid differs from the header")
    return c, inner


def is_sealed_text(text):
    try:
        raw = b64url_decode(text)
    except ValueError:
        return False
    return len(raw) > 0 and raw[0] == SEALED_VERSION


def seal(claims, key, nonce):
    """A sealed token of `claims` (the v1 payload of sign()) with `nonce`."""
    raw = b64url_decode(sign(claims, key))
    payload = raw[:-TAG_BYTES]
    kid = claims["kid"].encode("ascii")
    header = bytes([SEALED_VERSION, len(kid)]) + kid + nonce
    return b64url_encode(header + xchacha_seal(seal_key(key), nonce, header, payload))


# --- §18 Ed25519-signed links ------------------------------------------------------

ED_VERSION = 0x03
ED_DOMAIN = b"linkgate-link-ed25519-v1\x00"
ED_SIG = 64
MAX_ED_PAYLOAD = 2080 - 1 - ED_SIG
ED_P = 2**255 - 19
ED_L = 2**252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, ED_P - 2, ED_P) % ED_P
ED_SQRT_M1 = pow(2, (ED_P - 1) // 4, ED_P)


def _ed_add(a, b):
    """Extended coordinates (RFC 8032 §6)."""
    (x1, y1, z1, t1), (x2, y2, z2, t2) = a, b
    aa = (y1 - x1) * (y2 - x2) % ED_P
    bb = (y1 + x1) * (y2 + x2) % ED_P
    cc = t1 * 2 * ED_D * t2 % ED_P
    dd = z1 * 2 * z2 % ED_P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % ED_P, g * h % ED_P, f * g % ED_P, e * h % ED_P)


def _ed_decode(s):
    """A point from its 32-byte encoding, or None (RFC 8032 §5.1.3), with the
    canonical rule of §18.3: y < p (x = 0 with the sign bit set is refused too)."""
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= ED_P:
        return None
    x2 = (y * y - 1) * pow(ED_D * y * y + 1, ED_P - 2, ED_P) % ED_P
    if x2 == 0:
        if sign:
            return None
        x = 0
    else:
        x = pow(x2, (ED_P + 3) // 8, ED_P)
        if (x * x - x2) % ED_P != 0:
            x = x * ED_SQRT_M1 % ED_P
        if (x * x - x2) % ED_P != 0:
            return None
        if (x & 1) != sign:
            x = ED_P - x
    return (x, y, 1, x * y % ED_P)


def _ed_small_order(pt):
    q = pt
    for _ in range(3):
        q = _ed_add(q, q)
    x, y, z, _ = q
    return x % ED_P == 0 and (y - z) % ED_P == 0


def ed_acceptable_point(s):
    """§18.3 rule 2: canonical and not of small order (undecodable: refused)."""
    pt = _ed_decode(s)
    return pt is not None and not _ed_small_order(pt)


def ed_verify_strict(public, message, sig):
    """§18.4 step 5: the strict rules here, the cofactorless equation by OpenSSL."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    if len(public) != 32 or len(sig) != ED_SIG:
        return False
    if int.from_bytes(sig[32:], "little") >= ED_L:
        return False
    if not ed_acceptable_point(sig[:32]) or not ed_acceptable_point(public):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def parse_public_keys(text):
    """§18.3: kid -> (public key, tenant or None, prefix or None)."""
    ring = {}
    for entry in text.split(","):
        entry = entry.strip(ASCII_WS)
        if not entry:
            continue
        if ":" not in entry:
            raise ValueError("entry without ':'")
        kid, rest = entry.split(":", 1)
        kid = kid.strip(ASCII_WS)
        if not valid_kid(kid.encode("utf-8")) or kid in ring:
            raise ValueError(f"bad or duplicate kid {kid!r}")
        key, _, constraints = rest.partition("@")
        raw = b64url_decode(key.strip(ASCII_WS).rstrip("="))
        if len(raw) != 32 or not ed_acceptable_point(raw):
            raise ValueError(f"public key {kid!r} is not a canonical point of large order")
        tenant = prefix = None
        if "@" in rest:
            for part in constraints.strip(ASCII_WS).split(";"):
                name, eq, value = part.strip(ASCII_WS).partition("=")
                if not eq:
                    raise ValueError("constraint without '='")
                if name == "tenant" and tenant is None:
                    tenant = printable_label(value.encode("utf-8"), "tenant", False)
                elif name == "prefix" and prefix is None:
                    if not value.endswith("/"):
                        raise ValueError("prefix must end in /")
                    prefix = canonicalize(value + "x")[:-1]
                else:
                    raise ValueError(f"bad constraint {name!r}")
        ring[kid] = (raw, tenant, prefix)
    return ring


def is_ed25519_text(text):
    try:
        raw = b64url_decode(text) if 1 <= len(text) <= MAX_TOKEN_CHARS else b""
    except ValueError:
        return False
    return raw[:1] == bytes([ED_VERSION])


def decode_ed25519(text):
    """§18.1, §18.4 step 3: (claims, payload, signature)."""
    raw = b64url_decode(text)
    if len(raw) < 1 + 1 + ED_SIG:
        raise malformed("ed25519: truncated")
    payload, sig = raw[1:-ED_SIG], raw[-ED_SIG:]
    if len(payload) > MAX_ED_PAYLOAD:
        raise malformed("ed25519: payload too long")
    return parse_payload(payload), payload, sig


def verify_ed25519_token(ring, text):
    """§18.4 steps 3-5a; `ring["public"]` holds the public keys."""
    c, payload, sig = decode_ed25519(text)
    entry = ring.get("\x00public", {}).get(c["kid"])
    if entry is None:
        raise Refused("key_unknown", "unknown_kid")
    public, tenant, prefix = entry
    if not ed_verify_strict(public, ED_DOMAIN + payload, sig):
        raise Refused("signature_invalid", "bad_tag")
    if tenant is not None and c.get("tenant") != tenant:
        raise Refused("key_unknown", "key_constraint")
    if prefix is not None and not c["scope"].startswith(prefix):
        raise Refused("key_unknown", "key_constraint")
    return c


def sign_ed25519(claims, seed):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    v1 = b64url_decode(sign(claims, b"\x00" * 32))
    payload = v1[:-TAG_BYTES]
    sig = Ed25519PrivateKey.from_private_bytes(seed).sign(ED_DOMAIN + payload)
    return b64url_encode(bytes([ED_VERSION]) + payload + sig)


def verified(vectors, section, ring, rules, t):
    """The valid vectors that verify to the claims they list; each one that
    does not is recorded as a failure (once per name)."""
    for v in vectors:
        name = v["name"]
        if not t.fresh(section, name):
            continue
        try:
            c = verify(ring, rules, v["token"], v["request"])
        except Refused as e:
            t.fail(name, f"refused with {e.code} ({e.why}), expected valid")
            continue
        got = claims_json(c)
        if got != v["claims"]:
            t.fail(name, f"claims differ:\n  got  {got}\n  want {v['claims']}")
            continue
        yield v


def check_refusals(vectors, section, ring, rules, t):
    """Each invalid vector is refused with its code (once per name)."""
    for v in vectors:
        name = v["name"]
        if not t.fresh(section, name):
            continue
        try:
            verify(ring, rules, v["token"], v["request"])
        except Refused as e:
            if e.code == v["code"]:
                t.passed += 1
            else:
                t.fail(name, f"refused with {e.code} ({e.why}), expected {v['code']}")
            continue
        t.fail(name, f"verified, expected {v['code']}")


def check_ed25519(data, t):
    if data.get("format") != "linkgate ed25519 link v1":
        t.fail("ed25519.json", f"unexpected format {data.get('format')!r}")
        return
    for v in data["primitive"]:
        if not t.fresh("ed25519-primitive", v["name"]):
            continue
        got = ed_verify_strict(bytes.fromhex(v["public_hex"]), bytes.fromhex(v["message_hex"]), bytes.fromhex(v["signature_hex"]))
        if got == v["valid"]:
            t.passed += 1
        else:
            t.fail(v["name"], f"primitive gives {got}, expected {v['valid']}")
    ring = dict(parse_keys(data["keys"]))
    ring["\x00public"] = parse_public_keys(data["public_keys"])
    seeds = {}
    for k in data["signing_keys"]:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives import serialization
        seed = bytes.fromhex(k["seed_hex"])
        pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if pub.hex() != k["public_hex"] or ring["\x00public"][k["kid"]][0] != pub:
            t.fail(k["kid"], "signing key does not match its public key")
        seeds[k["kid"]] = seed
    rules = data["time_rules"]
    for v in verified(data["valid"], "ed25519", ring, rules, t):
        name = v["name"]
        if b64url_decode(v["token"])[1:-ED_SIG].hex() != v["payload_hex"]:
            t.fail(name, "payload_hex differs")
            continue
        if sign_ed25519(v["claims"], seeds[v["claims"]["kid"]]) != v["token"]:
            t.fail(name, "re-signing the claims with the seed gives a different token")
            continue
        t.passed += 1
    check_refusals(data["invalid"], "ed25519", ring, rules, t)


# --- scoped admin credentials (docs/admin.md, "Format") ------------------------

CRED_PREFIX = "lgc."
CRED_LABEL = b"linkgate admin credential v1"
CRED_CAPS = ["links:mint", "links:inspect", "revoke", "events:read", "files:write"]
CRED_MAX_CHARS = 4096
CRED_MAX_TTL = 400 * 86400


def credential_body(c):
    """The signed bytes of a credential's claims (`id` hex, `name`, `tenants`
    list or "*", `can` list, `prefix` or None, `iat`, `exp`)."""
    caps = 0
    for name in c["can"]:
        caps |= 1 << CRED_CAPS.index(name)
    out = bytes([1]) + bytes.fromhex(c["id"]) + struct.pack(">QQ", c["iat"], c["exp"]) + bytes([caps])
    out += bytes([len(c["name"])]) + c["name"].encode()
    tenants = [] if c["tenants"] == "*" else c["tenants"]
    out += bytes([len(tenants)]) + b"".join(bytes([len(t)]) + t.encode() for t in tenants)
    prefix = (c["prefix"] or "").encode()
    return out + struct.pack(">H", len(prefix)) + prefix


def credential_tag(root, body):
    key = hmac.new(root.encode(), CRED_LABEL, hashlib.sha256).digest()
    return hmac.new(key, body, hashlib.sha256).digest()


def credential_sign(root, c):
    body = credential_body(c)
    return CRED_PREFIX + b64url_encode(body + credential_tag(root, body))


def credential_verify(root, text, now, skew):
    """The claims of a valid credential, or raise Refused with its code."""
    bad = Refused("credential_invalid")
    if not text.startswith(CRED_PREFIX) or len(text) > CRED_MAX_CHARS:
        raise bad
    try:
        raw = b64url_decode(text[len(CRED_PREFIX):])
    except (Refused, ValueError):
        raise bad
    if len(raw) < 32:
        raise bad
    body, tag = raw[:-32], raw[-32:]
    at = 0

    def take(n):
        nonlocal at
        if at + n > len(body):
            raise bad
        at += n
        return body[at - n:at]

    if take(1) != b"\x01":
        raise bad
    cid = take(16).hex()
    iat, exp = struct.unpack(">QQ", take(16))
    caps = take(1)[0]
    name = take(take(1)[0]).decode("ascii", "replace")
    count = take(1)[0]
    tenants = [take(take(1)[0]).decode("utf-8", "replace") for _ in range(count)]
    prefix = take(struct.unpack(">H", take(2))[0]).decode("utf-8", "replace")
    if at != len(body) or caps == 0 or caps & ~0x1F or count > 16:
        raise bad
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", name):
        raise bad
    if any(not re.fullmatch(r"[\x21-\x7e]{1,128}", t) for t in tenants):
        raise bad
    if prefix and (prefix == "/" or not prefix.startswith("/") or not prefix.endswith("/")):
        raise bad
    if exp <= iat or exp - iat > CRED_MAX_TTL:
        raise bad
    if not hmac.compare_digest(tag, credential_tag(root, body)):
        raise bad
    if iat > now + skew:
        raise bad
    if now >= exp:
        raise Refused("credential_expired")
    return {
        "id": cid,
        "name": name,
        "tenants": tenants if tenants else "*",
        "can": [c for i, c in enumerate(CRED_CAPS) if caps & (1 << i)],
        "prefix": prefix or None,
        "iat": iat,
        "exp": exp,
    }


def check_credentials(doc, t):
    root, skew = doc["root"], doc["skew"]
    for v in doc["valid"]:
        name = v["name"]
        if not t.fresh("credential", name):
            continue
        made = credential_sign(root, v["claims"])
        if made != v["credential"]:
            t.fail(name, f"signing the claims gives {made}")
            continue
        try:
            got = credential_verify(root, v["credential"], v["now"], skew)
        except Refused as e:
            t.fail(name, f"refused with {e.code}, expected valid")
            continue
        if got != v["claims"]:
            t.fail(name, f"claims differ: {got}")
            continue
        t.passed += 1
    for v in doc["invalid"]:
        name = v["name"]
        if not t.fresh("credential", name):
            continue
        try:
            credential_verify(v.get("root", root), v["credential"], v["now"], skew)
            t.fail(name, f"verified, expected {v['code']}")
        except Refused as e:
            if e.code != v["code"]:
                t.fail(name, f"refused with {e.code}, expected {v['code']}")
            else:
                t.passed += 1


def make_credential_vectors():
    """tests/vectors/credentials.json, written by this independent
    implementation; the Rust tests check the core against it."""
    root, t0 = "vectors-root-admin-token", 1800000000
    claims = [
        ("one tenant, a folder", {"id": "01" * 16, "name": "acme-support", "tenants": ["acme"], "can": ["links:mint", "links:inspect", "revoke"], "prefix": "/acme/", "iat": t0, "exp": t0 + 90 * 86400}),
        ("every tenant, every capability", {"id": "02" * 16, "name": "security.officer", "tenants": "*", "can": CRED_CAPS, "prefix": None, "iat": t0, "exp": t0 + 3600}),
        ("two tenants, non-ASCII folder", {"id": "ab" * 16, "name": "finance_export", "tenants": ["acme", "globex"], "can": ["events:read"], "prefix": "/données/2026/", "iat": t0, "exp": t0 + 1}),
    ]
    valid = [{"name": n, "claims": c, "credential": credential_sign(root, c), "now": c["iat"]} for n, c in claims]
    good = valid[0]["credential"]
    raw = b64url_decode(good[4:])
    body0 = credential_body(claims[0][1])

    def resign(body):
        return CRED_PREFIX + b64url_encode(body + credential_tag(root, body))

    flipped = bytearray(raw)
    flipped[20] ^= 1
    invalid = [
        {"name": "another root token", "credential": good, "root": "another-root", "now": t0, "code": "credential_invalid"},
        {"name": "at exp", "credential": good, "now": t0 + 90 * 86400, "code": "credential_expired"},
        {"name": "iat beyond the skew", "credential": good, "now": t0 - 31, "code": "credential_invalid"},
        {"name": "a bit flipped", "credential": CRED_PREFIX + b64url_encode(bytes(flipped)), "now": t0, "code": "credential_invalid"},
        {"name": "a byte after the body (signed)", "credential": resign(body0 + b"\x00"), "now": t0, "code": "credential_invalid"},
        {"name": "unknown capability bit (signed)", "credential": resign(body0[:33] + bytes([0x21]) + body0[34:]), "now": t0, "code": "credential_invalid"},
        {"name": "version 2 (signed)", "credential": resign(b"\x02" + body0[1:]), "now": t0, "code": "credential_invalid"},
        {"name": "not lgc.", "credential": "lgx." + good[4:], "now": t0, "code": "credential_invalid"},
        {"name": "padding", "credential": good + "=", "now": t0, "code": "credential_invalid"},
    ]
    return {"root": root, "skew": 30, "valid": valid, "invalid": invalid}


# --- driver -------------------------------------------------------------------

class Tally:
    def __init__(self):
        self.passed = self.failed = 0
        self.seen = set()

    def fail(self, name, msg):
        self.failed += 1
        print(f"FAIL {name}: {msg}")

    def fresh(self, kind, name):
        if (kind, name) in self.seen:
            self.fail(name, "duplicate name")
            return False
        self.seen.add((kind, name))
        return True


def check_tokens(data, t):
    if data.get("format") != "linkgate link v1":
        t.fail("v1.json", f"unexpected format {data.get('format')!r}")
        return
    ring = parse_keys(data["keys"])
    rules = data["time_rules"]
    for v in verified(data["valid"], "token", ring, rules, t):
        name = v["name"]
        payload = b64url_decode(v["token"])[:-TAG_BYTES]
        if payload.hex() != v["payload_hex"]:
            t.fail(name, "payload_hex differs")
            continue
        resigned = sign(v["claims"], ring[v["claims"]["kid"]])
        if resigned != v["token"]:
            t.fail(name, "re-signing the claims gives a different token")
            continue
        t.passed += 1

    check_refusals(data["invalid"], "token", ring, rules, t)


STATUS = {
    "token_missing": 401, "token_malformed": 400, "path_invalid": 400, "signature_invalid": 403,
    "key_unknown": 403, "scope_mismatch": 403, "host_mismatch": 403, "ip_mismatch": 403,
    "method_not_allowed": 405, "not_yet_valid": 403, "policy_denied": 403, "expired": 410,
}


def check_requests(data, t):
    if data.get("format") != "linkgate link v1 requests":
        t.fail("requests.json", f"unexpected format {data.get('format')!r}")
        return
    ring = parse_keys(data["keys"])
    rules = data["time_rules"]
    for v in data["requests"]:
        name = v["name"]
        if not t.fresh("request", name):
            continue
        r, want = v["request"], v["expect"]
        try:
            c = verify(ring, rules, query_token(r["query"]), r)
            got = {"outcome": "allow", "path": c["path"], "jti": c["jti"]}
        except Refused as e:
            got = {"outcome": "refuse", "status": STATUS[e.code], "code": e.code}
            if e.code == "path_invalid":
                got["reason"] = e.why
        if got == want:
            t.passed += 1
        else:
            t.fail(name, f"got {got}, expected {want}")


def check_forms(data, t):
    if data.get("format") != "linkgate link v1 text forms":
        t.fail("forms.json", f"unexpected format {data.get('format')!r}")
        return
    for v in data["key_rings"]:
        if not t.fresh("key_ring", v["name"]):
            continue
        try:
            got = list(parse_keys(v["value"]))
        except ValueError:
            got = None
        if got == v["kids"]:
            t.passed += 1
        else:
            t.fail(v["name"], f"key ring gives {got}, expected {v['kids']}")
    for v in data["hosts"]:
        if not t.fresh("host", v["name"]):
            continue
        lowered = ascii_lower(v["input"])
        got = lowered if valid_host_claim(lowered) else None
        if got == v["claim"]:
            t.passed += 1
        else:
            t.fail(v["name"], f"host {v['input']!r} gives {got!r}, expected {v['claim']!r}")
    for v in data["cidrs"]:
        if not t.fresh("cidr", v["name"]):
            continue
        got = cidr_claim(v["input"])
        if got == v["claim"]:
            t.passed += 1
        else:
            t.fail(v["name"], f"cidr {v['input']!r} gives {got!r}, expected {v['claim']!r}")


def check_sealed(data, t):
    if data.get("format") != "linkgate sealed link v2":
        t.fail("sealed.json", f"unexpected format {data.get('format')!r}")
        return
    for i, v in enumerate(data["hchacha20"]):
        got = hchacha20(bytes.fromhex(v["key_hex"]), bytes.fromhex(v["nonce_hex"])).hex()
        if got == v["subkey_hex"]:
            t.passed += 1
        else:
            t.fail(f"hchacha20[{i}]", f"subkey {got}, expected {v['subkey_hex']}")
    ring = parse_keys(data["keys"])
    rules = data["time_rules"]
    for v in verified(data["valid"], "sealed", ring, rules, t):
        name = v["name"]
        try:
            _, inner = open_sealed(ring, v["token"])
        except Refused as e:
            t.fail(name, f"verified, but opening refused with {e.code} ({e.why})")
            continue
        if inner.hex() != v["payload_hex"]:
            t.fail(name, "payload_hex differs")
            continue
        resealed = seal(v["claims"], ring[v["claims"]["kid"]], bytes.fromhex(v["nonce_hex"]))
        if resealed != v["token"]:
            t.fail(name, "re-sealing the claims with the vector's nonce gives a different token")
            continue
        t.passed += 1
    check_refusals(data["invalid"], "sealed", ring, rules, t)


def check_jwt(data, t):
    """Identity assertions (docs/identity.md): judged by jwt_vectors.py, a
    second reader written from the docs on `cryptography`'s RS256/ES256."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import jwt_vectors

    jwt_vectors.check(data, t)


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    if len(argv) > 1 and argv[1] == "--write-credentials":
        with open(os.path.join(here, "credentials.json"), "w", encoding="utf-8") as f:
            json.dump(make_credential_vectors(), f, indent=1, ensure_ascii=False)
            f.write("\n")
        return 0
    folder = argv[1] if len(argv) > 1 else here
    t = Tally()
    for name, check in (
        ("v1.json", check_tokens),
        ("requests.json", check_requests),
        ("forms.json", check_forms),
        ("sealed.json", check_sealed),
        ("ed25519.json", check_ed25519),
        ("jwt.json", check_jwt),
        ("credentials.json", check_credentials),
    ):
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            check(json.load(f), t)
    print(f"{t.passed} passed, {t.failed} failed")
    return 0 if t.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
