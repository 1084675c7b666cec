//! The state of conn's files, secret stores and clock, each with a verdict.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::Base;
use crate::store::secrets::{
    self, StoreKind,
    file::{FileStore, Layout},
    keychain::Keychain,
};

#[derive(Debug, Serialize)]
pub(crate) struct Item {
    pub(crate) check: String,
    pub(crate) ok: bool,
    pub(crate) detail: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) items: Vec<Item>,
    pub(crate) ok: bool,
}

pub(crate) fn run(ctx: &Base) -> Result<Report> {
    let mut items = Vec::new();
    let mut add = |check: &str, ok: bool, detail: String| {
        items.push(Item {
            check: check.into(),
            ok,
            detail,
        })
    };
    add(
        "paths",
        true,
        format!(
            "config {} , data {} , state {} ({})",
            ctx.paths.config_dir.display(),
            ctx.paths.data_dir.display(),
            ctx.paths.state_dir.display(),
            ctx.paths.source
        ),
    );
    let mut dirs = vec![
        &ctx.paths.config_dir,
        &ctx.paths.data_dir,
        &ctx.paths.state_dir,
    ];
    dirs.dedup();
    for dir in dirs {
        if let Some((ok, d)) = permissions(dir, 0o700) {
            add("directory permissions", ok, d);
        }
    }
    let meta_store = ctx.metadata();
    let mut keychain_in_use = false;
    let saved_store = match meta_store.load() {
        Ok(m) => {
            keychain_in_use = m
                .connections
                .values()
                .any(|c| c.store == StoreKind::Keychain);
            let pending = match meta_store.pending() {
                Ok((p, n)) if n > 0 => format!(
                    "; {n} of its latest additions, removals and renames are in {} until {} of them are (conn writes them into connections.toml then)",
                    p.display(),
                    crate::store::metadata_journal::FOLD_AT
                ),
                _ => String::new(),
            };
            add(
                "connections.toml",
                true,
                format!(
                    "{} connection(s) in {}{pending}",
                    m.connections.len(),
                    meta_store.path().display()
                ),
            );
            m.settings.secret_store
        }
        Err(e) => {
            add("connections.toml", false, format!("{e:#}"));
            None
        }
    };
    let state = meta_store.state();
    match state.load() {
        Ok(s) => add(
            "state file",
            true,
            format!(
                "what conn learned about {} connection(s), in {}",
                s.connections.len(),
                state.path().display()
            ),
        ),
        Err(e) => add("state file", false, format!("{e:#}")),
    }
    for f in [
        ctx.paths.connections_file(),
        crate::store::metadata_journal::path_for(&ctx.paths.connections_file()),
        ctx.paths.state_file(),
        ctx.paths.secrets_file(),
        ctx.paths.identity_file(&ctx.env),
    ] {
        if let Some((ok, d)) = permissions(&f, 0o600) {
            add("file permissions", ok, d);
        }
    }
    match secrets::choose(&ctx.env, saved_store) {
        Ok(sel) => add(
            "secret store",
            true,
            format!(
                "{} — {}{}",
                sel.kind,
                sel.reason,
                if sel.automatic {
                    " (will be saved with the first connection)"
                } else {
                    ""
                }
            ),
        ),
        Err(e) => add("secret store", false, format!("{e:#}")),
    }
    let kc = Keychain::new(&ctx.env).probe();
    let uses_keychain = keychain_in_use
        || saved_store == Some(StoreKind::Keychain)
        || ctx.env.get("CONN_SECRET_STORE") == Some(StoreKind::Keychain.as_str());
    // A real write and read (not just a lookup, which a locked keychain answers too).
    match kc {
        Ok(findings) => {
            add(
                "OS keychain",
                true,
                "usable: a test item was written, read back and deleted".into(),
            );
            for f in findings {
                add("OS keychain", !uses_keychain, f.explain());
            }
        }
        Err(e) => add("OS keychain", !uses_keychain, format!("not usable: {e:#}")),
    }
    let fs = FileStore::new(&ctx.paths, &ctx.env);
    if let Some((ok, d)) = permissions(fs.dir(), 0o700) {
        add("file permissions", ok, d);
    }
    let (layout_ok, layout) = match fs.layout() {
        Ok(Layout::Empty) => (
            true,
            format!(
                "no secrets yet; one file per connection in {}",
                fs.dir().display()
            ),
        ),
        Ok(Layout::PerConnection { files }) => (
            true,
            format!("one file per connection: {files} in {}", fs.dir().display()),
        ),
        Ok(Layout::Single) => (
            true,
            format!(
                "the single file {} of earlier versions; the next command that uses the file store moves it to one file per connection in {}",
                ctx.paths.secrets_file().display(),
                fs.dir().display()
            ),
        ),
        Err(e) => (false, format!("{e:#}")),
    };
    add(
        "file store",
        layout_ok,
        format!("{layout} (identity: {})", fs.identity_source()),
    );
    let (catalog, warnings) = crate::catalog::Catalog::load(&ctx.paths.providers_dir());
    add(
        "providers",
        warnings.is_empty(),
        if warnings.is_empty() {
            format!("{} available", catalog.entries().count())
        } else {
            warnings.join("; ")
        },
    );
    let now = std::time::SystemTime::now();
    let sane = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() > 1_735_689_600)
        .unwrap_or(false);
    add(
        "clock",
        sane,
        format!(
            "{} UTC{}",
            humantime::format_rfc3339_seconds(now),
            if sane {
                ""
            } else {
                " — this looks wrong; token expiry and signatures depend on it"
            }
        ),
    );
    // Each team store: server, TLS, token, mount, and what this token may do there.
    if let Ok(m) = ctx.metadata().load() {
        for team in m.teams.keys() {
            match ctx.team(team) {
                Ok(t) => items.extend(crate::store::vault::diagnose::diagnose(&t).into_iter().map(
                    |f| Item {
                        check: f.check,
                        ok: f.ok,
                        detail: f.detail,
                    },
                )),
                Err(e) => items.push(Item {
                    check: format!("team {team}"),
                    ok: false,
                    detail: format!("{e:#}"),
                }),
            }
        }
    }
    let ok = items.iter().all(|i| i.ok);
    Ok(Report { items, ok })
}

/// `(ok, detail)` for a path that exists; group or other access is not ok.
fn permissions(path: &Path, want: u32) -> Option<(bool, String)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        let ok = mode & 0o077 == 0;
        Some((
            ok,
            if ok {
                format!("{} is {mode:o}", path.display())
            } else {
                format!(
                    "{} is {mode:o}; others can read it: chmod {want:o} {}",
                    path.display(),
                    path.display()
                )
            },
        ))
    }
    #[cfg(not(unix))]
    {
        let _ = (meta, want);
        Some((true, format!("{} exists", path.display())))
    }
}
