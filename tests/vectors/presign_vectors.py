#!/usr/bin/env python3
"""SigV4 presigned-URL vectors (tests/vectors/presign.json), made and checked
with botocore's own presigner (the AWS SDK for Python).

    python3 tests/vectors/presign_vectors.py           check: every committed URL
                                                       is what botocore makes now
    python3 tests/vectors/presign_vectors.py --write   (re)generate the file

Each case gives the inputs of linkgate's presigner (crates/linkgate-core/src/
presign.rs: endpoint, region, bucket, credentials, method, key, signing time,
expiry, response-content-disposition, response-content-type) and the URL that
botocore generates for them; tests/vectors.rs reproduces every URL byte for
byte. `filename` is the link's file name: `disposition` is the RFC 6266 value
linkgate sends for it, computed here independently (docs/edge.md) and checked
against the core's code by the Rust test.

Without botocore the check says so and exits 0 (the Rust test still holds the
URLs); scripts/test.sh runs this check whenever botocore is importable.
Prints "N passed, M failed"; exits 1 on any difference.
"""

import datetime
import json
import os
import random
import sys
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "presign.json")
SEED = 13

ATTR_CHARS = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~")


def disposition(filename):
    """`attachment; filename="<ascii fallback>"; filename*=UTF-8''<pct>` (RFC 6266, RFC 8187)."""
    fallback = "".join(
        c if ord(c) < 128 and c.isprintable() and c not in '"\\%;' else "_" for c in filename
    )
    encoded = "".join(chr(b) if b in ATTR_CHARS else "%%%02X" % b for b in filename.encode("utf-8"))
    return "attachment; filename=\"%s\"; filename*=UTF-8''%s" % (fallback, encoded)


CLIENTS = {}


def presign_botocore(case):
    import botocore.auth
    import botocore.credentials
    import botocore.session
    from botocore.config import Config

    # A client per endpoint and region (making one costs ~0.2 s); the case's
    # credentials are put into its request signer.
    where = (case["endpoint"], case["region"])
    if where not in CLIENTS:
        CLIENTS[where] = botocore.session.get_session().create_client(
            "s3",
            region_name=case["region"],
            endpoint_url=case["endpoint"],
            aws_access_key_id="placeholder",
            aws_secret_access_key="placeholder",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
    client = CLIENTS[where]
    client._request_signer._credentials = botocore.credentials.Credentials(
        case["access_key_id"], case["secret_access_key"]
    )
    params = {"Bucket": case["bucket"], "Key": case["key"]}
    if case.get("disposition") is not None:
        params["ResponseContentDisposition"] = case["disposition"]
    if case.get("content_type") is not None:
        params["ResponseContentType"] = case["content_type"]
    op = {"GET": "get_object", "HEAD": "head_object"}[case["method"]]
    when = datetime.datetime.fromtimestamp(case["now"], datetime.timezone.utc)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
        return client.generate_presigned_url(op, Params=params, ExpiresIn=case["expires"])


SEGMENT_PIECES = [
    "report", "Q3", "2026", "a b", "x+y", "100%", "~tilde", "f.pdf", "ü", "日本語", "😀", "é",
    "semi;colon", "amp&er", "eq=al", "comma,s", "at@", "dollar$", "bang!", "quote'", "(paren)",
    "star*", "hash#", "q?", "[br]", "-_.", "%41", "%2F", "+", " ", "ß", "Ωmega", "tab\u00a0nbsp",
]
CONTENT_TYPES = [
    None, "application/pdf", "text/plain; charset=utf-8", "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    'multipart/mixed; boundary="x y"', "image/svg+xml", "application/octet-stream",
]
FILENAMES = [
    None, "report.pdf", "Q3 2026 board pack.pdf", "Jahresübersicht 2026.xlsx", "報告書.pdf",
    "a;b\"c\\d%e.txt", "résumé (final) [v2].docx", "emoji 😀.png", "plus+tilde~.csv", "100% done.txt",
]
ENDPOINTS = [
    ("https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com", "auto"),
    ("https://f00dfeed00000000000000000000beef.r2.cloudflarestorage.com", "auto"),
    ("http://127.0.0.1:9000", "auto"),
    ("http://127.0.0.1:5000", "us-east-1"),
    ("https://s3.eu-central-1.amazonaws.com", "eu-central-1"),
    ("https://s3.example.com:8443", "weur"),
    ("http://localhost:4566", "us-west-2"),
]
SECRET_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+=!-_."


def make_cases():
    r = random.Random(SEED)
    cases = []
    # Edge times: the epoch, a day's last second, a leap day, the end of 2099.
    times = [0, 86_399, 951_782_400, 1_709_164_800, 1_764_460_800, 4_102_444_799]
    expiries = [1, 30, 300, 3600, 86_400, 604_800]
    for i in range(240):
        endpoint, region = ENDPOINTS[i % len(ENDPOINTS)]
        nseg = r.randint(1, 4)
        key = "/".join(
            "".join(r.choice(SEGMENT_PIECES) for _ in range(r.randint(1, 3))) for _ in range(nseg)
        )
        filename = FILENAMES[i % len(FILENAMES)] if i % 3 else None
        case = {
            "name": "case_%03d" % i,
            "endpoint": endpoint,
            "region": region,
            "bucket": r.choice(["files", "linkgate-files", "my.bucket.v2", "abc", "b" * 63]),
            "access_key_id": r.choice(["AKIAIOSFODNN7EXAMPLE", "0123456789abcdef0123456789abcdef", "minio-user"]),
            "secret_access_key": "".join(r.choice(SECRET_CHARS) for _ in range(r.choice([40, 64]))),
            "method": "HEAD" if i % 5 == 4 else "GET",
            "key": key,
            "now": times[i] if i < len(times) else r.randint(946_684_800, 4_102_444_799),
            "expires": expiries[i % len(expiries)] if i % 2 else r.randint(1, 604_800),
            "filename": filename,
            "disposition": disposition(filename) if filename is not None else None,
            "content_type": CONTENT_TYPES[i % len(CONTENT_TYPES)],
        }
        cases.append(case)
    return cases


def main():
    write = "--write" in sys.argv[1:]
    try:
        import botocore  # noqa: F401
    except ImportError:
        if write:
            sys.exit("botocore is needed to generate the vectors (pip install botocore)")
        print("presign vectors: botocore not importable, not re-checked against it (the Rust test still is)")
        return
    import botocore as b

    if write:
        cases = make_cases()
        for c in cases:
            c["url"] = presign_botocore(c)
        doc = {
            "description": "SigV4 query-presigned S3 URLs (path style) made by botocore's presigner; "
            "see tests/vectors/presign_vectors.py",
            "botocore": b.__version__,
            "cases": cases,
        }
        with open(OUT, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print("wrote %d cases to %s" % (len(cases), OUT))
        return
    with open(OUT, encoding="utf-8") as f:
        doc = json.load(f)
    passed = failed = 0
    for c in doc["cases"]:
        problems = []
        if c.get("filename") is not None and disposition(c["filename"]) != c["disposition"]:
            problems.append("disposition differs")
        got = presign_botocore(c)
        if got != c["url"]:
            problems.append("botocore %s now makes %s" % (b.__version__, got))
        if problems:
            failed += 1
            print("%s: %s" % (c["name"], "; ".join(problems)))
        else:
            passed += 1
    if len(doc["cases"]) < 200:
        failed += 1
        print("only %d cases (at least 200 wanted)" % len(doc["cases"]))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
