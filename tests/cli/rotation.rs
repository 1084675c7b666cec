//! Issue 14, item 4: a rotated refresh token is never lost, neither when the save fails (a
//! real full file system: a small tmpfs the test mounts, as root) nor when the answer that
//! carried it cannot be read. The fake authorization server rotates on every refresh and, like
//! real ones, revokes the whole grant when a spent refresh token comes back.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::oauth2_fakes::{NEW, env_for};
use crate::support::*;

/// The rotating server's state: the one valid refresh token, and whether the grant is gone.
#[derive(Default)]
struct Grant {
    current: Option<String>,
    n: u32,
    revoked: bool,
    refreshes: u32,
    /// The next refresh answers this body instead (once).
    next_body: Option<String>,
    /// Before answering the next refresh, run this (fills the disk).
    before_answer: Option<Box<dyn FnOnce() + Send>>,
}

fn rotating() -> (FakeApi, Arc<Mutex<Grant>>) {
    let g = Arc::new(Mutex::new(Grant::default()));
    let g2 = g.clone();
    let api = crate::oauth2_fakes::fake_as(move |s| {
        let mut g = g2.lock().unwrap();
        match s.form("grant_type").as_deref() {
            Some("authorization_code") => {
                g.n += 1;
                let rt = format!("rt-{}", g.n);
                g.current = Some(rt.clone());
                (
                    200,
                    format!(
                        r#"{{"access_token":"at-{}","refresh_token":"{rt}","token_type":"bearer","expires_in":1}}"#,
                        g.n
                    ),
                )
            }
            Some("refresh_token") => {
                g.refreshes += 1;
                let given = s.form("refresh_token");
                if g.revoked || given != g.current {
                    // Reuse of a spent refresh token: the whole grant is revoked.
                    g.revoked = true;
                    g.current = None;
                    return (400, r#"{"error":"invalid_grant","error_description":"refresh token reused; grant revoked"}"#.into());
                }
                g.n += 1;
                let rt = format!("rt-{}", g.n);
                g.current = Some(rt.clone());
                if let Some(f) = g.before_answer.take() {
                    f();
                }
                let body = g.next_body.take().unwrap_or_else(|| {
                    format!(r#"{{"access_token":"at-{}","refresh_token":"{rt}","token_type":"bearer","expires_in":3600}}"#, g.n)
                });
                (200, body.replace("RT", &rt))
            }
            _ => (400, r#"{"error":"unsupported_grant_type"}"#.into()),
        }
    });
    (api, g)
}

#[test]
fn a_200_answer_that_cannot_be_read_still_has_its_refresh_token_saved() {
    let (api, grant) = rotating();
    let env = env_for(&api, "");
    env.run_env(NEW, &[("CS", "s")]).ok();
    // The refresh answer is JSON no reader accepts (the access token is an object; the tolerant
    // reader takes strings and numbers), but it carries the rotated refresh token.
    grant.lock().unwrap().next_body = Some(
        r#"{"access_token":{"value":"at-x"},"refresh_token":"RT","token_type":"bearer"}"#.into(),
    );
    let out = env.run(&["token", "x"]);
    out.code(1);
    assert!(
        out.stderr.contains("refresh token in the answer was saved"),
        "{out:?}"
    );
    assert!(!out.all().contains("rt-2"), "no secret printed: {out:?}");
    assert_eq!(env.secrets_of("x")["refresh_token"], "rt-2");
    // The next use refreshes with the rotated token, and the grant survives.
    let out = env.run(&["token", "x"]);
    out.ok();
    assert_eq!(out.stdout, "at-3\n");
    let g = grant.lock().unwrap();
    assert!(!g.revoked, "a spent refresh token was reused");
    assert_eq!(g.refreshes, 2);
}

/// A tmpfs of `kib` KiB mounted at `at` for the guard's life.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, kib: u32) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let st = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .expect("mount runs");
        assert!(
            st.success(),
            "mount -t tmpfs failed (this test runs as root)"
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fills the file system of `dir` with `dir/filler` until a write fails with ENOSPC.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("filler"))
        .unwrap();
    for chunk in [65536usize, 4096, 512, 1] {
        let buf = vec![0u8; chunk];
        while f.write_all(&buf).is_ok() && f.flush().is_ok() {}
    }
    let _ = f.sync_all();
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

// The skip notice when not root is printed on purpose.
#[allow(clippy::print_stderr)]
#[test]
fn a_full_disk_never_loses_a_rotated_refresh_token() {
    if !is_root() {
        eprintln!(
            "SKIPPED a_full_disk_never_loses_a_rotated_refresh_token: mounting a tmpfs needs root (CI runs as root)"
        );
        return;
    }
    let (api, grant) = rotating();
    let mut env = env_for(&api, "");
    let tmpdir = env.dir.path().join("tmp");
    std::fs::create_dir_all(&tmpdir).unwrap();
    env.extra_env
        .push(("TMPDIR".into(), path_str(&tmpdir).into()));
    let home = env.home();
    let providers = std::fs::read_to_string(home.join("providers/fake.toml")).unwrap();
    std::fs::remove_dir_all(&home).unwrap();
    let _fs = Tmpfs::mount(&home, 512);
    env.write_provider("fake.toml", &providers);
    env.run_env(NEW, &[("CS", "s")]).ok();
    let before = env.secrets_of("x");

    // 1. The disk is full before the refresh: nothing is spent.
    fill(&home);
    let out = env.run(&["token", "x"]);
    out.code(1);
    assert!(
        out.stderr.contains("refresh token was not spent"),
        "{out:?}"
    );
    assert_eq!(grant.lock().unwrap().refreshes, 0);
    std::fs::remove_file(home.join("filler")).unwrap();
    assert_eq!(env.secrets_of("x"), before);

    // 2. The disk fills while the server rotates: the save fails, the tokens are kept.
    let h = home.clone();
    grant.lock().unwrap().before_answer = Some(Box::new(move || fill(&h)));
    let out = env.run(&["token", "x"]);
    out.code(1);
    assert_eq!(grant.lock().unwrap().refreshes, 1);
    assert!(out.stderr.contains("conn token x"), "{out:?}");
    assert!(
        !out.all().contains("rt-2") && !out.all().contains("at-2"),
        "{out:?}"
    );
    let kept: Vec<_> = std::fs::read_dir(&tmpdir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("conn-recovery-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{out:?}");
    assert!(
        out.stderr.contains(path_str(&kept[0])),
        "the message names the file: {out:?}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kept[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let text = std::fs::read_to_string(&kept[0]).unwrap();
    assert!(
        text.contains("rt-2"),
        "the rotated token is in the recovery file"
    );

    // Still full: the next run keeps the file and says so; nothing is spent.
    let out = env.run(&["token", "x"]);
    out.code(1);
    assert!(kept[0].exists());
    assert_eq!(grant.lock().unwrap().refreshes, 1);

    // 3. Space again: the kept tokens go into the store, the file goes, the grant lives.
    std::fs::remove_file(home.join("filler")).unwrap();
    let out = env.run(&["token", "x"]);
    out.ok();
    assert_eq!(out.stdout, "at-2\n");
    assert!(!kept[0].exists(), "the recovery file is deleted once saved");
    assert_eq!(env.secrets_of("x")["refresh_token"], "rt-2");
    let g = grant.lock().unwrap();
    assert!(!g.revoked, "a spent refresh token was reused");
    assert_eq!(g.refreshes, 1);
}

/// A refresh rewrites the bundle through its spare (`secrets/.<id>.age.spare`): the bundle
/// holds the new tokens (readable with the age tool), the spare is left empty and private, no
/// file is created or removed once both exist, and `rm` removes both.
#[cfg(target_os = "linux")]
#[test]
fn a_refresh_swaps_the_bundle_with_an_emptied_spare() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (api, grant) = rotating();
    let env = env_for(&api, "");
    env.run_env(NEW, &[("CS", "s")]).ok();
    let id = env.id_of("x");
    let file = env.secrets_dir().join(format!("{id}.age"));
    let spare = env.secrets_dir().join(format!(".{id}.age.spare"));
    let mut pairs = Vec::new();
    for round in 2..=4 {
        // Each answer expires at once, so the next `token` refreshes again.
        grant.lock().unwrap().next_body = Some(format!(
            r#"{{"access_token":"at-{round}","refresh_token":"RT","token_type":"bearer","expires_in":1}}"#
        ));
        let out = env.run(&["token", "x"]);
        out.ok();
        assert_eq!(out.stdout, format!("at-{round}\n"));
        assert_eq!(env.secrets_of("x")["refresh_token"], format!("rt-{round}"));
        let meta = std::fs::metadata(&spare).expect("the spare stays");
        assert_eq!(meta.len(), 0, "the old tokens are not kept");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let mut pair = [std::fs::metadata(&file).unwrap().ino(), meta.ino()];
        pair.sort_unstable();
        pairs.push(pair);
    }
    assert_eq!(pairs[0], pairs[1], "no file made or removed: {pairs:?}");
    assert_eq!(pairs[1], pairs[2], "no file made or removed: {pairs:?}");
    assert!(!grant.lock().unwrap().revoked);
    env.run(&["rm", "x", "--yes"]).ok();
    assert!(!file.exists() && !spare.exists());
}
