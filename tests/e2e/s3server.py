#!/usr/bin/env python3
"""A tiny S3-ish object server on loopback that *verifies* SigV4 query
signatures, for linkgate's redirect end-to-end tests.

Why not moto alone: moto's server mode (checked with moto 5.2) serves a
presigned URL whose signature was tampered with, and with its IAM auth switched
on (INITIAL_NO_AUTH_ACTION_COUNT) it fails with a 500 on any presigned request
(it looks for an Authorization header). This server checks what S3 checks for a
presigned GET/HEAD, written from AWS's SigV4 documentation with the standard
library only (no botocore, which made linkgate's vectors):

- X-Amz-Algorithm AWS4-HMAC-SHA256; X-Amz-Credential = the configured key id /
  date / region / s3 / aws4_request, its date that of X-Amz-Date;
- X-Amz-Expires 1..604800 and not past (else 403 AccessDenied, "Request has
  expired"); X-Amz-Date not in the future beyond 15 minutes;
- X-Amz-SignedHeaders includes host; the signature over the method, the
  re-encoded path, every query parameter but the signature (sorted), the signed
  headers and UNSIGNED-PAYLOAD, compared in constant time (else 403
  SignatureDoesNotMatch).

It also verifies SigV4 *Authorization headers* (the private-origin mode of
linkgate, where the worker signs its own requests), from the same
documentation: `AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/s3/aws4_request,
SignedHeaders=..., Signature=...`; `host`, `x-amz-date` and
`x-amz-content-sha256` must be signed, `x-amz-date` within 15 minutes of now,
the payload hash the empty body's (or UNSIGNED-PAYLOAD); the signature over
the method, the re-encoded path, the sorted query, the signed headers' trimmed
values and the payload hash, compared in constant time.

With --secret-header NAME --secret-value V it is instead a plain HTTP origin
that serves a request only when header NAME equals V (403 otherwise); no
SigV4 then.

Objects are files under --root: /<bucket>/<key> is ROOT/<bucket>/<key>. A GET
honours one byte range and the signed response-content-disposition and
response-content-type overrides. `Last-Modified` is the file's mtime; a file
`<object>.headers.json` next to an object holds extra response headers (e.g.
`x-amz-meta-classification`). Every request line and its headers are
appended, one JSON object per line, to --log (what the tests search for tokens).

    python3 s3server.py --root DIR --log FILE --key-id ID --secret S [--region R]
                        [--secret-header NAME --secret-value V]

Prints {"port": N} once listening on 127.0.0.1 (an OS-chosen port).
"""

import argparse
import datetime
import hashlib
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

MAX_EXPIRES = 7 * 86400
MAX_FUTURE = 15 * 60


def enc(s, safe):
    return quote(s, safe=safe)


def sign(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cfg = None
    log_lock = threading.Lock()

    def log_message(self, *args):  # quiet
        pass

    def record(self):
        entry = {"method": self.command, "target": self.path, "headers": dict(self.headers.items())}
        with self.log_lock, open(self.cfg.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def error(self, status, code, message):
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>'
            % (code, message)
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self.serve()

    def do_HEAD(self):
        self.serve()

    def do_PUT(self):
        self.record()
        self.error(405, "MethodNotAllowed", "read-only test server")

    def verify_secret(self):
        got = self.headers.get(self.cfg.secret_header)
        if got is None or not hmac.compare_digest(got.encode("utf-8"), self.cfg.secret_value.encode("utf-8")):
            return 403, "AccessDenied", "missing or wrong origin secret"
        return None

    def verify_header(self, raw_path, raw_query, authorization):
        """None when the Authorization-header-signed request is authentic and current."""
        fields = {}
        for part in authorization[len("AWS4-HMAC-SHA256 ") :].split(","):
            name, _, value = part.strip().partition("=")
            fields[name] = value
        cred = fields.get("Credential", "").split("/")
        signed_headers = fields.get("SignedHeaders", "").split(";")
        signature = fields.get("Signature", "")
        if len(cred) != 5 or cred[2] != self.cfg.region or cred[3] != "s3" or cred[4] != "aws4_request":
            return 400, "AuthorizationHeaderMalformed", "Credential"
        if cred[0] != self.cfg.key_id:
            return 403, "InvalidAccessKeyId", "unknown access key id"
        stamp = self.headers.get("x-amz-date", "")
        try:
            signed_at = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            return 403, "AccessDenied", "x-amz-date missing or malformed"
        if cred[1] != stamp[:8]:
            return 403, "SignatureDoesNotMatch", "credential date"
        now = datetime.datetime.now(datetime.timezone.utc).timestamp()
        if abs(now - signed_at.timestamp()) > MAX_FUTURE:
            return 403, "RequestTimeTooSkewed", "x-amz-date is more than 15 minutes off"
        payload = self.headers.get("x-amz-content-sha256")
        if payload not in (hashlib.sha256(b"").hexdigest(), "UNSIGNED-PAYLOAD"):
            return 400, "InvalidRequest", "x-amz-content-sha256"
        for required in ("host", "x-amz-date", "x-amz-content-sha256"):
            if required not in signed_headers:
                return 403, "AccessDenied", "%s must be signed" % required
        if signed_headers != sorted(signed_headers):
            return 403, "SignatureDoesNotMatch", "SignedHeaders not sorted"
        params = []
        for part in raw_query.split("&") if raw_query else []:
            name, _, value = part.partition("=")
            params.append((unquote(name), unquote(value)))
        canonical_query = "&".join("%s=%s" % (enc(n, "-_.~"), enc(v, "-_.~")) for n, v in sorted(params))
        canonical_headers = ""
        for h in signed_headers:
            value = self.headers.get(h)
            if value is None:
                return 403, "SignatureDoesNotMatch", "a signed header is missing"
            canonical_headers += "%s:%s\n" % (h, " ".join(value.split()))
        canonical_request = "\n".join(
            [
                self.command,
                enc(unquote(raw_path), "/-_.~"),
                canonical_query,
                canonical_headers,
                ";".join(signed_headers),
                payload,
            ]
        )
        to_sign = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (
            stamp,
            "/".join(cred[1:]),
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        )
        k = sign(("AWS4" + self.cfg.secret).encode("utf-8"), cred[1])
        k = sign(k, cred[2])
        k = sign(k, "s3")
        k = sign(k, "aws4_request")
        want = hmac.new(k, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, signature):
            return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match"
        return None

    def verify(self, raw_path, raw_query):
        """None when the request is authentic and current, else (status, code, message)."""
        if self.cfg.secret_header:
            return self.verify_secret()
        authorization = self.headers.get("Authorization")
        if authorization is not None:
            if not authorization.startswith("AWS4-HMAC-SHA256 "):
                return 400, "InvalidArgument", "unsupported Authorization"
            return self.verify_header(raw_path, raw_query, authorization)
        params = []
        for part in raw_query.split("&") if raw_query else []:
            name, _, value = part.partition("=")
            params.append((unquote(name), unquote(value)))
        names = [n for n, _ in params]
        if len(set(names)) != len(names):
            return 400, "InvalidArgument", "duplicate query parameter"
        q = dict(params)
        if "X-Amz-Signature" not in q:
            return 403, "AccessDenied", "not a presigned request (anonymous access is off)"
        if q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            return 400, "AuthorizationQueryParametersError", "X-Amz-Algorithm"
        cred = q.get("X-Amz-Credential", "").split("/")
        stamp = q.get("X-Amz-Date", "")
        if len(cred) != 5 or cred[2] != self.cfg.region or cred[3] != "s3" or cred[4] != "aws4_request":
            return 400, "AuthorizationQueryParametersError", "X-Amz-Credential"
        if cred[0] != self.cfg.key_id:
            return 403, "InvalidAccessKeyId", "unknown access key id"
        try:
            signed_at = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
            expires = int(q.get("X-Amz-Expires", ""))
        except ValueError:
            return 400, "AuthorizationQueryParametersError", "X-Amz-Date or X-Amz-Expires"
        if cred[1] != stamp[:8]:
            return 400, "AuthorizationQueryParametersError", "credential date"
        if not 1 <= expires <= MAX_EXPIRES:
            return 400, "AuthorizationQueryParametersError", "X-Amz-Expires must be 1..604800"
        now = datetime.datetime.now(datetime.timezone.utc).timestamp()
        if now > signed_at.timestamp() + expires:
            return 403, "AccessDenied", "Request has expired"
        if signed_at.timestamp() > now + MAX_FUTURE:
            return 403, "AccessDenied", "Request is not yet valid"
        signed_headers = q.get("X-Amz-SignedHeaders", "").split(";")
        if "host" not in signed_headers:
            return 400, "AuthorizationQueryParametersError", "host must be signed"
        canonical_query = "&".join(
            "%s=%s" % (enc(n, "-_.~"), enc(v, "-_.~"))
            for n, v in sorted(p for p in params if p[0] != "X-Amz-Signature")
        )
        canonical_headers = ""
        for h in signed_headers:
            value = self.headers.get(h)
            if value is None:
                return 403, "SignatureDoesNotMatch", "a signed header is missing"
            canonical_headers += "%s:%s\n" % (h, " ".join(value.split()))
        canonical_request = "\n".join(
            [
                self.command,
                enc(unquote(raw_path), "/-_.~"),
                canonical_query,
                canonical_headers,
                ";".join(signed_headers),
                "UNSIGNED-PAYLOAD",
            ]
        )
        scope = "/".join(cred[1:])
        to_sign = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (
            stamp,
            scope,
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        )
        k = sign(("AWS4" + self.cfg.secret).encode("utf-8"), cred[1])
        k = sign(k, cred[2])
        k = sign(k, "s3")
        k = sign(k, "aws4_request")
        want = hmac.new(k, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, q["X-Amz-Signature"]):
            return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match"
        return None

    def serve(self):
        self.record()
        raw_path, _, raw_query = self.path.partition("?")
        refused = self.verify(raw_path, raw_query)
        if refused:
            return self.error(*refused)
        q = {unquote(n): unquote(v) for n, _, v in (p.partition("=") for p in raw_query.split("&")) if n}
        rel = unquote(raw_path).lstrip("/")
        full = os.path.realpath(os.path.join(self.cfg.root, rel))
        if not full.startswith(os.path.realpath(self.cfg.root) + os.sep) or not os.path.isfile(full):
            return self.error(404, "NoSuchKey", "The specified key does not exist.")
        with open(full, "rb") as f:
            data = f.read()
        extra_headers = {}
        if os.path.isfile(full + ".headers.json"):
            with open(full + ".headers.json", encoding="utf-8") as f:
                extra_headers = json.load(f)
        modified = datetime.datetime.fromtimestamp(int(os.path.getmtime(full)), datetime.timezone.utc)
        status, body, extra = 200, data, {}
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and "," not in rng:
            a, _, b = rng[6:].partition("-")
            try:
                if a == "":
                    start, end = max(0, len(data) - int(b)), len(data) - 1
                else:
                    start, end = int(a), min(int(b) if b else len(data) - 1, len(data) - 1)
            except ValueError:
                start, end = 0, -1
            if start > end or start >= len(data):
                return self.error(416, "InvalidRange", "The requested range is not satisfiable")
            status, body = 206, data[start : end + 1]
            extra["Content-Range"] = "bytes %d-%d/%d" % (start, end, len(data))
        self.send_response(status)
        self.send_header("Content-Type", q.get("response-content-type", "application/octet-stream"))
        if "response-content-disposition" in q:
            self.send_header("Content-Disposition", q["response-content-disposition"])
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"%s"' % hashlib.md5(data).hexdigest())
        self.send_header("Last-Modified", modified.strftime("%a, %d %b %Y %H:%M:%S GMT"))
        for k, v in list(extra.items()) + list(extra_headers.items()):
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--key-id", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--region", default="auto")
    p.add_argument("--secret-header", default=None)
    p.add_argument("--secret-value", default=None)
    cfg = p.parse_args()
    Handler.cfg = cfg
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
