//! The README's worked example, run as written: its recipe and script, against local fakes of
//! Stripe and Zendesk (user provider files with the built-ins' ids point them here).

use std::sync::{Arc, Mutex};

use crate::support::*;

/// The first ```sh block after `heading` in the README.
fn readme_block(heading: &str, lang: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let at = readme.find(heading).expect("the README has the section");
    let rest = &readme[at..];
    let start = rest.find(&format!("```{lang}\n")).unwrap() + lang.len() + 4;
    let end = rest[start..].find("```").unwrap();
    rest[start..start + end].to_string()
}

#[test]
fn the_worked_example_copies_customers_without_handling_a_secret() {
    let stripe = FakeApi::start(|s| {
        if s.header("Authorization") != Some("Bearer sk_test_EXAMPLE") {
            return (401, "{}".into());
        }
        (
            200,
            r#"{"data":[{"email":"ann@example.com","name":"Ann"},{"email":null},{"email":"bob@example.com","name":null}]}"#
                .into(),
        )
    });
    let created = Arc::new(Mutex::new(Vec::new()));
    let c2 = created.clone();
    let zendesk = FakeApi::start(move |s| {
        use base64::Engine;
        let want =
            base64::engine::general_purpose::STANDARD.encode("agent@acme.test/token:zd-TOKEN");
        if s.header("Authorization") != Some(format!("Basic {want}").as_str()) {
            return (401, "{}".into());
        }
        if s.url == "/api/v2/users/create_or_update.json"
            && s.header("Content-Type") == Some("application/json")
        {
            let v: serde_json::Value = serde_json::from_str(&s.body).unwrap();
            c2.lock().unwrap().push(v["user"].clone());
            return (201, s.body.clone());
        }
        (404, "{}".into())
    });
    let env = TestEnv::new();
    env.write_provider(
        "stripe.toml",
        &format!(
            "id = \"stripe\"\ndisplay_name = \"Stripe (fake)\"\n[[auth]]\nmethod = \"api_key\"\nname = \"Authorization\"\nprefix = \"Bearer \"\n[api]\nbase_url = \"{}\"\n[check]\npath = \"/v1/balance\"\n",
            stripe.url
        ),
    );
    env.write_provider(
        "zendesk.toml",
        &format!(
            "id = \"zendesk\"\ndisplay_name = \"Zendesk (fake)\"\n[[inputs]]\nname = \"subdomain\"\nlabel = \"Subdomain\"\n[[auth]]\nmethod = \"basic\"\nusername_suffix = \"/token\"\n[api]\nbase_url = \"{}\"\n[check]\npath = \"/api/v2/users/me.json\"\n",
            zendesk.url
        ),
    );
    env.conn("new stripe-live --provider stripe --secret-env S --no-check")
        .env("S", "sk_test_EXAMPLE")
        .ok();
    env.conn("new zendesk-acme --provider zendesk --set subdomain=acme --username agent@acme.test --secret-env S --no-check").env("S", "zd-TOKEN").ok();
    let project = env.dir.path().join("sync");
    std::fs::create_dir_all(&project).unwrap();
    // The README's recipe; its secondary role plays the same Zendesk here.
    let recipe = readme_block("### Recipes: the connections a project needs", "toml");
    std::fs::write(project.join("conn.toml"), &recipe).unwrap();
    let script = project.join("sync-customers.sh");
    std::fs::write(&script, readme_block("### A worked example", "sh")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (role, name) in [
        ("billing", "stripe-live"),
        ("helpdesk", "zendesk-acme"),
        ("helpdesk_archive", "zendesk-acme"),
    ] {
        env.run_in(&project, &["bind", role, name], &[]).ok();
    }
    let out = env.run_in(&project, &["exec", "--", "./sync-customers.sh"], &[]);
    out.ok();
    assert_eq!(
        out.stdout,
        "synced ann@example.com\nsynced bob@example.com\n"
    );
    let users = created.lock().unwrap().clone();
    assert_eq!(
        users,
        [
            serde_json::json!({"name": "Ann", "email": "ann@example.com", "role": "end-user"}),
            serde_json::json!({"name": "bob@example.com", "email": "bob@example.com", "role": "end-user"}),
        ]
    );
    // Run by itself, the script says how to run it.
    let alone = std::process::Command::new(&script)
        .current_dir(&project)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .output()
        .unwrap();
    assert!(!alone.status.success());
    assert!(String::from_utf8_lossy(&alone.stderr).contains("conn exec --"));
}
