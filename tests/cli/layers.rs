//! The import rules of docs/ARCHITECTURE.md, checked on the source: imports flow one way
//! (`main → cli → commands → ops → {auth, store, catalog, check, recipe} → core`), no command
//! file imports another, and no module imports a sibling that imports it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of src/ (as `a::b`) with its source, comments removed.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
                let rel = p.strip_prefix(&src).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    parts.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    parts.pop();
                }
                let text = std::fs::read_to_string(&p).unwrap();
                let code: String = text
                    .lines()
                    .map(|l| l.split("//").next().unwrap())
                    .collect::<Vec<_>>()
                    .join("\n");
                out.insert(parts.join("::"), code);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

/// The modules `code` (in module `me`) refers to through `crate::` or `super::` paths,
/// `use` groups included.
fn references(me: &str, code: &str, all: &BTreeMap<String, String>) -> BTreeSet<String> {
    let re = regex::Regex::new(r"\b(crate|super)((?:::\w+)+)(::\{([^}]*)\})?").unwrap();
    let here: Vec<&str> = me.split("::").filter(|s| !s.is_empty()).collect();
    let mut out = BTreeSet::new();
    for m in re.captures_iter(code) {
        let mut base: Vec<&str> = if &m[1] == "crate" {
            Vec::new()
        } else {
            here[..here.len().saturating_sub(1)].to_vec()
        };
        let mut segs: Vec<&str> = m[2].split("::").filter(|s| !s.is_empty()).collect();
        while segs.first() == Some(&"super") {
            segs.remove(0);
            base.pop();
        }
        let mut paths = vec![segs.clone()];
        if let Some(group) = m.get(4) {
            paths = group
                .as_str()
                .split(',')
                .filter_map(|t| t.trim().split("::").next())
                .filter(|t| !t.is_empty() && *t != "self")
                .map(|t| [segs.clone(), vec![t]].concat())
                .collect();
            paths.push(segs);
        }
        for p in paths {
            let full: Vec<&str> = base.iter().copied().chain(p).collect();
            let found = (0..=full.len())
                .rev()
                .map(|i| full[..i].join("::"))
                .find(|k| all.contains_key(k));
            if let Some(k) = found.filter(|k| k != me) {
                out.insert(k);
            }
        }
    }
    out
}

fn related(a: &str, b: &str) -> bool {
    a.is_empty()
        || b.is_empty()
        || a.starts_with(&format!("{b}::"))
        || b.starts_with(&format!("{a}::"))
}

#[test]
fn imports_flow_one_way_and_never_in_a_circle() {
    let all = modules();
    let rank = |m: &str| match m.split("::").next().unwrap() {
        "main" | "" => 0,
        "cli" => 1,
        "commands" => 2,
        "ops" => 3,
        "auth" | "store" | "catalog" | "check" | "recipe" => 4,
        "core" => 5,
        other => panic!("unknown layer {other}"),
    };
    // Sideways imports the design allows among the library layers.
    let allowed = [
        ("auth", "catalog"),
        ("check", "auth"),
        ("check", "catalog"),
        ("recipe", "catalog"),
    ];
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (m, code) in &all {
        for r in references(m, code, &all) {
            if related(m, &r) {
                continue;
            }
            let (lm, lr) = (m.split("::").next().unwrap(), r.split("::").next().unwrap());
            if lm != lr && rank(&r) <= rank(m) && !allowed.contains(&(lm, lr)) {
                wrong.push(format!("{m} imports {r}"));
            }
            if lm == "commands" && lr == "commands" {
                wrong.push(format!("command {m} imports command {r}"));
            }
            edges.entry(m.clone()).or_default().insert(r);
        }
    }
    assert!(wrong.is_empty(), "imports against the layering: {wrong:#?}");
    // A cycle: a module that reaches itself through other (non-nested) modules.
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = edges[start].iter().cloned().collect();
        while let Some(m) = stack.pop() {
            assert!(&m != start, "{start} imports itself through other modules");
            if seen.insert(m.clone()) {
                stack.extend(edges.get(&m).into_iter().flatten().cloned());
            }
        }
    }
}

#[test]
fn nothing_below_cli_prints_or_reads_the_environment_unchecked() {
    // The lints do the real enforcing; this keeps them from being switched off quietly.
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    for lint in [
        "print_stdout = \"deny\"",
        "print_stderr = \"deny\"",
        "disallowed_methods = \"deny\"",
        "unreachable_pub = \"warn\"",
    ] {
        assert!(manifest.contains(lint), "Cargo.toml lost {lint}");
    }
    for (m, code) in modules() {
        if !m.starts_with("cli") {
            assert!(
                !code.contains("allow(clippy::print_std"),
                "{m} allows printing"
            );
        }
        if m != "core::env" {
            assert!(
                !code.contains("allow(clippy::disallowed_methods"),
                "{m} reads the environment itself"
            );
        }
    }
}
