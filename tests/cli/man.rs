//! The committed man pages (`man/`) match the clap definition, as the completions do.

/// `man/conn.1` and one page per subcommand (`conn-new.1`, `conn-providers-list.1`, ...),
/// rendered by clap_mangen from the same definition the binary parses with.
#[test]
fn committed_man_pages_match_the_cli() {
    use clap::CommandFactory;
    let fresh = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(conn::cli::Cli::command(), fresh.path()).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let names = |d: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .map(|r| {
                r.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.ends_with(".1"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let want = names(fresh.path());
    assert!(want.contains(&"conn.1".to_string()), "{want:?}");
    assert!(want.contains(&"conn-new.1".to_string()), "{want:?}");
    assert!(
        want.contains(&"conn-providers-show.1".to_string()),
        "{want:?}"
    );
    if std::env::var_os("CONN_UPDATE_MAN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for stale in names(&dir).iter().filter(|n| !want.contains(n)) {
            std::fs::remove_file(dir.join(stale)).unwrap();
        }
        for n in &want {
            std::fs::copy(fresh.path().join(n), dir.join(n)).unwrap();
        }
    }
    let regen = "regenerate with: CONN_UPDATE_MAN=1 cargo test man_pages";
    assert_eq!(
        names(&dir),
        want,
        "man/ has other pages than the CLI; {regen}"
    );
    for n in &want {
        let page = std::fs::read_to_string(fresh.path().join(n)).unwrap();
        let committed = std::fs::read_to_string(dir.join(n)).unwrap_or_default();
        assert!(
            committed == page,
            "man/{n} is out of date with the CLI; {regen}"
        );
    }
    // The refused secret flags are in no page; the ways to give a secret are.
    let new = std::fs::read_to_string(dir.join("conn-new.1")).unwrap();
    assert!(new.contains("secret\\-stdin"), "{new}");
    assert!(!new.contains("\\-\\-password"), "{new}");
    assert!(!new.contains("\\-\\-token"), "{new}");
}
