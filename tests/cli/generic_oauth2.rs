//! The generic `oauth2` provider driven by discovery (issue 12): with only an issuer, the
//! endpoints are not asked, the check goes to the discovered `userinfo_endpoint` with the
//! identity from `email`, and the server's `scopes_supported` are offered.

use crate::support::*;
use crate::wizard::{type_keys, wizard};

#[test]
fn an_issuer_alone_makes_a_working_connection_without_a_terminal() {
    let idp = Oidc::start_with(3600, &[("OFFLINE", "strict")]);
    let mut env = TestEnv::new();
    env.extra_env.push(("BROWSER".into(), browser_cmd()));
    let issuer = format!("issuer={}", idp.issuer);
    let out = env.run_env(
        &[
            "new",
            "gen",
            "--provider",
            "oauth2",
            "--set",
            &issuer,
            "--client-id",
            "conn-cli",
            "--client-secret-env",
            "CS",
            "--json",
        ],
        &[("CS", "conn-cli-secret")],
    );
    out.ok();
    assert_eq!(
        out.json()["identity"]["label"],
        "alice@example.test",
        "{out:?}"
    );
    let conn = env.connections()["gen"].clone();
    // The check went to the discovered userinfo endpoint.
    assert_eq!(
        conn["inputs"]["base_url"].as_str(),
        Some(idp.issuer.as_str())
    );
    assert_eq!(conn["inputs"]["check_path"].as_str(), Some("/me"));
    for endpoint in ["authorize_url", "token_url", "device_url", "revocation_url"] {
        assert_eq!(conn["inputs"][endpoint].as_str(), Some(""), "{conn}");
    }
    // The default scopes, from scopes_supported, include offline_access: a refresh token.
    let scopes: Vec<&str> = conn["oauth"]["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        scopes.contains(&"openid") && scopes.contains(&"email"),
        "{scopes:?}"
    );
    assert!(env.secrets_of("gen")["refresh_token"].is_string());
    env.run(&["check", "gen"]).ok();
}

#[test]
fn the_wizard_asks_no_discovered_endpoint_and_offers_the_servers_scopes() {
    let idp = Oidc::start(3600);
    let mut env = TestEnv::new();
    env.extra_env.push(("BROWSER".into(), browser_cmd()));
    env.extra_env.push(("CS".into(), "conn-cli-secret".into()));
    let mut p = wizard(
        &env,
        &[
            "new",
            "--provider",
            "oauth2",
            "--env",
            "production",
            "--client-id",
            "conn-cli",
            "--client-secret-env",
            "CS",
        ],
    );
    p.exp_string("Issuer URL").unwrap();
    type_keys(&mut p, &format!("{}\r", idp.issuer));
    let (between, _) = p.exp_regex("API base URL").unwrap();
    for asked in [
        "Authorization endpoint",
        "Token endpoint",
        "Device",
        "Revocation",
    ] {
        assert!(!between.contains(asked), "asked for {asked}: {between}");
    }
    type_keys(&mut p, "\r"); // the discovered userinfo endpoint's origin
    p.exp_string("Path of a cheap authenticated request")
        .unwrap();
    type_keys(&mut p, "\r"); // its path
    p.exp_string("JSON pointer").unwrap();
    type_keys(&mut p, "\r"); // none: email, preferred_username or sub
    // Offered from scopes_supported (the help line comes before the question).
    let before = p.exp_string("Scopes (separated").unwrap();
    assert!(
        before.contains("The server supports:") && before.contains("api:read"),
        "{before}"
    );
    type_keys(&mut p, "\r");
    p.exp_string("Connection name").unwrap();
    type_keys(&mut p, "\r");
    p.exp_string("Saved connection 'oauth2'").unwrap();
    p.exp_string("connected as alice@example.test").unwrap();
    p.exp_eof().unwrap();
}
