"""Writes a conn store of N connections straight to disk, for bench/run.sh: connections.toml,
identity.txt (age-keygen) and the secrets as earlier versions kept them (one secrets.age, made
with the age tool), which the first conn command moves to one file per connection.

    make_store.py HOME N PORTS [oauth TOKEN_PORT]

PORTS is a comma-separated list of fake API ports; connection i uses PORTS[i % len(PORTS)].
api_key connections use the built-in `http` provider; oauth ones the built-in `oauth2` provider
with an access token that expired an hour ago and a refresh token.
"""
import json, os, subprocess, sys, time

home, n, ports = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
oauth = len(sys.argv) > 4 and sys.argv[4] == "oauth"
os.makedirs(home, mode=0o700, exist_ok=True)
ident = os.path.join(home, "identity.txt")
subprocess.run(["age-keygen", "-o", ident], check=True, capture_output=True)
os.chmod(ident, 0o600)
recipient = next(l.split(": ")[1].strip() for l in open(ident) if l.startswith("# public key"))
t = "2026-01-01T00:00:00Z"
out = ['version = 1\n\n[settings]\nsecret_store = "file"\n']
secrets = {}
if oauth:
    token_port = sys.argv[5]
    out.append(f'[clients."oauth2/bench"]\nprovider = "oauth2"\nclient_id = "bench"\n'
               f'secret_id = "client-bench"\nstore = "file"\ncreated_at = "{t}"\n')
    secrets["client-bench"] = {"client_secret": "bench-client-secret"}
for i in range(n):
    cid = f"{i:024x}"
    port = ports[i % len(ports)]
    base = f"http://127.0.0.1:{port}"
    if oauth:
        out.append(
            f'[connections.c{i}]\nid = "{cid}"\nprovider = "oauth2"\nauth = "oauth2"\nenv = "production"\n'
            f'store = "file"\ncreated_at = "{t}"\nupdated_at = "{t}"\n'
            f'[connections.c{i}.inputs]\nbase_url = "{base}"\ncheck_path = "/me"\n'
            f'token_url = "http://127.0.0.1:{token_port}/token"\nissuer = ""\nauthorize_url = ""\n'
            f'device_url = ""\nrevocation_url = ""\nidentity_field = ""\n'
            f'[connections.c{i}.oauth]\nclient = "oauth2/bench"\ngrant = "authorization_code"\n')
        secrets[cid] = {"access_token": f"at-{i}", "refresh_token": f"rt-{i}-",
                        "expires_at": str(int(time.time()) - 3600)}
    else:
        out.append(
            f'[connections.c{i}]\nid = "{cid}"\nprovider = "http"\nauth = "api_key"\nenv = "production"\n'
            f'store = "file"\ncreated_at = "{t}"\nupdated_at = "{t}"\n'
            f'[connections.c{i}.inputs]\nbase_url = "{base}"\ncheck_path = "/user"\n'
            f'header = "Authorization"\nprefix = "Bearer "\nidentity_field = ""\n')
        secrets[cid] = {"api_key": f"bench-key-{i}"}
with open(os.path.join(home, "connections.toml"), "w") as f:
    f.write("\n".join(out))
os.chmod(os.path.join(home, "connections.toml"), 0o600)
plain = json.dumps({"version": 1, "connections": secrets}).encode()
subprocess.run(["age", "-e", "-r", recipient, "-o", os.path.join(home, "secrets.age")],
               input=plain, check=True)
