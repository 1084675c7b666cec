"""A fake API for bench/run.sh, on 127.0.0.1: prints its port, then serves.

    fake_api.py ok DELAY_MS [LOG]   answers every request after DELAY_MS (who-am-I JSON); with
                                    LOG, appends the wall-clock time of each answer to it
    fake_api.py hung                accepts connections and never answers
    fake_api.py oauth DELAY_MS LOG  POST /token: a refresh_token grant answered after DELAY_MS with
                                    a new access token and a rotated refresh token; a refresh
                                    token spent twice is logged to LOG ("reused ...") and
                                    refused; GET answers like `ok`
"""
import http.server, json, socket, socketserver, sys, threading, time, urllib.parse

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
lock = threading.Lock()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        time.sleep(delay)
        self.answer(200, {"id": 1, "login": "bench"})
        if log and mode == "ok":
            log.write(f"{time.time()}\n")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        rt = form.get("refresh_token", [""])[0]
        time.sleep(delay)
        with lock:
            reused = rt in spent
            spent.add(rt)
        if reused:
            log.write(f"reused {rt}\n")
            self.answer(400, {"error": "invalid_grant"})
            return
        self.answer(200, {"access_token": "at-" + rt, "refresh_token": rt + "r",
                          "token_type": "Bearer", "expires_in": 3600})

    def log_message(self, *a):
        pass


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 4096


srv = S(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
