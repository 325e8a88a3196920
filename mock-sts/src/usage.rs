//! Usage: what the STS did, counted. Every audited event (tokens issued and exchanged,
//! revocations, registrations, logins) and every error answer goes through [`Sts::audit`]:
//! it writes the row of the audit log (`audit` table, persisted) and counts it in the STS's
//! own Prometheus recorder, which `/metrics` renders (Prometheus text format). The usage
//! page charts the same rows, so the page and `/metrics` agree.
//!
//! Counters (one recorder per STS, not the process-global one, so tests and conformance
//! sessions keep their counts apart; a session's issuer shares its parent's):
//! - `helseid_testbed_tokens_issued_total{kind, client_id, audience}`: `kind` is the audit
//!   event (`token_issued`, `user_token_issued`, `token_exchanged`, `ttt_token_issued`);
//! - `helseid_testbed_errors_total{endpoint, error, client_id}`: OAuth error answers;
//! - `helseid_testbed_audit_events_total{event}`: every audited event.

use std::sync::Arc;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use serde_json::{Value, json};

use crate::Sts;
use crate::flow_log::FlowRecord;
use crate::store::StoreError;

/// Audit events that issue a token.
pub const TOKEN_EVENTS: [&str; 4] = [
    "token_issued",
    "user_token_issued",
    "token_exchanged",
    "ttt_token_issued",
];
/// The audit event of an error answer.
pub const ERROR_EVENT: &str = "error";

/// The STS's counters.
pub struct Usage {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Usage").finish_non_exhaustive()
    }
}

impl Default for Usage {
    fn default() -> Usage {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        Usage { recorder, handle }
    }
}

impl Usage {
    pub fn new() -> Arc<Usage> {
        Arc::new(Usage::default())
    }

    /// Counts one audited event.
    pub fn count(&self, event: &str, client_id: Option<&str>, detail: &Value) {
        let client = client_id.unwrap_or("").to_owned();
        let text = |key: &str| match &detail[key] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        metrics::with_local_recorder(&self.recorder, || {
            metrics::counter!("helseid_testbed_audit_events_total", "event" => event.to_owned())
                .increment(1);
            if TOKEN_EVENTS.contains(&event) {
                metrics::counter!(
                    "helseid_testbed_tokens_issued_total",
                    "kind" => event.to_owned(),
                    "client_id" => client.clone(),
                    "audience" => text("aud"),
                )
                .increment(1);
            } else if event == ERROR_EVENT {
                metrics::counter!(
                    "helseid_testbed_errors_total",
                    "endpoint" => text("endpoint"),
                    "error" => text("error"),
                    "client_id" => client.clone(),
                )
                .increment(1);
            }
        });
    }

    /// The counters in Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

impl Sts {
    /// Writes an audit row and counts it (the one way events are recorded).
    pub fn audit(
        &self,
        at: i64,
        event: &str,
        client_id: Option<&str>,
        detail: &Value,
    ) -> Result<(), StoreError> {
        self.store.audit(at, event, client_id, detail)?;
        self.usage.count(event, client_id, detail);
        Ok(())
    }
}

/// `GET /metrics`: the counters in Prometheus text format (version 0.0.4).
pub async fn metrics(
    axum::extract::State(sts): axum::extract::State<Arc<Sts>>,
) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        sts.usage.render(),
    )
}

/// Records an error answer of the STS (a JSON body with `error`, status 400 or more) as an
/// `error` audit event: the endpoint (the path under the issuer), the error code, the
/// status and the client the request named (its `client_id`, or its assertion's `iss`; not
/// verified, the request was refused).
pub fn observe(sts: &Sts, record: &FlowRecord) {
    if record.status < 400 {
        return;
    }
    let Ok(body) = serde_json::from_str::<Value>(&record.response_body) else {
        return;
    };
    let Some(error) = body["error"].as_str() else {
        return;
    };
    let client = crate::flows::client_of(record);
    let prefix = crate::issuer_path(&sts.config.issuer);
    let endpoint = record
        .path
        .strip_prefix(prefix.as_str())
        .unwrap_or(&record.path);
    let _ = sts.audit(
        record.at,
        ERROR_EVENT,
        client.as_deref(),
        &json!({ "endpoint": endpoint, "error": error, "status": record.status }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_errors_and_events_are_counted_apart() {
        let usage = Usage::default();
        usage.count("token_issued", Some("c1"), &json!({"aud": "nhn:a"}));
        usage.count("token_issued", Some("c1"), &json!({"aud": "nhn:a"}));
        usage.count(
            "error",
            Some("c2"),
            &json!({"endpoint": "/connect/token", "error": "invalid_client"}),
        );
        usage.count("client_created", None, &json!({}));
        let text = usage.render();
        assert!(
            text.contains(
                r#"helseid_testbed_tokens_issued_total{kind="token_issued",client_id="c1",audience="nhn:a"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"helseid_testbed_errors_total{endpoint="/connect/token",error="invalid_client",client_id="c2"} 1"#
        ));
        assert!(text.contains(r#"helseid_testbed_audit_events_total{event="client_created"} 1"#));
        // Another STS's recorder has its own counts.
        assert!(!Usage::default().render().contains("c1"));
    }
}
