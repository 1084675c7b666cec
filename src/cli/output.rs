//! Everything conn prints as a command's result: aligned tables for people, JSON for scripts.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::catalog::Provider;
use crate::check::Status;
use crate::commands::{
    bind::{Bound, Listing},
    check::CheckRun,
    doctor,
    list::Row,
    new::Created,
    providers::Listed,
    request::Answer,
    rm::Removed,
    show::Shown,
};

pub fn json(value: &impl Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let n = cells.len();
        let mut s = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            if i + 1 == n {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

pub fn created(c: &Created, as_json: bool) -> Result<()> {
    if as_json {
        return json(c);
    }
    let who = c
        .identity
        .as_ref()
        .and_then(|i| i.display())
        .map(|w| format!(", connected as {w}"))
        .unwrap_or_default();
    let checked = match &c.check {
        None => " (not checked)".to_string(),
        Some(o) if o.status == Status::Ok => String::new(),
        Some(o) => format!(" (check: {})", o.status.as_str()),
    };
    println!(
        "Saved connection '{}' ({}, {}){who}{checked}.",
        c.name, c.provider, c.auth
    );
    println!("Secrets: {}", c.secret_store);
    println!("Next: conn check {}", c.name);
    Ok(())
}

pub fn list(rows: &[Row], as_json: bool) -> Result<()> {
    if as_json {
        return json(&rows);
    }
    if rows.is_empty() {
        eprintln!("No connections to list. Create one with 'conn new'.");
        return Ok(());
    }
    // A STORE column once team connections are listed beside local ones.
    let teams = rows.iter().any(|r| r.team.is_some());
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let identity = r
                .identity
                .as_ref()
                .and_then(|i| {
                    let who = i.label.clone().or_else(|| i.id.clone())?;
                    Some(match &i.instance {
                        Some(inst) => format!("{who} on {inst}"),
                        None => who,
                    })
                })
                .unwrap_or_else(|| "-".into());
            let last = match &r.last_check {
                Some(lc) => {
                    let age = crate::core::time::age(&lc.at)
                        .map(|a| format!(" ({a} ago)"))
                        .unwrap_or_default();
                    format!("{}{age}", lc.status)
                }
                None => "never checked".into(),
            };
            let mut row = vec![
                r.name.clone(),
                r.provider.clone(),
                r.auth.clone(),
                r.env.clone(),
                identity,
                last,
            ];
            if teams {
                row.push(
                    r.team
                        .as_ref()
                        .map_or("local".into(), |t| format!("team {t}")),
                );
            }
            row
        })
        .collect();
    let mut headers = vec![
        "NAME",
        "PROVIDER",
        "AUTH",
        "ENV",
        "CONNECTED AS",
        "LAST CHECK",
    ];
    if teams {
        headers.push("STORE");
    }
    print!("{}", table(&headers, &body));
    Ok(())
}

pub fn show(s: &Shown, as_json: bool) -> Result<()> {
    if as_json {
        return json(s);
    }
    let c = &s.connection;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut kv = |k: &str, v: &str| pairs.push((k.to_string(), v.to_string()));
    kv("name", &s.name);
    kv("provider", &c.provider);
    kv("auth", &c.auth);
    kv("env", &c.env);
    for (k, v) in &c.inputs {
        kv(&format!("input {k}"), &format!("{v:?}"));
    }
    if let Some(u) = &c.username {
        kv("username", u);
    }
    if let Some(i) = &c.identity {
        let who = match (&i.label, &i.id) {
            (Some(l), Some(id)) => format!("{l} (id {id})"),
            (Some(l), None) => l.clone(),
            (None, Some(id)) => format!("id {id}"),
            (None, None) => "-".into(),
        };
        kv("connected as", &who);
        if let Some(inst) = &i.instance {
            kv("instance", inst);
        }
    }
    if let Some(o) = &c.oauth {
        kv("oauth client", &o.client);
        kv("oauth grant", &o.grant);
        let scopes = if o.scopes.is_empty() {
            "-".to_string()
        } else {
            o.scopes.join(" ")
        };
        kv("scopes", &scopes);
        if let Some(e) = &o.expires_at {
            kv("token expires", e);
        }
        if let Some(r) = &o.refreshed_at {
            kv("refreshed", r);
        }
    }
    kv("secret store", &s.secret_store);
    for (k, v) in &s.secrets {
        kv(&format!("secret {k}"), v);
    }
    if let Some(e) = &s.secrets_error {
        kv("secrets", &format!("unavailable: {e}"));
    }
    kv("created", &c.created_at);
    kv("updated", &c.updated_at);
    match &c.last_check {
        Some(lc) => {
            let msg = lc
                .message
                .as_deref()
                .map(|m| format!(" — {m}"))
                .unwrap_or_default();
            kv("last check", &format!("{} at {}{msg}", lc.status, lc.at));
        }
        None => kv("last check", "never"),
    }
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
    for (k, v) in pairs {
        println!("{k:<width$}{v}");
    }
    Ok(())
}

/// How `conn check` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Prometheus,
}

pub fn check_run(run: &CheckRun, format: Format, quiet: bool) -> Result<()> {
    if let Some(e) = &run.save_error {
        eprintln!("warning: {e}");
    }
    // Metrics are written whole every time: a textfile collector wants the full set.
    if format == Format::Prometheus {
        print!("{}", prometheus(run));
        return Ok(());
    }
    if quiet && run.exit_code == 0 {
        return Ok(());
    }
    if format == Format::Json {
        return json(&run.reports);
    }
    if run.reports.is_empty() {
        eprintln!("No connections to check. Create one with 'conn new'.");
        return Ok(());
    }
    let shown: Vec<_> = run
        .reports
        .iter()
        .filter(|r| !quiet || r.outcome.status != Status::Ok)
        .collect();
    let body: Vec<Vec<String>> = shown
        .iter()
        .map(|r| {
            let o = &r.outcome;
            vec![
                r.name.clone(),
                r.provider.clone(),
                o.status.as_str().to_string(),
                o.identity
                    .as_ref()
                    .and_then(|i| i.display())
                    .unwrap_or("-")
                    .to_string(),
                o.latency_ms
                    .map(|l| format!("{l}ms"))
                    .unwrap_or_else(|| "-".into()),
                if o.status == Status::Ok {
                    String::new()
                } else {
                    o.message.clone()
                },
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "NAME", "PROVIDER", "STATUS", "IDENTITY", "LATENCY", "DETAIL"
            ],
            &body
        )
    );
    for r in shown {
        if let Some(h) = &r.outcome.hint {
            println!("{}: {h}", r.name);
        }
    }
    Ok(())
}

/// The node_exporter textfile format (Prometheus exposition format 0.0.4).
pub fn prometheus(run: &CheckRun) -> String {
    const STATUSES: &[Status] = &[
        Status::Ok,
        Status::Expiring,
        Status::InvalidCredentials,
        Status::NeedsReauth,
        Status::InsufficientPermissions,
        Status::Unreachable,
        Status::SecretMissing,
        Status::Error,
    ];
    let esc = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let mut out = String::new();
    out.push_str("# HELP conn_check_status 1 for the status the connection's last check found, 0 for the others.\n");
    out.push_str("# TYPE conn_check_status gauge\n");
    for r in &run.reports {
        for s in STATUSES {
            out.push_str(&format!(
                "conn_check_status{{name=\"{}\",provider=\"{}\",status=\"{}\"}} {}\n",
                esc(&r.name),
                esc(&r.provider),
                s.as_str(),
                u8::from(r.outcome.status == *s)
            ));
        }
    }
    out.push_str("# HELP conn_check_ok 1 when the connection works.\n# TYPE conn_check_ok gauge\n");
    for r in &run.reports {
        out.push_str(&format!(
            "conn_check_ok{{name=\"{}\",provider=\"{}\"}} {}\n",
            esc(&r.name),
            esc(&r.provider),
            u8::from(r.outcome.status == Status::Ok)
        ));
    }
    out.push_str("# HELP conn_check_duration_seconds How long the check request took.\n# TYPE conn_check_duration_seconds gauge\n");
    for r in &run.reports {
        if let Some(ms) = r.outcome.latency_ms {
            out.push_str(&format!(
                "conn_check_duration_seconds{{name=\"{}\",provider=\"{}\"}} {:.3}\n",
                esc(&r.name),
                esc(&r.provider),
                ms as f64 / 1000.0
            ));
        }
    }
    out.push_str("# HELP conn_check_last_success_timestamp_seconds When a check of the connection last succeeded.\n# TYPE conn_check_last_success_timestamp_seconds gauge\n");
    for r in &run.reports {
        if let Some(t) = r.last_success {
            out.push_str(&format!(
                "conn_check_last_success_timestamp_seconds{{name=\"{}\",provider=\"{}\"}} {t}\n",
                esc(&r.name),
                esc(&r.provider)
            ));
        }
    }
    out
}

pub fn removed(r: &Removed) {
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    if r.removed {
        let revoked = if r.revoked {
            " and revoked its grant at the provider"
        } else {
            ""
        };
        println!("Removed connection '{}'{revoked}.", r.name);
    } else {
        eprintln!("Kept connection '{}'.", r.name);
    }
}

pub fn reauthed(r: &crate::commands::reauth::Reauthed, as_json: bool) -> Result<()> {
    if as_json {
        return json(r);
    }
    let who = r
        .identity
        .as_ref()
        .and_then(|i| i.display())
        .map(|w| format!(", connected as {w}"))
        .unwrap_or_default();
    println!("Re-authorized '{}'{who}.", r.name);
    Ok(())
}

pub fn providers(list: &[Listed], as_json: bool) -> Result<()> {
    if as_json {
        return json(&list);
    }
    let body: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                p.display_name.clone(),
                p.methods.join(","),
                p.categories.join(","),
                p.source.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["ID", "NAME", "AUTH", "CATEGORIES", "SOURCE"], &body)
    );
    Ok(())
}

pub fn provider(p: &Provider, as_json: bool) -> Result<()> {
    if as_json {
        return json(p);
    }
    println!("{} ({})", p.display_name, p.id);
    if let Some(d) = &p.docs {
        println!("docs: {d}");
    }
    println!("API: {}", p.api.base_url);
    println!("check: {} {}", p.check.method, p.check.path);
    if !p.inputs.is_empty() {
        println!("\ninputs (--set NAME=VALUE):");
        for i in &p.inputs {
            let d = i
                .default
                .as_deref()
                .map(|d| format!(" [default {d:?}]"))
                .unwrap_or_default();
            let from = i
                .capture
                .as_deref()
                .map(|c| format!(" [from the sign-in: {c}]"))
                .unwrap_or_default();
            println!("  {:<16}{}{d}{from}", i.name, i.label);
            if let Some(h) = &i.help {
                println!("  {:<16}{h}", "");
            }
        }
    }
    println!("\nauth methods (--auth METHOD):");
    for a in &p.auth {
        println!("  {:<16}{}", a.method(), a.label());
        if let Some(h) = a.help() {
            println!("  {:<16}{h}", "");
        }
        if let crate::catalog::AuthSpec::OAuth2(o) = a {
            let port = o.redirect_port.map(|p| format!(":{p}")).unwrap_or_default();
            println!(
                "  {:<16}redirect URI to register: http://127.0.0.1{port}{}",
                "", o.redirect_path
            );
            if !o.scopes.is_empty() {
                println!("  {:<16}scopes: {}", "", o.scopes.join(" "));
            }
            let grants: Vec<&str> = o
                .grants
                .iter()
                .map(|g| crate::commands::oauth::grant_name(*g))
                .collect();
            println!("  {:<16}grants: {}", "", grants.join(", "));
            if let Some(u) = &o.app_registration_url {
                println!("  {:<16}register the app at: {u}", "");
            }
        }
        if let crate::catalog::AuthSpec::OAuth1(o) = a {
            let port = o.redirect_port.map(|p| format!(":{p}")).unwrap_or_default();
            println!(
                "  {:<16}callback URL to register: http://127.0.0.1{port}{}{}",
                "",
                o.redirect_path,
                if o.oob {
                    " (or none: --no-browser uses a typed-in code)"
                } else {
                    ""
                }
            );
            println!(
                "  {:<16}signature: {} (consumer key with --client-id, {})",
                "",
                o.signature_method.as_str(),
                if o.signature_method == crate::catalog::provider::SignatureMethod::RsaSha1 {
                    "private key with --private-key FILE"
                } else {
                    "secret with --client-secret-stdin/-env"
                }
            );
            if let Some(u) = &o.app_registration_url {
                println!("  {:<16}register the app at: {u}", "");
            }
        }
    }
    if !p.environments.is_empty() {
        println!(
            "
environments (--env ENV):"
        );
        for (name, values) in &p.environments {
            let v: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("  {name:<16}{}", v.join(", "));
        }
    }
    Ok(())
}

pub fn doctor(r: &doctor::Report, as_json: bool) -> Result<()> {
    if as_json {
        return json(r);
    }
    for i in &r.items {
        println!(
            "{} {:<22}{}",
            if i.ok { "ok  " } else { "FAIL" },
            i.check,
            i.detail
        );
    }
    Ok(())
}

/// `conn request`'s answer: with `-i` the status line and headers on stderr; the body on
/// stdout, pretty-printed when it is JSON and stdout is a terminal, else byte for byte.
pub fn answer(a: &Answer, include: bool, terminal: bool) -> Result<()> {
    if include {
        let mut err = std::io::stderr().lock();
        writeln!(err, "{} {} {}", a.version, a.status, a.reason)?;
        for (k, v) in &a.headers {
            writeln!(err, "{k}: {v}")?;
        }
        writeln!(err)?;
    }
    let mut out = std::io::stdout().lock();
    if terminal && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&a.body) {
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        out.write_all(&a.body)?;
    }
    out.flush()?;
    Ok(())
}

pub fn bound(b: &Bound, as_json: bool) -> Result<()> {
    if as_json {
        return json(b);
    }
    let was = b
        .replaced
        .as_deref()
        .map(|o| format!(" (was {o})"))
        .unwrap_or_default();
    println!(
        "Role {} is played by {} in {}{was}, for {}.",
        b.role, b.connection, b.env, b.recipe
    );
    Ok(())
}

pub fn bindings(l: &Listing, as_json: bool) -> Result<()> {
    if as_json {
        return json(l);
    }
    println!("Recipe: {}", l.recipe);
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = l
        .roles
        .iter()
        .map(|r| {
            vec![
                r.role.clone(),
                if r.secondary {
                    format!("{} (secondary)", r.provider)
                } else {
                    r.provider.clone()
                },
                dash(&r.production),
                dash(&r.sandbox),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["ROLE", "PROVIDER", "PRODUCTION", "SANDBOX"], &rows)
    );
    Ok(())
}

pub fn stores(rows: &[crate::commands::store::StoreRow], as_json: bool) -> Result<()> {
    if as_json {
        return json(&rows);
    }
    if rows.is_empty() {
        eprintln!("No team stores. Add one with 'conn store add TEAM --vault-addr URL'.");
        return Ok(());
    }
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.team.clone(),
                r.settings.address.clone(),
                r.settings.namespace.clone().unwrap_or_else(|| "-".into()),
                r.settings.mount.clone(),
                format!("{}/{}/", r.settings.prefix, r.team),
                r.settings
                    .role_id
                    .as_ref()
                    .map_or("token", |_| "approle")
                    .to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["TEAM", "ADDRESS", "NAMESPACE", "MOUNT", "PATH", "AUTH"],
            &body
        )
    );
    Ok(())
}
