#!/usr/bin/env python3
"""A scripted person with a browser for tests/oauth1/server.py (standard library only).

    browser.py AUTHORIZATION_URL

It loads the authorization page, presses a button of its form, and follows the redirect to
the loopback callback as a browser would. CONN_TEST_BROWSER selects what the person does:
  approve       press Allow, follow the redirect to the callback
  deny          press Deny, follow the redirect (it carries denied=TOKEN)
  wrong-token   press Allow, but first send the callback a forged oauth_token with a
                verifier "forgedverifier0000000", then /favicon.ico, then the real redirect
  oob           press Allow and print the verification code shown on the page to stdout
  ignore        do nothing
CONN_TEST_BROWSER_LOG: a file that gets one "STATUS URL" line per callback request.
CONN_TEST_BROWSER_PAGE: a file that gets the page the last callback request showed.
"""
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(url, data=None):
    try:
        r = OPENER.open(url, data=data, timeout=10)
        return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def log(status, url):
    path = os.environ.get("CONN_TEST_BROWSER_LOG")
    if path:
        with open(path, "a") as f:
            f.write(f"{status} {url}\n")


class Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def main():
    url = sys.argv[1]
    mode = os.environ.get("CONN_TEST_BROWSER", "approve")
    if mode == "ignore":
        return
    status, _, page = fetch(url)
    if status != 200:
        sys.exit(f"browser.py: the authorization page answered {status}: {page}")
    form = Form()
    form.feed(page)
    fields = dict(form.fields, decision="deny" if mode == "deny" else "allow")
    action = urllib.parse.urljoin(url, form.action)
    status, headers, page = fetch(action, urllib.parse.urlencode(fields).encode())
    if mode == "oob":
        m = re.search(r"<code id=verifier>([^<]+)</code>", page)
        if not m:
            sys.exit(f"browser.py: no verification code on the page ({status}): {page}")
        print(m.group(1), flush=True)
        return
    location = headers.get("Location")
    if status != 302 or not location:
        sys.exit(f"browser.py: expected a redirect to the callback, got {status}: {page}")
    if mode == "wrong-token":
        cb = urllib.parse.urlsplit(location)
        forged = urllib.parse.urlunsplit(cb._replace(
            query="oauth_token=forgedtoken000000000000&oauth_verifier=forgedverifier0000000"))
        s, _, _ = fetch(forged)
        log(s, forged)
        fav = urllib.parse.urlunsplit(cb._replace(path="/favicon.ico", query=""))
        s, _, _ = fetch(fav)
        log(s, fav)
    s, _, body = fetch(location)
    log(s, location)
    page = os.environ.get("CONN_TEST_BROWSER_PAGE")
    if page:
        with open(page + ".tmp", "w") as f:
            f.write(body)
        os.replace(page + ".tmp", page)


if __name__ == "__main__":
    main()
