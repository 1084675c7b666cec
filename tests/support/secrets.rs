//! Looking into a test's secret store from outside conn, with the standard tools: the file
//! store keeps one age file per connection, `secrets/<id>.age`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::env::TestEnv;

impl TestEnv {
    /// The file store's directory: one age file per secret bundle.
    pub fn secrets_dir(&self) -> PathBuf {
        self.home().join("secrets")
    }

    /// Decrypts one file of the file store with the `age` tool, as a user recovering secrets
    /// would: `{"version":1,"id":ID,"secrets":{...}}`.
    pub fn age_decrypt_file(&self, file: &Path) -> serde_json::Value {
        let out = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(self.home().join("identity.txt"))
            .arg(file)
            .output()
            .expect("age is installed by tests/run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Every bundle of the file store, decrypted with the age tool, by id.
    pub fn all_secrets(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut all = serde_json::Map::new();
        let Ok(entries) = std::fs::read_dir(self.secrets_dir()) else {
            return all;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "age") {
                let doc = self.age_decrypt_file(&p);
                all.insert(
                    doc["id"].as_str().unwrap().to_string(),
                    doc["secrets"].clone(),
                );
            }
        }
        all
    }

    /// The connection's secret bundle, decrypted with the age tool (file store only).
    pub fn secrets_of(&self, name: &str) -> serde_json::Value {
        let id = self.id_of(name);
        let doc = self.age_decrypt_file(&self.secrets_dir().join(format!("{id}.age")));
        assert_eq!(doc["id"], id.as_str());
        doc["secrets"].clone()
    }
}
