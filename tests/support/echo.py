#!/usr/bin/env python3
"""An API that echoes the credentials it was sent back in every encoding an API might use,
for conn's scrubbing tests (standard library only). Also imported by tests/oauth1/server.py,
whose /1/echo resource echoes the same way.

    echo.py                 prints one JSON line {"base": "http://127.0.0.1:PORT"}

What is echoed (`values`): the Authorization header, each of its OAuth 1.0a parameters
decoded (a PLAINTEXT oauth_signature is the consumer and token secrets), for Basic the
decoded user:password, the raw query string and each decoded query value, the raw body and
each decoded form value. Each value `v` appears in these forms (`forms`): as is; percent-
encoded once and twice, upper- and lower-case hex, with and without '/' kept; form-encoded
('+' for space) once and twice; JSON-escaped (\\uXXXX in lower and upper case, '\\/', and
with non-ASCII kept). A Basic user:password also appears base64-encoded in both alphabets,
padded and not, and each of those percent-encoded and JSON-escaped.

Paths:
  POST /token          OAuth 2.0 client credentials: {"access_token": $ECHO_ACCESS_TOKEN}
  POST /token-echo     400 invalid_client whose error_description is the echo (text)
  GET  /me             401 with the echo in "message" (JSON), as an API refusing a check
  ANY  /echo.json      200, the echo as JSON, twice: \\u lower case, then upper case with \\/
  ANY  other           200, the echo as text, one "label: form" line each
Every answer also carries X-Echo-* headers with the ASCII forms of the Authorization header.
"""
import base64
import json
import os
import re
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def lower_hex(s):
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), s)


def json_body(v, ensure_ascii=True):
    return json.dumps(v, ensure_ascii=ensure_ascii)[1:-1]


def forms(v):
    """Every textual form of v, by label."""
    out = {"raw": v}
    for keep, tag in (("", ""), ("/", "-keep-slash")):
        once = urllib.parse.quote(v, safe=keep)
        twice = urllib.parse.quote(once, safe=keep)
        out[f"pct1{tag}"] = once
        out[f"pct1{tag}-lower"] = lower_hex(once)
        out[f"pct2{tag}"] = twice
        out[f"pct2{tag}-lower"] = lower_hex(twice)
    out["form1"] = urllib.parse.quote_plus(v)
    out["form2"] = urllib.parse.quote_plus(urllib.parse.quote_plus(v))
    j = json_body(v)
    out["json"] = j
    out["json-upper"] = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), j)
    out["json-slash"] = j.replace("/", "\\/")
    out["json-utf8"] = json_body(v, ensure_ascii=False)
    return out


def base64_forms(v):
    b = v.encode()
    out = {}
    for name, enc in (("std", base64.standard_b64encode), ("url", base64.urlsafe_b64encode)):
        padded = enc(b).decode()
        for pad, text in (("padded", padded), ("unpadded", padded.rstrip("="))):
            label = f"b64-{name}-{pad}"
            out[label] = text
            out[label + "-pct"] = urllib.parse.quote(text, safe="")
            out[label + "-json-slash"] = json_body(text).replace("/", "\\/")
    return out


def values(headers, path, body):
    """What the request carried, by label: decoded where it was encoded."""
    out = {}
    auth = headers.get("Authorization", "")
    # http.server decodes header bytes as Latin-1; conn sends UTF-8.
    try:
        auth = auth.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    if auth:
        out["authorization"] = auth
    scheme, _, rest = auth.partition(" ")
    if scheme.lower() == "basic":
        try:
            out["basic-pair"] = base64.b64decode(rest).decode("utf-8")
        except (ValueError, UnicodeError):
            pass
    elif scheme == "OAuth":
        for k, v in re.findall(r'(\w+)="([^"]*)"', rest):
            out[f"oauth-{k}"] = urllib.parse.unquote(v)
    for k, v in dict(headers).items():
        if k.lower().startswith("x-api-key"):
            out[f"header-{k.lower()}"] = v.encode("latin-1").decode("utf-8", "replace")
    query = urllib.parse.urlsplit(path).query
    if query:
        out["query"] = query
        for k, v in urllib.parse.parse_qsl(query):
            out[f"query-{k}"] = v
    if body:
        out["body"] = body
        for k, v in urllib.parse.parse_qsl(body):
            out[f"form-{k}"] = v
    return out


def echo(vals):
    """label -> text, for every form of every value."""
    out = {}
    for name, v in vals.items():
        for f, text in forms(v).items():
            out[f"{name} {f}"] = text
        if name == "basic-pair":
            for f, text in base64_forms(v).items():
                out[f"{name} {f}"] = text
    return out


def as_text(e):
    return "".join(f"{k}: {v}\n" for k, v in e.items())


def as_json(e):
    lower = json.dumps(e)
    upper = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), lower)
    return '{"lower": %s, "upper": %s}' % (lower, upper.replace("/", "\\/"))


def headers_for(vals):
    """X-Echo-* headers: the ASCII forms of the Authorization header and of a Basic pair."""
    h = {}
    for name in ("authorization", "basic-pair"):
        if name not in vals:
            continue
        for f, text in forms(vals[name]).items():
            if f.startswith(("pct", "form", "json")) and f != "json-utf8":
                h[f"X-Echo-{name}-{f}"] = text
        if name == "basic-pair":
            for f, text in base64_forms(vals[name]).items():
                h[f"X-Echo-{name}-{f}"] = text
    return h


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, ctype, headers):
        data = body.encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def route(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        path = urllib.parse.urlsplit(self.path).path
        if path == "/token":
            token = os.environ["ECHO_ACCESS_TOKEN"]
            return self.send(200, json.dumps({"access_token": token, "token_type": "bearer",
                                              "expires_in": 3600}), "application/json", {})
        vals = values(self.headers, self.path, body)
        e = echo(vals)
        h = headers_for(vals)
        if path == "/token-echo":
            return self.send(400, json.dumps({"error": "invalid_client",
                                              "error_description": as_text(e)}),
                             "application/json", h)
        if path == "/me":
            return self.send(401, json.dumps({"message": as_text(e)}), "application/json", h)
        if path.endswith(".json"):
            return self.send(200, as_json(e), "application/json", h)
        self.send(200, as_text(e), "text/plain; charset=utf-8", h)

    do_GET = do_POST = do_PUT = do_DELETE = route


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(json.dumps({"base": f"http://127.0.0.1:{srv.server_port}"}), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
