//! The HTTP edge of the person API: FHIR's RESTful interactions (FHIR R4 §3.1.0) as
//! Persontjenesten offers them. Each handler checks the media types, authorises the
//! request with the reference API's validator, parses, calls the service and renders;
//! every error is an `OperationOutcome` with a 4xx (a 5xx only when the store fails).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, OriginalUri, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use helseid_reference::api::{ApiRefusal, Caller, authorize, refusal_response};
use protocol::form::Params;
use serde_json::{Value, json};

use crate::fhir::{self, Bundle, BundleEntry, BundleLink, EntrySearch, Meta, Severity};
use crate::search::{self, ResourceType, SearchError, Total};
use crate::{FhirError, PersonApi, elements, profile};

/// The API's routes, relative to its base (`/persontjenesten/fhir`).
pub fn routes(api: Arc<PersonApi>) -> Router {
    Router::new()
        .route("/metadata", get(metadata))
        .route("/{resource}", get(search_get))
        .route("/{resource}/_search", post(search_post))
        .route("/{resource}/{rid}", get(read_latest))
        .route("/{resource}/{rid}/_history/{vid}", get(vread))
        .route("/Person/{rid}/$reserve", post(reserve))
        .route("/Person/{rid}/$release", post(release))
        .fallback(unknown)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(api)
}

/// The path's parameters, read by name: a router that hands requests on (a conformance
/// session's authority, `/s/{id}/{*rest}`) passes its own parameters along, so positions
/// cannot be trusted. A path that cannot be read (not UTF-8) is a 400 `OperationOutcome`.
struct Segments(Vec<(String, String)>);

impl Segments {
    /// The parameter `name`, the last of that name ("" when absent).
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Segments {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| Segments(p))
            .map_err(|e| error_response(&FhirError::new(400, "invalid", format!("the path: {e}"))))
    }
}

/// `router` with the API nested at the path of its base URL
/// (`<issuer path>/persontjenesten/fhir` by default).
pub fn mount(router: Router, api: Arc<PersonApi>) -> Router {
    let path = mock_sts::issuer_path(api.base_url());
    router.nest(&path, routes(api))
}

/// [`mount`], with every call recorded in the STS's flow log, as `up` serves it: the flow
/// inspector shows a client's person lookups in the flow of the token they carry, decoded.
/// (Not in conformance runs, whose recordings judge the STS's exchanges.)
pub fn mount_in_flow_log(router: Router, api: Arc<PersonApi>) -> Router {
    let path = mock_sts::issuer_path(api.base_url());
    let sts = api.sts.clone();
    router.nest(
        &path,
        routes(api).layer(axum::middleware::from_fn_with_state(
            sts,
            mock_sts::flow_log::record,
        )),
    )
}

fn fhir_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let value = serde_json::to_value(body).unwrap_or(Value::Null);
    let bytes = serde_json::to_vec(&fhir::ResourceFirst(&value)).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(fhir::CONTENT_TYPE),
    );
    // Personal data: never cached.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn error_response(e: &FhirError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    fhir_response(status, &e.outcome)
}

impl From<SearchError> for FhirError {
    fn from(e: SearchError) -> FhirError {
        let code = match e {
            SearchError::Unknown { .. } => "not-supported",
            _ => "invalid",
        };
        FhirError::new(400, code, e.to_string())
    }
}

/// A refusal of the token or proof: the reference API's status and `WWW-Authenticate`
/// challenges, with an `OperationOutcome` for body.
fn refusal(api: &PersonApi, refusal: &ApiRefusal) -> Response {
    let mut response = refusal_response(api.api_config(), refusal);
    let code = match refusal.status() {
        403 => "forbidden",
        503 => "transient",
        400 => "invalid",
        _ => "login",
    };
    let outcome =
        fhir::OperationOutcome::one(Severity::Error, code, refusal.to_string()).to_value();
    *response.body_mut() =
        Body::from(serde_json::to_vec(&fhir::ResourceFirst(&outcome)).unwrap_or_default());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(fhir::CONTENT_TYPE),
    );
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}

/// What a request must have before it is looked at: a media type this API answers with
/// (FHIR R4 §3.1.0.1.8: JSON only here; `fhirVersion` 4.0 when named) and a token.
async fn admit(
    api: &PersonApi,
    method: &Method,
    uri: &OriginalUri,
    headers: &HeaderMap,
    format: Option<&str>,
) -> Result<Caller, Response> {
    check_media(headers, format).map_err(|e| error_response(&e))?;
    authorize(&api.auth, method, &uri.0, headers)
        .await
        .map_err(|r| refusal(api, &r))
}

fn check_media(headers: &HeaderMap, format: Option<&str>) -> Result<(), FhirError> {
    let not_acceptable = |what: &str| {
        FhirError::new(
            406,
            "not-supported",
            format!(
                "{what}: the testbed's Persontjenesten answers in FHIR R4 JSON only ({})",
                fhir::CONTENT_TYPE
            ),
        )
    };
    if let Some(f) = format {
        let f = f.trim();
        if !matches!(f, "json" | "application/json" | "application/fhir+json")
            && !f.starts_with("application/fhir+json;")
        {
            return Err(not_acceptable(&format!("_format={f}")));
        }
    }
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(());
    };
    let accept = accept.to_str().unwrap_or_default();
    let acceptable = accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let version_ok = parts.all(|p| match p.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("fhirVersion") => {
                v.trim().trim_matches('"').starts_with("4.0")
            }
            _ => true,
        });
        version_ok
            && matches!(
                media.as_str(),
                "application/fhir+json" | "application/json" | "*/*" | "application/*" | ""
            )
    });
    if acceptable {
        Ok(())
    } else {
        Err(not_acceptable(&format!("Accept: {accept}")))
    }
}

fn query_params(uri: &OriginalUri) -> Result<Vec<(String, String)>, FhirError> {
    Params::parse_any_repeated(uri.0.query().unwrap_or_default().as_bytes())
        .map(|p| p.pairs().to_vec())
        .map_err(|e| FhirError::new(400, "invalid", format!("the query string: {e}")))
}

fn first<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn strict(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("handling=strict"))
}

/// A form body (`application/x-www-form-urlencoded`), as `POST [base]/[type]/_search`
/// requires (FHIR R4 §3.1.0.8.1).
fn form_body(headers: &HeaderMap, body: &Bytes) -> Result<Vec<(String, String)>, FhirError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(FhirError::new(
            415,
            "not-supported",
            format!(
                "POST _search takes its parameters as application/x-www-form-urlencoded; the Content-Type was {content_type:?}"
            ),
        ));
    }
    Params::parse_any_repeated(body)
        .map(|p| p.pairs().to_vec())
        .map_err(|e| FhirError::new(400, "invalid", format!("the form body: {e}")))
}

async fn metadata(
    State(api): State<Arc<PersonApi>>,
    headers: HeaderMap,
    uri: OriginalUri,
) -> Response {
    let params = match query_params(&uri) {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    if let Err(e) = check_media(&headers, first(&params, "_format")) {
        return error_response(&e);
    }
    fhir_response(StatusCode::OK, &capability_statement(&api))
}

/// The CapabilityStatement: Persontjenesten's `PersonServerRequirements` as the testbed
/// serves it.
fn capability_statement(api: &PersonApi) -> Value {
    let params = |r: ResourceType| -> Vec<Value> {
        r.parameters()
            .iter()
            .map(|p| {
                let kind = match *p {
                    "_id" | "identifier" | "relationship" => "token",
                    "birthdate" => "date",
                    "patient" => "reference",
                    _ => "string",
                };
                let doc = if *p == "identifier" {
                    format!("POST [base]/{}/_search only, in the form body", r.name())
                } else {
                    String::new()
                };
                let mut v = json!({"name": p, "type": kind});
                if !doc.is_empty() {
                    v["documentation"] = json!(doc);
                }
                v
            })
            .collect()
    };
    let resource = |r: ResourceType, profile: &str| {
        json!({
            "type": r.name(),
            "profile": profile,
            "interaction": [{"code": "read"}, {"code": "vread"}, {"code": "search-type"}],
            "searchParam": params(r),
        })
    };
    let config = api.api_config();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-06",
        "kind": "instance",
        "software": {"name": "helseid-testbed persontjenesten", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {
            "description": "The testbed's imitation of NHN Persontjenesten (MasterPersonIndexR4) over a synthetic population",
            "url": api.base_url(),
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "documentation": "Send _elements on every read and search; without it only the identifier is returned.",
            "security": {
                "description": format!(
                    "An access token from {} with audience {} and one of the scopes {}; DPoP when the token is bound to a key.",
                    config.issuer, config.audience, config.any_of_scopes.join(", ")
                ),
            },
            "resource": [
                resource(ResourceType::Person, profile::PERSON_PROFILE),
                resource(ResourceType::RelatedPerson, profile::RELATED_PERSON_PROFILE),
            ],
            "operation": [
                {"name": "reserve", "definition": "urn:helseid-testbed:fhir:OperationDefinition:Person-reserve"},
                {"name": "release", "definition": "urn:helseid-testbed:fhir:OperationDefinition:Person-release"},
            ],
        }],
    })
}

async fn read_latest(
    State(api): State<Arc<PersonApi>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    params: Segments,
) -> Response {
    let (resource, id) = (params.get("resource"), params.get("rid"));
    match ResourceType::from_path(resource) {
        Some(r) => read(&api, r, &method, &uri, &headers, id, None).await,
        None => unknown(uri).await,
    }
}

async fn vread(
    State(api): State<Arc<PersonApi>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    params: Segments,
) -> Response {
    let (resource, id) = (params.get("resource"), params.get("rid"));
    let vid = params.get("vid");
    match ResourceType::from_path(resource) {
        Some(r) => read(&api, r, &method, &uri, &headers, id, Some(vid)).await,
        None => unknown(uri).await,
    }
}

/// Read (`GET [base]/[type]/[id]`) and version read (`.../_history/[vid]`; every resource
/// is in version 1).
async fn read(
    api: &Arc<PersonApi>,
    resource: ResourceType,
    method: &Method,
    uri: &OriginalUri,
    headers: &HeaderMap,
    id: &str,
    version: Option<&str>,
) -> Response {
    let params = match query_params(uri) {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    if let Err(r) = admit(api, method, uri, headers, first(&params, "_format")).await {
        return r;
    }
    if let Some(v) = version
        && v != profile::VERSION_ID
    {
        return error_response(&FhirError::new(
            404,
            "not-found",
            format!(
                "{} {id} has no version {v:?}; its only version is {}",
                resource.name(),
                profile::VERSION_ID
            ),
        ));
    }
    let mut warnings = Vec::new();
    let wanted = first(&params, "_elements").map(|v| search::elements(resource, v, &mut warnings));
    let api2 = api.clone();
    let id2 = id.to_owned();
    let found = tokio::task::spawn_blocking(move || match resource {
        ResourceType::Person => api2.read_person(&id2),
        ResourceType::RelatedPerson => api2.read_related_person(&id2),
    })
    .await
    .unwrap_or_else(|e| {
        Err(FhirError::new(
            500,
            "exception",
            format!("the read failed: {e}"),
        ))
    });
    match found {
        Ok(mut value) => {
            elements::subset(&mut value, wanted.as_deref());
            let mut response = fhir_response(StatusCode::OK, &value);
            if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{}\"", profile::VERSION_ID)) {
                response.headers_mut().insert(header::ETAG, etag);
            }
            response
        }
        Err(e) => error_response(&e),
    }
}

async fn search_get(
    State(api): State<Arc<PersonApi>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    params: Segments,
) -> Response {
    match ResourceType::from_path(params.get("resource")) {
        Some(r) => run_search(&api, r, &method, &uri, &headers, None).await,
        None => unknown(uri).await,
    }
}

async fn search_post(
    State(api): State<Arc<PersonApi>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    params: Segments,
    body: Bytes,
) -> Response {
    match ResourceType::from_path(params.get("resource")) {
        Some(r) => run_search(&api, r, &method, &uri, &headers, Some(&body)).await,
        None => unknown(uri).await,
    }
}

async fn run_search(
    api: &Arc<PersonApi>,
    resource: ResourceType,
    method: &Method,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: Option<&Bytes>,
) -> Response {
    let url_params = match query_params(uri) {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let body_params = match body.map(|b| form_body(headers, b)).transpose() {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let format = first(&url_params, "_format")
        .or_else(|| body_params.as_deref().and_then(|b| first(b, "_format")));
    if let Err(r) = admit(api, method, uri, headers, format).await {
        return r;
    }
    let req = match search::parse(
        resource,
        &url_params,
        body_params.as_deref(),
        strict(headers),
    ) {
        Ok(r) => r,
        Err(e) => return error_response(&FhirError::from(e)),
    };
    let api2 = api.clone();
    let req2 = req.clone();
    let page = tokio::task::spawn_blocking(move || api2.search(&req2))
        .await
        .unwrap_or_else(|e| {
            Err(FhirError::new(
                500,
                "exception",
                format!("the search failed: {e}"),
            ))
        });
    let page = match page {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let type_url = format!("{}/{}", api.base_url(), resource.name());
    let mut link = Vec::new();
    let mut all_params = url_params.clone();
    all_params.extend(body_params.unwrap_or_default());
    if body.is_some() {
        link.push(BundleLink {
            relation: "self",
            url: format!("{type_url}/_search"),
        });
    } else {
        link.push(BundleLink {
            relation: "self",
            url: with_query(&type_url, uri.0.query().unwrap_or_default()),
        });
    }
    let pages = req.identifiers.is_empty() && !req.summary_count;
    let after = req.offset.saturating_add(req.count);
    if pages && after < page.total {
        link.push(BundleLink {
            relation: "next",
            url: with_query(&type_url, &req.page_query(&all_params, after)),
        });
    }
    if pages && req.offset > 0 {
        link.push(BundleLink {
            relation: "previous",
            url: with_query(
                &type_url,
                &req.page_query(&all_params, req.offset.saturating_sub(req.count)),
            ),
        });
    }
    let mut entry: Vec<BundleEntry> = page
        .resources
        .into_iter()
        .map(|mut r| {
            let full_url = format!(
                "{}/{}/{}",
                api.base_url(),
                resource.name(),
                r["id"].as_str().unwrap_or_default()
            );
            elements::subset(&mut r, req.elements.as_deref());
            BundleEntry {
                full_url: Some(full_url),
                resource: r,
                search: Some(EntrySearch { mode: "match" }),
            }
        })
        .collect();
    if let Some(outcome) = crate::warnings_outcome(&req.warnings) {
        entry.push(BundleEntry {
            full_url: None,
            resource: outcome.to_value(),
            search: Some(EntrySearch { mode: "outcome" }),
        });
    }
    let bundle = Bundle {
        resource_type: "Bundle",
        id: protocol::jose::random_hex::<16>().unwrap_or_default(),
        meta: Meta {
            last_updated: Some(protocol::clock::rfc3339((api.auth.clock)())),
            ..Meta::default()
        },
        type_: "searchset",
        total: (req.total == Total::Accurate || req.summary_count).then_some(page.total as u64),
        link,
        entry,
    };
    fhir_response(StatusCode::OK, &bundle)
}

fn with_query(url: &str, query: &str) -> String {
    if query.is_empty() {
        url.to_owned()
    } else {
        format!("{url}?{query}")
    }
}

async fn reserve(
    State(api): State<Arc<PersonApi>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    params: Segments,
    body: Bytes,
) -> Response {
    let id = params.get("rid");
    reservation(&api, &method, &uri, &headers, id, &body, true).await
}

async fn release(
    State(api): State<Arc<PersonApi>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    params: Segments,
    body: Bytes,
) -> Response {
    let id = params.get("rid");
    reservation(&api, &method, &uri, &headers, id, &body, false).await
}

/// `$reserve` / `$release` (testbed operations): the team from a `team` parameter (form
/// body or a FHIR `Parameters` resource), else the calling client's id.
async fn reservation(
    api: &Arc<PersonApi>,
    method: &Method,
    uri: &OriginalUri,
    headers: &HeaderMap,
    id: &str,
    body: &Bytes,
    take: bool,
) -> Response {
    let params = match query_params(uri) {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let caller = match admit(api, method, uri, headers, first(&params, "_format")).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let team = match team_parameter(headers, body) {
        Ok(t) => t.unwrap_or_else(|| caller.client_id.clone()),
        Err(e) => return error_response(&e),
    };
    let api2 = api.clone();
    let id2 = id.to_owned();
    let done = tokio::task::spawn_blocking(move || {
        if take {
            api2.reserve(&id2, &team)
        } else {
            api2.release(&id2, &team)
        }
    })
    .await
    .unwrap_or_else(|e| {
        Err(FhirError::new(
            500,
            "exception",
            format!("the operation failed: {e}"),
        ))
    });
    match done {
        Ok(mut value) => {
            let mut warnings = Vec::new();
            if let Some(v) = first(&params, "_elements") {
                let wanted = search::elements(ResourceType::Person, v, &mut warnings);
                elements::subset(&mut value, Some(&wanted));
            }
            fhir_response(StatusCode::OK, &value)
        }
        Err(e) => error_response(&e),
    }
}

/// The `team` of an operation's body: none, a form, or `Parameters` JSON.
fn team_parameter(headers: &HeaderMap, body: &Bytes) -> Result<Option<String>, FhirError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/x-www-form-urlencoded" => Params::parse_any_repeated(body)
            .map(|p| p.get("team").map(str::to_owned))
            .map_err(|e| FhirError::new(400, "invalid", format!("the form body: {e}"))),
        "application/fhir+json" | "application/json" => {
            let value: Value = serde_json::from_slice(body).map_err(|e| {
                FhirError::new(400, "structure", format!("the body is not JSON: {e}"))
            })?;
            if value["resourceType"] != "Parameters" {
                return Err(FhirError::new(
                    400,
                    "structure",
                    "the body of an operation is a Parameters resource",
                ));
            }
            Ok(value["parameter"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == "team")
                .and_then(|p| p["valueString"].as_str())
                .map(str::to_owned))
        }
        other => Err(FhirError::new(
            415,
            "not-supported",
            format!(
                "an operation's body is a form or a FHIR Parameters resource; the Content-Type was {other:?}"
            ),
        )),
    }
}

async fn unknown(uri: OriginalUri) -> Response {
    error_response(&FhirError::new(
        404,
        "not-supported",
        format!(
            "{} is not served: Persontjenesten offers Person and RelatedPerson (read, vread, search) and metadata",
            uri.0.path()
        ),
    ))
}

async fn method_not_allowed(method: Method, uri: OriginalUri) -> Response {
    let mut response = error_response(&FhirError::new(
        405,
        "not-supported",
        format!(
            "{method} is not allowed on {}: the service is read-only (read and search; identifier searches with POST .../_search)",
            uri.0.path()
        ),
    ));
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}
