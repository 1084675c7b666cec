//! Property tests (issue 14) over every parser and formatter that takes outside input:
//! provider TOML, connections.toml, bindings.toml, recipe files, the callback's query, token
//! and error responses, and check responses. (Table rendering and the terminal escaper have
//! theirs next to them.) Inputs are valid files mutated at random plus arbitrary text; the
//! case counts keep the whole module to seconds.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use crate::auth::callback::{Expect, Verdict, judge, parse_query};
use crate::catalog::Catalog;
use crate::core::paths::Paths;
use crate::core::text::is_hostile;

const PROVIDER: &str = r#"id = "acme"
display_name = "Acme API"
categories = ["test"]

[[inputs]]
name = "subdomain"
label = "Subdomain"
pattern = "^[a-z0-9-]+$"

[[auth]]
method = "api_key"
label = "Acme API key"
name = "Authorization"
prefix = "Bearer "

[[auth]]
method = "oauth2"
authorize_url = "https://${subdomain}.acme.example/oauth/authorize"
token_url = "https://${subdomain}.acme.example/oauth/token"
scopes = ["read"]

[api]
base_url = "https://${subdomain}.acme.example/api"

[check]
path = "/me"
identity = { id = "/id", label = "/email" }
"#;

const CONNECTIONS: &str = r#"version = 1

[connections.gh]
id = "7a211a78f8851d5afb81ca6d"
provider = "github"
auth = "api_key"
env = "production"
store = "file"
created_at = "2026-11-29T18:54:24Z"
updated_at = "2026-11-29T18:54:24Z"
authorized_at = "2026-11-29T18:54:24Z"

[connections.gh.inputs]
api_url = "https://api.github.com"
host = "github.com"

[connections.z]
id = "8ae093c1763ed2a95eb44e30"
provider = "zendesk"
auth = "basic"
env = "sandbox"
store = "file"
username = "a@b"
created_at = "2026-11-29T18:54:24Z"
updated_at = "2026-11-29T18:54:24Z"

[connections.z.inputs]
subdomain = "acme"
"#;

const BINDINGS: &str = r#"version = 1

[projects."/home/u/proj".production]
crm = "z"
code = "gh"
"#;

const RECIPE: &str = r#"# the connections sync.sh needs
[roles.crm]
provider = "zendesk"

[roles.code]
provider = "github"
secondary = false
"#;

const PIECES: &[&str] = &[
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "=",
    "\n",
    "\r\n",
    "{",
    "}",
    ",",
    "#",
    ".",
    "\\",
    "\u{0}",
    "\u{1b}]0;x\u{7}",
    "\u{202e}",
    "18446744073709551616",
    "9223372036854775807",
    "-1",
    "1e309",
    "nan",
    "true",
    "${",
    "${subdomain}",
    "%2e%2e",
    "version = 99",
    "\"\"\"",
];

/// A seed text with a few random edits: cut a range, insert a piece, flip a char.
fn mutated(seed: &'static str) -> impl Strategy<Value = String> {
    let edit = (0usize..4, any::<usize>(), any::<usize>(), any::<char>());
    proptest::collection::vec(edit, 0..4).prop_map(move |edits| {
        let mut s: Vec<char> = seed.chars().collect();
        for (kind, a, b, c) in edits {
            let at = a % (s.len() + 1);
            match kind {
                0 => {
                    let end = (at + b % 30).min(s.len());
                    s.drain(at..end);
                }
                1 => {
                    let p = PIECES[b % PIECES.len()];
                    s.splice(at..at, p.chars());
                }
                2 if at < s.len() => s[at] = c,
                _ => s.insert(at, c),
            }
        }
        s.into_iter().collect()
    })
}

fn text(seed: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![4 => mutated(seed), 1 => any::<String>()]
}

fn paths(dir: &Path) -> Paths {
    Paths {
        config_dir: dir.join("cfg"),
        data_dir: dir.join("data"),
        state_dir: dir.join("state"),
        source: "test",
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// Provider files: parsing never panics, and a provider that parses holds no CR, LF or
    /// NUL in what goes into URLs and headers.
    #[test]
    fn provider_files(t in text(PROVIDER)) {
        if let Ok(p) = crate::catalog::provider::parse(&t, Path::new("p.toml")) {
            for s in [&p.id, &p.api.base_url] {
                prop_assert!(!s.contains(['\r', '\n', '\0']), "{s:?}");
            }
            for (k, v) in &p.api.headers {
                prop_assert!(!k.contains(['\r', '\n', '\0']) && !v.contains(['\r', '\n', '\0']));
            }
        }
    }

    /// connections.toml: loading never panics; a file that loads can be updated and loads
    /// again; a file that does not load is never rewritten by an update.
    #[test]
    fn connections_files(t in text(CONNECTIONS)) {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        std::fs::create_dir_all(&paths.config_dir).unwrap();
        let file = paths.connections_file();
        std::fs::write(&file, &t).unwrap();
        let store = crate::store::metadata::MetadataStore::new(&paths);
        let loaded = store.load();
        let updated = store.update(|_| Ok(()));
        match loaded {
            Ok(_) => {
                prop_assert!(updated.is_ok(), "{updated:?}");
                prop_assert!(store.load().is_ok());
            }
            Err(_) => {
                prop_assert!(updated.is_err());
                prop_assert_eq!(std::fs::read_to_string(&file).unwrap(), t);
            }
        }
    }

    /// bindings.toml: the same rules.
    #[test]
    fn bindings_files(t in text(BINDINGS)) {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        std::fs::create_dir_all(&paths.data_dir).unwrap();
        let file = paths.data_dir.join("bindings.toml");
        std::fs::write(&file, &t).unwrap();
        let store = crate::store::bindings::BindingsStore::new(&paths);
        let loaded = store.load();
        let updated = store.update(|_| Ok(()));
        match loaded {
            Ok(_) => prop_assert!(updated.is_ok() && store.load().is_ok()),
            Err(_) => {
                prop_assert!(updated.is_err());
                prop_assert_eq!(std::fs::read_to_string(&file).unwrap(), t);
            }
        }
    }

    /// Recipe files: parsing never panics; an error names a line inside the file.
    #[test]
    fn recipe_files(t in text(RECIPE)) {
        let catalog = Catalog::builtin();
        if let Err((line, msg)) = crate::recipe::parse(&t, &catalog) {
            prop_assert!(line >= 1 && line <= t.lines().count().max(1) + 1, "{line}: {msg}");
        }
    }

    /// The callback's query: only the right state ends an OAuth 2.0 flow, with a result or
    /// an error; anything else keeps it waiting.
    #[test]
    fn callback_queries(
        q in prop_oneof![
            any::<String>(),
            proptest::collection::vec(
                (prop_oneof![Just("state"), Just("code"), Just("error"), Just("error_description"), Just("x")],
                 prop_oneof![Just("s3cr3t-state".to_string()), any::<String>()]),
                0..5,
            ).prop_map(|kv| {
                url::form_urlencoded::Serializer::new(String::new()).extend_pairs(kv).finish()
            }),
        ],
    ) {
        let params = parse_query(&q);
        let ours = params.get("state").map(String::as_str) == Some("s3cr3t-state");
        match judge(&params, Expect::OAuth2 { state: "s3cr3t-state" }) {
            Verdict::Done(_) => prop_assert!(ours, "ended without the right state: {q:?}"),
            Verdict::WrongState => prop_assert!(!ours),
        }
        if let Verdict::Done(Err(e)) = judge(&params, Expect::OAuth2 { state: "s3cr3t-state" }) {
            let msg = format!("{e:#}");
            prop_assert!(!msg.contains('\n') && !msg.chars().any(is_hostile), "{msg:?}");
        }
    }

    /// Token and error responses: reading a refresh token out of any body never panics, and
    /// finds the one a JSON object carries.
    #[test]
    fn token_responses(body in prop_oneof![
        any::<Vec<u8>>(),
        (any::<String>(), any::<String>(), any::<i64>()).prop_map(|(rt, e, n)| serde_json::json!({
            "access_token": n, "refresh_token": rt, "error": e, "expires_in": n,
        }).to_string().into_bytes()),
    ]) {
        let _ = crate::auth::oauth2::is_error_body(&body);
        let found = crate::auth::oauth2::rotated_in(&body);
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
            && let Some(rt) = v.get("refresh_token").and_then(|r| r.as_str())
            && !rt.is_empty()
        {
            prop_assert_eq!(found.map(|s| s.expose().clone()), Some(rt.to_string()));
        }
    }

    /// Check responses: any status and body classify without a panic, and the message,
    /// hint and identity are single lines with no control characters.
    #[test]
    fn check_responses(
        status in 100u16..600,
        body in prop_oneof![
            any::<Vec<u8>>(),
            (any::<String>(), any::<String>()).prop_map(|(id, msg)| serde_json::json!({
                "id": id, "email": msg.clone(), "message": msg, "error_description": "x\u{1b}[2J\ny",
            }).to_string().into_bytes()),
        ],
        retry in proptest::option::of(any::<String>()),
    ) {
        let catalog = Catalog::builtin();
        let provider = crate::catalog::provider::parse(PROVIDER, Path::new("p.toml")).unwrap();
        let _ = &catalog;
        let values = BTreeMap::from([("subdomain".to_string(), "acme".to_string())]);
        let target = crate::check::Target {
            name: "c",
            provider: &provider,
            method: crate::core::vocab::AuthMethod::ApiKey,
            values: &values,
        };
        let o = crate::check::classify::response(target, status, &body, retry.as_deref());
        prop_assert!(!o.message.contains('\n') || o.message.lines().count() < 4);
        if let Some(id) = &o.identity {
            for s in [&id.id, &id.label].into_iter().flatten() {
                prop_assert!(!s.contains('\n') && !s.chars().any(is_hostile), "{s:?}");
            }
        }
    }
}
