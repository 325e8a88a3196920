//! The sessions' HTTP side: the JSON API under `/testbed/sessions` (state changes need the
//! `api-key` header, as the Selvbetjening API does) and the routing of `/s/<id>/...` to each
//! session's issuer and probe API.
//!
//! | Method and path | Answer |
//! |---|---|
//! | `POST /testbed/sessions` `{"clientId", "orgnr"?}` | 201 `{"id", "authority", "probe", "report", ...}` |
//! | `GET /testbed/sessions?limit=&offset=` | 200 `{"total", "limit", "offset", "sessions"}` |
//! | `GET /testbed/sessions/<id>` | 200 the session, with how much it recorded |
//! | `POST /testbed/sessions/<id>/fault` `{"fault"}` | 200 the session (the fault is armed) |
//! | `POST /testbed/sessions/<id>/end` | 200 the report (`schemas/report.schema.json`) |
//! | `POST /testbed/sessions/<id>/reset` | 200 the session, recording again |
//! | `GET /testbed/sessions/<id>/report{,.html,.xml}` | the last report as JSON, HTML, JUnit |

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{PATH, PROBE_PATH, SessionDoc, SessionError, Sessions, StartRequest};
use crate::report::Report;

/// Sessions listed at most per page.
pub const MAX_PAGE: usize = 200;

/// The JSON API and the sessions' authorities, for the issuer's root (the caller nests it
/// under the issuer's path, if any).
pub fn routes(sessions: Arc<Sessions>) -> Router {
    Router::new()
        .route("/testbed/sessions", post(start).get(list))
        .route("/testbed/sessions/{id}", get(show))
        .route("/testbed/sessions/{id}/fault", post(fault))
        .route("/testbed/sessions/{id}/end", post(end))
        .route("/testbed/sessions/{id}/reset", post(reset))
        .route("/testbed/sessions/{id}/report", get(report_json))
        .route("/testbed/sessions/{id}/report.html", get(report_html))
        .route("/testbed/sessions/{id}/report.xml", get(report_junit))
        // Every error of the JSON API is JSON: axum's rejections (a bad query string, a body
        // too large) and a wrong method's 405 too. Not the authorities': they answer as
        // HelseID would.
        .route_layer(axum::middleware::from_fn(mock_sts::error::json_errors))
        .route(&format!("{PATH}/{{id}}"), any(authority))
        .route(&format!("{PATH}/{{id}}/{{*rest}}"), any(authority))
        .with_state(sessions)
}

/// The testbed's whole router: the sessions' routes beside `sts` (the STS's router, which
/// answers everything else), under the issuer's path when it has one.
pub fn app(sessions: Arc<Sessions>, sts: Router) -> Router {
    with_sts(routes(sessions.clone()), &sessions, sts)
}

/// `routes` (for the issuer's root) under the issuer's path, the STS's router answering the
/// rest.
pub fn with_sts(routes: Router, sessions: &Sessions, sts: Router) -> Router {
    let path = mock_sts::issuer_path(sessions.issuer());
    if path.is_empty() {
        routes.fallback_service(sts)
    } else {
        Router::new().nest(&path, routes).fallback_service(sts)
    }
}

/// An error as JSON: `{"error", "error_description"}` with the error's status.
#[derive(Debug)]
pub struct ApiError(pub u16, pub String);

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> ApiError {
        ApiError(e.status(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0).unwrap_or(StatusCode::BAD_REQUEST);
        let error = match self.0 {
            401 => "invalid_client",
            404 => "not_found",
            409 => "conflict",
            s if s >= 500 => "server_error",
            _ => "invalid_request",
        };
        (
            status,
            Json(json!({ "error": error, "error_description": self.1 })),
        )
            .into_response()
    }
}

fn authorised(sessions: &Sessions, headers: &HeaderMap) -> Result<(), ApiError> {
    mock_sts::selvbetjening::check_api_key(&sessions.main.config.api_key, headers)
        .map_err(|e| ApiError(401, e.to_string()))
}

/// A JSON body of type `T`, or a 400 naming what was wrong.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError(400, format!("the JSON body: {e}")))
}

/// The session as the API shows it: the stored document (without the report), its URLs and
/// how much it has recorded.
pub fn view(sessions: &Sessions, doc: &SessionDoc) -> Value {
    let mut v = serde_json::to_value(SessionDoc {
        report: None,
        ..doc.clone()
    })
    .unwrap_or_default();
    let base = format!("{}/testbed/sessions/{}", sessions.issuer(), doc.id);
    if let Some(o) = v.as_object_mut() {
        o.insert("authority".into(), json!(sessions.authority(&doc.id)));
        o.insert(
            "discovery".into(),
            json!(format!(
                "{}{}",
                sessions.authority(&doc.id),
                protocol::endpoints::DISCOVERY
            )),
        );
        o.insert("probe".into(), json!(sessions.probe_url(&doc.id)));
        o.insert(
            "person_api".into(),
            json!(format!(
                "{}{}",
                sessions.authority(&doc.id),
                persontjenesten::BASE_PATH
            )),
        );
        o.insert("report".into(), json!(format!("{base}/report")));
        o.insert(
            "records".into(),
            json!(
                sessions
                    .main
                    .store
                    .session_record_count(&doc.id)
                    .unwrap_or(0)
            ),
        );
        if let Some(r) = &doc.report {
            o.insert("passed".into(), json!(r.passed));
            o.insert("totals".into(), json!(r.totals));
        }
    }
    v
}

async fn start(
    State(sessions): State<Arc<Sessions>>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    authorised(&sessions, &headers)?;
    let request: StartRequest = body(&bytes)?;
    if request.client_id.trim().is_empty() {
        return Err(ApiError(400, "clientId is empty".into()));
    }
    let doc = sessions.start(&request).await?;
    Ok((StatusCode::CREATED, Json(view(&sessions, &doc))).into_response())
}

#[derive(Debug, Deserialize)]
struct Page {
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn list(
    State(sessions): State<Arc<Sessions>>,
    Query(page): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let limit = page.limit.unwrap_or(50).min(MAX_PAGE);
    let offset = page.offset.unwrap_or(0);
    let (docs, total) = sessions.list(limit, offset)?;
    let shown: Vec<Value> = docs.iter().map(|d| view(&sessions, d)).collect();
    Ok(Json(json!({
        "total": total,
        "limit": limit,
        "offset": offset,
        "sessions": shown,
    })))
}

async fn show(
    State(sessions): State<Arc<Sessions>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let doc = sessions.get(&id)?;
    Ok(Json(view(&sessions, &doc)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    fault: String,
}

async fn fault(
    State(sessions): State<Arc<Sessions>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    authorised(&sessions, &headers)?;
    let request: FaultRequest = body(&bytes)?;
    let doc = sessions.fault(&id, &request.fault).await?;
    let mut v = view(&sessions, &doc);
    if let Some(o) = v.as_object_mut() {
        o.insert("armed".into(), json!(request.fault));
    }
    Ok(Json(v))
}

async fn end(
    State(sessions): State<Arc<Sessions>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorised(&sessions, &headers)?;
    let doc = sessions.end(&id).await?;
    Ok(report_response(doc.report.as_ref()))
}

async fn reset(
    State(sessions): State<Arc<Sessions>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorised(&sessions, &headers)?;
    let doc = sessions.reset(&id).await?;
    Ok(Json(view(&sessions, &doc)))
}

fn report_response(report: Option<&Report>) -> Response {
    match report {
        Some(r) => ([(header::CONTENT_TYPE, "application/json")], r.to_json()).into_response(),
        None => ApiError(404, "the session has no report yet: end it first".into()).into_response(),
    }
}

/// The session's last report, or a 404 saying there is none yet.
pub fn stored_report(sessions: &Sessions, id: &str) -> Result<Report, ApiError> {
    sessions
        .get(id)?
        .report
        .ok_or_else(|| ApiError(404, "the session has no report yet: end it first".into()))
}

async fn report_json(
    State(sessions): State<Arc<Sessions>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let report = stored_report(&sessions, &id)?;
    Ok(report_response(Some(&report)))
}

async fn report_html(
    State(sessions): State<Arc<Sessions>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let report = stored_report(&sessions, &id)?;
    let html = crate::html::render(&report).map_err(|e| ApiError(500, e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                &format!("attachment; filename=\"session-{id}.html\""),
            ),
        ],
        html,
    )
        .into_response())
}

async fn report_junit(
    State(sessions): State<Arc<Sessions>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let report = stored_report(&sessions, &id)?;
    let xml = crate::junit::render(&report).map_err(|e| ApiError(500, e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                &format!("attachment; filename=\"session-{id}.xml\""),
            ),
        ],
        xml,
    )
        .into_response())
}

/// `/s/<id>/...`: the session's issuer, its probe API under `/s/<id>/probe`, or its person
/// API under `/s/<id>/persontjenesten/fhir`.
async fn authority(
    State(sessions): State<Arc<Sessions>>,
    Path(params): Path<Vec<(String, String)>>,
    request: Request,
) -> Response {
    let id = params
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let rest = params
        .iter()
        .find(|(k, _)| k == "rest")
        .map(|(_, v)| format!("/{v}"))
        .unwrap_or_default();
    let Some((issuer, probe, persons)) = sessions.routes(&id) else {
        let message = match sessions.get(&id) {
            Ok(_) => format!("session {id} has ended; reset it to record again"),
            Err(_) => format!("no session {id}"),
        };
        return ApiError(404, message).into_response();
    };
    // Nested routers see a shortened path; the session's routers want the path as sent
    // (its issuer's routes are under its full path, and DPoP's htu is the full URL).
    let (mut parts, body) = request.into_parts();
    if let Some(OriginalUri(original)) = parts.extensions.get::<OriginalUri>().cloned() {
        parts.uri = original;
    }
    let request = Request::from_parts(parts, Body::new(body));
    let under = |base: &str| rest == base || rest.starts_with(&format!("{base}/"));
    let target = if under(PROBE_PATH) {
        probe
    } else if under(persontjenesten::BASE_PATH) {
        persons
    } else {
        issuer
    };
    match target.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
