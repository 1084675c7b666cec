//! The committed completion scripts match what the binary generates.

use crate::support::*;

#[test]
fn committed_completions_match_the_cli() {
    let env = TestEnv::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [
        ("bash", "conn.bash"),
        ("zsh", "_conn"),
        ("fish", "conn.fish"),
        ("powershell", "_conn.ps1"),
        ("elvish", "conn.elv"),
    ] {
        let out = env.run(&["completions", shell]);
        out.ok();
        assert!(out.stdout.contains("conn"), "{shell}");
        let path = dir.join(file);
        if std::env::var_os("CONN_UPDATE_COMPLETIONS").is_some() {
            std::fs::write(&path, &out.stdout).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "completions/{file} is out of date with the CLI; regenerate with: CONN_UPDATE_COMPLETIONS=1 cargo test completions"
        );
    }
}
