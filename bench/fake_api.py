"""A fake API for bench/run.sh, on 127.0.0.1: prints its port, then serves.

    fake_api.py ok DELAY_MS [LOG]   answers every request after DELAY_MS (who-am-I JSON); with
                                    LOG, appends the wall-clock time of each answer to it
    fake_api.py hung                accepts connections and never answers
    fake_api.py oauth DELAY_MS LOG  POST /token: a refresh_token grant answered after DELAY_MS with
                                    a new access token and a rotated refresh token; a refresh
                                    token spent twice is logged to LOG ("reused ...") and
                                    refused; GET answers like `ok`

One asyncio event loop with a minimal HTTP/1.1 parser (keep-alive, Content-Length bodies, no
pipelining): the bench measures conn, so the fake must cost far less than the 50 ms it waits.
A ThreadingHTTPServer spent about 0.4 ms of CPU per request (a thread per connection, the
email-module header parser), which on 2 cores put a 10,000-request run well above its floor
even with curl as the client.
"""
import asyncio, json, socket, sys, time, urllib.parse

mode = sys.argv[1]

if mode == "hung":
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4096)
    print(s.getsockname()[1], flush=True)
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)

delay = int(sys.argv[2]) / 1000
log = open(sys.argv[3], "a", buffering=1) if len(sys.argv) > 3 else None
spent = set()
REASONS = {200: "OK", 400: "Bad Request"}


def encode(status, doc):
    payload = json.dumps(doc).encode()
    return (f"HTTP/1.1 {status} {REASONS[status]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload


WHO = encode(200, {"id": 1, "login": "bench"})


def respond(method, body):
    """The whole HTTP response to one request."""
    if method != "POST":
        if log and mode == "ok":
            log.write(f"{time.time()}\n")
        return WHO
    form = urllib.parse.parse_qs(body.decode())
    rt = form.get("refresh_token", [""])[0]
    if rt in spent:
        log.write(f"reused {rt}\n")
        return encode(400, {"error": "invalid_grant"})
    spent.add(rt)
    return encode(200, {"access_token": "at-" + rt, "refresh_token": rt + "r",
                        "token_type": "Bearer", "expires_in": 3600})


class Conn(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""
        self.busy = False

    def connection_lost(self, exc):
        self.t = None

    def data_received(self, data):
        self.buf += data
        self.next()

    def next(self):
        """Starts the next complete request in the buffer, if any and none is in progress."""
        if self.busy or self.t is None:
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buf[:end].lower()
        method = "POST" if head.startswith(b"post ") else "GET"
        at = head.find(b"\r\ncontent-length:")
        length = 0
        if at >= 0:
            stop = head.find(b"\r\n", at + 2)
            length = int(head[at + 17:stop if stop >= 0 else end])
        if len(self.buf) < end + 4 + length:
            return
        body = self.buf[end + 4:end + 4 + length]
        self.buf = self.buf[end + 4 + length:]
        self.busy = True
        loop.call_later(delay, self.answer, method, body)

    def answer(self, method, body):
        self.busy = False
        if self.t is None:
            return
        self.t.write(respond(method, body))
        self.next()


loop = asyncio.new_event_loop()
srv = loop.run_until_complete(loop.create_server(Conn, "127.0.0.1", 0, backlog=4096))
print(srv.sockets[0].getsockname()[1], flush=True)
loop.run_forever()
