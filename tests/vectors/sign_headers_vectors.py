#!/usr/bin/env python3
"""SigV4 Authorization-header vectors (tests/vectors/sign_headers.json), made
and checked with botocore's own S3 header signer (botocore.auth.S3SigV4Auth,
the one the AWS SDK for Python signs every S3 call with).

    python3 tests/vectors/sign_headers_vectors.py           check: every committed
                                                            case is what botocore
                                                            makes now
    python3 tests/vectors/sign_headers_vectors.py --write   (re)generate the file

Each case gives the inputs of linkgate's header signer (crates/linkgate-core/
src/presign.rs `sign_headers`: endpoint, region, bucket, credentials, method,
key, signing time, optional Range) and what botocore produces for them: the
URL (the key percent-encoded by botocore.utils.percent_encode with the safe
set botocore's S3 client uses for keys, `/~`) and the headers `Authorization`,
`X-Amz-Content-SHA256` (payload signing on: the empty body's hash) and
`X-Amz-Date`. tests/vectors.rs reproduces every one byte for byte.

Without botocore the check says so and exits 0 (the Rust test still holds the
cases). Prints "N passed, M failed"; exits 1 on any difference.
"""

import datetime
import json
import os
import random
import sys
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from presign_vectors import ENDPOINTS, SECRET_CHARS, SEGMENT_PIECES  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "sign_headers.json")
SEED = 1304
RANGES = [None, "bytes=0-9", "bytes=0-0", "bytes=100-25165823", "bytes=12582912-", "bytes=-500"]


def sign_botocore(case):
    import botocore.auth
    import botocore.credentials
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.utils import percent_encode

    url = "%s/%s/%s" % (case["endpoint"], case["bucket"], percent_encode(case["key"], safe="/~"))
    headers = {}
    if case["range"] is not None:
        headers["Range"] = case["range"]
    req = AWSRequest(method=case["method"], url=url, headers=headers)
    req.context["client_config"] = Config(s3={"payload_signing_enabled": True})
    creds = botocore.credentials.Credentials(case["access_key_id"], case["secret_access_key"])
    signer = botocore.auth.S3SigV4Auth(creds, "s3", case["region"])
    when = datetime.datetime.fromtimestamp(case["now"], datetime.timezone.utc)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
        signer.add_auth(req)
    return {
        "url": url,
        "authorization": req.headers["Authorization"],
        "x_amz_content_sha256": req.headers["X-Amz-Content-SHA256"],
        "x_amz_date": req.headers["X-Amz-Date"],
    }


def make_cases():
    r = random.Random(SEED)
    times = [0, 86_399, 951_782_400, 1_709_164_800, 1_764_460_800, 4_102_444_799]
    cases = []
    for i in range(64):
        endpoint, region = ENDPOINTS[i % len(ENDPOINTS)]
        key = "/".join(
            "".join(r.choice(SEGMENT_PIECES) for _ in range(r.randint(1, 3))) for _ in range(r.randint(1, 4))
        )
        cases.append(
            {
                "name": "case_%03d" % i,
                "endpoint": endpoint,
                "region": region,
                "bucket": r.choice(["files", "linkgate-files", "my.bucket.v2", "abc"]),
                "access_key_id": r.choice(["AKIAIOSFODNN7EXAMPLE", "0123456789abcdef0123456789abcdef", "minio-user"]),
                "secret_access_key": "".join(r.choice(SECRET_CHARS) for _ in range(r.choice([40, 64]))),
                "method": "HEAD" if i % 4 == 3 else "GET",
                "key": key,
                "now": times[i] if i < len(times) else r.randint(946_684_800, 4_102_444_799),
                "range": RANGES[i % len(RANGES)],
            }
        )
    return cases


def main():
    write = "--write" in sys.argv[1:]
    try:
        import botocore
    except ImportError:
        print("botocore is not importable: header-signing vectors not re-checked")
        return 0
    if write:
        cases = make_cases()
        for c in cases:
            c["expected"] = sign_botocore(c)
        doc = {
            "description": "SigV4 Authorization-header signed S3 requests (path style) made by botocore's "
            "S3SigV4Auth; see tests/vectors/sign_headers_vectors.py",
            "botocore": botocore.__version__,
            "cases": cases,
        }
        with open(OUT, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print("wrote %d cases" % len(cases))
        return 0
    with open(OUT, encoding="utf-8") as f:
        doc = json.load(f)
    ok = bad = 0
    for c in doc["cases"]:
        if sign_botocore(c) == c["expected"]:
            ok += 1
        else:
            bad += 1
            print("differs: %s" % c["name"])
    print("%d passed, %d failed" % (ok, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
