//! The sealed environment of one test (its own CONN_HOME, HOME and XDG dirs, no inherited
//! CONN_* variables), and running `conn` in it: `env.conn("list --json").ok()`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_conn");

/// How long any one `conn` run may take before the test calls it hung.
const HANG_LIMIT: Duration = Duration::from_secs(60);

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    /// `Some(kind)` sets CONN_SECRET_STORE; `None` leaves the choice to conn.
    pub store: Option<&'static str>,
    /// Pass the D-Bus session (and so the real Secret Service) through.
    pub dbus: bool,
    pub extra_env: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success, got {self:#?}");
        self
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "expected exit {code}, got {self:#?}");
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

impl TestEnv {
    /// File secret store, no D-Bus: the common case for tests that aren't about the keychain.
    pub fn new() -> Self {
        Self::build(Some("file"), false)
    }

    /// The real Secret Service of the test session (see tests/run).
    pub fn keychain() -> Self {
        Self::build(Some("keychain"), true)
    }

    pub fn build(store: Option<&'static str>, dbus: bool) -> Self {
        if dbus {
            assert!(
                std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
                "keychain tests need a D-Bus session with gnome-keyring: run them through tests/run"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        for d in ["home", "xdg-config", "xdg-data", "xdg-cache"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        TestEnv {
            dir,
            store,
            dbus,
            extra_env: Vec::new(),
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("conn")
    }

    pub fn connections_toml(&self) -> PathBuf {
        self.home().join("connections.toml")
    }

    pub fn read_connections(&self) -> String {
        std::fs::read_to_string(self.connections_toml()).unwrap_or_default()
    }

    pub fn connections(&self) -> toml::Table {
        let text = self.read_connections();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        doc.get("connections")
            .and_then(|c| c.as_table())
            .cloned()
            .unwrap_or_default()
    }

    /// The id under which a connection's secrets are stored.
    pub fn id_of(&self, name: &str) -> String {
        self.connections()[name]["id"].as_str().unwrap().to_string()
    }

    /// What conn learned about a connection (check results, identity, refresh times), from
    /// the state file; `Null` when nothing.
    pub fn learned(&self, name: &str) -> serde_json::Value {
        let id = self.id_of(name);
        let text = std::fs::read_to_string(self.home().join("state.json")).unwrap_or_default();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        doc["connections"][&id].clone()
    }

    pub fn write_provider(&self, file: &str, text: &str) -> PathBuf {
        let dir = self.home().join("providers");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(file);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A `conn` command in the sealed environment, stdin closed.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear();
        let d = self.dir.path();
        c.env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", d.join("home"))
            .env("XDG_CONFIG_HOME", d.join("xdg-config"))
            .env("XDG_DATA_HOME", d.join("xdg-data"))
            .env("XDG_CACHE_HOME", d.join("xdg-cache"))
            .env("CONN_HOME", self.home())
            .env("NO_COLOR", "1")
            .env("LANG", "C.UTF-8");
        if let Some(s) = self.store {
            c.env("CONN_SECRET_STORE", s);
        }
        if self.dbus {
            for v in ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"] {
                if let Some(val) = std::env::var_os(v) {
                    c.env(v, val);
                }
            }
        }
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        self.run_full(args, None, &[])
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        self.run_full(args, None, env)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Out {
        self.run_full(args, Some(stdin), &[])
    }

    /// Runs conn in `dir` (a project directory, for recipes).
    pub fn run_in(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut c = self.cmd();
        c.current_dir(dir).args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run_command(c, None)
    }

    pub fn run_full(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Out {
        let mut c = self.cmd();
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run_command(c, stdin)
    }
}

/// Runs a command to completion, failing the test if it hangs.
pub fn run_command(mut c: Command, stdin: Option<&str>) -> Out {
    if stdin.is_some() {
        c.stdin(Stdio::piped());
    }
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn conn");
    if let Some(input) = stdin {
        let mut si = child.stdin.take().unwrap();
        si.write_all(input.as_bytes()).unwrap();
    }
    let out_pipe = child.stdout.take().unwrap();
    let err_pipe = child.stderr.take().unwrap();
    let read = |mut p: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            p.read_to_string(&mut s).unwrap();
            s
        })
    };
    let so = read(Box::new(out_pipe));
    let se = read(Box::new(err_pipe));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > HANG_LIMIT {
            let _ = child.kill();
            panic!("conn hung for more than {HANG_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Out {
        code: status.code().unwrap_or(-1),
        stdout: so.join().unwrap(),
        stderr: se.join().unwrap(),
    }
}

/// One `conn` invocation being put together: `env.conn("new prod --provider acme")
/// .env("K", key).ok()`. The argument string is split on whitespace; `arg` adds one argument
/// as it is (spaces included).
#[must_use = "a command does nothing until run, ok or code"]
pub struct Conn<'e> {
    env: &'e TestEnv,
    args: Vec<String>,
    vars: Vec<(String, String)>,
    stdin: Option<String>,
    dir: Option<PathBuf>,
}

impl TestEnv {
    /// `conn ARGS` in this environment (ARGS split on whitespace).
    pub fn conn(&self, args: &str) -> Conn<'_> {
        Conn {
            env: self,
            args: args.split_whitespace().map(str::to_string).collect(),
            vars: Vec::new(),
            stdin: None,
            dir: None,
        }
    }
}

impl Conn<'_> {
    /// One more argument, as it is.
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    /// A variable in conn's environment for this run.
    pub fn env(mut self, k: &str, v: impl Into<String>) -> Self {
        self.vars.push((k.to_string(), v.into()));
        self
    }

    /// Text on conn's stdin (closed otherwise).
    pub fn stdin(mut self, s: impl Into<String>) -> Self {
        self.stdin = Some(s.into());
        self
    }

    /// The working directory (a project, for recipes).
    pub fn dir(mut self, d: &Path) -> Self {
        self.dir = Some(d.to_path_buf());
        self
    }

    /// Runs conn and returns what it did, whatever the exit code.
    pub fn run(self) -> Out {
        let mut c = self.env.cmd();
        c.args(&self.args);
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        if let Some(d) = &self.dir {
            c.current_dir(d);
        }
        run_command(c, self.stdin.as_deref())
    }

    /// Runs conn and asserts it exited 0.
    #[track_caller]
    pub fn ok(self) -> Out {
        let out = self.run();
        out.ok();
        out
    }

    /// Runs conn and asserts its exit code.
    #[track_caller]
    pub fn code(self, code: i32) -> Out {
        let out = self.run();
        out.code(code);
        out
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A `connections.toml` written as a script would: `n` api_key connections of the `http`
/// provider named `c000`, `c001`, … (zero-padded to `digits`), with ids `{i:024x}` and
/// `inputs` (TOML lines) under each.
pub fn http_store_toml(n: usize, digits: usize, inputs: &str) -> String {
    let mut text = String::from("version = 1\n");
    for i in 0..n {
        text.push_str(&format!(
            "\n[connections.c{i:0digits$}]\nid = \"{i:024x}\"\nprovider = \"http\"\nauth = \"api_key\"\nenv = \"production\"\nstore = \"file\"\ncreated_at = \"2026-01-01T00:00:00Z\"\nupdated_at = \"2026-01-01T00:00:00Z\"\n[connections.c{i:0digits$}.inputs]\n{inputs}"
        ));
    }
    text
}

/// The arguments of `conn new NAME` of the generic `http` provider (API key from `K`, base URL
/// on a closed loopback port, not checked), as a script gives them.
pub fn http_key_args(name: &str) -> Vec<String> {
    [
        "new",
        name,
        "--provider",
        "http",
        "--auth",
        "api_key",
        "--set",
        "base_url=http://127.0.0.1:1",
        "--secret-env",
        "K",
        "--no-check",
    ]
    .map(String::from)
    .to_vec()
}

/// `conn -v new NAME` with `http_key_args` and API key `key`: a connection with a secret, made
/// as a script makes it.
pub fn new_http_key(env: &TestEnv, name: &str, key: &str) -> Out {
    let mut args = vec!["-v".to_string()];
    args.extend(http_key_args(name));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run_env(&args, &[("K", key)])
}

/// Folds a big store's journal of pending edits into connections.toml, through another change
/// to the file (`conn edit NAME --set check_path=PATH`), and checks that the journal is gone.
pub fn fold_journal(env: &TestEnv, name: &str, path: &str) {
    env.run(&[
        "edit",
        name,
        "--yes",
        "--no-check",
        "--set",
        &format!("check_path={path}"),
    ])
    .ok();
    assert!(!env.home().join("connections.journal.json").exists());
}

/// The names in a `conn list --json` document, in its order.
pub fn names_in(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}
