//! Recipe files (`conn.toml`) and bindings: validation with lines, `conn bind`, resolving
//! roles for `exec` with run-time overrides and environments, and `check --recipe`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::*;

const RECIPE: &str = r#"# the connections sync.sh needs
[roles.crm]
provider = "acme"

[roles.crm_archive]
provider = "acme"
secondary = true

[roles.helpdesk]
provider = "desk"
"#;

struct Project {
    _api: FakeApi,
    env: TestEnv,
    dir: PathBuf,
}

impl Project {
    /// `conn ARGS` with conn.toml in `<tmp>/project`, run from `<tmp>/project/scripts`.
    fn conn(&self, args: &str) -> Conn<'_> {
        self.env.conn(args).dir(&self.dir.join("scripts"))
    }

    fn run_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Out {
        self.env.run_in(&self.dir.join("scripts"), args, vars)
    }

    /// What `conn exec ARGS -- env` exported, by variable.
    fn exported(&self, args: &[&str], vars: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut all = vec!["exec"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--", "env"]);
        let out = self.run_env(&all, vars);
        out.ok();
        out.stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| k.ends_with("_API_KEY"))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// Two providers, production and sandbox connections to each, and the project.
fn project() -> Project {
    // Only a base URL for most recipe runs; `check --recipe` calls it.
    let api =
        FakeApi::start(|_| (200, r#"{"id": 1, "email": "bot@acme.test"}"#.into())).may_go_unused();
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    env.write_provider(
        "desk.toml",
        &acme_provider(&api.url).replace("id = \"acme\"", "id = \"desk\""),
    );
    for (name, provider, e) in [
        ("crm-prod", "acme", "production"),
        ("crm-old", "acme", "production"),
        ("crm-sb", "acme", "sandbox"),
        ("desk-prod", "desk", "production"),
        ("desk-sb", "desk", "sandbox"),
        ("unrelated", "acme", "production"),
    ] {
        env.run_env(
            &[
                "new",
                name,
                "--provider",
                provider,
                "--auth",
                "api_key",
                "--env",
                e,
                "--secret-env",
                "K",
                "--no-check",
            ],
            &[("K", &format!("key-of-{name}"))],
        )
        .ok();
    }
    let dir = env.dir.path().join("project");
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    std::fs::write(dir.join("conn.toml"), RECIPE).unwrap();
    Project {
        _api: api,
        env,
        dir,
    }
}

fn bind_all(p: &Project) {
    for (role, name) in [
        ("crm", "crm-prod"),
        ("crm_archive", "crm-old"),
        ("helpdesk", "desk-prod"),
    ] {
        p.conn("bind").arg(role).arg(name).ok();
    }
    for (role, name) in [
        ("crm", "crm-sb"),
        ("crm_archive", "crm-sb"),
        ("helpdesk", "desk-sb"),
    ] {
        p.conn("bind --env sandbox").arg(role).arg(name).ok();
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walk(dir)
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_bad_recipe_is_rejected_with_its_line() {
    let p = project();
    let cases: &[(&str, &str, &str)] = &[
        (
            "[roles.crm]\nprovider = \"acme\"\n\n[roles.help]\nprovider = \"dsek\"\n",
            "conn.toml:5:",
            "did you mean desk",
        ),
        (
            "[roles.crm]\nprovider = \"acme\"\n[roles.other]\nprovider = \"acme\"\n",
            "conn.toml:4:",
            "secondary = true",
        ),
        (
            "[roles.crm]\nprovider = \"acme\"\nsecundary = true\n",
            "conn.toml:3:",
            "secundary",
        ),
        (
            "[roles.archive]\nprovider = \"acme\"\nsecondary = true\n",
            "conn.toml:2:",
            "no role uses provider",
        ),
        (
            "[roles.Crm-1]\nprovider = \"acme\"\n",
            "conn.toml:",
            "lowercase",
        ),
        ("[roles]\n", "conn.toml:1:", "no roles"),
        ("[roles.crm\nprovider = \"acme\"\n", "conn.toml:1:", ""),
    ];
    for (text, at, what) in cases {
        std::fs::write(p.dir.join("conn.toml"), text).unwrap();
        for (args, code) in [
            (&["bind"][..], 1),
            (&["exec", "--", "true"], 1),
            (&["check", "--recipe"], 3),
        ] {
            let out = p.conn(&args.join(" ")).run();
            out.code(code);
            assert!(out.stderr.contains(at), "{text}: {args:?}: {out:?}");
            assert!(out.stderr.contains(what), "{text}: {args:?}: {out:?}");
        }
    }
    std::fs::remove_file(p.dir.join("conn.toml")).unwrap();
    let out = p.conn("exec -- true").run();
    out.code(1);
    assert!(out.stderr.contains("no conn.toml"), "{out:?}");
}

#[test]
fn bound_roles_are_exported_with_the_role_as_prefix() {
    let p = project();
    bind_all(&p);
    let v = p.exported(&[], &[]);
    assert_eq!(
        v,
        BTreeMap::from([
            ("CRM_API_KEY".to_string(), "key-of-crm-prod".to_string()),
            ("CRM_ARCHIVE_API_KEY".into(), "key-of-crm-old".into()),
            ("HELPDESK_API_KEY".into(), "key-of-desk-prod".into()),
        ])
    );
    // The bindings live in conn's data dir, keyed by the recipe's real path; the project holds
    // only what was committed.
    assert_eq!(files_in(&p.dir), ["conn.toml"]);
    let stored = std::fs::read_to_string(p.env.home().join("bindings.toml")).unwrap();
    let canonical = p.dir.join("conn.toml").canonicalize().unwrap();
    assert!(
        stored.contains(&canonical.display().to_string()),
        "{stored}"
    );
    let listing = p.conn("bind").run();
    listing.ok();
    assert!(
        listing
            .stdout
            .contains("crm_archive  acme (secondary)  crm-old     crm-sb"),
        "{listing:?}"
    );
    // Rebinding says what it replaced.
    let out = p.conn("bind crm unrelated").run();
    out.ok();
    assert!(out.stdout.contains("(was crm-prod)"), "{out:?}");
}

#[test]
fn the_same_project_through_a_symlink_has_the_same_bindings_and_another_has_none() {
    let p = project();
    bind_all(&p);
    let link = p.env.dir.path().join("link");
    std::os::unix::fs::symlink(&p.dir, &link).unwrap();
    p.env.run_in(&link, &["exec", "--", "true"], &[]).ok();
    let other = p.env.dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("conn.toml"), RECIPE).unwrap();
    let out = p.env.run_in(&other, &["exec", "--", "true"], &[]);
    out.code(1);
    assert!(out.stderr.contains("role crm is not bound"), "{out:?}");
}

#[test]
fn an_unbound_role_fails_with_the_command_that_binds_it() {
    let p = project();
    p.conn("bind crm crm-prod").ok();
    let out = p.conn("exec -- true").run();
    out.code(1);
    assert!(
        out.stderr.contains(
            "role crm_archive is not bound for production: run 'conn bind crm_archive NAME'"
        ),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("conn bind helpdesk NAME"),
        "every problem at once: {out:?}"
    );
    assert!(out.stderr.contains("desk-prod, desk-sb"), "{out:?}");
    // Sandbox: only sandbox connections are suggested.
    let out = p.conn("exec --env sandbox -- true").run();
    out.code(1);
    assert!(
        out.stderr
            .contains("run 'conn bind helpdesk desk-sb --env sandbox'"),
        "{out:?}"
    );
}

#[test]
fn bind_and_env_overrides_swap_a_connection_for_one_run() {
    let p = project();
    bind_all(&p);
    let crm = |v: BTreeMap<String, String>| v["CRM_API_KEY"].clone();
    assert_eq!(
        crm(p.exported(&["--bind", "crm=unrelated"], &[])),
        "key-of-unrelated"
    );
    assert_eq!(
        crm(p.exported(&[], &[("CONN_BIND_CRM", "crm-old")])),
        "key-of-crm-old"
    );
    // --bind is the stronger of the two; the bindings themselves are unchanged.
    assert_eq!(
        crm(p.exported(
            &["--bind", "crm=unrelated"],
            &[("CONN_BIND_CRM", "crm-old")]
        )),
        "key-of-unrelated"
    );
    assert_eq!(
        p.exported(&[], &[("CONN_BIND_CRM_ARCHIVE", "unrelated")])["CRM_ARCHIVE_API_KEY"],
        "key-of-unrelated"
    );
    assert_eq!(crm(p.exported(&[], &[])), "key-of-crm-prod");
    // A role the recipe doesn't have is a usage error, with a suggestion.
    let out = p.conn("exec --bind cmr=crm-old -- true").run();
    out.code(2);
    assert!(out.stderr.contains("did you mean crm"), "{out:?}");
    // A connection of another provider can't play the role.
    let out = p.conn("exec --bind crm=desk-prod -- true").run();
    out.code(1);
    assert!(
        out.stderr
            .contains("role crm needs a acme connection, and desk-prod is a desk connection"),
        "{out:?}"
    );
    let out = p.conn("bind helpdesk crm-prod").run();
    out.code(1);
    // --bind is for recipe runs.
    p.conn("exec crm-prod --bind crm=crm-old -- true").code(2);
}

#[test]
fn a_sandbox_run_uses_sandbox_bindings_and_refuses_production_connections() {
    let p = project();
    bind_all(&p);
    let v = p.exported(&["--env", "sandbox"], &[]);
    assert_eq!(v["CRM_API_KEY"], "key-of-crm-sb");
    assert_eq!(v["CRM_ARCHIVE_API_KEY"], "key-of-crm-sb");
    assert_eq!(v["HELPDESK_API_KEY"], "key-of-desk-sb");
    // Production connections can't be bound for sandbox, nor swapped in at run time.
    let out = p.conn("bind crm crm-prod --env sandbox").run();
    out.code(1);
    assert!(
        out.stderr.contains("crm-prod is a production connection"),
        "{out:?}"
    );
    for (args, vars) in [
        (
            &[
                "exec",
                "--env",
                "sandbox",
                "--bind",
                "crm=crm-prod",
                "--",
                "true",
            ][..],
            &[][..],
        ),
        (
            &["exec", "--env", "sandbox", "--", "true"],
            &[("CONN_BIND_HELPDESK", "desk-prod")],
        ),
        (&["exec", "--env", "sandbox", "crm-prod", "--", "true"], &[]),
    ] {
        let out = p.run_env(args, vars);
        out.code(1);
        assert!(
            out.stderr.contains("production connection"),
            "{args:?}: {out:?}"
        );
        assert!(!out.stdout.contains("key-of"), "{out:?}");
    }
    // A connection whose tag is missing (older files) counts as production.
    let toml = std::fs::read_to_string(p.env.connections_toml()).unwrap();
    std::fs::write(
        p.env.connections_toml(),
        toml.replace("env = \"sandbox\"", "env = \"\""),
    )
    .unwrap();
    p.conn("exec --env sandbox -- true").code(1);
}

#[test]
fn check_recipe_checks_just_the_recipes_connections() {
    let p = project();
    bind_all(&p);
    let out = p.conn("check --recipe --json").run();
    out.ok();
    let mut names: Vec<String> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["crm-old", "crm-prod", "desk-prod"]);
    let out = p.conn("check --recipe --env sandbox --json").run();
    out.ok();
    assert_eq!(
        out.json().as_array().unwrap().len(),
        2,
        "crm-sb once, desk-sb"
    );
    // An unbound role means the check can't run: UNKNOWN.
    std::fs::write(
        p.dir.join("conn.toml"),
        format!("{RECIPE}\n[roles.new_one]\nprovider = \"desk\"\nsecondary = true\n"),
    )
    .unwrap();
    let out = p.conn("check --recipe").run();
    out.code(3);
    assert!(out.stderr.contains("conn bind new_one"), "{out:?}");
}
