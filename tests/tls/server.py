#!/usr/bin/env python3
"""A local HTTPS API for the TLS tests: a throwaway certificate authority (written to
$CA_OUT as PEM) issues the server's certificate for 127.0.0.1, so conn does not trust it
unless told to with SSL_CERT_FILE. Answers every GET with a signed-in user. Prints
{"base": "https://127.0.0.1:PORT"} on the first line of stdout once it listens."""
import datetime
import http.server
import ipaddress
import json
import os
import ssl
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(subject, issuer, key, signer, ca, now):
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    else:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return b.sign(signer, hashes.SHA256())


now = datetime.datetime.now(datetime.timezone.utc)
ca_key = ec.generate_private_key(ec.SECP256R1())
ca = issue(name("conn test CA"), name("conn test CA"), ca_key, ca_key, True, now)
leaf_key = ec.generate_private_key(ec.SECP256R1())
leaf = issue(name("127.0.0.1"), ca.subject, leaf_key, ca_key, False, now)

with open(os.environ["CA_OUT"], "wb") as f:
    f.write(ca.public_bytes(serialization.Encoding.PEM))
work = tempfile.mkdtemp()
cert_path, key_path = os.path.join(work, "leaf.pem"), os.path.join(work, "leaf.key")
with open(cert_path, "wb") as f:
    f.write(leaf.public_bytes(serialization.Encoding.PEM))
with open(key_path, "wb") as f:
    f.write(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"id": 1, "email": "tls@acme.test"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that rejects our certificate ends the handshake; that is the test.
        pass


server = Server(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert_path, key_path)
server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
print(json.dumps({"base": f"https://127.0.0.1:{server.server_address[1]}"}), flush=True)
server.serve_forever()
