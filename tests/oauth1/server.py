#!/usr/bin/env python3
"""An OAuth 1.0a provider for conn's end-to-end tests, built on oauthlib's RFC 5849 provider
endpoints (PyPI: oauthlib, with pyjwt + cryptography for RSA-SHA1). All signature checking,
timestamp and nonce rules are oauthlib's; this file only stores tokens in memory and serves
the pages.

    server.py               prints one JSON line {"base": "http://127.0.0.1:PORT", "rsa_key": PATH}

Endpoints (Trello-like paths):
  POST /1/OAuthGetRequestToken     temporary credentials (oauthlib RequestTokenEndpoint)
  GET  /1/OAuthAuthorizeToken      an HTML page with [Allow] and [Deny] buttons (a form)
  POST /1/OAuthAuthorizeToken      Allow: oauthlib AuthorizationEndpoint redirects to the
                                   callback with oauth_token + oauth_verifier (or, for oob,
                                   shows the verifier); Deny: redirect with denied=TOKEN
                                   (or another form, see /_control)
  POST /1/OAuthGetAccessToken      token credentials (oauthlib AccessTokenEndpoint)
  ANY  /1/members/me               a protected resource (oauthlib ResourceEndpoint): 200 with
                                   the member, or 401 with oauth_problem / error_description
  ANY  /1/echo[.json]              a protected resource that echoes what it was sent in every
                                   encoding (tests/support/echo.py), and the consumer and
                                   token secrets it knows, as a careless API might; its first
                                   line (or "valid") says whether oauthlib accepted the request
  GET  /_state                     JSON: what the server saw (for assertions)
  POST /_control                   JSON body {"skew": SECONDS, "revoke": true, "deny_with": FORM}:
                                   shift this server's clock (and its Date header), revoke all
                                   tokens, choose how Deny redirects: "denied" (denied=TOKEN,
                                   the default), an oauth_problem value ("user_refused",
                                   "permission_denied": oauth_problem=VALUE without a token),
                                   or "other-token" (user_refused naming another token)

Consumers: key "conntestconsumerkey0001" with secret "conn-test-consumer-secret" (HMAC-SHA1,
HMAC-SHA256, PLAINTEXT), "connreservedconsumer001" whose secret is full of characters that
need encoding (RESERVED_SECRET), and "connrsaconsumerkey00001" whose RSA key pair is generated
at start; the private key is written to $RSA_KEY_OUT (or a temporary file), named in the first
line, for the test to give conn. Token secrets issued to the last two end in
TOKEN_SECRET_SUFFIX, so they too need encoding.
"""

import email.utils
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import echo  # noqa: E402  (tests/support/echo.py)
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)
from oauthlib.oauth1.rfc5849 import errors
from oauthlib.oauth1.rfc5849.endpoints import base as oauth_base

LOCK = threading.Lock()
SKEW = [0]
DENY_WITH = ["denied"]
CONSUMER = "conntestconsumerkey0001"
RSA_CONSUMER = "connrsaconsumerkey00001"
RESERVED_CONSUMER = "connreservedconsumer001"
RESERVED_SECRET = "cs4+Plain&Secret/Value%7E \u00e9\u20ac\U0001F600:=~"
TOKEN_SECRET_SUFFIX = "+&/%=~: \u00e9\u20ac"
SECRETS = {CONSUMER: "conn-test-consumer-secret", RSA_CONSUMER: "",
           RESERVED_CONSUMER: RESERVED_SECRET}
REQUEST_TOKENS = {}  # token -> dict(secret, client, redirect, verifier)
ACCESS_TOKENS = {}  # token -> dict(secret, client)
NONCES = set()
SEEN = {"resource_ok": [], "resource_rejected": [], "verifiers_presented": [],
        "callbacks": [], "signature_methods": []}

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PUBLIC = key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
RSA_PATH = os.environ.get("RSA_KEY_OUT") or tempfile.mkstemp(prefix="conn-oauth1-")[1]
with open(RSA_PATH, "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


class SkewedTime:
    """oauthlib's endpoints read time.time() for the timestamp check; this one can be shifted."""

    @staticmethod
    def time():
        return time.time() + SKEW[0]


oauth_base.time = SkewedTime


def denial(token):
    """The callback query of a refusal, in the form providers use (see /_control)."""
    form = DENY_WITH[0]
    if form == "denied":  # X/Twitter: the temporary token
        return f"denied={token}"
    if form == "other-token":  # names some other sign-in's token
        return "oauth_token=someoneelsestoken000000&oauth_problem=user_refused"
    return "oauth_problem=" + urllib.parse.quote(form)  # LinkedIn, XING: no token


def reserve(token, request):
    """oauthlib issues letters and digits; these consumers get secrets that need encoding.
    The endpoint serializes `token` after this call, so the client receives the change."""
    if request.client_key in (RESERVED_CONSUMER, RSA_CONSUMER):
        token["oauth_token_secret"] += TOKEN_SECRET_SUFFIX


class Validator(RequestValidator):
    # oauthlib's own length and character rules (keys, tokens, nonces of 20-30 letters and
    # digits) are kept, so conn is tested against them.
    enforce_ssl = False  # loopback only
    dummy_client = "dummyclientkey000000"
    dummy_request_token = "dummyrequesttoken000"
    dummy_access_token = "dummyaccesstoken0000"

    def validate_client_key(self, client_key, request):
        return client_key in SECRETS

    def get_client_secret(self, client_key, request):
        return SECRETS.get(client_key, "dummy")

    def get_rsa_key(self, client_key, request):
        return RSA_PUBLIC

    def validate_requested_realms(self, client_key, realms, request):
        return True

    def get_default_realms(self, client_key, request):
        return []

    def validate_redirect_uri(self, client_key, redirect_uri, request):
        return redirect_uri == "oob" or redirect_uri.startswith("http://127.0.0.1:")

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        with LOCK:
            k = (client_key, timestamp, nonce, request_token or access_token)
            if k in NONCES:
                return False
            NONCES.add(k)
            SEEN["signature_methods"].append(request.signature_method)
            return True

    def save_request_token(self, token, request):
        reserve(token, request)
        with LOCK:
            REQUEST_TOKENS[token["oauth_token"]] = {
                "secret": token["oauth_token_secret"], "client": request.client_key,
                "redirect": request.redirect_uri, "verifier": None}
            SEEN["callbacks"].append(request.redirect_uri)

    def get_redirect_uri(self, token, request):
        return REQUEST_TOKENS[token]["redirect"]

    def get_realms(self, token, request):
        return []

    def verify_request_token(self, token, request):
        return token in REQUEST_TOKENS

    def verify_realms(self, token, realms, request):
        return True

    def save_verifier(self, token, verifier, request):
        with LOCK:
            REQUEST_TOKENS[token]["verifier"] = verifier["oauth_verifier"]

    def validate_request_token(self, client_key, token, request):
        t = REQUEST_TOKENS.get(token)
        return bool(t) and t["client"] == client_key

    def get_request_token_secret(self, client_key, token, request):
        t = REQUEST_TOKENS.get(token)
        return t["secret"] if t else "dummy"

    def validate_verifier(self, client_key, token, verifier, request):
        SEEN["verifiers_presented"].append(verifier)
        t = REQUEST_TOKENS.get(token)
        return bool(t) and t["verifier"] is not None and t["verifier"] == verifier

    def invalidate_request_token(self, client_key, request_token, request):
        with LOCK:
            REQUEST_TOKENS.pop(request_token, None)

    def save_access_token(self, token, request):
        reserve(token, request)
        with LOCK:
            ACCESS_TOKENS[token["oauth_token"]] = {
                "secret": token["oauth_token_secret"], "client": request.client_key}

    def get_access_token_secret(self, client_key, token, request):
        t = ACCESS_TOKENS.get(token)
        return t["secret"] if t else "dummy"

    def validate_access_token(self, client_key, token, request):
        t = ACCESS_TOKENS.get(token)
        return bool(t) and t["client"] == client_key

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True


V = Validator()
REQUEST = RequestTokenEndpoint(V)
AUTHORIZE = AuthorizationEndpoint(V)
ACCESS = AccessTokenEndpoint(V)
RESOURCE = ResourceEndpoint(V)

PAGE = """<!doctype html><title>Authorize</title>
<h1>Let an app use your account?</h1>
<form method="post" action="/1/OAuthAuthorizeToken">
<input type="hidden" name="oauth_token" value="{token}">
<button name="decision" value="allow">Allow</button>
<button name="decision" value="deny">Deny</button>
</form>"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(time.time() + SKEW[0], usegmt=True)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode() if n else ""

    def uri(self):
        return f"http://{self.headers['Host']}{self.path}"

    def send(self, status, body, headers=None, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if not any(k.lower() == "content-type" for k in (headers or {})):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        path = urllib.parse.urlsplit(self.path).path
        body = self.body()
        headers = dict(self.headers)
        if path == "/1/OAuthGetRequestToken" and method == "POST":
            h, b, s = REQUEST.create_request_token_response(self.uri(), method, body, headers)
            self.send(s, b or "", h, "application/x-www-form-urlencoded")
        elif path == "/1/OAuthAuthorizeToken" and method == "GET":
            q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            token = q.get("oauth_token", "")
            if token not in REQUEST_TOKENS:
                return self.send(400, "unknown or expired request token")
            self.send(200, PAGE.format(token=token), ctype="text/html")
        elif path == "/1/OAuthAuthorizeToken" and method == "POST":
            form = dict(urllib.parse.parse_qsl(body))
            token = form.get("oauth_token", "")
            if token not in REQUEST_TOKENS:
                return self.send(400, "unknown or expired request token")
            if form.get("decision") != "allow":
                redirect = REQUEST_TOKENS[token]["redirect"]
                if redirect == "oob":
                    return self.send(200, "<p>You denied access.</p>", ctype="text/html")
                sep = "&" if "?" in redirect else "?"
                return self.send(302, "", {"Location": f"{redirect}{sep}{denial(token)}"})
            uri = self.uri().split("?")[0] + "?oauth_token=" + urllib.parse.quote(token)
            h, b, s = AUTHORIZE.create_authorization_response(uri, "GET", None, None, [])
            if s == 200:  # oob: show the verifier for the person to type in
                v = dict(urllib.parse.parse_qsl(b))["oauth_verifier"]
                return self.send(200, f"<p>Your verification code: <code id=verifier>{v}</code></p>",
                                 ctype="text/html")
            self.send(s, b or "", h)
        elif path == "/1/OAuthGetAccessToken" and method == "POST":
            h, b, s = ACCESS.create_access_token_response(self.uri(), method, body, headers)
            self.send(s, b or "", h, "application/x-www-form-urlencoded")
        elif path == "/1/members/me":
            ok, req = RESOURCE.validate_protected_resource_request(self.uri(), method, body, headers)
            if ok:
                SEEN["resource_ok"].append({"method": method, "body": body,
                                            "query": urllib.parse.urlsplit(self.path).query,
                                            "signature_method": req.signature_method})
                return self.send(200, json.dumps({"id": "5abbe4b7ddc1b351ef961414",
                                                  "username": "alice", "fullName": "Alice Example"}),
                                 ctype="application/json")
            problem = "signature_invalid"
            if req is not None:
                try:
                    RESOURCE._check_mandatory_parameters(req)
                except errors.OAuth1Error as e:
                    problem = e.description
                else:
                    log = getattr(req, "validator_log", {})
                    if not log:
                        problem = "nonce_used"
                    elif not log.get("resource_owner"):
                        problem = "token_rejected"
            SEEN["resource_rejected"].append(problem)
            self.send(401, "oauth_problem=" + urllib.parse.quote(problem),
                      {"WWW-Authenticate": 'OAuth realm="test"'})
        elif path in ("/1/echo", "/1/echo.json"):
            ok, req = RESOURCE.validate_protected_resource_request(self.uri(), method, body, headers)
            vals = echo.values(self.headers, self.path, body)
            token = ACCESS_TOKENS.get(getattr(req, "resource_owner_key", None) or "")
            if token:
                vals["server-token-secret"] = token["secret"]
                vals["server-consumer-secret"] = SECRETS.get(token["client"], "")
            e = echo.echo(vals)
            h = echo.headers_for(vals)
            if path.endswith(".json"):
                return self.send(200, '{"valid": %s, "echo": %s}' % (json.dumps(ok), echo.as_json(e)),
                                 h, "application/json")
            self.send(200, f"valid: {ok}\n" + echo.as_text(e), h, "text/plain; charset=utf-8")
        elif path == "/_state":
            with LOCK:
                self.send(200, json.dumps({**SEEN, "access_tokens": len(ACCESS_TOKENS)}),
                          ctype="application/json")
        elif path == "/_control" and method == "POST":
            c = json.loads(body or "{}")
            with LOCK:
                if "skew" in c:
                    SKEW[0] = c["skew"]
                if c.get("revoke"):
                    ACCESS_TOKENS.clear()
                if "deny_with" in c:
                    DENY_WITH[0] = c["deny_with"]
            self.send(200, "{}", ctype="application/json")
        else:
            self.send(404, "not found")


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(json.dumps({"base": f"http://127.0.0.1:{srv.server_port}", "rsa_key": RSA_PATH}),
          flush=True)
    try:
        srv.serve_forever()
    finally:
        os.unlink(RSA_PATH)


if __name__ == "__main__":
    main()
