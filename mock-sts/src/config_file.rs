//! Files given to `helseid-testbed up --config`: either a testbed configuration (YAML) or a
//! client configuration file downloaded from HelseID's portal (JSON with `clientId`), so
//! configurations move between the testbed and HelseID unchanged.
//!
//! ```yaml
//! seed: 20251231            # synthpop seed of the first start
//! population: 20000         # persons in the population
//! access_token_lifetime: 3600
//! require_draft_confirmation: false
//! clients: [my-client.json] # portal client files, relative to this file
//! ```

use std::path::{Path, PathBuf};

use protocol::client_config::{self, ClientConfigFile};
use serde::Deserialize;
use thiserror::Error;

/// The testbed's own settings file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestbedConfig {
    pub seed: Option<u64>,
    pub population: Option<u64>,
    pub access_token_lifetime: Option<i64>,
    pub require_draft_confirmation: Option<bool>,
    #[serde(default)]
    pub clients: Vec<PathBuf>,
}

/// Everything the `--config` files said, merged in order (later files win).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub settings: TestbedConfig,
    pub clients: Vec<(PathBuf, ClientConfigFile)>,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: {detail}")]
    Read { path: String, detail: String },
    #[error("{path}: {detail}")]
    Invalid { path: String, detail: String },
}

/// Reads `paths` in order.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, ConfigError> {
    let mut loaded = Loaded::default();
    for path in paths {
        read_one(path, &mut loaded)?;
    }
    Ok(loaded)
}

fn read_one(path: &Path, loaded: &mut Loaded) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    let invalid = |detail: String| ConfigError::Invalid {
        path: path.display().to_string(),
        detail,
    };
    if is_client_file(&text) {
        let file = client_config::parse(&text).map_err(|e| invalid(e.to_string()))?;
        loaded.clients.push((path.to_owned(), file));
        return Ok(());
    }
    let config: TestbedConfig =
        serde_saphyr::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    for client in &config.clients {
        read_one(&base.join(client), loaded)?;
    }
    let s = &mut loaded.settings;
    s.seed = config.seed.or(s.seed);
    s.population = config.population.or(s.population);
    s.access_token_lifetime = config.access_token_lifetime.or(s.access_token_lifetime);
    s.require_draft_confirmation = config
        .require_draft_confirmation
        .or(s.require_draft_confirmation);
    Ok(())
}

/// A JSON object with `clientId`: the portal's format.
fn is_client_file(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|v| v.get("clientId").is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn yaml_settings_and_referenced_client_files() {
        let dir = tempfile::tempdir().unwrap();
        let client = r#"{"clientId": "c1", "privateJwk": "{\"kty\":\"RSA\",\"d\":\"AA\"}"}"#;
        write(dir.path(), "c.json", client);
        let yaml = write(
            dir.path(),
            "t.yaml",
            "seed: 5\npopulation: 100\nclients: [c.json]\n",
        );
        let loaded = load(&[yaml]).unwrap();
        assert_eq!(loaded.settings.seed, Some(5));
        assert_eq!(loaded.settings.population, Some(100));
        assert_eq!(loaded.clients.len(), 1);
        assert_eq!(loaded.clients[0].1.client_id, "c1");
    }

    #[test]
    fn problems_name_the_file_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(dir.path(), "bad.yaml", "seeed: 5\n");
        let err = load(&[bad]).unwrap_err().to_string();
        assert!(err.contains("bad.yaml") && err.contains("seeed"), "{err}");
        let missing = dir.path().join("nope.yaml");
        assert!(
            load(&[missing])
                .unwrap_err()
                .to_string()
                .contains("nope.yaml")
        );
        let broken = write(
            dir.path(),
            "c.json",
            r#"{"clientId": "c1", "privateJwk": "{not json"}"#,
        );
        let err = load(&[broken]).unwrap_err().to_string();
        assert!(err.contains("privateJwk"), "{err}");
    }
}
