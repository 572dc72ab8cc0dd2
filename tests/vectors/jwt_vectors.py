#!/usr/bin/env python3
"""Identity assertion vectors (tests/vectors/jwt.json, docs/identity.md).

Two jobs, both written from docs/identity.md with the standard library and
PyPI's `cryptography` (OpenSSL) for the RS256/ES256 equations:

- `--write`: make jwt.json. A fixed test provider (an RSA-2048 and an EC P-256
  key pair, kept in the file so the vectors can be re-made byte for byte:
  RS256 signatures are deterministic, ES256 ones use RFC 6979 deterministic
  nonces), its JWKS, one LINKGATE_IDENTITY configuration, one rule and a set
  of assertions, each with the outcome the edge must reach;
- check (default, and `check(data, tally)` for check_vectors.py): judge every
  vector independently (strict JWS reader, key selection, signature,
  registered claims with linkgate's clock rule, person, groups, freshness)
  and compare with the vector's outcome.

    python3 tests/vectors/jwt_vectors.py [--write]
"""

import base64
import hashlib
import hmac
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
FORMAT = "linkgate identity assertion v1"
MAX_JWT_BYTES = 8192
T = 1_800_000_000  # "now" of most vectors


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_strict(text):
    """Strict base64url without padding: the alphabet only, no 1-mod-4
    length, zero spare bits (one text per byte string)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    if any(c not in alphabet for c in text) or len(text) % 4 == 1:
        return None
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return raw if b64u(raw) == text else None


def strict_object(raw):
    """A JSON object, duplicate members refused (RFC 8259 strict as linkgate's reader)."""

    def pairs(items):
        keys = [k for k, _ in items]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate member")
        return dict(items)

    try:
        v = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (ValueError, UnicodeDecodeError):
        return None
    return v if isinstance(v, dict) else None


def whole(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


# ---------------------------------------------------------------- the judge

def read(text, algorithms):
    """The strict reader: (header, claims, signing input, signature) or a jwt_* reason."""
    if len(text) > MAX_JWT_BYTES:
        return "jwt_too_long"
    parts = text.split(".")
    if len(parts) != 3:
        return "jwt_shape"
    h, p, s = parts
    hb = b64u_strict(h)
    if hb is None:
        return "jwt_encoding"
    header = strict_object(hb)
    if header is None or not isinstance(header.get("alg"), str):
        return "jwt_header"
    alg = header["alg"]
    if alg not in ("RS256", "ES256"):
        if alg.lower() == "none":
            return "jwt_alg_none"
        if alg[:2].lower() == "hs":
            return "jwt_alg_hmac"
        return "jwt_alg_unknown"
    if alg not in algorithms:
        return "jwt_alg_not_allowed"
    if "crit" in header or "b64" in header:
        return "jwt_crit"
    if any(m in header for m in ("jwk", "jku", "x5u", "x5c")):
        return "jwt_key_in_header"
    if "enc" in header or "zip" in header:
        return "jwt_header"
    if "typ" in header and not (isinstance(header["typ"], str) and header["typ"].lower() == "jwt"):
        return "jwt_typ"
    if "kid" in header and not (isinstance(header["kid"], str) and 0 < len(header["kid"].encode()) <= 256):
        return "jwt_kid"
    pb = b64u_strict(p)
    if pb is None:
        return "jwt_encoding"
    claims = strict_object(pb)
    if claims is None:
        return "jwt_payload"
    sig = b64u_strict(s)
    if sig is None:
        return "jwt_encoding"
    if (alg == "ES256" and len(sig) != 64) or (alg == "RS256" and not 256 <= len(sig) <= 512):
        return "jwt_signature_length"
    if "iss" in claims and not isinstance(claims["iss"], str):
        return "jwt_claims"
    aud = claims.get("aud")
    if aud is not None and not (isinstance(aud, str) or (isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud))):
        return "jwt_claims"
    if any(n in claims and not whole(claims[n]) for n in ("exp", "nbf", "iat", "auth_time")):
        return "jwt_claims"
    return header, claims, f"{h}.{p}".encode(), sig


def usable_keys(jwks):
    """The JWKS keys linkgate can use, duplicates of a kid dropped."""
    out = []
    listed = [k.get("kid") for k in jwks["keys"] if isinstance(k, dict)]
    for k in jwks["keys"]:
        if not isinstance(k, dict) or k.get("use", "sig") != "sig":
            continue
        if any(m in k for m in ("d", "p", "q", "dp", "dq", "qi", "k")):
            continue
        alg = k.get("alg")
        if alg is not None and alg not in ("RS256", "ES256"):
            continue
        if k.get("kty") == "RSA":
            n, e = b64u_strict(k.get("n", "")), b64u_strict(k.get("e", ""))
            if not n or not e or not 256 <= len(n) <= 512 or n[0] == 0 or not 1 <= len(e) <= 4 or e[0] == 0:
                continue
            ev = int.from_bytes(e, "big")
            if ev % 2 == 0 or ev < 3 or alg == "ES256":
                continue
            key = ("RSA", n, e)
        elif k.get("kty") == "EC" and k.get("crv") == "P-256":
            x, y = b64u_strict(k.get("x", "")), b64u_strict(k.get("y", ""))
            if x is None or y is None or len(x) != 32 or len(y) != 32 or alg == "RS256":
                continue
            key = ("EC", x, y)
        else:
            continue
        kid = k.get("kid")
        if kid is not None and listed.count(kid) != 1:
            continue
        out.append((kid, alg, key))
    return out


def suits(entry, alg):
    _, own, key = entry
    return (key[0] == "RSA" and alg == "RS256" or key[0] == "EC" and alg == "ES256") and own in (None, alg)


def find(keys, kid, alg):
    if kid is not None:
        found = [k for k in keys if k[0] == kid]
        return found[0] if found and suits(found[0], alg) else None
    fit = [k for k in keys if suits(k, alg)]
    return fit[0] if len(fit) == 1 else None


def verifies(key, alg, data, sig):
    try:
        if key[0] == "RSA":
            pub = rsa.RSAPublicNumbers(int.from_bytes(key[2], "big"), int.from_bytes(key[1], "big")).public_key()
            pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            pub = ec.EllipticCurvePublicNumbers(int.from_bytes(key[1], "big"), int.from_bytes(key[2], "big"), ec.SECP256R1()).public_key()
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
            pub.verify(der, data, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def claim(claims, path):
    v = claims
    for name in path.split("."):
        if not isinstance(v, dict) or name not in v:
            return None
        v = v[name]
    return v


def texts(v):
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [x for x in v if isinstance(x, str)]
    return []


def judge(cfg, rule, jwks, skew, vec):
    """(reason or None, identity or None) as the edge decides."""
    issuer = f"https://{cfg['team_domain']}"
    audiences = cfg["audience"] if isinstance(cfg["audience"], list) else [cfg["audience"]]
    r = read(vec["token"], cfg.get("algorithms", ["RS256"]))
    if isinstance(r, str):
        return r, None
    header, claims, data, sig = r
    key = find(usable_keys(jwks), header.get("kid"), header["alg"])
    if key is None:
        return "identity_unknown_key", None
    if header["alg"] == "RS256" and len(sig) != len(key[2][1]):
        return "jwt_signature_length", None
    if not verifies(key[2], header["alg"], data, sig):
        return "identity_bad_signature", None
    who = claim(claims, cfg.get("claim", "sub"))
    identity = who if isinstance(who, str) else None
    now = vec["now"]
    if claims.get("iss") != issuer:
        return "identity_issuer", identity
    aud = claims.get("aud")
    if not set([aud] if isinstance(aud, str) else aud or []) & set(audiences):
        return "identity_audience", identity
    if "exp" not in claims or now >= claims["exp"]:
        return "identity_expired", identity
    if any(claims.get(n, 0) > now + skew for n in ("nbf", "iat", "auth_time")):
        return "identity_not_yet_valid", identity
    if identity is None:
        return "identity_no_subject", None
    if identity != vec["link_sub"]:
        return "identity_other_subject", identity
    groups = rule.get("groups")
    if groups and not set(groups) & set(texts(claim(claims, cfg.get("groups_claim", "groups")))):
        return "identity_not_in_group", identity
    if "max_auth_age" in rule:
        secs = {"s": 1, "m": 60, "h": 3600, "d": 86400}[rule["max_auth_age"][-1]] * int(rule["max_auth_age"][:-1])
        at = claims.get("auth_time", claims.get("iat"))
        if at is None or now - at > secs:
            return "identity_stale", identity
    return None, identity


CODES = {
    "identity_other_subject": "identity_mismatch",
    "identity_no_subject": "identity_mismatch",
    "identity_not_in_group": "identity_mismatch",
    "identity_claim": "identity_mismatch",
    "identity_stale": "reauth_required",
}


def code_of(reason):
    return CODES.get(reason, "identity_required")


def check(data, t):
    if data.get("format") != FORMAT:
        t.fail("jwt.json", f"unexpected format {data.get('format')!r}")
        return
    cfg, rule, jwks, skew = data["config"], data["rule"], data["jwks"], data["skew_secs"]
    for vec in data["vectors"]:
        name = vec["name"]
        if not t.fresh("jwt", name):
            continue
        reason, identity = judge(cfg, rule, jwks, skew, vec)
        want = vec["expect"]
        got = "ok" if reason is None else {"code": code_of(reason), "reason": reason}
        if got != want:
            t.fail(name, f"expected {want}, judged {got}")
        elif identity != vec["identity"]:
            t.fail(name, f"identity {identity!r}, vector says {vec['identity']!r}")
        else:
            t.passed += 1


# ---------------------------------------------------------------- the maker

def load_provider(data):
    rsa_key = serialization.load_pem_private_key(data["test_provider"]["rsa_private_pem"].encode(), None)
    ec_key = serialization.load_pem_private_key(data["test_provider"]["ec_private_pem"].encode(), None)
    other = serialization.load_pem_private_key(data["test_provider"]["stranger_private_pem"].encode(), None)
    return rsa_key, ec_key, other


def pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def public_jwk(key, kid, alg):
    pub = key.public_key().public_numbers()
    if alg == "RS256":
        n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
        return {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": b64u(n), "e": b64u(pub.e.to_bytes(3, "big"))}
    return {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64u(pub.x.to_bytes(32, "big")), "y": b64u(pub.y.to_bytes(32, "big"))}


def make(existing):
    if existing:
        rsa_key, ec_key, other = load_provider(existing)
    else:
        rsa_key = rsa.generate_private_key(65537, 2048)
        ec_key = ec.generate_private_key(ec.SECP256R1())
        other = rsa.generate_private_key(65537, 2048)
    team = "acme.cloudflareaccess.com"
    iss = f"https://{team}"
    aud = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"
    jwks = {
        "keys": [public_jwk(rsa_key, "rsa-2026", "RS256"), public_jwk(ec_key, "ec-2026", "ES256")],
        "public_cert": {"kid": "rsa-2026", "cert": "-----BEGIN CERTIFICATE-----\n(not read)\n-----END CERTIFICATE-----\n"},
    }
    cfg = {"source": "access", "team_domain": team, "audience": aud, "algorithms": ["RS256", "ES256"], "groups_claim": "groups"}
    rule = {"max_auth_age": "1h", "groups": ["board"]}

    def enc(obj):
        return b64u(json.dumps(obj, separators=(",", ":")).encode())

    def signed(header, claims, key=rsa_key, raw_payload=None):
        payload = raw_payload if raw_payload is not None else enc(claims)
        data = f"{enc(header)}.{payload}".encode()
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True)))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:
            sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return f"{data.decode()}.{b64u(sig)}"

    RS = {"alg": "RS256", "kid": "rsa-2026", "typ": "JWT"}
    ES = {"alg": "ES256", "kid": "ec-2026", "typ": "JWT"}
    base = {"aud": [aud], "email": "alice@example.com", "exp": T + 600, "iat": T - 60, "nbf": T - 60, "iss": iss, "type": "app",
            "identity_nonce": "6ei69kawdKzMIAPF", "sub": "r-1042", "country": "DE", "groups": ["all", "board"]}
    v = []

    def add(name, description, token, expect, identity, now=T):
        v.append({"name": name, "description": description, "token": token, "now": now, "link_sub": "r-1042",
                  "expect": expect if expect == "ok" else {"code": code_of(expect), "reason": expect}, "identity": identity})

    ok = signed(RS, base)
    add("rs256_access_ok", "An Access application token of the recipient (RS256, aud as a list, groups).", ok, "ok", "r-1042")
    add("es256_ok", "The same claims under the provider's P-256 key (raw r||s, RFC 6979 nonce).", signed(ES, base, ec_key), "ok", "r-1042")
    add("aud_string_ok", "aud as a single string.", signed(RS, {**base, "aud": aud}), "ok", "r-1042")
    add("auth_time_wins_ok", "iat 2 h old but auth_time 10 min: the sign-in is fresh.", signed(RS, {**base, "iat": T - 7200, "nbf": T - 7200, "auth_time": T - 600}), "ok", "r-1042")
    add("iat_within_skew_ok", "iat 20 s in the future (skew 30 s).", signed(RS, {**base, "iat": T + 20, "nbf": T + 20}), "ok", "r-1042")
    add("no_typ_no_kid_es256_ok", "No typ, no kid: the only ES256 key of the set.", signed({"alg": "ES256"}, base, ec_key), "ok", "r-1042")
    add("freshness_boundary_ok", "Signed in exactly max_auth_age ago.", signed(RS, {**base, "iat": T - 3600, "nbf": T - 3600}), "ok", "r-1042")
    # The reader.
    none = f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(base)}."
    add("alg_none", "alg none, empty signature.", none, "jwt_alg_none", None)
    add("alg_none_mixed_case", "alg nOnE.", f"{enc({'alg': 'nOnE'})}.{enc(base)}.", "jwt_alg_none", None)
    pub_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    hs_input = f"{enc({'alg': 'HS256', 'kid': 'rsa-2026', 'typ': 'JWT'})}.{enc(base)}"
    hs = f"{hs_input}.{b64u(hmac.new(pub_pem, hs_input.encode(), hashlib.sha256).digest())}"
    add("hs256_public_key_as_secret", "HS256 keyed with the provider's public key (PEM).", hs, "jwt_alg_hmac", None)
    add("ps256_unknown", "PS256 is not verified by linkgate.", signed({"alg": "PS256", "kid": "rsa-2026"}, base), "jwt_alg_unknown", None)
    add("crit", "crit lists an extension.", signed({**RS, "crit": ["exp"]}, base), "jwt_crit", None)
    add("jku", "A key URL in the header.", signed({**RS, "jku": "https://evil.example/jwks"}, base), "jwt_key_in_header", None)
    add("embedded_jwk", "The signing key embedded in the header.", signed({**RS, "jwk": public_jwk(other, "x", "RS256")}, base, other), "jwt_key_in_header", None)
    add("typ_other", "typ at+jwt.", signed({**RS, "typ": "at+jwt"}, base), "jwt_typ", None)
    add("padding", "Base64 padding on the signature.", ok + "=", "jwt_encoding", None)
    add("five_parts", "A JWE-shaped token.", ok + ".a.b", "jwt_shape", None)
    fraction = json.dumps(base, separators=(",", ":")).replace(f'"exp":{T + 600}', f'"exp":{T + 600}.5')
    add("exp_fraction", "exp with a fraction.", signed(RS, None, raw_payload=b64u(fraction.encode())), "jwt_claims", None)
    add("duplicate_claim", "sub given twice.", signed(RS, None, raw_payload=b64u(b'{"sub":"r-1042","sub":"r-1","exp":1}')), "jwt_payload", None)
    der = ec_key.sign(f"{enc(ES)}.{enc(base)}".encode(), ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    add("es256_der_signature", "ES256 with a DER signature (JWS wants raw r||s).", f"{enc(ES)}.{enc(base)}.{b64u(der)}", "jwt_signature_length", None)
    add("too_long", "Over 8192 bytes.", signed(RS, {**base, "pad": "x" * 8200}), "jwt_too_long", None)
    # Keys and signatures.
    add("unknown_kid", "A kid the JWKS does not list.", signed({**RS, "kid": "rsa-2099"}, base), "identity_unknown_key", None)
    add("rs256_with_ec_kid", "RS256 naming the P-256 key.", signed({**RS, "kid": "ec-2026"}, base), "identity_unknown_key", None)
    add("another_key", "The right kid, signed by another RSA key.", signed(RS, base, other), "identity_bad_signature", None)
    h, p, s = ok.split(".")
    altered = f"{h}.{enc({**base, 'sub': 'r-9999'})}.{s}"
    add("altered_payload", "The recipient's token with another sub, signature kept.", altered, "identity_bad_signature", None)
    rs_short = f"{h}.{p}.{b64u(b64u_strict(s)[:-1] + b'')}"
    add("rs256_signature_short", "A 255-byte RS256 signature under a 2048-bit key.", rs_short, "jwt_signature_length", None)
    # Claims.
    add("wrong_issuer", "Another Access team.", signed(RS, {**base, "iss": "https://evil.cloudflareaccess.com"}), "identity_issuer", "r-1042")
    add("wrong_audience", "Another Access application.", signed(RS, {**base, "aud": ["another-app"]}), "identity_audience", "r-1042")
    add("expired_exact", "now == exp (exp is exact).", ok, "identity_expired", "r-1042", now=T + 600)
    add("no_exp", "No exp.", signed(RS, {k: x for k, x in base.items() if k != "exp"}), "identity_expired", "r-1042")
    add("nbf_future", "nbf 31 s in the future.", signed(RS, {**base, "nbf": T + 31}), "identity_not_yet_valid", "r-1042")
    add("another_person", "A valid token of someone else.", signed(RS, {**base, "sub": "r-9999", "email": "mallory@example.com"}), "identity_other_subject", "r-9999")
    add("no_sub", "No sub claim.", signed(RS, {k: x for k, x in base.items() if k != "sub"}), "identity_no_subject", None)
    add("not_in_group", "The recipient, but not in the board group.", signed(RS, {**base, "groups": ["all"]}), "identity_not_in_group", "r-1042")
    add("stale", "Signed in 3601 s ago (max_auth_age 1h).", signed(RS, {**base, "iat": T - 3601, "nbf": T - 3601}), "identity_stale", "r-1042")
    return {
        "format": FORMAT,
        "description": "Identity assertions (docs/identity.md): one LINKGATE_IDENTITY, one rule, one JWKS; each vector is judged for a link whose sub is link_sub at time now. expect is ok or the refusal's code and reason; identity is what the audit event records (the claim of an assertion whose signature verified).",
        "config": cfg,
        "rule": rule,
        "skew_secs": 30,
        "jwks": jwks,
        "test_provider": {
            "note": "Test keys only, kept so that --write re-makes the same vectors.",
            "rsa_private_pem": pem(rsa_key),
            "ec_private_pem": pem(ec_key),
            "stranger_private_pem": pem(other),
        },
        "vectors": v,
    }


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


def main(argv):
    path = os.path.join(HERE, "jwt.json")
    if "--write" in argv:
        existing = json.load(open(path)) if os.path.exists(path) else None
        with open(path, "w") as f:
            json.dump(make(existing), f, indent=2, sort_keys=True)
            f.write("\n")
    t = Tally()
    check(json.load(open(path)), t)
    print(f"{t.passed} passed, {t.failed} failed")
    return 0 if t.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
