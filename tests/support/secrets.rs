//! Looking into a test's secret store from outside conn, with the standard tools.

use std::process::Command;

use super::env::TestEnv;

impl TestEnv {
    /// The connection's secret bundle, decrypted with the age tool (file store only).
    pub fn secrets_of(&self, name: &str) -> serde_json::Value {
        let out = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(self.home().join("identity.txt"))
            .arg(self.home().join("secrets.age"))
            .output()
            .expect("age is installed by tests/run");
        assert!(out.status.success());
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["connections"][self.id_of(name)].clone()
    }
}
