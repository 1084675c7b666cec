//! TLS and proxy failures name their cause and the setting that fixes it (issue 19, item 6),
//! against a local HTTPS server whose certificate comes from a throwaway CA, and a tiny proxy
//! that wants credentials.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;

struct TlsServer {
    base: String,
    ca: PathBuf,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let mut child = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls/server.py"))
            .env("CA_OUT", &ca)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is installed by tests/run");
        let line = first_line(&mut child, Duration::from_secs(20)).unwrap_or_default();
        if line.is_empty() {
            let _ = child.kill();
            panic!("the TLS test server did not start; run tests/run (it installs cryptography)");
        }
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        TlsServer {
            base: v["base"].as_str().unwrap().to_string(),
            ca,
            child,
            _dir: dir,
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A proxy that answers every request (CONNECT or plain) with 407, and records the first line.
fn proxy_407() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
            }
            seen2.lock().unwrap().push(first.trim().to_string());
            let _ = conn.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (url, seen)
}

fn env_with_acme(base: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(base));
    add_acme(&env, "x", "k-1");
    env
}

#[test]
fn an_unknown_issuer_names_the_cause_and_ssl_cert_file() {
    let tls = TlsServer::start();
    let env = env_with_acme(&tls.base);
    let out = env.run(&["check", "x", "--json"]);
    out.code(3);
    let r = &out.json()[0];
    assert_eq!(r["status"], "unreachable");
    let (msg, hint) = (r["message"].as_str().unwrap(), r["hint"].as_str().unwrap());
    assert!(
        msg.contains("issued by a certificate authority this computer does not trust"),
        "{msg}"
    );
    assert!(
        hint.contains("SSL_CERT_FILE") && hint.contains("SSL_CERT_DIR"),
        "{hint}"
    );

    // The same words from `request`.
    let out = env.run(&["request", "x", "/me"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("does not trust") && out.stderr.contains("SSL_CERT_FILE"),
        "{out:?}"
    );

    // Trusting the CA through SSL_CERT_FILE makes it work: the advice is right.
    let ca = tls.ca.to_str().unwrap();
    let out = env.run_env(&["check", "x", "--json"], &[("SSL_CERT_FILE", ca)]);
    out.ok();
    assert_eq!(out.json()[0]["identity"]["label"], "tls@acme.test");
}

#[test]
fn a_mistyped_ssl_cert_file_is_named() {
    let tls = TlsServer::start();
    let env = env_with_acme(&tls.base);
    let typo = env.dir.path().join("ca-bundel.pem");
    // The CAs load before any request, so the whole run stops, saying why.
    let out = env.run_env(
        &["check", "x", "--json"],
        &[("SSL_CERT_FILE", typo.to_str().unwrap())],
    );
    out.code(3);
    assert!(
        out.stderr.contains(&format!(
            "SSL_CERT_FILE={} names a file that does not exist",
            typo.display()
        )),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("hint: correct SSL_CERT_FILE"),
        "{out:?}"
    );

    // A file that holds no certificate is named too.
    let empty = env.dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let out = env.run_env(
        &["request", "x", "/me"],
        &[("SSL_CERT_FILE", empty.to_str().unwrap())],
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("a file with no PEM certificate"),
        "{out:?}"
    );
}

#[test]
fn a_proxy_asking_for_credentials_says_so_and_names_the_setting() {
    let (proxy, seen) = proxy_407();
    // https through the proxy: a refused CONNECT tunnel.
    let env = env_with_acme("https://api.acme.test");
    let out = env.run_env(&["check", "x", "--json"], &[("HTTPS_PROXY", &proxy)]);
    out.code(3);
    let r = &out.json()[0];
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("the proxy requires authentication"),
        "{r}"
    );
    assert!(
        r["hint"]
            .as_str()
            .unwrap()
            .contains("HTTPS_PROXY=http://USER:PASSWORD@"),
        "{r}"
    );
    assert!(
        seen.lock().unwrap()[0].starts_with("CONNECT api.acme.test:443"),
        "{:?}",
        seen.lock().unwrap()
    );

    // Plain http through the proxy: the 407 is the answer itself.
    let env = env_with_acme("http://api.acme.test");
    let out = env.run_env(&["check", "x", "--json"], &[("HTTP_PROXY", &proxy)]);
    out.code(3);
    let r = &out.json()[0];
    assert_eq!(r["http_status"], 407, "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("proxy requires authentication"),
        "{r}"
    );
    assert!(r["hint"].as_str().unwrap().contains("HTTPS_PROXY"), "{r}");
}
