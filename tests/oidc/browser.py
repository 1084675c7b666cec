#!/usr/bin/env python3
"""Scripted "person with a browser" for conn's OAuth end-to-end tests.

Use as the BROWSER program against tests/oidc/server.mjs (oidc-provider
devInteractions pages). Python 3 standard library only.

    browser.py AUTHORIZATION_URL
    browser.py VERIFICATION_URI USER_CODE          (device flow)
    browser.py VERIFICATION_URI_COMPLETE           (device flow)

Environment:
    CONN_TEST_BROWSER  approve (default) | deny | ignore | device | device-deny
        approve      log in, consent, then GET the loopback redirect (callback)
        deny         press [ Cancel ] at the login page; the redirect to the
                     callback carries error=access_denied, which is then GET'd
        ignore       do nothing and exit 0 (a user who never finishes)
        device       enter USER_CODE, confirm, log in, consent
        device-deny  enter USER_CODE, then press [ Abort ] on the confirmation
                     page (the device_code poll then gets access_denied)
        (approve/deny also work on device pages; device/device-deny on
        authorization URLs: the pages are recognised by their forms.)
    CONN_TEST_USER     login name (default alice); any password is accepted

Redirects are followed by hand. A redirect to a loopback address whose
host:port differs from the authorization server's is the client's callback:
it is requested once, its response body is printed to stderr, and the script
exits. Every request has a 10 s timeout and the whole run is capped at 30 s.
The exit status is always 0 (problems are reported on stderr), except 2 for a
usage error.
"""

import http.cookiejar
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

TIMEOUT = 10
DEADLINE = time.monotonic() + 30
MAX_STEPS = 40
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def log(msg):
    print(f"browser.py: {msg}", file=sys.stderr, flush=True)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # hand 3xx back to the caller


class KeepErrors(urllib.request.HTTPErrorProcessor):
    def http_response(self, request, response):
        return response  # never raise for 3xx/4xx/5xx

    https_response = http_response


class Page(HTMLParser):
    """Collects forms (with inputs and external buttons) and links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []  # dicts: id, action, method, fields [(name, value)]
        self.by_id = {}
        self.links = []  # (href, text)
        self.buttons = []  # (form id, name, value, text) for form= buttons
        self.title = ""
        self._form = None
        self._a = None
        self._button = None
        self._in_title = False
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {
                "id": a.get("id", ""),
                "action": a.get("action", ""),
                "method": a.get("method", "get").lower(),
                "fields": [],
                "submits": [],
            }
            self.forms.append(self._form)
            if self._form["id"]:
                self.by_id[self._form["id"]] = self._form
        elif tag == "input":
            form = self._target(a)
            if form is not None and a.get("name"):
                itype = a.get("type", "text").lower()
                if itype == "submit":
                    form["submits"].append((a["name"], a.get("value", "")))
                else:
                    form["fields"].append([a["name"], a.get("value", ""), itype])
        elif tag == "button":
            self._button = {"a": a, "text": ""}
        elif tag == "a":
            self._a = {"href": a.get("href", ""), "text": ""}
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "a" and self._a is not None:
            self.links.append((self._a["href"], self._a["text"].strip()))
            self._a = None
        elif tag == "button" and self._button is not None:
            a = self._button["a"]
            form_id = a.get("form") or (self._form["id"] if self._form else "")
            self.buttons.append(
                (form_id, a.get("name", ""), a.get("value", ""), self._button["text"].strip())
            )
            self._button = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._a is not None:
            self._a["text"] += data
        if self._button is not None:
            self._button["text"] += data
        if self._in_title:
            self.title += data
        self.text.append(data)

    def _target(self, a):
        if a.get("form"):
            return self.by_id.get(a["form"])
        return self._form


class Browser:
    def __init__(self, start_url, mode, user, user_code):
        self.mode = mode
        self.user = user
        self.user_code = user_code
        self.server = urllib.parse.urlsplit(start_url).netloc.lower()
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect(), KeepErrors()
        )
        self.opener.addheaders = [("User-Agent", "conn-test-browser/1"),
                                  ("Accept", "text/html,*/*")]

    def request(self, url, data=None):
        remaining = DEADLINE - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("overall 30 s deadline exceeded")
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
        if body is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        with self.opener.open(req, timeout=min(TIMEOUT, remaining)) as resp:
            return resp.status, resp.headers, resp.read().decode("utf-8", "replace")

    def is_callback(self, url):
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").lower()
        return (parts.scheme == "http" and host in LOOPBACK_HOSTS
                and parts.netloc.lower() != self.server)

    def hit_callback(self, url):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        summary = {k: q[k][0] for k in ("error", "error_description") if k in q}
        log(f"callback {'with ' + str(summary) if summary else '(code)'}: GET {url}")
        try:
            status, _, body = self.request(url)
            log(f"callback answered HTTP {status}")
            print(body, file=sys.stderr, flush=True)
        except Exception as e:  # noqa: BLE001 - report, never hang or crash
            log(f"callback request failed: {e!r}")

    def run(self, url):
        data = None
        for _ in range(MAX_STEPS):
            if self.is_callback(url):
                self.hit_callback(url)
                return
            status, headers, body = self.request(url, data)
            data = None
            if status in (301, 302, 303, 307, 308):
                loc = headers.get("Location")
                if not loc:
                    log(f"HTTP {status} without Location at {url}")
                    return
                url = urllib.parse.urljoin(url, loc)
                continue
            page = Page()
            page.feed(body)
            step = self.decide(url, status, page)
            if step is None:
                return
            url, data = step
        log("too many steps; giving up")

    def decide(self, url, status, page):
        deny = self.mode in ("deny", "device-deny")
        forms = page.forms

        def fields(form):
            return {f[0]: f[1] for f in form["fields"]}

        def action(form):
            return urllib.parse.urljoin(url, form["action"] or url)

        def abort_link():
            for href, text in page.links:
                if "abort" in href or "cancel" in text.lower():
                    return urllib.parse.urljoin(url, href)
            return None

        for form in forms:
            f = fields(form)
            if f.get("prompt") == "login":
                if deny:
                    link = abort_link()
                    if link:
                        log("login page: pressing [ Cancel ]")
                        return link, None
                log(f"login page: signing in as {self.user!r}")
                f["login"] = self.user
                f["password"] = "any-password"
                return action(form), f
            if f.get("prompt") == "consent":
                if deny:
                    link = abort_link()
                    if link:
                        log("consent page: pressing [ Cancel ]")
                        return link, None
                log("consent page: pressing Continue")
                return action(form), f
            if form["id"] == "op.deviceConfirmForm" or f.get("confirm") == "yes":
                if deny:
                    log("device confirm page: pressing [ Abort ]")
                    f["abort"] = "yes"
                else:
                    log("device confirm page: pressing Continue")
                return action(form), f
            if form["id"] == "op.deviceInputForm" or "user_code" in f:
                if "Try again" in "".join(page.text) or "incorrect" in "".join(page.text):
                    log("device code page says the code is incorrect; giving up")
                    return None
                code = self.user_code or f.get("user_code", "")
                if not code:
                    log("device code page but no user code given; giving up")
                    return None
                log(f"device code page: entering {code}")
                f["user_code"] = code
                return action(form), f
            # generic form-post response (response_mode=form_post) or other
            if form["method"] == "post" and form["action"]:
                log(f"auto-submitting form to {form['action']}")
                return action(form), f

        text = " ".join(" ".join(page.text).split())
        title = page.title.strip()
        if "success" in title.lower() or "success" in text.lower()[:400]:
            log(f"done: {title or 'success page'}")
        else:
            log(f"stopped at HTTP {status} {url} title={title!r}: {text[:500]}")
        return None


def main(argv):
    mode = os.environ.get("CONN_TEST_BROWSER", "approve").strip().lower() or "approve"
    if mode == "ignore":
        return 0
    if len(argv) < 2 or len(argv) > 3:
        print(__doc__, file=sys.stderr)
        return 2
    if mode not in ("approve", "deny", "device", "device-deny"):
        log(f"unknown CONN_TEST_BROWSER={mode!r}; using approve")
        mode = "approve"
    user = os.environ.get("CONN_TEST_USER", "alice") or "alice"
    url = argv[1]
    user_code = argv[2] if len(argv) == 3 else None
    try:
        Browser(url, mode, user, user_code).run(url)
    except Exception as e:  # noqa: BLE001 - a test helper must not hang or crash
        log(f"error: {e!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
