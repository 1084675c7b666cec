//! Small local HTTP APIs on 127.0.0.1 that answer with a handler, record every request, and
//! assert when dropped that they were called (unless told they may go unused); and the `acme`
//! user provider that points at one.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::env::{Out, TestEnv};

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Seen {
    /// A form field of the request body.
    pub fn form(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&Seen) -> (u16, Vec<(String, String)>, String) + Send + Sync;

/// A local HTTP API on 127.0.0.1 that answers with `handler` and records every request.
/// For a 3xx status the returned body is sent as the `Location` header. A plain HTTP/1.1
/// server of its own (a thread per connection, one request per connection), so tests can
/// observe concurrency and nothing in between can stall a request.
pub struct FakeApi {
    pub url: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Requests that arrived, answered yet or not.
    arrived: Arc<std::sync::atomic::AtomicUsize>,
    /// Unless set, dropping a fake that received no request fails the test: a fake that was
    /// never called means the test did not exercise what it meant to.
    may_go_unused: bool,
}

impl FakeApi {
    pub fn start(handler: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Self {
        Self::start_with_headers(move |s| {
            let (status, body) = handler(s);
            (status, Vec::new(), body)
        })
    }

    /// Like `start`, with extra response headers.
    pub fn start_with_headers(
        handler: impl Fn(&Seen) -> (u16, Vec<(String, String)>, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let arrived = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (seen2, stop2, arrived2) = (seen.clone(), stop.clone(), arrived.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                arrived2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (handler, seen) = (handler.clone(), seen2.clone());
                std::thread::spawn(move || serve_one(conn, &*handler, &seen));
            }
        });
        FakeApi {
            url,
            stop,
            seen,
            arrived,
            may_go_unused: false,
        }
    }
    /// 200 with `identity` for `Authorization: <expected>`, 401 otherwise.
    pub fn expecting_auth(expected: &str, identity: serde_json::Value) -> Self {
        let expected = expected.to_string();
        let body = identity.to_string();
        Self::start(move |s| {
            if s.header("Authorization") == Some(expected.as_str()) {
                (200, body.clone())
            } else {
                (401, r#"{"message":"Bad credentials"}"#.to_string())
            }
        })
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// For a fake the test expects conn not to call (or not always): no check on drop.
    pub fn may_go_unused(mut self) -> Self {
        self.may_go_unused = true;
        self
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        // Counted before the wake-up below, which is no request.
        let called = self.arrived.load(std::sync::atomic::Ordering::SeqCst) > 0;
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://"));
        if !called && !self.may_go_unused && !std::thread::panicking() {
            panic!(
                "the fake API at {} was never called (use .may_go_unused() if that is expected)",
                self.url
            );
        }
    }
}

fn serve_one(conn: std::net::TcpStream, handler: &Handler, seen: &Mutex<Vec<Seen>>) {
    use std::io::{BufRead, BufReader, Read};
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let url = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let s = Seen {
        method,
        url,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    };
    let (status, extra, body) = handler(&s);
    seen.lock().unwrap().push(s);
    // JSON unless the handler names its own content type.
    let typed = extra
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if !typed {
        head.push_str("Content-Type: application/json\r\n");
    }
    if (300..400).contains(&status) {
        head.push_str(&format!("Location: {body}\r\n"));
    }
    if status == 429 {
        head.push_str("Retry-After: 1\r\n");
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut conn = conn;
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body.as_bytes());
    let _ = conn.flush();
}

/// A user provider definition pointing at a local fake, with both methods.
pub fn acme_provider(base_url: &str) -> String {
    format!(
        r#"id = "acme"
display_name = "Acme API"
docs = "https://developer.acme.test/auth"
categories = ["test"]

[[auth]]
method = "api_key"
label = "Acme API key"
name = "Authorization"
prefix = "Bearer "

[[auth]]
method = "basic"
username_label = "Email"
password_label = "API token"
username_suffix = "/token"

[api]
base_url = "{base_url}"

[check]
path = "/me"
identity = {{ id = "/id", label = "/email" }}
identity_required = true
"#
    )
}

/// Creates an `acme` api_key connection named `name` with `key`, without checking it.
pub fn add_acme(env: &TestEnv, name: &str, key: &str) {
    env.conn("new --provider acme --auth api_key --secret-env K --no-check")
        .arg(name)
        .env("K", key)
        .ok();
}

/// Creates an `acme` api_key connection named `name` with `key`, checked against its API.
pub fn new_acme(env: &TestEnv, name: &str, key: &str) -> Out {
    env.conn("new --provider acme --auth api_key --secret-env ACME_KEY")
        .arg(name)
        .env("ACME_KEY", key)
        .run()
}
