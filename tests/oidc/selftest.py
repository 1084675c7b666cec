#!/usr/bin/env python3
"""Self-test of tests/oidc: server.mjs (oidc-provider) + browser.py.

    (cd tests/oidc && npm ci) && python3 tests/oidc/selftest.py

Starts server.mjs (AT_TTL=2) on an ephemeral port and drives every flow conn
will use, with a local loopback callback listener. Python stdlib only.
Ends with 'N passed, N failed'; exit status 1 if anything failed.
"""

import base64
import hashlib
import http.server
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER = [sys.executable, os.path.join(HERE, "browser.py")]
AT_TTL = 2
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


class _Keep(urllib.request.HTTPErrorProcessor):
    def http_response(self, request, response):
        return response

    https_response = http_response


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


OPENER = urllib.request.build_opener(_NoRedirect(), _Keep())


def http_req(url, form=None, auth=None, bearer=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data)
    if auth:
        raw = f"{urllib.parse.quote(auth[0])}:{urllib.parse.quote(auth[1])}"
        req.add_header("Authorization", "Basic " + base64.b64encode(raw.encode()).decode())
    if bearer:
        req.add_header("Authorization", "Bearer " + bearer)
    with OPENER.open(req, timeout=10) as r:
        body = r.read().decode()
        try:
            return r.status, json.loads(body), r.headers
        except ValueError:
            return r.status, body, r.headers


CLI = ("conn-cli", "conn-cli-secret")


class Callback:
    """Tiny loopback listener standing in for conn's callback server."""

    def __init__(self):
        self.queries = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                outer.queries.append((u.path, dict(urllib.parse.parse_qsl(u.query))))
                body = b"conn test callback: you can close this window"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def run_browser(mode, *args):
    env = dict(os.environ, CONN_TEST_BROWSER=mode, CONN_TEST_USER="alice")
    t = time.monotonic()
    p = subprocess.run(BROWSER + list(args), env=env, capture_output=True, text=True, timeout=40)
    return p.returncode, p.stderr, time.monotonic() - t


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(cfg, client_id, scope, mode="approve"):
    cb = Callback()
    try:
        verifier, challenge = pkce()
        state = secrets.token_urlsafe(16)
        redirect_uri = f"http://127.0.0.1:{cb.port}/callback"
        url = cfg["authorization_endpoint"] + "?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
            "scope": scope, "state": state, "code_challenge": challenge,
            "code_challenge_method": "S256",
        })
        rc, err, secs = run_browser(mode, url)
        q = cb.queries[0][1] if cb.queries else {}
        return {"rc": rc, "stderr": err, "secs": secs, "q": q, "state": state,
                "verifier": verifier, "redirect_uri": redirect_uri, "paths": cb.queries}
    finally:
        cb.close()


def main():
    t0 = time.monotonic()
    srv = subprocess.Popen(["node", os.path.join(HERE, "server.mjs")], cwd=HERE,
                           env=dict(os.environ, PORT="0", AT_TTL=str(AT_TTL)),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = srv.stdout.readline()
        startup = time.monotonic() - t0
        issuer = json.loads(line)["issuer"]
        print(f"server up in {startup:.2f}s: {issuer}")
        check("issuer line", issuer.startswith("http://127.0.0.1:"), line)

        st, cfg, _ = http_req(issuer + "/.well-known/openid-configuration")
        check("discovery", st == 200 and cfg["issuer"] == issuer, st)
        for k in ("authorization_endpoint", "token_endpoint", "device_authorization_endpoint",
                  "revocation_endpoint", "introspection_endpoint", "userinfo_endpoint"):
            print(f"     {k}: {cfg.get(k)}")
        check("discovery S256 only", cfg.get("code_challenge_methods_supported") == ["S256"],
              cfg.get("code_challenge_methods_supported"))
        tok = cfg["token_endpoint"]

        # --- authorization code + PKCE, confidential client, random loopback port
        a = authorize(cfg, "conn-cli", "openid email profile api:read")
        check("browser approve exit 0", a["rc"] == 0, a["stderr"])
        check("callback got code + state", "code" in a["q"] and a["q"].get("state") == a["state"],
              a["q"] or a["stderr"])
        check("callback body printed to stderr", "you can close this window" in a["stderr"], a["stderr"])
        print(f"     browser approve took {a['secs']:.2f}s")
        st, t, _ = http_req(tok, {"grant_type": "authorization_code", "code": a["q"].get("code", ""),
                                  "redirect_uri": a["redirect_uri"], "code_verifier": a["verifier"]},
                            auth=CLI)
        check("code exchange (client_secret_basic)", st == 200 and "access_token" in t, t)
        check("refresh_token issued without offline_access/prompt=consent",
              "refresh_token" in t, t)
        check("id_token issued", "id_token" in t)
        check("expires_in == AT_TTL", t.get("expires_in") == AT_TTL, t.get("expires_in"))
        print(f"     token response keys: {sorted(t)} scope={t.get('scope')!r}")
        st, me, _ = http_req(cfg["userinfo_endpoint"], bearer=t["access_token"])
        check("userinfo /me", st == 200 and me.get("sub") == "alice"
              and me.get("email") == "alice@example.test" and me.get("name") == "alice", me)
        st, intro, _ = http_req(cfg["introspection_endpoint"], {"token": t["access_token"]}, auth=CLI)
        check("introspection active with api:read", intro.get("active") is True
              and "api:read" in intro.get("scope", "").split(), intro)

        time.sleep(AT_TTL + 1)
        st, me2, hdrs = http_req(cfg["userinfo_endpoint"], bearer=t["access_token"])
        check("expired access token rejected at /me", st == 401, (st, me2))

        rt1 = t["refresh_token"]
        st, r1, _ = http_req(tok, {"grant_type": "refresh_token", "refresh_token": rt1}, auth=CLI)
        check("refresh #1", st == 200 and "access_token" in r1, r1)
        rt2 = r1.get("refresh_token")
        check("refresh rotated (new refresh_token)", rt2 and rt2 != rt1, r1)
        st, me3, _ = http_req(cfg["userinfo_endpoint"], bearer=r1.get("access_token"))
        check("refreshed token works at /me", st == 200 and me3.get("sub") == "alice", me3)
        st, r2, _ = http_req(tok, {"grant_type": "refresh_token", "refresh_token": rt2}, auth=CLI)
        rt3 = r2.get("refresh_token")
        check("refresh #2 with new token", st == 200 and rt3 and rt3 != rt2, r2)
        st, reuse, _ = http_req(tok, {"grant_type": "refresh_token", "refresh_token": rt1}, auth=CLI)
        check("reuse old refresh token -> invalid_grant", st == 400 and reuse.get("error") == "invalid_grant", reuse)
        st, r3, _ = http_req(tok, {"grant_type": "refresh_token", "refresh_token": rt3}, auth=CLI)
        check("reuse detection revoked the whole grant (latest RT too)",
              r3.get("error") == "invalid_grant", r3)

        st, again, _ = http_req(tok, {"grant_type": "authorization_code", "code": a["q"].get("code", ""),
                                      "redirect_uri": a["redirect_uri"], "code_verifier": a["verifier"]},
                                auth=CLI)
        check("code reuse -> invalid_grant", again.get("error") == "invalid_grant", again)

        st, bad, _ = http_req(tok, {"grant_type": "client_credentials", "scope": "api:read"},
                              auth=("conn-cli", "wrong"))
        check("wrong secret -> invalid_client", bad.get("error") == "invalid_client", bad)

        # --- public client + revocation
        p = authorize(cfg, "conn-public", "openid api:write")
        st, t, _ = http_req(tok, {"grant_type": "authorization_code", "code": p["q"].get("code", ""),
                                  "redirect_uri": p["redirect_uri"], "code_verifier": p["verifier"],
                                  "client_id": "conn-public"})
        check("public client code exchange", st == 200 and "refresh_token" in t, t)
        st, body, _ = http_req(cfg["revocation_endpoint"], {"token": t.get("access_token", ""),
                                                           "token_type_hint": "access_token",
                                                           "client_id": "conn-public"})
        check("revoke access token -> 200", st == 200, (st, body))
        st, me, _ = http_req(cfg["userinfo_endpoint"], bearer=t.get("access_token", ""))
        check("revoked access token rejected at /me", st == 401, (st, me))
        st, body, _ = http_req(cfg["revocation_endpoint"], {"token": t.get("refresh_token", ""),
                                                           "token_type_hint": "refresh_token",
                                                           "client_id": "conn-public"})
        check("revoke refresh token -> 200", st == 200, (st, body))
        st, r, _ = http_req(tok, {"grant_type": "refresh_token", "refresh_token": t.get("refresh_token", ""),
                                  "client_id": "conn-public"})
        check("revoked refresh token -> invalid_grant", r.get("error") == "invalid_grant", r)

        # --- deny / ignore / PKCE required / bad redirect
        d = authorize(cfg, "conn-cli", "openid api:read", mode="deny")
        check("deny -> callback error=access_denied", d["rc"] == 0 and d["q"].get("error") == "access_denied"
              and d["q"].get("state") == d["state"], d["q"] or d["stderr"])
        i = authorize(cfg, "conn-cli", "openid", mode="ignore")
        check("ignore -> exit 0 fast, no callback", i["rc"] == 0 and not i["paths"] and i["secs"] < 2, i)
        cb_port = 45678
        url = cfg["authorization_endpoint"] + "?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": "conn-cli", "scope": "openid",
            "redirect_uri": f"http://127.0.0.1:{cb_port}/callback", "state": "s"})
        st, _, h = http_req(url)
        loc = h.get("Location", "")
        check("no code_challenge -> error redirect (PKCE required)",
              st in (302, 303) and "error=invalid_request" in loc, (st, loc))
        url = url.replace("%2Fcallback", "%2Fother") + "&code_challenge=" + pkce()[1] + "&code_challenge_method=S256"
        st, body, h = http_req(url)
        check("unregistered redirect path rejected (no redirect)", st == 400 and "redirect_uri" in str(body),
              (st, h.get("Location")))

        # --- device flow (public client, verification_uri + user_code)
        st, da, _ = http_req(cfg["device_authorization_endpoint"],
                             {"client_id": "conn-public", "scope": "openid api:read"})
        check("device authorization", st == 200 and "device_code" in da, da)
        print(f"     device response keys: {sorted(da)} verification_uri={da.get('verification_uri')}")
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "device_code": da.get("device_code", ""), "client_id": "conn-public"}
        st, pend, _ = http_req(tok, form)
        check("device poll before approval -> authorization_pending",
              pend.get("error") == "authorization_pending", pend)
        rc, err, secs = run_browser("device", da["verification_uri"], da["user_code"])
        check("browser device exit 0", rc == 0 and "Sign-in Success" in err, err)
        st, t, _ = http_req(tok, form)
        check("device token + refresh_token", st == 200 and "access_token" in t and "refresh_token" in t, t)
        st, me, _ = http_req(cfg["userinfo_endpoint"], bearer=t.get("access_token", ""))
        check("device token works at /me", st == 200 and me.get("sub") == "alice", me)

        # --- device flow (confidential client, verification_uri_complete only)
        st, da, _ = http_req(cfg["device_authorization_endpoint"], {"scope": "openid"}, auth=CLI)
        rc, err, secs = run_browser("device", da["verification_uri_complete"])
        st, t, _ = http_req(tok, {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                  "device_code": da["device_code"]}, auth=CLI)
        check("device (verification_uri_complete, conn-cli)", st == 200 and "refresh_token" in t, (t, err))

        # --- device flow denied
        st, da, _ = http_req(cfg["device_authorization_endpoint"], {"client_id": "conn-public", "scope": "openid"})
        rc, err, secs = run_browser("device-deny", da["verification_uri"], da["user_code"])
        st, t, _ = http_req(tok, {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                  "device_code": da["device_code"], "client_id": "conn-public"})
        check("device-deny -> access_denied", t.get("error") == "access_denied", (t, err))

        # --- client credentials
        st, cc, _ = http_req(tok, {"grant_type": "client_credentials", "scope": "api:read"}, auth=CLI)
        check("client_credentials scope=api:read", st == 200 and cc.get("access_token")
              and cc.get("scope") == "api:read" and cc.get("expires_in") == AT_TTL, cc)
        st, intro, _ = http_req(cfg["introspection_endpoint"], {"token": cc.get("access_token", "")}, auth=CLI)
        check("client_credentials token introspects active", intro.get("active") is True
              and intro.get("client_id") == "conn-cli", intro)
        st, cc2, _ = http_req(tok, {"grant_type": "client_credentials", "scope": "api:read api:write",
                                    "resource": "urn:conn:api"}, auth=CLI)
        st, intro, _ = http_req(cfg["introspection_endpoint"], {"token": cc2.get("access_token", "")}, auth=CLI)
        check("client_credentials resource=urn:conn:api -> aud", intro.get("aud") == "urn:conn:api"
              and intro.get("scope") == "api:read api:write", intro)
        st, cc3, _ = http_req(tok, {"grant_type": "client_credentials", "scope": "api:read",
                                    "client_id": "conn-public"})
        check("public client cannot use client_credentials", "error" in cc3, cc3)
    finally:
        srv.terminate()
        try:
            out, err = srv.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            srv.kill()
            out, err = srv.communicate()
        check("server stdout quiet after the issuer line", out == "", out)
        if failed:
            print("--- server stderr ---\n" + err)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
