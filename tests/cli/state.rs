//! Configuration is not state (issue 19, item 1): what conn learns goes to state.json, and
//! connections.toml keeps the user's comments, order and formatting through every change.

use serde_json::json;

use crate::support::*;

fn state(env: &TestEnv) -> serde_json::Value {
    let text = std::fs::read_to_string(env.home().join("state.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn hand_comments_and_order_survive_check_new_rename_and_rm() {
    let api = FakeApi::expecting_auth("Bearer k-1", json!({"id": 1, "email": "bot@acme.test"}));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    new_acme(&env, "a", "k-1").ok();
    new_acme(&env, "b", "k-1").ok();
    // The user puts b first, annotates both, and writes an inline table.
    let text = env.read_connections();
    let a_at = text.find("[connections.a]").unwrap();
    let b_at = text.find("[connections.b]").unwrap();
    let (head, a, b) = (&text[..a_at], &text[a_at..b_at], &text[b_at..]);
    let hand = format!(
        "# my note: prod keys, ask Ana before rotating\n{head}# b is the billing bot\n{b}\n# a is the admin\n{a}"
    );
    std::fs::write(env.connections_toml(), &hand).unwrap();

    // check learns things but leaves the file byte for byte as it was.
    env.run(&["check"]).ok();
    assert_eq!(env.read_connections(), hand);
    let list = env.run(&["list", "--json"]).json();
    assert_eq!(list[0]["last_check"]["status"], "ok", "{list}");
    assert_eq!(list[0]["identity"]["label"], "bot@acme.test", "{list}");
    let id_a = env.id_of("a");
    assert_eq!(
        state(&env)["connections"][&id_a]["last_check"]["status"],
        "ok"
    );
    assert!(
        !hand.contains("last_check") && !hand.contains("identity"),
        "{hand}"
    );

    // new: appended after the user's tables, everything else as it was.
    new_acme(&env, "c", "k-1").ok();
    let now = env.read_connections();
    assert!(now.starts_with(&hand.trim_end().to_string()), "{now}");
    assert!(now.find("[connections.c]").unwrap() > now.find("[connections.a]").unwrap());
    assert!(!now.contains("last_check"), "{now}");

    // rename: in place, the comment above it kept; secrets and learned state follow the id.
    env.run(&["rename", "a", "admin"]).ok();
    let now = env.read_connections();
    assert!(
        now.contains("# a is the admin\n[connections.admin]"),
        "{now}"
    );
    let (b, admin, c) = (
        now.find("[connections.b]").unwrap(),
        now.find("[connections.admin]").unwrap(),
        now.find("[connections.c]").unwrap(),
    );
    assert!(b < admin && admin < c, "{now}");
    assert!(now.contains("# my note: prod keys") && now.contains("# b is the billing bot"));
    let shown = env.run(&["show", "admin", "--json"]).json();
    assert_eq!(shown["last_check"]["status"], "ok", "{shown}");
    assert_eq!(shown["identity"]["label"], "bot@acme.test", "{shown}");

    // rm: only that table goes, and its state with it.
    let id_c = env.id_of("c");
    env.run(&["rm", "c", "--yes"]).ok();
    let now = env.read_connections();
    assert!(!now.contains("[connections.c]"), "{now}");
    assert!(now.contains("# my note: prod keys") && now.contains("# a is the admin"));
    assert!(state(&env)["connections"].get(&id_c).is_none());
}

#[test]
fn results_an_older_conn_kept_in_connections_toml_migrate_to_the_state_file() {
    let api = FakeApi::expecting_auth("Bearer k-2", json!({"id": 2, "email": "ops@acme.test"}));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    add_acme(&env, "old", "k-2");
    // The file as conn wrote it before the state file existed.
    let text = env.read_connections().replace(
        "[connections.old]\n",
        "# kept by hand\n[connections.old]\nlast_success = \"2026-01-02T03:04:05Z\"\nauthorized_at = \"2026-01-01T00:00:00Z\"\n",
    ) + "\n[connections.old.identity]\nid = \"2\"\nlabel = \"ops@acme.test\"\n\n[connections.old.last_check]\nstatus = \"invalid_credentials\"\nat = \"2026-01-03T00:00:00Z\"\nmessage = \"HTTP 401\"\n";
    std::fs::write(env.connections_toml(), &text).unwrap();
    let _ = std::fs::remove_file(env.home().join("state.json"));

    // Read as before...
    let row = &env.run(&["list", "--json"]).json()[0];
    assert_eq!(row["last_check"]["status"], "invalid_credentials", "{row}");
    assert_eq!(row["identity"]["label"], "ops@acme.test", "{row}");
    // ...and after conn next writes the file (a rename), the results live in the state file
    // and connections.toml holds only settings, with the comment.
    env.run(&["rename", "old", "ops"]).ok();
    let now = env.read_connections();
    assert!(now.contains("# kept by hand\n[connections.ops]"), "{now}");
    for gone in ["last_check", "last_success", "identity", "authorized_at"] {
        assert!(!now.contains(gone), "{gone} left in {now}");
    }
    let shown = env.run(&["show", "ops", "--json"]).json();
    assert_eq!(
        shown["last_check"]["status"], "invalid_credentials",
        "{shown}"
    );
    assert_eq!(shown["last_check"]["message"], "HTTP 401", "{shown}");
    assert_eq!(shown["last_success"], "2026-01-02T03:04:05Z", "{shown}");
    assert_eq!(shown["authorized_at"], "2026-01-01T00:00:00Z", "{shown}");
    assert_eq!(shown["identity"]["id"], "2", "{shown}");
    let id = env.id_of("ops");
    assert_eq!(
        state(&env)["connections"][&id]["last_success"],
        "2026-01-02T03:04:05Z"
    );

    // A check then updates the state only.
    let before = env.read_connections();
    env.run(&["check", "ops"]).ok();
    assert_eq!(env.read_connections(), before);
    assert_eq!(
        state(&env)["connections"][&id]["last_check"]["status"],
        "ok"
    );
}

/// One connection's record is found in a state file of many (a binary search of the layout
/// conn writes), and read the same from a file in any other layout, which is read whole.
#[test]
fn one_record_among_many_reads_the_same_in_any_layout_of_the_state_file() {
    let env = TestEnv::new();
    let toml = http_store_toml(400, 3, "base_url = \"http://127.0.0.1:1\"\n");
    let mut records = serde_json::Map::new();
    for i in 0..400 {
        // Every third connection was never checked.
        if i % 3 != 0 {
            records.insert(
                format!("{i:024x}"),
                json!({
                    "identity": {"id": format!("{i}"), "label": format!("bot \"{i}\" {{}}")},
                    "last_check": {"status": "ok", "at": "2026-11-01T00:00:00Z", "message": format!("connected as bot {i}\n    }}")},
                    "last_success": "2026-11-01T00:00:00Z"
                }),
            );
        }
    }
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.connections_toml(), &toml).unwrap();
    let whole = json!({"version": 1, "connections": records});
    let shown = |name: &str| {
        let out = env.run(&["show", name, "--json"]);
        out.ok();
        let v = out.json();
        (v["last_check"].clone(), v["identity"].clone())
    };
    let mut answers = Vec::new();
    for (layout, bisected) in [
        // As conn writes it: pretty, "version" first.
        (
            serde_json::to_string_pretty(&json!({"connections": whole["connections"]}))
                .unwrap()
                .replacen("{\n", "{\n  \"version\": 1,\n", 1),
            true,
        ),
        (serde_json::to_string(&whole).unwrap(), false),
    ] {
        std::fs::write(env.home().join("state.json"), layout).unwrap();
        let out = env.run(&["-v", "show", "c100"]);
        out.ok();
        assert_eq!(
            out.stderr.contains("read by bisection"),
            bisected,
            "{}",
            out.stderr
        );
        let got: Vec<_> = ["c000", "c001", "c200", "c398", "c399"]
            .iter()
            .map(|n| shown(n))
            .collect();
        answers.push(got);
    }
    assert_eq!(answers[0], answers[1], "both layouts read alike");
    let got = &answers[0];
    // c000 and c399 were never checked.
    assert!(got[0].0.is_null() && got[4].0.is_null(), "{got:?}");
    assert_eq!(got[1].0["message"], "connected as bot 1\n    }");
    assert_eq!(got[2].1["label"], "bot \"200\" {}");
    assert_eq!(got[3].0["message"], "connected as bot 398\n    }");
}
