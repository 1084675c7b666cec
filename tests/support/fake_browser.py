#!/usr/bin/env python3
"""A scripted browser for conn's fake authorization servers (tests/support): it never visits
the authorization server, it goes straight to the loopback callback as a redirect would.

    fake_browser.py AUTHORIZATION_URL

FAKE_BROWSER_MODE:
  code         GET redirect_uri?code=good&state=STATE
  wrong-state  GET redirect_uri?code=evil&state=WRONG, then /favicon.ico, then the right one
  forged-error GET redirect_uri?error=access_denied with no state, then with a wrong state,
               then the right code (a web page forging a denial must not end the sign-in)
  follow       GET the authorization URL itself and follow its redirects (to the callback),
               as a person's browser would after approving
FAKE_BROWSER_LOG: a file to append "STATUS URL" lines to, one per request made.
"""
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    log = os.environ.get("FAKE_BROWSER_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{status} {url}\n")
    return status


def main():
    if os.environ.get("FAKE_BROWSER_MODE") == "follow":
        get(sys.argv[1])
        return
    url = urllib.parse.urlparse(sys.argv[1])
    q = dict(urllib.parse.parse_qsl(url.query))
    redirect, state = q["redirect_uri"], q["state"]
    mode = os.environ.get("FAKE_BROWSER_MODE", "code")
    if mode == "wrong-state":
        get(f"{redirect}?code=evil&state=WRONG")
        get(urllib.parse.urljoin(redirect, "/favicon.ico"))
    if mode == "forged-error":
        get(f"{redirect}?error=access_denied&error_description=forged")
        get(f"{redirect}?error=access_denied&state=WRONG")
    get(f"{redirect}?" + urllib.parse.urlencode({"code": "good", "state": state}))


if __name__ == "__main__":
    main()
