#!/usr/bin/env python3
"""Mint a Common Access Token with cbor2 + hmac (independent of linkgate's
Rust), for the end-to-end tests: argv[1] is JSON
{"key": <base64url>, "kid": <text>, "claims": {...}, "protected": {...}?,
 "tamper": "tag"?}; claim and header keys are numbers as strings, a value
{"hex": "..."} is bytes and {"tag": N, "value": V} a CBOR tag. Prints the token."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors"))
import cbor2  # noqa: E402
from cat_vectors import mac0, unb64  # noqa: E402


def conv(v):
    if isinstance(v, dict):
        if set(v) == {"hex"}:
            return bytes.fromhex(v["hex"])
        if set(v) == {"tag", "value"}:
            return cbor2.CBORTag(v["tag"], conv(v["value"]))
        return {int(k) if k.lstrip("-").isdigit() else k: conv(x) for k, x in v.items()}
    if isinstance(v, list):
        return [conv(x) for x in v]
    return v


spec = json.loads(sys.argv[1])
kid = spec["kid"].encode()
protected = cbor2.dumps(conv(spec["protected"])) if "protected" in spec else None
print(mac0(conv(spec["claims"]), kid=kid, key=unb64(spec["key"]), protected=protected, tamper=spec.get("tamper")))
