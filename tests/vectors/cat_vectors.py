#!/usr/bin/env python3
"""Common Access Token vectors (tests/vectors/cat.json), made and checked by
an implementation independent of linkgate's Rust: cbor2 for CBOR, hmac for
HMAC-SHA256 over RFC 9052's MAC_structure.

  python3 tests/vectors/cat_vectors.py          # check cat.json
  python3 tests/vectors/cat_vectors.py --write  # regenerate it

Checking does two things: every token is rebuilt here byte for byte (the
committed tokens are what cbor2 + hmac make), and every vector's expected
code is re-derived by this file's own small verifier.
"""
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import sys

import cbor2

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cat.json")

NOW = 1_800_000_000
KEY1 = bytes(range(32))
KEY2 = bytes(range(100, 132))
# RFC 8392 Appendix A.2.2 (256-bit symmetric key), kid "Symmetric256".
RFC_KEY = bytes.fromhex("403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388")
RFC_TOKEN = (
    "d83dd18443a10104a1044c53796d6d65747269633235365850a70175636f61703a2f2f61"
    "732e6578616d706c652e636f6d02656572696b77037818636f61703a2f2f6c696768742e"
    "6578616d706c652e636f6d041a5612aeb0051a5610d9f0061a5610d9f007420b71480931"
    "01ef6d789200"
)
FASTLY_TOKEN = (
    "2D3RhEOhAQWhBExTeW1tZXRyaWMyNTZYmKQBZ2Nkbm5hbWUCeCxBNXMyRnptNUI5UG5EVEVmS3VybGxMdnJUelJLSWl4ZERsMWI0TEZz"
    "ZlB3PQQaaIqzLBkBOKIFoQJ4Ji9lMDU5Lzc4MTEvMTY0MC80N2UxLTk5MzAtMmE0MzQxZWE4YjEwBqEBeCUvMWJkMWUyNmUtMzQwNy00"
    "ODA1LWI4MDYtMTMyMTZiMzRkNGJmWCBxCao7OrEJkkIQ8DcTNUFB-bMV4vUcVohXksntwc42_w"
)
ISS = "https://tokens.example"
AUD = "linkgate"
HOST = "files.example.com"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def mac_structure(protected, payload):
    return cbor2.dumps(["MAC0", protected, b"", payload])


def mac0(claims, kid=b"cat1", key=KEY1, protected=None, unprotected=None, tag_cwt=True, tamper=None, raw_payload=None):
    prot = protected if protected is not None else cbor2.dumps({1: 5, 4: kid})
    payload = raw_payload if raw_payload is not None else cbor2.dumps(claims)
    tag = hmac.new(key, mac_structure(prot, payload), hashlib.sha256).digest()
    if tamper == "tag":
        tag = bytes([tag[0] ^ 1]) + tag[1:]
    if tamper == "short":
        tag = tag[:16]
    body = cbor2.CBORTag(17, [prot, unprotected or {}, payload, tag])
    out = cbor2.dumps(cbor2.CBORTag(61, body) if tag_cwt else body)
    return b64(out)


def base(**over):
    c = {1: ISS, 3: AUD, 4: NOW + 3600, 6: NOW - 10, 7: bytes(range(16))}
    for k, v in over.items():
        c[int(k.lstrip("k"))] = v
    return {k: v for k, v in c.items() if v is not None}


def catu(**parts):
    names = {"scheme": 0, "host": 1, "port": 2, "path": 3, "query": 4, "parent": 5, "filename": 6, "stem": 7, "ext": 8}
    return {names[k]: v for k, v in parts.items()}


def req(path="/videos/a/seg1.ts", method="GET", ip="203.0.113.9", now=NOW, scheme="https", host=HOST):
    return {"url": f"{scheme}://{host}{path}", "method": method, "ip": ip, "now": now}


def v4(net):
    n = ipaddress.ip_network(net)
    return cbor2.CBORTag(52, [n.prefixlen, n.network_address.packed.rstrip(b"\0") or b""])


def v6(net):
    n = ipaddress.ip_network(net)
    return cbor2.CBORTag(54, [n.prefixlen, n.network_address.packed.rstrip(b"\0") or b""])


def build():
    valid = [
        ("minimal_hs256", mac0(base()), req(), {"uses": None}),
        ("untagged_mac0_no_cwt_tag", mac0(base(), tag_cwt=False), req(), {"uses": None}),
        ("kid_in_unprotected_header", mac0(base(), protected=cbor2.dumps({1: 5}), unprotected={4: b"cat1"}), req(), {}),
        ("second_key", mac0(base(), kid=b"cat2", key=KEY2), req(), {}),
        ("catu_path_prefix", mac0(base(k312=catu(path={1: "/videos/"}))), req(), {}),
        ("catu_exact_path_and_host", mac0(base(k312=catu(path={0: "/videos/a/seg1.ts"}, host={0: HOST}))), req(), {}),
        ("catu_host_suffix_scheme", mac0(base(k312=catu(host={2: ".example.com"}, scheme={0: "https"}))), req(), {}),
        ("catu_host_and_scheme_any_case", mac0(base(k312=catu(host={0: "Files.Example.COM"}, scheme={0: "HTTPS"}))), req(host="FILES.example.com"), {}),
        ("catu_extension_and_parent", mac0(base(k312=catu(ext={0: ".ts"}, parent={1: "/videos"}))), req(), {}),
        ("catu_contains_filename_stem", mac0(base(k312=catu(filename={3: "seg"}, stem={0: "seg1"}))), req(), {}),
        ("catu_sha256_path", mac0(base(k312=catu(path={-1: hashlib.sha256(b"/videos/a/seg1.ts").digest()}))), req(), {}),
        ("catu_port_default", mac0(base(k312=catu(port={0: "443"}))), req(), {}),
        ("catm_get_head", mac0(base(k313=["GET", "HEAD"])), req(), {}),
        ("catm_head_only_head", mac0(base(k313=["HEAD"])), req(method="HEAD"), {}),
        ("catnip_v4", mac0(base(k311=[v4("203.0.113.0/24")])), req(), {}),
        ("catnip_v6_and_v4", mac0(base(k311=[v6("2001:db8::/32"), v4("203.0.113.0/24")])), req(ip="2001:db8::7"), {}),
        ("catnip_single_address", mac0(base(k311=cbor2.CBORTag(52, bytes([203, 0, 113, 9])))), req(), {}),
        ("catreplay_prohibited_is_one_use", mac0(base(k308=1)), req(), {"uses": 1}),
        ("catreplay_permitted", mac0(base(k308=0)), req(), {"uses": None}),
        ("catreplay_reuse_detection", mac0(base(k308=2)), req(), {"uses": None}),
        ("catv_1", mac0(base(k310=1)), req(), {}),
        ("crit_understood", mac0(base(k312=catu(path={1: "/videos/"})), protected=cbor2.dumps({1: 5, 2: [312, 4], 4: b"cat1"})), req(), {}),
        ("catr_not_critical_ignored", mac0(base(k323={0: 0, 1: 60})), req(), {}),
        ("nbf_within_skew", mac0(base(k5=NOW + 20)), req(), {}),
        ("iat_absent", mac0(base(k6=None)), req(), {}),
        ("cti_not_16_bytes", mac0(base(k7=b"abc")), req(), {}),
        ("sub_mapped", mac0(base(k2="viewer-42")), req(), {"sub": "viewer-42"}),
        ("aud_array", mac0(base(k3=["other", AUD])), req(), {}),
        ("exp_minus_one", mac0(base()), req(now=NOW + 3599), {}),
    ]
    forged = mac0(base(), tamper="tag")
    flipped_payload = mac0(base())
    raw = bytearray(unb64(flipped_payload))
    raw[-40] ^= 1  # a payload byte (the claims precede the 32-byte tag)
    invalid = [
        ("bad_tag", forged, req(), "signature_invalid", "bad_tag"),
        ("payload_bit_flip", b64(bytes(raw)), req(), "signature_invalid", "bad_tag"),
        ("wrong_key", mac0(base(), key=KEY2), req(), "signature_invalid", "bad_tag"),
        ("unknown_kid", mac0(base(), kid=b"nokey"), req(), "key_unknown", "unknown_kid"),
        ("kid_not_a_key_id", mac0(base(), kid=b"\xff\x00"), req(), "token_malformed", "cat_kid"),
        ("no_kid", mac0(base(), protected=cbor2.dumps({1: 5})), req(), "token_malformed", "cat_kid"),
        ("kid_in_both_headers", mac0(base(), unprotected={4: b"cat1"}), req(), "token_malformed", "cat_header"),
        ("alg_in_unprotected", mac0(base(), protected=cbor2.dumps({4: b"cat1"}), unprotected={1: 5}), req(), "token_malformed", "cat_header"),
        ("alg_hs384", mac0(base(), protected=cbor2.dumps({1: 6, 4: b"cat1"})), req(), "token_malformed", "cat_alg"),
        ("rfc8392_a4_hmac_256_64", b64(bytes.fromhex(RFC_TOKEN)), req(now=1443944944 + 10), "token_malformed", "cat_alg"),
        ("short_tag", mac0(base(), tamper="short"), req(), "token_malformed", "cat_tag_length"),
        ("sign1_tag_18", b64(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: 5}), {}, cbor2.dumps(base()), b"x" * 32]))), req(), "token_malformed", "cat_not_mac0"),
        ("mac0_three_items", b64(cbor2.dumps(cbor2.CBORTag(17, [cbor2.dumps({1: 5}), {}, cbor2.dumps(base())]))), req(), "token_malformed", "cat_not_mac0"),
        ("untagged_array", b64(cbor2.dumps([cbor2.dumps({1: 5, 4: b"cat1"}), {}, cbor2.dumps(base()), b"x" * 32])), req(), "token_malformed", "cat_not_mac0"),
        ("payload_nil_detached", b64(cbor2.dumps(cbor2.CBORTag(17, [cbor2.dumps({1: 5, 4: b"cat1"}), {}, None, b"x" * 32]))), req(), "token_malformed", "cat_not_mac0"),
        ("indefinite_array", b64(bytes([0xD1, 0x9F]) + cbor2.dumps(cbor2.dumps({1: 5, 4: b"cat1"}))), req(), "token_malformed", "cat_indefinite_length"),
        ("non_shortest_head", b64(bytes([0xD8, 0x11, 0x98, 0x04])), req(), "token_malformed", "cat_non_shortest"),
        ("trailing_bytes", b64(unb64(mac0(base())) + b"\x00"), req(), "token_malformed", "cat_cbor"),
        ("truncated", b64(unb64(mac0(base()))[:-5]), req(), "token_malformed", "cat_cbor"),
        ("duplicate_claim", mac0(None, raw_payload=bytes([0xA2, 0x04, 0x1A]) + (NOW + 3600).to_bytes(4, "big") + bytes([0x04, 0x1A]) + (NOW + 7200).to_bytes(4, "big")), req(), "token_malformed", "cat_duplicate_key"),
        ("duplicate_header", mac0(base(), protected=bytes([0xA2, 0x01, 0x05, 0x01, 0x05])), req(), "token_malformed", "cat_duplicate_key"),
        ("padded_base64", mac0(base()) + "==", req(), "token_malformed", "cat_bad_encoding"),
        ("standard_base64_alphabet", "+/" + mac0(base()), req(), "token_malformed", "cat_bad_encoding"),
        ("exp_as_text", mac0(base(k4="soon")), req(), "token_malformed", "cat_claim"),
        ("exp_negative", mac0(base(k4=-1)), req(), "token_malformed", "cat_claim"),
        ("payload_not_a_map", mac0(None, raw_payload=cbor2.dumps([1, 2])), req(), "token_malformed", "cat_claim"),
        ("expired", mac0(base()), req(now=NOW + 3600), "expired", "after_exp"),
        ("expired_long_ago", mac0(base(k4=NOW - 100, k6=NOW - 200)), req(), "expired", "after_exp"),
        ("nbf_beyond_skew", mac0(base(k5=NOW + 31)), req(), "not_yet_valid", "before_nbf"),
        ("iat_beyond_skew", mac0(base(k6=NOW + 31)), req(), "not_yet_valid", "issued_in_future"),
        ("lifetime_over_maximum", mac0(base(k4=NOW + 8 * 86400)), req(), "policy_denied", "lifetime_over_maximum"),
        ("no_exp", mac0(base(k4=None)), req(), "policy_denied", "cat_no_expiry"),
        ("critical_catr", mac0(base(k323={0: 0, 1: 60}), protected=cbor2.dumps({1: 5, 2: [323], 4: b"cat1"})), req(), "policy_denied", "cat_critical"),
        ("critical_unknown_text_label", mac0(base(), protected=cbor2.dumps({1: 5, 2: ["x-geo"], 4: b"cat1"})), req(), "policy_denied", "cat_critical"),
        ("crit_empty_list", mac0(base(), protected=cbor2.dumps({1: 5, 2: [], 4: b"cat1"})), req(), "token_malformed", "cat_header"),
        ("crit_unprotected", mac0(base(), unprotected={2: [312]}), req(), "token_malformed", "cat_header"),
        ("catu_path_mismatch", mac0(base(k312=catu(path={1: "/audio/"}))), req(), "scope_mismatch", "cat_uri"),
        ("catu_prefix_is_not_segmentwise", mac0(base(k312=catu(path={0: "/videos/a/seg1.t"}))), req(), "scope_mismatch", "cat_uri"),
        ("catu_extension_mismatch", mac0(base(k312=catu(ext={0: ".m3u8"}))), req(), "scope_mismatch", "cat_uri"),
        ("catu_scheme_mismatch", mac0(base(k312=catu(scheme={0: "http"}))), req(), "scope_mismatch", "cat_uri"),
        ("catu_host_mismatch", mac0(base(k312=catu(host={0: "other.example.com"}))), req(), "host_mismatch", "other_host"),
        ("catu_regex_unsupported", mac0(base(k312=catu(path={4: ["^/videos/.*"]}))), req(), "policy_denied", "cat_unsupported"),
        ("catu_query_unsupported", mac0(base(k312=catu(query={0: "a=b"}))), req(), "policy_denied", "cat_unsupported"),
        ("catnip_mismatch", mac0(base(k311=[v4("198.51.100.0/24")])), req(), "ip_mismatch", "outside_ip_ranges"),
        ("catnip_asn_unsupported", mac0(base(k311=[64496])), req(), "policy_denied", "cat_unsupported"),
        ("catm_excludes_get", mac0(base(k313=["HEAD"])), req(), "method_not_allowed", "method"),
        ("post_never_served", mac0(base(k313=["POST"])), req(method="POST"), "method_not_allowed", "method"),
        ("catv_2", mac0(base(k310=2)), req(), "policy_denied", "cat_unsupported"),
        ("catreplay_unknown_value", mac0(base(k308=7)), req(), "policy_denied", "cat_unsupported"),
        ("wrong_issuer", mac0(base(k1="https://evil.example")), req(), "policy_denied", "cat_issuer"),
        ("no_issuer", mac0(base(k1=None)), req(), "policy_denied", "cat_issuer"),
        ("wrong_audience", mac0(base(k3="someone-else")), req(), "policy_denied", "cat_audience"),
        ("sub_is_email", mac0(base(k2="a@b.example")), req(), "token_malformed", "cat_claim"),
        ("deep_nesting", mac0(base(k999=[[[[[[[[[[1]]]]]]]]]])), req(), "token_malformed", "cat_too_large"),
        ("too_many_items", mac0(base(k999=list(range(65)))), req(), "token_malformed", "cat_too_large"),
        ("empty_token_is_no_token", "", req(), "token_missing", "no_token"),
        ("over_4096_chars", "A" * 4097, req(), "token_malformed", "cat_bad_length"),
    ]
    return {
        "about": "Common Access Tokens (CTA-5007) for linkgate; see docs/cat.md. Made by tests/vectors/cat_vectors.py (cbor2 + hmac).",
        "keys": f"cat1:{b64(KEY1)},cat2:{b64(KEY2)},Symmetric256:{b64(RFC_KEY)}",
        "issuers": [ISS],
        "audiences": [AUD],
        "skew_secs": 30,
        "max_ttl_secs": 7 * 86400,
        "valid": [{"name": n, "token": t, "request": r, "expect": e} for n, t, r, e in valid],
        "invalid": [{"name": n, "token": t, "request": r, "code": c, "reason": why} for n, t, r, c, why in invalid],
    }


# ---- an independent verifier (codes only) ---------------------------------

KEYS = {"cat1": KEY1, "cat2": KEY2, "Symmetric256": RFC_KEY}
UNDERSTOOD = {1, 2, 3, 4, 5, 6, 7, 308, 310, 311, 312, 313}


def strict(buf, pos=0, depth=0):
    """Walk one CBOR item the strict way (definite lengths, shortest heads,
    no duplicate keys, depth <= 8, <= 64 items); return the end offset."""
    if depth > 8:
        raise ValueError("too deep")
    ib = buf[pos]
    major, info = ib >> 5, ib & 31
    pos += 1
    if info < 24:
        arg = info
    elif info in (24, 25, 26, 27):
        n = 1 << (info - 24)
        arg = int.from_bytes(buf[pos:pos + n], "big")
        if len(buf) < pos + n:
            raise ValueError("truncated")
        pos += n
        if major != 7 and arg < (24 if info == 24 else 1 << (4 << (info - 24))):
            raise ValueError("not shortest")
    else:
        raise ValueError("indefinite or reserved")
    if major in (2, 3):
        if len(buf) < pos + arg:
            raise ValueError("truncated")
        return pos + arg
    if major in (4, 5):
        if arg > 64:
            raise ValueError("too many items")
        keys = set()
        for _ in range(arg):
            end = strict(buf, pos, depth + 1)
            if major == 5:
                if buf[pos:end] in keys:
                    raise ValueError("duplicate key")
                keys.add(buf[pos:end])
                end = strict(buf, end, depth + 1)
            pos = end
        return pos
    if major == 6:
        return strict(buf, pos, depth + 1)
    return pos


def strict_all(buf):
    if strict(buf) != len(buf):
        raise ValueError("trailing bytes")


def verdict(token, r):
    """The code this file's own reading gives: None = allowed."""
    try:
        if not token:
            return "token_missing"
        raw = unb64(token)
        if len(token) > 4096 or "=" in token or b64(raw) != token:
            return "token_malformed"
        strict_all(raw)
        obj = cbor2.loads(raw)
    except Exception:
        return "token_malformed"
    if isinstance(obj, cbor2.CBORTag) and obj.tag == 61:
        obj = obj.value
    if not (isinstance(obj, cbor2.CBORTag) and obj.tag == 17 and isinstance(obj.value, (list, tuple)) and len(obj.value) == 4):
        return "token_malformed"
    prot_b, unprot, payload, tag = obj.value
    if not isinstance(payload, bytes):
        return "token_malformed"
    try:
        if prot_b:
            strict_all(prot_b)
    except Exception:
        return "token_malformed"
    prot = cbor2.loads(prot_b) if prot_b else {}
    if 1 in unprot or 2 in unprot or (4 in prot and 4 in unprot) or prot.get(2) == []:
        return "token_malformed"
    if prot.get(1) != 5:
        return "token_malformed"
    kid = prot.get(4, unprot.get(4))
    try:
        kid = kid.decode()
        assert kid and all(c.isalnum() or c in "_-" for c in kid) and kid.isascii()
    except Exception:
        return "token_malformed"
    if kid not in KEYS:
        return "key_unknown"
    if len(tag) != 32:
        return "token_malformed"
    want = hmac.new(KEYS[kid], mac_structure(prot_b, payload), hashlib.sha256).digest()
    if not hmac.compare_digest(want, tag):
        return "signature_invalid"
    try:
        strict_all(payload)
    except Exception:
        return "token_malformed"
    c = cbor2.loads(payload)
    if not isinstance(c, dict):
        return "token_malformed"
    for k in (4, 5, 6):
        if k in c and not (isinstance(c[k], int) and c[k] >= 0):
            return "token_malformed"
    if "@" in c.get(2, ""):
        return "token_malformed"
    if c.get(1) != ISS:
        return "policy_denied"
    aud = c.get(3)
    if AUD not in (aud if isinstance(aud, (list, tuple)) else [aud]):
        return "policy_denied"
    if any(not (isinstance(l, int) and l in UNDERSTOOD) for l in prot.get(2, [])):
        return "policy_denied"
    nip = c.get(311)
    nips = nip if isinstance(nip, (list, tuple)) else ([] if nip is None else [nip])
    uri = c.get(312, {})
    if any(isinstance(n, int) for n in nips) or 4 in uri or any(k in (4, -2) for m in uri.values() for k in m):
        return "policy_denied"
    if c.get(310, 1) != 1 or c.get(308, 0) > 2:
        return "policy_denied"
    if 4 not in c:
        return "policy_denied"
    now, skew = r["now"], 30
    iat = c.get(6, c[4] - 7 * 86400)
    if iat > now + skew or c.get(5, 0) > now + skew:
        return "not_yet_valid"
    if now >= c[4]:
        return "expired"
    if c[4] - iat > 7 * 86400:
        return "policy_denied"
    scheme, rest = r["url"].split("://", 1)
    host, path = rest.split("/", 1)
    path = "/" + path
    parent, filename = path.rsplit("/", 1)
    stem, dot, ext = filename.rpartition(".")
    stem, ext = (stem, "." + ext) if dot else (filename, "")
    comp = {0: scheme.lower(), 1: host.lower(), 2: "443", 3: path, 5: parent, 6: filename, 7: stem, 8: ext}
    for k, m in sorted(uri.items(), key=lambda kv: kv[0] != 1):
        value = comp[k]
        for kind, want in m.items():
            if k in (0, 1) and isinstance(want, str):
                want = want.lower()
            if kind == -1:
                ok = hashlib.sha256(value.encode()).digest() == want
            else:
                ok = {0: value == want, 1: value.startswith(want), 2: value.endswith(want), 3: want in value}.get(kind)
            if not ok:
                return "host_mismatch" if k in (1, 2) else "scope_mismatch"
    if nips:
        ip = ipaddress.ip_address(r["ip"])
        nets = []
        for n in nips:
            # cbor2 reads RFC 9164 tags 52/54 itself.
            if isinstance(n, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                nets.append(n)
                continue
            if isinstance(n, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
                nets.append(ipaddress.ip_network(n))
                continue
            v = n.value
            width = 4 if n.tag == 52 else 16
            plen, pfx = (v[0], v[1]) if isinstance(v, (list, tuple)) else (width * 8, v)
            nets.append(ipaddress.ip_network((pfx.ljust(width, b"\0"), plen)))
        if not any(ip in n for n in nets):
            return "ip_mismatch"
    if r["method"] not in ("GET", "HEAD") or r["method"] not in c.get(313, [r["method"]]):
        return "method_not_allowed"
    return None


def emit(real_now):
    """The vectors re-made for a verifier whose clock says `real_now` (the
    worker's, which no client can set): each token is rebuilt with every time
    moved by the distance between its request's "now" and `real_now`, so its
    outcome is the vector's. Printed as JSON, `now` set to `real_now`."""
    global NOW
    fixed = NOW
    doc = build()
    out = {k: v for k, v in doc.items() if k not in ("valid", "invalid")}
    for kind in ("valid", "invalid"):
        out[kind] = []
        for v in doc[kind]:
            offset = v["request"]["now"] - fixed
            NOW = real_now - offset
            again = next(x for x in build()[kind] if x["name"] == v["name"])
            NOW = fixed
            again["request"]["now"] = real_now
            out[kind].append(again)
    return out


def main():
    if "--emit-now" in sys.argv:
        print(json.dumps(emit(int(sys.argv[sys.argv.index("--emit-now") + 1]))))
        return
    doc = build()
    if "--write" in sys.argv:
        with open(OUT, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(f"wrote {OUT}: {len(doc['valid'])} valid, {len(doc['invalid'])} invalid")
        return
    with open(OUT) as f:
        committed = json.load(f)
    bad = 0
    if committed != json.loads(json.dumps(doc)):
        print("cat.json differs from what cbor2 + hmac make now")
        bad += 1
    for v in committed["valid"]:
        got = verdict(v["token"], v["request"])
        if got is not None:
            print(f"valid {v['name']}: Python says {got}")
            bad += 1
    for v in committed["invalid"]:
        got = verdict(v["token"], v["request"])
        if got != v["code"]:
            print(f"invalid {v['name']}: Python says {got}, vector says {v['code']}")
            bad += 1
    # RFC 8392 A.4: the MAC_structure reproduces the RFC's (64-bit) tag.
    rfc = cbor2.loads(bytes.fromhex(RFC_TOKEN)).value.value
    full = hmac.new(RFC_KEY, mac_structure(rfc[0], rfc[2]), hashlib.sha256).digest()
    if full[:8] != rfc[3]:
        print("RFC 8392 A.4 tag not reproduced")
        bad += 1
    # fastly/rust-cat's src/tests.rs test_specific_token_verification (MIT
    # License, Copyright (c) 2025-2026 Fastly Inc.): another implementation's
    # token, key "testKey"; the same MAC_structure reproduces its tag.
    fastly = unb64(FASTLY_TOKEN)
    strict_all(fastly)
    f = cbor2.loads(fastly).value.value
    if hmac.new(b"testKey", mac_structure(f[0], f[2]), hashlib.sha256).digest() != f[3]:
        print("fastly/rust-cat token: tag not reproduced")
        bad += 1
    n = len(committed["valid"]) + len(committed["invalid"])
    if bad:
        sys.exit(f"{bad} CAT vector problem(s)")
    print(f"CAT vectors: {n} checked by cbor2 + hmac (and the MAC_structure of RFC 8392 A.4 and of fastly/rust-cat's token)")


if __name__ == "__main__":
    main()
