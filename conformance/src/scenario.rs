//! Scenario files: YAML that names a target, what it requires and which checks to run.
//!
//! The types here are the format; `schemas/scenario.schema.json` is generated from them
//! (`helseid-testbed conformance schema scenario`), so editors validate scenario files with a
//! `# yaml-language-server: $schema=...` line. Errors name the file, line and column.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One scenario file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for reports, e.g. "Journal API, level 4".
    pub name: String,
    /// Free text shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The actor under test (seed 001): `api` (tjenestetilbyder), `client` (fagsystem) or
    /// `idp` (identitetstilbyder).
    pub kind: Kind,
    /// Where the target is. `--target URL` on the command line overrides `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// The API under test as the STS knows it (kind `api`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiResource>,
    /// What the target requires of tokens.
    #[serde(default)]
    pub requirements: Requirements,
    /// The embedded STS.
    #[serde(default)]
    pub sts: StsSettings,
    /// Which checks to run (all that apply by default).
    #[serde(default)]
    pub checks: CheckSelection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Api,
    Client,
    Idp,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Api => "api",
            Kind::Client => "client",
            Kind::Idp => "idp",
        }
    }
}

/// An HTTP endpoint of the target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The URL the runner calls, e.g. `http://127.0.0.1:9000/api/patients/123`.
    pub url: String,
    /// The HTTP method (default GET).
    #[serde(default = "default_method")]
    pub method: String,
    /// A request body sent with every call (e.g. JSON for a POST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body's content type (default application/json when a body is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}

/// The API as registered at the STS.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiResource {
    /// The `aud` of its tokens, e.g. `nhn:journal-api`.
    pub audience: String,
    /// Scopes the API requires, full names (`<audience>/<name>`). Tokens carry all of them.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// How tokens are bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Binding {
    /// DPoP-bound tokens with proofs (HelseID's profile).
    #[default]
    Dpop,
    /// Plain Bearer tokens (legacy clients).
    Bearer,
}

/// What the target requires; checks that follow from a requirement run only when it is set.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// `dpop` (default) or `bearer`.
    #[serde(default)]
    pub token_binding: Binding,
    /// User tokens (a person logged in) rather than system tokens.
    #[serde(default)]
    pub user: bool,
    /// The security level the API requires of user tokens (3 or 4); implies `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 3, max = 4))]
    pub security_level: Option<u8>,
    /// The API requires the Tillitsrammeverk claim (`nhn:tillitsrammeverk:parameters`);
    /// implies `user`.
    #[serde(default)]
    pub tillitsrammeverk: bool,
    /// Organisation numbers (9 digits) the API serves; tokens are issued for the first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organisations: Vec<String>,
}

impl Requirements {
    pub fn user_token(&self) -> bool {
        self.user || self.security_level.is_some() || self.tillitsrammeverk
    }
}

/// The embedded STS.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StsSettings {
    /// The port it listens on at 127.0.0.1 (issuer `http://127.0.0.1:PORT`); 0 or absent
    /// takes a free port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// Which checks run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckSelection {
    /// Only these: check IDs (`API-AUD-01`), ID prefixes (`API-DPOP`) or groups (`signature`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
    /// Not these (same forms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<String>,
}

/// A scenario that could not be read.
#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Reads a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, &path.display().to_string())
}

/// Parses scenario text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    let scenario: Scenario = serde_saphyr::from_str(text).map_err(|e| {
        let message = first_line(&e.to_string());
        match e.location() {
            Some(l) => ScenarioError::Syntax {
                path: origin.to_owned(),
                line: l.line(),
                column: l.column(),
                message,
            },
            None => ScenarioError::Invalid {
                path: origin.to_owned(),
                message,
            },
        }
    })?;
    validate(&scenario).map_err(|message| match locate(text, &message) {
        Some((line, column)) => ScenarioError::Syntax {
            path: origin.to_owned(),
            line,
            column,
            message,
        },
        None => ScenarioError::Invalid {
            path: origin.to_owned(),
            message,
        },
    })?;
    Ok(scenario)
}

/// Where in `text` the field a [`validate`] message names (`api.scopes: "x" ...`) is: the
/// line of the quoted value under that key, or of the key itself. 1-based.
fn locate(text: &str, message: &str) -> Option<(u64, u64)> {
    let (path, rest) = message.split_once(": ")?;
    if path.contains(' ') {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut found = None;
    for key in path.split('.') {
        let (i, line) = lines.iter().enumerate().skip(from).find(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with(&format!("{key}:"))
        })?;
        let column = line.len() - line.trim_start().len() + 1;
        found = Some((i, column));
        from = i + 1;
    }
    let (key_line, key_column) = found?;
    // The quoted value, when the message names one.
    let value = rest
        .strip_prefix('"')
        .and_then(|r| r.split_once('"'))
        .map(|(v, _)| v)
        .filter(|v| !v.is_empty());
    if let Some(v) = value {
        for (i, line) in lines.iter().enumerate().skip(key_line).take(50) {
            if let Some(col) = line.find(v) {
                return Some((i as u64 + 1, col as u64 + 1));
            }
        }
    }
    Some((key_line as u64 + 1, key_column as u64))
}

/// serde-saphyr's message repeats the location and a snippet; the first line says it.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_owned()
}

/// Rules the schema cannot say.
pub fn validate(s: &Scenario) -> Result<(), String> {
    if s.name.trim().is_empty() {
        return Err("name: must not be empty".into());
    }
    if let Some(t) = &s.target {
        if !(t.url.starts_with("http://") || t.url.starts_with("https://")) {
            return Err(format!("target.url: {:?} is not an http(s) URL", t.url));
        }
        if t.method.is_empty() || !t.method.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "target.method: {:?} is not an HTTP method (upper case, e.g. GET)",
                t.method
            ));
        }
    }
    if s.kind == Kind::Api {
        let Some(api) = &s.api else {
            return Err("api: an api scenario names the API's audience (api.audience)".into());
        };
        if api.audience.trim().is_empty() || api.audience.contains(char::is_whitespace) {
            return Err(format!(
                "api.audience: {:?} is not an audience",
                api.audience
            ));
        }
        for scope in &api.scopes {
            if protocol::claims::resource_of(scope) != Some(api.audience.as_str()) {
                return Err(format!(
                    "api.scopes: {scope:?} is not a scope of {:?} (scopes are <audience>/<name>)",
                    api.audience
                ));
            }
        }
    }
    if let Some(level) = s.requirements.security_level
        && !(3..=4).contains(&level)
    {
        return Err(format!(
            "requirements.security_level: {level} (HelseID has levels 3 and 4)"
        ));
    }
    for org in &s.requirements.organisations {
        if org.len() != 9 || !org.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "requirements.organisations: {org:?} is not a 9-digit organisation number"
            ));
        }
    }
    for sel in s.checks.only.iter().chain(&s.checks.skip) {
        if !crate::catalogue::CHECKS
            .iter()
            .any(|c| crate::catalogue::selects(sel, c))
        {
            return Err(format!(
                "checks: {sel:?} names no check, prefix or group (see `helseid-testbed conformance list`)"
            ));
        }
    }
    Ok(())
}

/// The JSON Schema of scenario files.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default()
}

/// Scenario files under `path`: the file itself, or the `.yaml`/`.yml` files of a directory
/// (sorted, not recursive).
pub fn files(path: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        Ok(files)
    } else {
        Ok(vec![path.to_owned()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "name: Journal API\nkind: api\ntarget:\n  url: http://127.0.0.1:9000/api\napi:\n  audience: nhn:journal\n  scopes: [nhn:journal/read]\nrequirements:\n  security_level: 4\n";

    #[test]
    fn a_good_scenario_reads() {
        let s = parse(GOOD, "good.yaml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.kind, Kind::Api);
        assert_eq!(s.target.map(|t| t.method), Some("GET".into()));
        assert!(s.requirements.user_token());
        assert_eq!(s.requirements.token_binding, Binding::Dpop);
    }

    #[test]
    fn errors_name_line_and_column() {
        let text = GOOD.replace("  security_level: 4", "  security_levle: 4");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("s.yaml:9:"), "{e}");
        assert!(e.contains("security_levle"), "{e}");
        let text = GOOD.replace("kind: api", "kind: printer");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("s.yaml:2:"), "{e}");
        let text = GOOD.replace("nhn:journal/read", "nhn:other/read");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("s.yaml:7:12: api.scopes"), "{e}");
        let text = GOOD.replace("http://127.0.0.1:9000/api", "ftp://x");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("s.yaml:4:8: target.url"), "{e}");
        let text = format!("{GOOD}checks:\n  only: [API-NOPE-01]\n");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("API-NOPE-01"), "{e}");
        let text = GOOD.replace("security_level: 4", "security_level: 5");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("levels 3 and 4"), "{e}");
    }

    #[test]
    fn the_published_schema_is_current() {
        let published = include_str!("../../schemas/scenario.schema.json");
        let now = serde_json::to_string_pretty(&schema()).unwrap_or_default();
        assert_eq!(
            published.trim(),
            now.trim(),
            "schemas/scenario.schema.json is stale: run `helseid-testbed conformance schema scenario > schemas/scenario.schema.json`"
        );
    }
}
