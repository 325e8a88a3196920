//! The probe API a client under test calls: the reference API (`helseid_reference::api`)
//! for [`super::PROBE_AUDIENCE`], trusting the embedded STS, on 127.0.0.1 at a free port,
//! with every call recorded.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use helseid_reference::api::{ApiConfig, ApiState, router};

use crate::report::{DecodedToken, Exchange};

/// One call to the probe.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ProbeCall {
    pub method: String,
    pub url: String,
    pub authorization: Option<String>,
    pub dpop: Option<String>,
    pub status: u16,
    /// When the probe answered (Unix milliseconds).
    pub at_ms: i64,
}

impl ProbeCall {
    pub fn evidence(&self) -> Exchange {
        let mut headers = Vec::new();
        if let Some(a) = &self.authorization {
            headers.push(("authorization".to_owned(), a.clone()));
        }
        if let Some(d) = &self.dpop {
            headers.push(("dpop".to_owned(), d.clone()));
        }
        let mut decoded = Vec::new();
        if let Some(t) = self
            .authorization
            .as_deref()
            .and_then(|a| a.split_once(' '))
        {
            decoded.extend(DecodedToken::of("access token", t.1));
        }
        if let Some(d) = &self.dpop {
            decoded.extend(DecodedToken::of("DPoP proof", d));
        }
        Exchange {
            label: "probe API call".into(),
            method: self.method.clone(),
            url: self.url.clone(),
            request_headers: headers,
            decoded,
            status: Some(self.status),
            ..Default::default()
        }
    }
}

type Calls = Arc<Mutex<Vec<ProbeCall>>>;

/// A running probe API. Dropping it stops the server.
#[derive(Debug)]
pub struct Probe {
    /// The URL the client calls.
    pub url: String,
    /// The person API's base URL, served beside the probe.
    pub persons_url: String,
    calls: Calls,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Probe {
    /// Starts the probe trusting `sts`, with the person API (Persontjenesten's FHIR
    /// interface, [`persontjenesten`]) beside it at `/persontjenesten/fhir`: a client may
    /// call either, and both are recorded as calls to the probe.
    pub async fn start(sts: Arc<mock_sts::Sts>) -> Result<Probe, String> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("the probe API cannot listen: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut config = ApiConfig::new(&sts.config.issuer, super::PROBE_AUDIENCE)
            .with_scope(super::PROBE_SCOPE);
        // CLIENT-KEY-01 rotates the STS's key: fetch the keys again for any unknown kid.
        config.jwks_refetch_interval_secs = 0;
        let state = ApiState::new(config).map_err(|e| e.to_string())?;
        let persons_url = format!("http://{addr}{}", persontjenesten::BASE_PATH);
        let persons = persontjenesten::PersonApi::at(sts, &persons_url)
            .map_err(|e| format!("the person API: {e}"))?;
        let calls: Calls = Arc::default();
        let app = persontjenesten::mount(router(state), Arc::new(persons))
            .layer(middleware::from_fn_with_state(calls.clone(), record));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Probe {
            url: format!("http://{addr}/probe"),
            persons_url,
            calls,
            server,
        })
    }

    /// The calls so far, in order.
    pub fn calls(&self) -> Vec<ProbeCall> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn record(State(calls): State<Calls>, request: Request, next: Next) -> Response {
    if !judged(&request) {
        return next.run(request).await;
    }
    let (response, call) = recorded(request, next).await;
    calls.lock().unwrap_or_else(|p| p.into_inner()).push(call);
    response
}

/// Whether a call is judged as an API call: all but the person API's CapabilityStatement,
/// which FHIR clients read without a token (FHIR R4 §3.1.0.13 `capabilities`).
pub(crate) fn judged(request: &Request) -> bool {
    !request
        .uri()
        .path()
        .ends_with(&format!("{}/metadata", persontjenesten::BASE_PATH))
}

/// Runs the probe on `request` and says what was called and answered (the runner's probe
/// and a session's, [`crate::session`]).
pub(crate) async fn recorded(request: Request, next: Next) -> (Response, ProbeCall) {
    let headers = request.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (authorization, dpop, host) = (
        header("authorization"),
        header("dpop"),
        header("host").unwrap_or_default(),
    );
    let method = request.method().to_string();
    let url = format!("http://{host}{}", request.uri());
    let response = next.run(request).await;
    let call = ProbeCall {
        method,
        url,
        authorization,
        dpop,
        status: response.status().as_u16(),
        at_ms: crate::now_ms(),
    };
    (response, call)
}
