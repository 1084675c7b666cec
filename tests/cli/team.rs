//! Team connections on a real OpenBao dev server (tests/support/bao.rs): team stores, the
//! four roles' allowed and denied actions, the claim-before-refresh protocol, and every
//! server state conn must explain.

use serde_json::json;

use crate::support::bao::Bao;
use crate::support::*;

#[test]
fn store_add_saves_settings_and_list_shows_them() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let env = TestEnv::new();
    let admin = bao.login("acme", "admin");
    let out = env.run_env(
        &["store", "add", "acme", "--vault-addr", &bao.addr],
        &[("BAO_TOKEN", &admin)],
    );
    out.ok();
    assert!(out.stdout.contains("secret/ is KV v2"), "{out:#?}");
    let text = env.read_connections();
    assert!(text.contains("[teams.acme]"), "{text}");
    assert!(text.contains(&bao.addr));
    assert!(!text.contains(&admin), "no token in connections.toml");
    let out = env.run(&["store", "list", "--json"]);
    let v = out.ok().json();
    assert_eq!(v[0]["team"], "acme");
    assert_eq!(v[0]["address"], bao.addr.as_str());
    assert_eq!(v[0]["mount"], "secret");
    assert_eq!(v[0]["prefix"], "conn");
    let human = env.run(&["store", "list"]);
    assert!(human.ok().stdout.contains("conn/acme/"), "{human:#?}");
}

#[test]
fn a_kv_version_1_mount_is_refused() {
    let bao = Bao::start();
    bao.ok(
        "POST",
        "sys/mounts/kv1",
        json!({"type": "kv", "options": {"version": "1"}}),
    );
    let env = TestEnv::new();
    let out = env.run_env(
        &[
            "store",
            "add",
            "acme",
            "--vault-addr",
            &bao.addr,
            "--mount",
            "kv1",
        ],
        &[("BAO_TOKEN", crate::support::bao::ROOT)],
    );
    out.code(1);
    assert!(
        out.stderr
            .contains("conn needs a KV version 2 mount; kv1/ is version 1"),
        "{out:#?}"
    );
    assert!(!env.read_connections().contains("teams"), "nothing saved");
}

/// A host: its own conn home with the team store added and the acme provider, acting with
/// `token` (BAO_TOKEN).
struct Host {
    env: TestEnv,
    token: String,
}

impl Host {
    fn new(bao: &Bao, team: &str, token: &str, api: &str) -> Host {
        let env = TestEnv::new();
        env.write_provider("acme.toml", &acme_provider(api));
        // write_provider made CONN_HOME with the umask; doctor would flag it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(env.home(), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        env.run_env(
            &["store", "add", team, "--vault-addr", &bao.addr],
            &[("BAO_TOKEN", crate::support::bao::ROOT)],
        )
        .ok();
        Host {
            env,
            token: token.to_string(),
        }
    }

    fn run(&self, args: &[&str]) -> Out {
        self.env.run_env(args, &[("BAO_TOKEN", &self.token)])
    }

    fn run_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Out {
        let mut env = vec![("BAO_TOKEN", self.token.as_str())];
        env.extend_from_slice(extra);
        self.env.run_env(args, &env)
    }
}

/// `conn new acme/gh` as the team admin, checked against `api`.
fn create_team_key(admin: &Host, name: &str, key: &str) -> Out {
    admin.run_with(
        &[
            "new",
            name,
            "--provider",
            "acme",
            "--auth",
            "api_key",
            "--secret-env",
            "K",
        ],
        &[("K", key)],
    )
}

#[test]
fn a_team_connection_is_shared_with_every_host_and_keeps_secrets_out_of_records() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let api = FakeApi::expecting_auth(
        "Bearer team-key-0123456789abcdef",
        json!({"id": 7, "email": "bot@acme.test"}),
    );
    let admin = Host::new(&bao, "acme", &bao.login("acme", "admin"), &api.url);
    let out = create_team_key(&admin, "acme/gh", "team-key-0123456789abcdef");
    out.ok();
    assert!(
        out.stderr.contains("team store acme") || out.stdout.contains("acme/gh"),
        "{out:#?}"
    );
    assert!(
        !admin.env.read_connections().contains("provider"),
        "a team connection is not written to connections.toml: {}",
        admin.env.read_connections()
    );
    // In Vault: the record has no secret, the bundle does.
    let (s, rec) = bao.api("GET", "secret/data/conn/acme/meta/gh", None);
    assert_eq!(s, 200);
    assert!(!rec.to_string().contains("team-key"), "{rec}");
    assert_eq!(rec["data"]["data"]["provider"], "acme");
    let id = rec["data"]["data"]["id"].as_str().unwrap().to_string();
    let (s, sec) = bao.api("GET", &format!("secret/data/conn/acme/secrets/{id}"), None);
    assert_eq!(s, 200);
    assert_eq!(sec["data"]["data"]["api_key"], "team-key-0123456789abcdef");
    let (_, meta) = bao.api(
        "GET",
        &format!("secret/metadata/conn/acme/secrets/{id}"),
        None,
    );
    assert_eq!(meta["data"]["cas_required"], true);
    assert_eq!(meta["data"]["max_versions"], 20);

    // Another host, as a team user, with a local connection of its own.
    let user = Host::new(&bao, "acme", &bao.login("acme", "user"), &api.url);
    add_acme(&user.env, "mine", "team-key-0123456789abcdef");
    let list = user.run(&["list"]);
    list.ok();
    assert!(list.stdout.contains("STORE"), "{list:#?}");
    let line = |n: &str| {
        list.stdout
            .lines()
            .find(|l| l.starts_with(n))
            .unwrap_or_else(|| panic!("{n} not listed: {list:#?}"))
            .to_string()
    };
    assert!(line("acme/gh ").contains("team acme"));
    assert!(line("mine ").contains("local"));
    let v = user.run(&["list", "--json"]).json();
    let gh = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "acme/gh")
        .unwrap();
    assert_eq!(gh["team"], "acme");
    assert_eq!(gh["identity"]["label"], "bot@acme.test");

    let tok = user.run(&["token", "acme/gh"]);
    assert_eq!(tok.ok().stdout, "team-key-0123456789abcdef\n");
    let show = user.run(&["show", "acme/gh"]);
    show.ok();
    assert!(
        !show.stdout.contains("team-key-0123456789abcdef"),
        "masked: {show:#?}"
    );
    assert!(show.stdout.contains("cdef"), "{show:#?}");
    let exec = user.run(&["exec", "acme/gh", "--", "env"]);
    assert!(
        exec.ok()
            .stdout
            .contains("ACME_GH_API_KEY=team-key-0123456789abcdef"),
        "{exec:#?}"
    );
    let req = user.run(&["request", "acme/gh", "/me"]);
    assert!(req.ok().stdout.contains("bot@acme.test"), "{req:#?}");
    let check = user.run(&["check"]);
    assert_eq!(check.code, 0, "{check:#?}");
    assert!(check.stdout.contains("acme/gh"), "{check:#?}");

    // The same name again: one winner, a clear message.
    let again = create_team_key(&admin, "acme/gh", "team-key-0123456789abcdef");
    again.code(1);
    assert!(again.stderr.contains("already exists"), "{again:#?}");
}

#[test]
fn roles_allow_and_deny_what_their_policies_say() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let api = FakeApi::expecting_auth("Bearer k-0123456789abcdef", json!({"id": 1}));
    let admin = Host::new(&bao, "acme", &bao.login("acme", "admin"), &api.url);
    create_team_key(&admin, "acme/gh", "k-0123456789abcdef").ok();

    // A user may not create: refused before any secret is asked or sign-in started.
    let user = Host::new(&bao, "acme", &bao.login("acme", "user"), &api.url);
    let out = create_team_key(&user, "acme/new", "k-0123456789abcdef");
    out.code(1);
    assert!(
        out.stderr
            .contains("may not create connections in team acme")
            && out.stderr.contains("conn-acme-admin")
            && out.stderr.contains("conn-acme-user"),
        "{out:#?}"
    );
    assert_eq!(
        api.requests().len(),
        1,
        "no check request was sent for the refused one"
    );
    let (s, _) = bao.api("GET", "secret/data/conn/acme/meta/new", None);
    assert_eq!(s, 404);
    // A user uses, but may not remove.
    user.run(&["token", "acme/gh"]).ok();
    let rm = user.run(&["rm", "acme/gh", "--yes"]);
    rm.code(1);
    assert!(
        rm.stderr.contains("permission denied") && rm.stderr.contains("conn-acme-admin"),
        "{rm:#?}"
    );

    // A checker reads and checks.
    let checker = Host::new(&bao, "acme", &bao.login("acme", "checker"), &api.url);
    checker.run(&["token", "acme/gh"]).ok();
    assert_eq!(checker.run(&["check", "acme/gh"]).code, 0);

    // A monitor lists and sees records, never secret values.
    let monitor = Host::new(&bao, "acme", &bao.login("acme", "monitor"), &api.url);
    let list = monitor.run(&["list"]);
    assert!(list.ok().stdout.contains("acme/gh"), "{list:#?}");
    let tok = monitor.run(&["token", "acme/gh"]);
    tok.code(1);
    assert!(
        tok.stderr.contains("permission denied")
            && tok.stderr.contains("conn-acme-monitor")
            && !tok.stdout.contains("k-0123"),
        "{tok:#?}"
    );
    let show = monitor.run(&["show", "acme/gh", "--json"]).ok().json();
    assert!(
        show["secrets_error"]
            .as_str()
            .unwrap()
            .contains("permission denied"),
        "{show}"
    );

    // Another team's connections are out of reach of acme's admin.
    bao.seed_team("other");
    let other = Host::new(&bao, "other", &bao.login("other", "admin"), &api.url);
    create_team_key(&other, "other/x", "k-0123456789abcdef").ok();
    admin
        .run_with(&["store", "add", "other", "--vault-addr", &bao.addr], &[])
        .ok();
    let cross = admin.run(&["token", "other/x"]);
    cross.code(1);
    assert!(cross.stderr.contains("permission denied"), "{cross:#?}");
    assert!(!cross.stdout.contains("k-0123"));

    // The admin removes: record and every secret version are gone.
    let id = bao.api("GET", "secret/data/conn/acme/meta/gh", None).1["data"]["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    admin.run(&["rm", "acme/gh", "--yes"]).ok();
    assert_eq!(bao.api("GET", "secret/data/conn/acme/meta/gh", None).0, 404);
    assert_eq!(
        bao.api(
            "GET",
            &format!("secret/metadata/conn/acme/secrets/{id}"),
            None
        )
        .0,
        404
    );
    assert!(!admin.run(&["list"]).stdout.contains("acme/gh"));
}

#[test]
fn a_team_store_that_is_down_sealed_or_refusing_the_token_is_explained() {
    let mut bao = Bao::start();
    bao.seed_team("acme");
    let api = FakeApi::expecting_auth("Bearer k-0123456789abcdef", json!({"id": 1}));
    let admin = Host::new(&bao, "acme", &bao.login("acme", "admin"), &api.url);
    create_team_key(&admin, "acme/gh", "k-0123456789abcdef").ok();
    add_acme(&admin.env, "local", "k-0123456789abcdef");

    // A bad token: invalid or expired, not a policy denial.
    let bad = admin.run_with(&["token", "acme/gh"], &[("BAO_TOKEN", "s.not-a-token")]);
    bad.code(1);
    assert!(
        bad.stderr
            .contains("the Vault token (from BAO_TOKEN) is invalid or expired"),
        "{bad:#?}"
    );
    // An expired one says the same.
    let short = bao.login_ttl("acme", "user", Some("2s"));
    std::thread::sleep(std::time::Duration::from_secs(3));
    let expired = admin.run_with(&["token", "acme/gh"], &[("BAO_TOKEN", &short)]);
    assert!(
        expired.stderr.contains("is invalid or expired"),
        "{expired:#?}"
    );

    bao.seal();
    let sealed = admin.run(&["token", "acme/gh"]);
    sealed.code(1);
    assert!(sealed.stderr.contains("is sealed"), "{sealed:#?}");
    let check = admin.run(&["check"]);
    assert_eq!(
        check.code, 3,
        "UNKNOWN, not a broken credential: {check:#?}"
    );
    assert!(check.stdout.contains("acme/*"), "{check:#?}");
    assert!(!check.stdout.contains("invalid_credentials"), "{check:#?}");

    bao.stop();
    let down = admin.run(&["token", "acme/gh"]);
    down.code(1);
    assert!(
        down.stderr.contains("could not reach Vault/OpenBao at") && down.stderr.contains(&bao.addr),
        "{down:#?}"
    );
    let check = admin.run(&["check", "acme/gh"]);
    assert_eq!(check.code, 3, "{check:#?}");
    // Local connections still list, with a warning about the team.
    let list = admin.run(&["list"]);
    list.ok();
    assert!(list.stdout.contains("local"), "{list:#?}");
    assert!(
        list.stderr.contains("team store acme not listed"),
        "{list:#?}"
    );
}

/// A host for the OAuth tests: the test IdP's provider file and its scripted browser.
fn idp_host(bao: &Bao, idp: &Oidc, token: &str) -> Host {
    let host = Host::new(bao, "acme", token, "http://127.0.0.1:9");
    host.env.write_provider("idp.toml", &idp.provider());
    host
}

fn stored_secrets(bao: &Bao, name: &str) -> (u64, serde_json::Value) {
    let rec = bao
        .api("GET", &format!("secret/data/conn/acme/meta/{name}"), None)
        .1;
    let id = rec["data"]["data"]["id"].as_str().unwrap().to_string();
    let v = bao
        .api("GET", &format!("secret/data/conn/acme/secrets/{id}"), None)
        .1;
    (
        v["data"]["metadata"]["version"].as_u64().unwrap(),
        v["data"]["data"].clone(),
    )
}

/// `conn new acme/NAME` for the test IdP, signed in by the scripted browser.
fn create_team_oauth(admin: &Host, name: &str) {
    let out = admin.run_with(
        &[
            "new",
            name,
            "--provider",
            "idp",
            "--client-id",
            "conn-cli",
            "--client-secret-env",
            "CS",
        ],
        &[("CS", "conn-cli-secret"), ("BROWSER", &browser_cmd())],
    );
    out.ok();
}

#[test]
fn twelve_hosts_share_one_rotating_oauth_grant_without_ever_losing_it() {
    // Access tokens live 2 s; the IdP rotates refresh tokens and revokes the whole grant when
    // a rotated one is presented again.
    let bao = Bao::start();
    bao.seed_team("acme");
    let idp = Oidc::start(2);
    let admin = idp_host(&bao, &idp, &bao.login("acme", "admin"));
    create_team_oauth(&admin, "acme/idp");
    let (v0, first) = stored_secrets(&bao, "idp");
    // The client record is in the team store, its secret beside the connection's.
    let (s, client) = bao.api("GET", "secret/data/conn/acme/clients/idp.conn-cli", None);
    assert_eq!(s, 200, "{client}");
    assert!(!client.to_string().contains("conn-cli-secret"));

    // Twelve hosts (own conn homes, so no shared local lock) as team users, for 15 s.
    let user_token = bao.login("acme", "user");
    let hosts: Vec<Host> = (0..12).map(|_| idp_host(&bao, &idp, &user_token)).collect();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let results: Vec<(u32, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = hosts
            .iter()
            .map(|h| {
                s.spawn(move || {
                    let (mut ok, mut failed) = (0, Vec::new());
                    while std::time::Instant::now() < until {
                        let out = h.run(&["request", "acme/idp", "/me"]);
                        if out.code == 0 && out.stdout.contains("alice@example.test") {
                            ok += 1;
                        } else {
                            failed.push(format!("{out:?}"));
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failures: Vec<&String> = results.iter().flat_map(|r| &r.1).collect();
    assert!(
        failures.is_empty(),
        "{} failed uses: {:#?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    // Every use refreshes here (2 s tokens are always within the 60 s refresh margin), so the
    // refreshes are serialized across all hosts; how many fit in 15 s depends on the machine.
    assert!(
        results.iter().all(|r| r.0 >= 1),
        "every host made calls: {:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    let (v1, now) = stored_secrets(&bao, "idp");
    // Every refresh is a claim version plus a token version.
    assert!(v1 >= v0 + 4, "refreshes happened: v{v0} -> v{v1}");
    assert_ne!(first["refresh_token"], now["refresh_token"]);
    assert!(
        now.get("conn:refresh_claim").is_none(),
        "no claim left behind: {now}"
    );
    assert!(
        idp.active(now["refresh_token"].as_str().unwrap()),
        "the grant is still alive: no refresh token was ever spent twice"
    );
    assert!(!idp.active(first["refresh_token"].as_str().unwrap()));
}

#[test]
fn a_crashed_hosts_claim_is_taken_over_and_a_checker_never_refreshes() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let idp = Oidc::start(2);
    let admin = idp_host(&bao, &idp, &bao.login("acme", "admin"));
    create_team_oauth(&admin, "acme/idp");
    // Wait for the access token to expire.
    std::thread::sleep(std::time::Duration::from_secs(3));

    // A checker may read but never spends the refresh token.
    let checker = idp_host(&bao, &idp, &bao.login("acme", "checker"));
    let (v_before, before) = stored_secrets(&bao, "idp");
    let out = checker.run(&["token", "acme/idp"]);
    out.code(1);
    assert!(
        out.stderr.contains("may not refresh it") && out.stderr.contains("conn-acme-checker"),
        "{out:#?}"
    );
    assert_eq!(stored_secrets(&bao, "idp").0, v_before, "nothing written");
    assert!(idp.active(before["refresh_token"].as_str().unwrap()));

    // A host crashed holding a claim: written with CAS like conn does, then never finished.
    let rec = bao.api("GET", "secret/data/conn/acme/meta/idp", None).1;
    let id = rec["data"]["data"]["id"].as_str().unwrap().to_string();
    let mut data = before.clone();
    data["conn:refresh_claim"] = json!("crashed-host:4242:deadbeef");
    bao.ok(
        "POST",
        &format!("secret/data/conn/acme/secrets/{id}"),
        json!({"options": {"cas": v_before}, "data": data}),
    );
    let user = idp_host(&bao, &idp, &bao.login("acme", "user"));
    let start = std::time::Instant::now();
    let out = user.run_with(&["token", "acme/idp"], &[("CONN_VAULT_CLAIM_TTL", "4")]);
    out.ok();
    let waited = start.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(2),
        "it waited for the claim to go stale ({waited:?})"
    );
    let (_, after) = stored_secrets(&bao, "idp");
    assert!(after.get("conn:refresh_claim").is_none(), "{after}");
    assert_eq!(after["access_token"].as_str().unwrap(), out.stdout.trim());
    assert!(idp.active(after["refresh_token"].as_str().unwrap()));
    assert!(!idp.active(before["refresh_token"].as_str().unwrap()));
}

#[test]
fn doctor_shows_server_token_mount_and_what_the_token_may_do() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let admin = Host::new(
        &bao,
        "acme",
        &bao.login("acme", "admin"),
        "http://127.0.0.1:9",
    );
    let out = admin.run(&["doctor"]);
    out.ok();
    let line = |check: &str| {
        out.stdout
            .lines()
            .find(|l| l.contains(check))
            .unwrap_or_else(|| panic!("no {check} line: {out:#?}"))
            .to_string()
    };
    let server = line("team acme server");
    assert!(
        server.starts_with("ok") && server.contains("2.7.2") && server.contains("unsealed"),
        "{server}"
    );
    assert!(server.contains("clock skew"), "{server}");
    let token = line("team acme token");
    assert!(
        token.contains("from BAO_TOKEN") && token.contains("conn-acme-admin"),
        "{token}"
    );
    assert!(token.contains("expires in"), "{token}");
    assert!(line("team acme mount").contains("secret/ is KV v2"));
    assert!(line("team acme access").contains("create connections: yes"));

    let user = Host::new(
        &bao,
        "acme",
        &bao.login("acme", "user"),
        "http://127.0.0.1:9",
    );
    let out = user.run(&["doctor", "--json"]);
    let items = out.ok().json()["items"].clone();
    let access = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["check"] == "team acme access")
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        access.contains("create connections: no")
            && access.contains("use: yes")
            && access.contains("refresh tokens: yes"),
        "{access}"
    );

    let bad = admin.run_with(&["doctor"], &[("BAO_TOKEN", "s.bogus")]);
    bad.code(1);
    assert!(
        bad.stdout.contains("FAIL team acme token") && bad.stdout.contains("invalid or expired"),
        "{bad:#?}"
    );
    bao.seal();
    let sealed = admin.run(&["doctor"]);
    sealed.code(1);
    assert!(sealed.stdout.contains("SEALED"), "{sealed:#?}");
}

#[test]
fn approle_tokens_are_cached_per_host_until_near_expiry() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let api = FakeApi::expecting_auth("Bearer k-0123456789abcdef", json!({"id": 1}));
    let admin = Host::new(&bao, "acme", &bao.login("acme", "admin"), &api.url);
    create_team_key(&admin, "acme/gh", "k-0123456789abcdef").ok();

    let (role_id, secret_id) = bao.approle("acme", "conn-acme-user", "1h");
    let cron = Host::new(&bao, "acme", "", &api.url);
    let sid_file = cron.env.dir.path().join("secret-id");
    std::fs::write(&sid_file, format!("{secret_id}\n")).unwrap();
    let vars = [
        ("BAO_TOKEN", ""),
        ("CONN_VAULT_ROLE_ID", role_id.as_str()),
        ("CONN_VAULT_SECRET_ID_FILE", sid_file.to_str().unwrap()),
    ];
    let accessors = || {
        bao.api("LIST", "auth/token/accessors", None).1["data"]["keys"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = accessors();
    let out = cron.run_with(&["token", "acme/gh"], &vars);
    assert_eq!(out.ok().stdout, "k-0123456789abcdef\n");
    assert_eq!(accessors(), before + 1, "one login");
    let dir = cron.env.home().join("vault-tokens");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a token cache file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let cached = std::fs::read_to_string(&file).unwrap();
    for _ in 0..3 {
        cron.run_with(&["token", "acme/gh"], &vars).ok();
    }
    assert_eq!(
        accessors(),
        before + 1,
        "no login per run: the cached token is reused"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), cached);
    let doctor = cron.run_with(&["doctor"], &vars);
    assert!(doctor.stdout.contains("AppRole (cached in"), "{doctor:#?}");

    // A short lease: after two thirds of it, a new login.
    bao.approle("acme", "conn-acme-user", "3s");
    let (_, secret_id) = bao.approle("acme", "conn-acme-user", "3s");
    std::fs::write(&sid_file, &secret_id).unwrap();
    std::fs::remove_file(&file).unwrap();
    cron.run_with(&["token", "acme/gh"], &vars).ok();
    let first = std::fs::read_to_string(&file).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    cron.run_with(&["token", "acme/gh"], &vars).ok();
    assert_ne!(
        std::fs::read_to_string(&file).unwrap(),
        first,
        "logged in again"
    );

    // A wrong secret_id is explained.
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&sid_file, "not-the-secret-id").unwrap();
    let bad = cron.run_with(&["token", "acme/gh"], &vars);
    bad.code(1);
    assert!(
        bad.stderr.contains("AppRole login") && bad.stderr.contains("invalid role or secret ID"),
        "{bad:#?}"
    );
}

#[test]
fn tokens_come_from_the_vault_token_file_or_helper_and_never_go_to_another_server() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let api = FakeApi::expecting_auth("Bearer k-0123456789abcdef", json!({"id": 1}));
    let admin = Host::new(&bao, "acme", &bao.login("acme", "admin"), &api.url);
    create_team_key(&admin, "acme/gh", "k-0123456789abcdef").ok();
    let user = Host::new(&bao, "acme", "", &api.url);
    let home = user.env.dir.path().join("home");
    std::fs::write(home.join(".vault-token"), bao.login("acme", "user")).unwrap();
    let out = user.run(&["token", "acme/gh"]);
    assert_eq!(out.ok().stdout, "k-0123456789abcdef\n");

    // BAO_ADDR names another server: ~/.vault-token belongs to that one and is not sent.
    let other = user.run_with(&["token", "acme/gh"], &[("BAO_ADDR", "http://127.0.0.1:1")]);
    other.code(1);
    assert!(
        other.stderr.contains("no Vault token was found"),
        "{other:#?}"
    );
    // BAO_ADDR naming this server is fine.
    user.run_with(&["token", "acme/gh"], &[("BAO_ADDR", &bao.addr)])
        .ok();

    // A token helper configured in ~/.bao wins over the file.
    std::fs::remove_file(home.join(".vault-token")).unwrap();
    let helper = home.join("helper.sh");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] && printf '%s' '{}'\n",
            bao.login("acme", "checker")
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    std::fs::write(
        home.join(".bao"),
        format!("token_helper = \"{}\"\n", helper.display()),
    )
    .unwrap();
    let doctor = user.run(&["doctor"]);
    assert!(
        doctor.stdout.contains("from the token helper")
            && doctor.stdout.contains("conn-acme-checker"),
        "{doctor:#?}"
    );
    user.run(&["token", "acme/gh"]).ok();
}

#[test]
fn a_team_store_in_a_namespace() {
    let bao = Bao::start();
    bao.ok("POST", "sys/namespaces/eng", json!({}));
    let (s, v) = bao.api_ns(
        "eng",
        "POST",
        "sys/mounts/kv",
        Some(json!({"type": "kv", "options": {"version": "2"}})),
    );
    assert!(s == 204 || s == 200, "{s} {v}");
    let api = FakeApi::expecting_auth("Bearer k-0123456789abcdef", json!({"id": 1}));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let root = [
        ("CONN_VAULT_TOKEN", crate::support::bao::ROOT),
        ("K", "k-0123456789abcdef"),
    ];
    // The namespace matters: without it there is no such mount.
    let wrong = env.run_env(
        &[
            "store",
            "add",
            "acme",
            "--vault-addr",
            &bao.addr,
            "--mount",
            "kv",
        ],
        &root,
    );
    wrong.code(1);
    assert!(wrong.stderr.contains("kv"), "{wrong:#?}");
    env.run_env(
        &[
            "store",
            "add",
            "acme",
            "--vault-addr",
            &bao.addr,
            "--namespace",
            "eng",
            "--mount",
            "kv",
        ],
        &root,
    )
    .ok();
    env.run_env(
        &[
            "new",
            "acme/gh",
            "--provider",
            "acme",
            "--auth",
            "api_key",
            "--secret-env",
            "K",
        ],
        &root,
    )
    .ok();
    assert_eq!(
        env.run_env(&["token", "acme/gh"], &root).ok().stdout,
        "k-0123456789abcdef\n"
    );
    // Stored in the namespace (path prefix), not in the root namespace.
    assert_eq!(bao.api("GET", "eng/kv/data/conn/acme/meta/gh", None).0, 200);
    assert_eq!(bao.api("GET", "kv/data/conn/acme/meta/gh", None).0, 404);
    let doctor = env.run_env(&["doctor"], &root);
    assert!(doctor.stdout.contains("namespace eng"), "{doctor:#?}");
}

#[test]
fn tls_needs_the_servers_ca_and_plain_http_is_loopback_only() {
    let bao = Bao::start_tls();
    bao.seed_team("acme");
    let token = bao.login("acme", "admin");
    let env = TestEnv::new();
    let untrusted = env.run_env(
        &["store", "add", "acme", "--vault-addr", &bao.addr],
        &[("BAO_TOKEN", &token)],
    );
    untrusted.code(1);
    assert!(
        untrusted.stderr.contains("not trusted") && untrusted.stderr.contains("BAO_CACERT"),
        "{untrusted:#?}"
    );
    let ca = bao.ca.as_ref().unwrap().to_str().unwrap().to_string();
    env.run_env(
        &["store", "add", "acme", "--vault-addr", &bao.addr],
        &[("BAO_TOKEN", &token), ("BAO_CACERT", &ca)],
    )
    .ok();
    let doctor = env.run_env(&["doctor"], &[("BAO_TOKEN", &token), ("BAO_CACERT", &ca)]);
    assert!(doctor.stdout.contains("CA from BAO_CACERT="), "{doctor:#?}");
    // http:// to the TLS listener.
    let plain = bao.addr.replace("https://", "http://");
    let out = env.run_env(
        &["store", "add", "b", "--vault-addr", &plain],
        &[("BAO_TOKEN", &token)],
    );
    out.code(1);
    assert!(out.stderr.contains("serves HTTPS"), "{out:#?}");
    // Tokens never cross the network in clear text.
    let out = env.run_env(
        &[
            "store",
            "add",
            "c",
            "--vault-addr",
            "http://bao.example.com:8200",
        ],
        &[("BAO_TOKEN", &token)],
    );
    out.code(2);
    assert!(out.stderr.contains("only over https"), "{out:#?}");
}

#[test]
fn check_results_go_to_the_team_store_and_concurrent_writers_all_land() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let api = FakeApi::expecting_auth(
        "Bearer k-0123456789abcdef",
        json!({"id": 1, "email": "bot@acme.test"}),
    );
    let admin = Host::new(&bao, "acme", &bao.login("acme", "admin"), &api.url);
    create_team_key(&admin, "acme/gh", "k-0123456789abcdef").ok();
    // Eight checkers on eight hosts at once: every result is written with CAS, none lost.
    let checker_token = bao.login("acme", "checker");
    let hosts: Vec<Host> = (0..8)
        .map(|_| Host::new(&bao, "acme", &checker_token, &api.url))
        .collect();
    let outs: Vec<Out> = std::thread::scope(|s| {
        let hs: Vec<_> = hosts
            .iter()
            .map(|h| s.spawn(move || h.run(&["check", "acme/gh"])))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for o in &outs {
        assert_eq!(o.code, 0, "{o:#?}");
        assert!(!o.stderr.contains("could not save"), "{o:#?}");
    }
    let (s, st) = bao.api("GET", "secret/data/conn/acme/status/gh", None);
    assert_eq!(s, 200);
    assert_eq!(st["data"]["data"]["status"], "ok");
    assert!(
        st["data"]["metadata"]["version"].as_u64().unwrap() >= 8,
        "{st}"
    );
    // A monitor sees the result without any secret.
    let monitor = Host::new(&bao, "acme", &bao.login("acme", "monitor"), &api.url);
    let v = monitor.run(&["list", "--json"]).ok().json();
    assert_eq!(v[0]["name"], "acme/gh");
    assert_eq!(v[0]["last_check"]["status"], "ok", "{v}");
}

#[test]
fn a_recipe_role_can_be_bound_to_a_team_connection() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let api = FakeApi::expecting_auth("Bearer k-0123456789abcdef", json!({"id": 1}));
    let admin = Host::new(&bao, "acme", &bao.login("acme", "admin"), &api.url);
    create_team_key(&admin, "acme/gh", "k-0123456789abcdef").ok();
    let user = Host::new(&bao, "acme", &bao.login("acme", "user"), &api.url);
    let project = user.env.dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("conn.toml"),
        "[roles.crm]\nprovider = \"acme\"\n",
    )
    .unwrap();
    let tok = [("BAO_TOKEN", user.token.as_str())];
    user.env
        .run_in(&project, &["bind", "crm", "acme/gh"], &tok)
        .ok();
    let out = user.env.run_in(&project, &["exec", "--", "env"], &tok);
    assert!(
        out.ok().stdout.contains("CRM_API_KEY=k-0123456789abcdef"),
        "{out:#?}"
    );
    let check = user.env.run_in(&project, &["check", "--recipe"], &tok);
    assert_eq!(check.code, 0, "{check:#?}");
}

/// A stand-in for Vault that loses every check-and-set race on `status/gh`: a state the real
/// server produces only under a storm of concurrent writers.
#[test]
fn an_edit_that_keeps_losing_its_cas_race_gives_up_and_says_nothing_was_saved() {
    let api = FakeApi::expecting_auth("Bearer k-0123456789abcdef", json!({"id": 1}));
    let record = json!({"id": "c01", "provider": "acme", "auth": "api_key", "env": "production",
        "store": "vault", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"});
    let vault = FakeApi::start(move |s| {
        let ok = |data: serde_json::Value, version: u64| {
            json!({"data": {"data": data, "metadata": {"version": version}}}).to_string()
        };
        match (s.method.as_str(), s.url.as_str()) {
            (_, u) if u.starts_with("/v1/sys/internal/ui/mounts/") => (
                200,
                json!({"data": {"path": "secret/", "type": "kv", "options": {"version": "2"}}})
                    .to_string(),
            ),
            ("GET", "/v1/secret/data/conn/acme/meta/gh") => (200, ok(record.clone(), 1)),
            ("GET", "/v1/secret/data/conn/acme/secrets/c01") => {
                (200, ok(json!({"api_key": "k-0123456789abcdef"}), 1))
            }
            ("GET", "/v1/secret/data/conn/acme/status/gh") => (200, ok(json!({}), 3)),
            ("POST", "/v1/secret/data/conn/acme/status/gh") => (
                400,
                r#"{"errors":["check-and-set parameter did not match the current version"]}"#
                    .into(),
            ),
            _ => (404, r#"{"errors":[]}"#.into()),
        }
    });
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let tok = [("CONN_VAULT_TOKEN", "s.test")];
    env.run_env(&["store", "add", "acme", "--vault-addr", &vault.url], &tok)
        .ok();
    let out = env.run_env(&["check", "acme/gh"], &tok);
    assert_eq!(out.code, 0, "the check itself passed: {out:#?}");
    assert!(
        out.stderr
            .contains("acme/gh was changed by someone else meanwhile; nothing was saved"),
        "{out:#?}"
    );
    let writes = vault
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.url.ends_with("/status/gh"))
        .count();
    assert_eq!(writes, 5, "retried, then gave up");
}

#[test]
fn an_admin_who_is_also_a_user_may_still_create() {
    // Vault takes the most specific matching path across all of a token's policies; the admin
    // policy must not lose to the user policy's read-only meta/* for a token holding both.
    let bao = Bao::start();
    bao.seed_team("acme");
    bao.ok(
        "POST",
        "auth/userpass/users/acme-both",
        json!({"password": "pw-both", "token_policies": ["conn-acme-admin", "conn-acme-user"]}),
    );
    let token = bao.login("acme", "both");
    let api = FakeApi::expecting_auth("Bearer k-0123456789abcdef", json!({"id": 1}));
    let host = Host::new(&bao, "acme", &token, &api.url);
    create_team_key(&host, "acme/gh", "k-0123456789abcdef").ok();
    host.run(&["rm", "acme/gh", "--yes", "--keep-remote"]).ok();
}

/// The record and secrets of `acme/<name>` as stored: (record version, record, secrets
/// version, secrets).
fn stored(bao: &Bao, name: &str) -> (u64, serde_json::Value, u64, serde_json::Value) {
    let rec = bao
        .api("GET", &format!("secret/data/conn/acme/meta/{name}"), None)
        .1;
    let (v, sec) = stored_secrets(bao, name);
    (
        rec["data"]["metadata"]["version"].as_u64().unwrap(),
        rec["data"]["data"].clone(),
        v,
        sec,
    )
}

#[test]
fn reauth_of_a_team_key_connection_replaces_its_secrets_in_place() {
    let bao = Bao::start();
    bao.seed_team("acme");
    // Three keys: the first, its replacement (same account), and another account's.
    let api = FakeApi::start(|s| match s.header("Authorization") {
        Some("Bearer old-key-0123456789ab") | Some("Bearer new-key-0123456789ab") => {
            (200, json!({"id": 7, "email": "bot@acme.test"}).to_string())
        }
        Some("Bearer alt-key-0123456789ab") => (
            200,
            json!({"id": 8, "email": "other@acme.test"}).to_string(),
        ),
        _ => (401, json!({"error": "bad key"}).to_string()),
    });
    let admin = Host::new(&bao, "acme", &bao.login("acme", "admin"), &api.url);
    create_team_key(&admin, "acme/gh", "old-key-0123456789ab").ok();
    // Dated a year back, so the admin's re-authorization below must move it
    // even when the whole test runs within one second.
    let (rv, mut rec, _, _) = stored(&bao, "gh");
    rec["authorized_at"] = json!("2025-01-01T00:00:00Z");
    bao.ok(
        "POST",
        "secret/data/conn/acme/meta/gh",
        json!({"options": {"cas": rv}, "data": rec}),
    );
    let (rv0, rec0, sv0, sec0) = stored(&bao, "gh");
    assert_eq!(rec0["authorized_at"], "2025-01-01T00:00:00Z");
    let id = rec0["id"].as_str().unwrap().to_string();
    // A dead refresh mark and a crashed host's claim, as other hosts leave them.
    let mut marked = sec0.clone();
    marked["conn:needs_reauth"] = json!("invalid_grant");
    marked["conn:refresh_claim"] = json!("crashed-host:4242:deadbeef");
    bao.ok(
        "POST",
        &format!("secret/data/conn/acme/secrets/{id}"),
        json!({"options": {"cas": sv0}, "data": marked}),
    );

    // A monitor may not: refused before the key is even checked.
    let monitor = Host::new(&bao, "acme", &bao.login("acme", "monitor"), &api.url);
    let seen = api.requests().len();
    let out = monitor.env.run_full(
        &["reauth", "acme/gh", "--secret-stdin"],
        Some("new-key-0123456789ab\n"),
        &[("BAO_TOKEN", &monitor.token)],
    );
    out.code(1);
    assert!(
        out.stderr.contains("may not re-authorize acme/gh")
            && out.stderr.contains("conn-acme-admin or conn-acme-user")
            && out.stderr.contains("conn-acme-monitor"),
        "{out:#?}"
    );
    assert_eq!(api.requests().len(), seen, "no check request was sent");
    assert_eq!(stored(&bao, "gh").2, sv0 + 1, "nothing written");

    // A team user replaces the key: same id, record untouched, marks gone.
    let user = Host::new(&bao, "acme", &bao.login("acme", "user"), &api.url);
    let out = user.env.run_full(
        &["reauth", "acme/gh", "--secret-stdin"],
        Some("new-key-0123456789ab\n"),
        &[("BAO_TOKEN", &user.token)],
    );
    out.ok();
    assert!(
        out.stdout
            .contains("Re-authorized 'acme/gh', connected as bot@acme.test"),
        "{out:#?}"
    );
    let (rv1, rec1, sv1, sec1) = stored(&bao, "gh");
    assert_eq!(rec1["id"], id.as_str());
    assert_eq!(rv1, rv0, "the user policy does not touch the record");
    assert_eq!(sv1, sv0 + 2, "one check-and-set write");
    assert_eq!(sec1, json!({"api_key": "new-key-0123456789ab"}), "{sec1}");
    let (_, st) = bao.api("GET", "secret/data/conn/acme/status/gh", None);
    assert_eq!(st["data"]["data"]["status"], "ok", "{st}");
    assert_eq!(
        user.run(&["token", "acme/gh"]).ok().stdout,
        "new-key-0123456789ab\n"
    );

    // Another account's key changes what the record says: the admin's to do.
    let out = user.env.run_full(
        &["reauth", "acme/gh", "--secret-stdin", "--yes"],
        Some("alt-key-0123456789ab\n"),
        &[("BAO_TOKEN", &user.token)],
    );
    out.code(1);
    assert!(
        out.stderr.contains("needs the conn-acme-admin policy")
            && out.stderr.contains("still has its old credentials"),
        "{out:#?}"
    );
    assert_eq!(stored(&bao, "gh").2, sv1, "nothing written");
    let out = admin.env.run_full(
        &["reauth", "acme/gh", "--secret-stdin", "--yes", "--json"],
        Some("alt-key-0123456789ab\n"),
        &[("BAO_TOKEN", &admin.token)],
    );
    out.ok();
    assert_eq!(out.json()["identity"]["label"], "other@acme.test");
    let (rv2, rec2, sv2, sec2) = stored(&bao, "gh");
    assert_eq!(
        rv2,
        rv1 + 1,
        "the admin updates the record with check-and-set"
    );
    assert_eq!(rec2["id"], id.as_str());
    assert_eq!(rec2["identity"]["label"], "other@acme.test");
    assert_ne!(rec2["authorized_at"], rec0["authorized_at"]);
    assert_eq!(sv2, sv1 + 1);
    assert_eq!(sec2["api_key"], "alt-key-0123456789ab");
    assert_eq!(user.run(&["check", "acme/gh"]).code, 0);
}

#[test]
fn reauth_of_a_team_oauth_connection_clears_the_needs_reauth_mark() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let idp = Oidc::start(2);
    let admin = idp_host(&bao, &idp, &bao.login("acme", "admin"));
    create_team_oauth(&admin, "acme/idp");
    let (_, first) = stored_secrets(&bao, "idp");
    // The grant is revoked at the provider; once the access token expires, the next refresh
    // is refused and marks the connection for every host.
    idp.revoke(first["refresh_token"].as_str().unwrap());
    std::thread::sleep(std::time::Duration::from_secs(3));
    let user = idp_host(&bao, &idp, &bao.login("acme", "user"));
    let out = user.run(&["token", "acme/idp"]);
    out.code(1);
    assert!(out.stderr.contains("conn reauth acme/idp"), "{out:#?}");
    let (_, marked) = stored_secrets(&bao, "idp");
    assert!(marked.get("conn:needs_reauth").is_some(), "{marked}");

    // A team user signs in again: new tokens in place, the mark gone, usable everywhere.
    let out = user.run_with(&["reauth", "acme/idp"], &[("BROWSER", &browser_cmd())]);
    out.ok();
    let (_, now) = stored_secrets(&bao, "idp");
    assert!(now.get("conn:needs_reauth").is_none(), "{now}");
    assert!(now.get("conn:refresh_claim").is_none(), "{now}");
    assert_ne!(now["refresh_token"], first["refresh_token"]);
    assert!(idp.active(now["refresh_token"].as_str().unwrap()));
    let other = idp_host(&bao, &idp, &bao.login("acme", "checker"));
    let tok = other.run(&["token", "acme/idp"]);
    assert_eq!(
        tok.ok().stdout.trim(),
        now["access_token"].as_str().unwrap()
    );
}

#[test]
fn an_admin_renames_a_team_connection_and_its_secrets_stay() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let api = FakeApi::expecting_auth("Bearer k-0123456789abcdef", json!({"id": 1}));
    let admin = Host::new(&bao, "acme", &bao.login("acme", "admin"), &api.url);
    create_team_key(&admin, "acme/gh", "k-0123456789abcdef").ok();
    create_team_key(&admin, "acme/taken", "k-0123456789abcdef").ok();
    admin.run(&["check", "acme/gh"]).ok();
    let (_, rec, sv, _) = stored(&bao, "gh");

    let user = Host::new(&bao, "acme", &bao.login("acme", "user"), &api.url);
    let out = user.run(&["rename", "acme/gh", "bot"]);
    out.code(1);
    assert!(
        out.stderr
            .contains("may not rename connections in team acme")
            && out.stderr.contains("conn-acme-admin"),
        "{out:#?}"
    );
    let out = admin.run(&["rename", "acme/gh", "taken"]);
    out.code(1);
    assert!(out.stderr.contains("already exists"), "{out:#?}");
    let out = admin.run(&["rename", "acme/gh", "other/bot"]);
    out.code(2);
    assert!(out.stderr.contains("another team"), "{out:#?}");
    assert_eq!(bao.api("GET", "secret/data/conn/acme/meta/gh", None).0, 200);

    let out = admin.run(&["rename", "acme/gh", "acme/bot"]);
    out.ok();
    assert!(
        out.stdout.contains("Renamed 'acme/gh' to 'acme/bot'"),
        "{out:#?}"
    );
    assert_eq!(bao.api("GET", "secret/data/conn/acme/meta/gh", None).0, 404);
    let (_, moved, sv2, _) = stored(&bao, "bot");
    assert_eq!(moved["id"], rec["id"], "same id: the secrets stay");
    assert_eq!(sv2, sv, "the secrets were not rewritten");
    let (s, st) = bao.api("GET", "secret/data/conn/acme/status/bot", None);
    assert_eq!(s, 200, "the check result followed");
    assert_eq!(st["data"]["data"]["status"], "ok");
    assert_eq!(
        user.run(&["token", "acme/bot"]).ok().stdout,
        "k-0123456789abcdef\n"
    );
    let list = user.run(&["list"]);
    assert!(
        list.ok().stdout.contains("acme/bot") && !list.stdout.contains("acme/gh "),
        "{list:#?}"
    );
}

#[test]
fn a_cron_host_uses_a_local_bao_agent_with_no_token_at_all() {
    let bao = Bao::start();
    bao.seed_team("acme");
    let api = FakeApi::expecting_auth("Bearer k-0123456789abcdef", json!({"id": 1}));
    let admin = Host::new(&bao, "acme", &bao.login("acme", "admin"), &api.url);
    create_team_key(&admin, "acme/gh", "k-0123456789abcdef").ok();
    let (role_id, secret_id) = bao.approle("acme", "conn-acme-user", "1h");
    let agent = crate::support::bao::Agent::start(&bao, &role_id, &secret_id);

    // The cron host knows only the agent's address: no BAO_TOKEN, VAULT_TOKEN, token file,
    // token helper or AppRole settings.
    let cron = TestEnv::new();
    cron.write_provider("acme.toml", &acme_provider(&api.url));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(cron.home(), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    cron.run(&["store", "add", "acme", "--vault-addr", &agent.addr])
        .ok();
    let home = cron.dir.path().join("home");
    assert!(!home.join(".vault-token").exists());
    assert_eq!(
        cron.run(&["token", "acme/gh"]).ok().stdout,
        "k-0123456789abcdef\n"
    );
    let check = cron.run(&["check"]);
    assert_eq!(check.code, 0, "{check:#?}");
    assert!(check.stdout.contains("acme/gh"), "{check:#?}");
    let (_, st) = bao.api("GET", "secret/data/conn/acme/status/gh", None);
    assert_eq!(
        st["data"]["data"]["status"], "ok",
        "written through the agent"
    );
    let doctor = cron.run(&["doctor"]);
    let token = doctor
        .stdout
        .lines()
        .find(|l| l.contains("team acme token"))
        .unwrap_or_else(|| panic!("no token line: {doctor:#?}"))
        .to_string();
    assert!(
        token.starts_with("ok")
            && token.contains(&format!("from the bao agent at {}", agent.addr))
            && token.contains("conn-acme-user"),
        "{token}"
    );
    assert!(
        !cron.home().join("vault-tokens").exists(),
        "no AppRole login by conn itself"
    );
    // What the user policy does not allow stays denied through the agent.
    let out = cron.run_env(
        &[
            "new",
            "acme/x",
            "--provider",
            "acme",
            "--auth",
            "api_key",
            "--secret-env",
            "K",
        ],
        &[("K", "k-0123456789abcdef")],
    );
    out.code(1);
    assert!(out.stderr.contains("conn-acme-admin"), "{out:#?}");
}
