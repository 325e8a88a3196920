//! HelseID Selvbetjening (self-service) API (reference §8), served under `/selvbetjening`
//! of the issuer instead of on `https://api.selvbetjening.test.nhn.no`, with the paths and
//! JSON of [`protocol::selvbetjening`] (the models of NorskHelsenett/Selvbetjening.Samples):
//!
//! | Path | Auth | Body → response |
//! |---|---|---|
//! | `POST /selvbetjening/v1/client-drafts` | `api-key` header | `ClientDraft` → `ClientDraftResponse` |
//! | `GET /selvbetjening/v1/client` | DPoP token, scope `nhn:selvbetjening/client` | → `CurrentClient` |
//! | `PUT /selvbetjening/v1/client` | same | `ClientUpdate` → `CurrentClient` |
//! | `GET /selvbetjening/v1/client-status` | same | → `ClientStatusResponse` |
//! | `POST /selvbetjening/v1/client-secret` | same | public JWK → `ClientSecretUpdateResponse` |
//! | `GET`/`POST /selvbetjening/confirm-client/{client_id}` | none | the portal's confirm page |
//!
//! The portal page (on `https://selvbetjening.test.nhn.no` at HelseID, behind a user login)
//! is a bare HTML form here: anyone who can reach the testbed may confirm a draft. Drafts
//! wait for it only when [`crate::StsConfig::require_draft_confirmation`] is set; otherwise
//! they are confirmed at once, so tests need no browser step. The 20-second cache delay
//! HelseID documents after confirmation is not imitated.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::claims::{self, SELVBETJENING_AUDIENCE, SELVBETJENING_SCOPE};
use protocol::jose::key_policy::{KeyPolicyError, check_client_jwk};
use protocol::jose::{PublicJwk, constant_time_eq};
use protocol::oauth::ErrorCode;
use protocol::selvbetjening::{
    API_KEY_HEADER, ApiScopeAccess, ApiScopeAccessStatus, AudienceSpecificClaimStatus,
    AudienceSpecificClientClaim, AudienceSpecificClientClaimAccess, CLIENT_DRAFTS_PATH,
    CLIENT_PATH, CLIENT_SECRET_PATH, CLIENT_STATUS_PATH, CONFIRM_CLIENT_PATH_PREFIX,
    CONFIRMATION_STATUS_SUCCESS, ClientActiveStatus, ClientActiveStatusReason, ClientDraft,
    ClientDraftResponse, ClientSecretUpdateResponse, ClientStatusDetails, ClientStatusResponse,
    ClientUpdate, CurrentClient, OverallClientStatus, ScopeAccessStatus,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use thiserror::Error;

use crate::Sts;
use crate::client_auth::{internal, rng_failed};
use crate::clock::rfc3339;
use crate::error::OAuthError;
use crate::registration::{self, RegistrationError};
use crate::resource::{self, Protected};
use crate::store::{
    Api, AudienceClaim, Client, ClientKey, Store, StoreError, Tenancy, TokenBinding,
};
use crate::token::no_store;

/// Where the API lives, relative to the issuer.
pub const BASE: &str = "/selvbetjening";
/// `origin` of clients made here.
pub const ORIGIN: &str = "selvbetjening";

/// What the `/v1/client*` endpoints demand of an access token.
pub const PROTECTED: Protected<'static> = Protected {
    audience: SELVBETJENING_AUDIENCE,
    scope: SELVBETJENING_SCOPE,
};

/// A path of this API relative to the issuer, e.g. `/selvbetjening/v1/client`.
pub fn path(api_path: &str) -> String {
    format!("{BASE}{api_path}")
}

/// The routes of this API, relative to the issuer.
pub fn routes() -> Router<Arc<Sts>> {
    Router::new()
        .route(&path(CLIENT_DRAFTS_PATH), post(create_draft))
        .route(&path(CLIENT_PATH), get(get_client).put(put_client))
        .route(&path(CLIENT_STATUS_PATH), get(client_status))
        .route(&path(CLIENT_SECRET_PATH), post(client_secret))
        .route(
            &format!("{BASE}{CONFIRM_CLIENT_PATH_PREFIX}{{client_id}}"),
            get(confirm_page).post(confirm),
        )
}

// --- handlers -----------------------------------------------------------------------------

/// `POST /v1/client-drafts`: a new client, owned by `organizationNumber`, with the draft's
/// public key. Answered 200 with `{clientId}` (HelseID's status code is UNCONFIRMED; the
/// samples only read the body).
async fn create_draft(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    check_api_key(&sts.config.api_key, &headers)?;
    let draft: ClientDraft = json_body(&headers, &body, "ClientDraft")?;
    let client = register_draft(&sts, &draft, !sts.config.require_draft_confirmation)?;
    let body = ClientDraftResponse {
        client_id: client.client_id,
    };
    Ok(no_store(Json(body).into_response()))
}

/// `GET /v1/client`: the calling client's configuration.
async fn get_client(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let client = calling_client(&sts, &headers, Method::GET, CLIENT_PATH)?;
    Ok(no_store(Json(seen(&sts, &client)?).into_response()))
}

/// `PUT /v1/client`: replaces the calling client's scopes, claims, URIs and child
/// organisations. Answers with the new `CurrentClient` (HelseID's response body is
/// UNCONFIRMED; the samples ignore it).
async fn put_client(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let mut client = calling_client(&sts, &headers, Method::PUT, CLIENT_PATH)?;
    let update: ClientUpdate = json_body(&headers, &body, "ClientUpdate")?;
    let apis = sts.store.apis().map_err(internal)?;
    apply_update(&sts.store, &apis, &mut client, &update)?;
    save(&sts, &client)?;
    sts.audit(
        sts.now(),
        "selvbetjening_client_update",
        Some(&client.client_id),
        &json!({
            "scopes": client.scopes,
            "redirect_uris": client.redirect_uris,
            "post_logout_redirect_uris": client.post_logout_redirect_uris,
            "child_organization_numbers": children_of(&client),
            "audience_specific_claims": client.audience_specific_claims.len(),
        }),
    )
    .map_err(internal)?;
    Ok(no_store(Json(seen(&sts, &client)?).into_response()))
}

/// Stores a change of an existing client: at once, or, with a propagation delay
/// ([`crate::StsConfig::selvbetjening_delay`]), as a change the token endpoint sees only
/// when it is due (the Selvbetjening API itself reads it back at once, as HelseID's does).
fn save(sts: &Sts, client: &Client) -> Result<(), OAuthError> {
    let delay = sts.config.selvbetjening_delay;
    if delay > 0 {
        let due_at = match sts
            .store
            .pending_client(&client.client_id)
            .map_err(internal)?
        {
            Some((due, _)) => due,
            None => sts.now() + delay,
        };
        sts.store
            .put_client_pending(client, due_at)
            .map_err(internal)
    } else {
        sts.store.put_client(client).map_err(internal)
    }
}

/// `CurrentClient` for `client` as the Selvbetjening API has it: while a change is still on
/// its way to the token endpoint, scopes and claim values it does not have yet are
/// `Pending` (a changed claim `UpdatePending`), with the time they take effect.
fn seen(sts: &Sts, client: &Client) -> Result<CurrentClient, OAuthError> {
    let mut current = current_client(client);
    let Some((due, _)) = sts
        .store
        .pending_client(&client.client_id)
        .map_err(internal)?
    else {
        return Ok(current);
    };
    let Some(effective) = sts.store.client(&client.client_id).map_err(internal)? else {
        return Ok(current);
    };
    let reason = format!(
        "the change reaches HelseID's token endpoint at {}",
        rfc3339(due)
    );
    for scope in &mut current.api_scopes {
        if !effective.scopes.contains(&scope.scope) {
            scope.status = ScopeAccessStatus::Pending;
            scope.status_reason = Some(reason.clone());
        }
    }
    for claim in &mut current.audience_specific_client_claims {
        let active = effective
            .audience_specific_claims
            .iter()
            .find(|c| c.claim_type == claim.claim_type)
            .map(|c| c.value.clone());
        if active.as_ref() != claim.active_claim_value.as_ref() {
            claim.pending_claim_value = claim.active_claim_value.take();
            claim.status = if active.is_some() {
                AudienceSpecificClaimStatus::UpdatePending
            } else {
                AudienceSpecificClaimStatus::Pending
            };
            claim.active_claim_value = active;
            claim.status_reason = Some(reason.clone());
        }
    }
    Ok(current)
}

/// `GET /v1/client-status`.
async fn client_status(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let client = calling_client(&sts, &headers, Method::GET, CLIENT_STATUS_PATH)?;
    Ok(no_store(Json(status_of(&client)).into_response()))
}

/// `POST /v1/client-secret`: the body (a public JWK, as HelseID.Library's
/// `ClientSecretEndpoint` sends it) becomes the client's key, valid for
/// [`crate::StsConfig::client_key_lifetime`].
///
/// HelseID calls this replacing the client secret, and so does the testbed: the old key
/// stops being accepted at once, so a client must switch to the new key as soon as this
/// answers (HelseID.Library does: it updates its signing credential right after the call).
/// Access tokens already issued stay valid until they expire. Whether HelseID keeps the old
/// key for a grace period is UNCONFIRMED.
async fn client_secret(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let mut client = calling_client(&sts, &headers, Method::POST, CLIENT_SECRET_PATH)?;
    let jwk: Value = json_body(&headers, &body, "public JWK")?;
    let expires_at = rotate_key(&sts, &mut client, &jwk)?;
    let body = ClientSecretUpdateResponse {
        expiration: rfc3339(expires_at),
    };
    Ok(no_store(Json(body).into_response()))
}

/// Registers the client `draft` describes (`confirmed`, or a draft waiting for the confirm
/// page) and audits it: `POST /v1/client-drafts` and the self-service page both come here.
pub fn register_draft(
    sts: &Sts,
    draft: &ClientDraft,
    confirmed: bool,
) -> Result<Client, OAuthError> {
    let now = sts.now();
    let client = client_from_draft(&sts.store, draft, now, sts.config.client_key_lifetime)
        .map(|c| Client { confirmed, ..c })?;
    if !sts.store.insert_client(&client).map_err(internal)? {
        // A fresh random GUID colliding is as good as impossible; say so rather than overwrite.
        return Err(internal(format!(
            "client id {} is already taken",
            client.client_id
        )));
    }
    sts.audit(
        now,
        "selvbetjening_client_draft",
        Some(&client.client_id),
        &json!({
            "organization_number": client.tenancy.owner(),
            "scopes": client.scopes,
            "confirmed": client.confirmed,
            "key": key_summary(client.keys.first()),
        }),
    )
    .map_err(internal)?;
    Ok(client)
}

/// Replaces `client`'s key with `jwk` (its public key), stores and audits it; returns when the
/// new key expires. `POST /v1/client-secret` and the self-service page both come here.
pub fn rotate_key(sts: &Sts, client: &mut Client, jwk: &Value) -> Result<i64, OAuthError> {
    let now = sts.now();
    let expires_at = replace_key(client, jwk, now, sts.config.client_key_lifetime)?;
    save(sts, client)?;
    sts.audit(
        now,
        "selvbetjening_client_secret",
        Some(&client.client_id),
        &json!({ "key": key_summary(client.keys.first()) }),
    )
    .map_err(internal)?;
    Ok(expires_at)
}

/// Query of the confirm page, as the samples build it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmQuery {
    pub redirect_port: Option<String>,
    pub redirect_path: Option<String>,
}

/// `GET /confirm-client/{client_id}`: what the draft asks for and a confirm button.
async fn confirm_page(
    State(sts): State<Arc<Sts>>,
    Path(client_id): Path<String>,
    Query(query): Query<ConfirmQuery>,
) -> Response {
    let client = match draft(&sts.store, &client_id) {
        Ok(Some(c)) => c,
        Ok(None) => return no_draft(&client_id),
        Err(e) => return internal(e).into_response(),
    };
    if let Err(e) = confirmation_redirect(&client, &query) {
        return cannot_confirm(&e);
    }
    let state = if client.confirmed {
        "<p>This client is already confirmed.</p>"
    } else {
        "<p>This client is a draft. Confirm it to let it get tokens.</p>"
    };
    let scopes: String = client
        .scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", escape_html(s)))
        .collect();
    // No `action`: the form posts to this page's own URL, query included, so the POST
    // knows where to send the user back to.
    let body = format!(
        "<p>Client <code>{id}</code> for organisation <code>{org}</code>.</p>{state}\
         <p>Scopes:</p><ul>{scopes}</ul>\
         <form method=\"post\"><button type=\"submit\">Confirm client</button></form>",
        id = escape_html(&client.client_id),
        org = escape_html(client.tenancy.owner()),
    );
    page(StatusCode::OK, "Confirm client", &body)
}

/// `POST /confirm-client/{client_id}`: confirms the draft and sends the user back with
/// `?status=Success` (303), or shows that it is done when there is nowhere to go back to.
async fn confirm(
    State(sts): State<Arc<Sts>>,
    Path(client_id): Path<String>,
    Query(query): Query<ConfirmQuery>,
) -> Response {
    let mut client = match draft(&sts.store, &client_id) {
        Ok(Some(c)) => c,
        Ok(None) => return no_draft(&client_id),
        Err(e) => return internal(e).into_response(),
    };
    let target = match confirmation_redirect(&client, &query) {
        Ok(t) => t,
        Err(e) => return cannot_confirm(&e),
    };
    if !client.confirmed {
        client.confirmed = true;
        let stored = sts.store.put_client(&client).and_then(|()| {
            sts.audit(
                sts.now(),
                "selvbetjening_client_confirmed",
                Some(&client.client_id),
                &json!({}),
            )
        });
        if let Err(e) = stored {
            return internal(e).into_response();
        }
    }
    match target.map(|t| HeaderValue::from_str(&t)) {
        Some(Ok(location)) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            r.headers_mut().insert(header::LOCATION, location);
            r
        }
        Some(Err(_)) => page(
            StatusCode::BAD_REQUEST,
            "Cannot redirect",
            "<p>The client was confirmed, but the redirect address is not a valid URL.</p>",
        ),
        None => page(
            StatusCode::OK,
            "Client confirmed",
            &format!(
                "<p>Client <code>{}</code> is confirmed.</p>",
                escape_html(&client.client_id)
            ),
        ),
    }
}

// --- authentication -------------------------------------------------------------------------

/// Why the `api-key` header was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApiKeyError {
    #[error("the {API_KEY_HEADER} header is missing; send the client system's API key")]
    Missing,
    #[error("the request has more than one {API_KEY_HEADER} header")]
    Many,
    #[error("the {API_KEY_HEADER} header does not hold this testbed's API key")]
    Wrong,
    #[error("this testbed has no API key configured, so {API_KEY_HEADER} cannot match")]
    NotConfigured,
}

impl From<ApiKeyError> for OAuthError {
    /// 401 with `invalid_client`: the API key authenticates the calling client system.
    /// There is no `WWW-Authenticate` challenge, as no standard scheme covers an API key.
    fn from(e: ApiKeyError) -> OAuthError {
        OAuthError::invalid_client(e.to_string()).with_status(StatusCode::UNAUTHORIZED)
    }
}

/// Compares the `api-key` header with the configured key in constant time.
pub fn check_api_key(expected: &str, headers: &HeaderMap) -> Result<(), ApiKeyError> {
    // An empty configured key must not let an empty header through.
    if expected.is_empty() {
        return Err(ApiKeyError::NotConfigured);
    }
    let mut values = headers.get_all(API_KEY_HEADER).iter();
    let value = values.next().ok_or(ApiKeyError::Missing)?;
    if values.next().is_some() {
        return Err(ApiKeyError::Many);
    }
    if constant_time_eq(value.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiKeyError::Wrong)
    }
}

/// The client the request's access token was issued to.
fn calling_client(
    sts: &Sts,
    headers: &HeaderMap,
    method: Method,
    api_path: &str,
) -> Result<Client, OAuthError> {
    let caller = resource::authenticate(sts, headers, &method, &path(api_path), &PROTECTED)?;
    sts.store.apply_due_changes(sts.now()).map_err(internal)?;
    // The API reads its own writes: a change still on its way to the token endpoint.
    if let Some((_, pending)) = sts
        .store
        .pending_client(&caller.client_id)
        .map_err(internal)?
    {
        return Ok(pending);
    }
    sts.store
        .client(&caller.client_id)
        .map_err(internal)?
        .ok_or_else(|| {
            OAuthError::unauthorized(
                resource::SCHEME,
                ErrorCode::InvalidToken,
                format!(
                    "client {} of the access token is no longer registered",
                    caller.client_id
                ),
            )
        })
}

// --- validation -------------------------------------------------------------------------------

/// Why a request body was refused.
#[derive(Debug, Error)]
pub enum RequestError {
    #[error("the Content-Type is {0:?}; send application/json")]
    ContentType(String),
    #[error("the body is not a valid {what}: {detail}")]
    Json { what: &'static str, detail: String },
    #[error("{what} is not JSON: {detail}")]
    JwkNotJson { what: &'static str, detail: String },
    #[error("{what} {source}")]
    Jwk {
        what: &'static str,
        source: KeyPolicyError,
    },
    #[error("{what} is the client's current key; a rotation needs a new key")]
    SameKey { what: &'static str },
    #[error(
        "audience-specific claim type {0:?} is not <API audience>/<name> for an API in this environment"
    )]
    ClaimType(String),
    #[error("audience-specific claim type {0:?} is given more than once")]
    DuplicateClaim(String),
    #[error("{field} {uri:?} is not an absolute http(s) URL without a fragment")]
    Uri { field: &'static str, uri: String },
    #[error("childOrganizationNumbers must be empty: the client is multi-tenant")]
    MultiTenantChildren,
    #[error("{0}")]
    Registration(#[from] RegistrationError),
}

impl From<RequestError> for OAuthError {
    fn from(e: RequestError) -> OAuthError {
        match e {
            RequestError::ContentType(_) => OAuthError::invalid_request(e.to_string())
                .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            RequestError::Registration(RegistrationError::UnknownScope(_)) => {
                OAuthError::new(ErrorCode::InvalidScope, e.to_string())
            }
            RequestError::Registration(RegistrationError::Store(s)) => internal(s),
            RequestError::Registration(RegistrationError::Random(r)) => rng_failed(r),
            _ => OAuthError::invalid_request(e.to_string()),
        }
    }
}

/// Parses a JSON body sent as `application/json` (or a `+json` type), as ASP.NET's
/// `[FromBody]` binding requires.
pub fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    what: &'static str,
) -> Result<T, RequestError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" && !mime.ends_with("+json") {
        return Err(RequestError::ContentType(content_type.to_owned()));
    }
    serde_json::from_slice(body).map_err(|e| RequestError::Json {
        what,
        detail: e.to_string(),
    })
}

/// The client a draft describes (confirmed; the caller decides whether it stays a draft).
pub fn client_from_draft(
    store: &Store,
    draft: &ClientDraft,
    now: i64,
    key_lifetime: i64,
) -> Result<Client, RequestError> {
    const WHAT: &str = "publicJwk";
    let jwk_json = draft
        .public_jwk_json()
        .map_err(|e| RequestError::JwkNotJson {
            what: WHAT,
            detail: e.to_string(),
        })?;
    let jwk = public_key(&jwk_json, WHAT)?;
    let tenancy = Tenancy::SingleTenant {
        orgnr: draft.organization_number.clone(),
        child_orgnrs: dedup(draft.child_organization_numbers.clone().unwrap_or_default()),
    };
    let scopes = dedup(draft.api_scopes.clone());
    registration::check(store, &scopes, &tenancy)?;
    let apis = store.apis().map_err(RegistrationError::from)?;
    let audience_specific_claims = audience_claims(
        &apis,
        draft
            .audience_specific_client_claims
            .as_deref()
            .unwrap_or_default(),
    )?;
    let redirect_uris = uris(
        "redirectUris",
        draft.redirect_uris.clone().unwrap_or_default(),
    )?;
    let post_logout_redirect_uris = uris(
        "postLogoutRedirectUris",
        draft.post_logout_redirect_uris.clone().unwrap_or_default(),
    )?;
    let confirmation_redirect_uri = draft
        .post_client_confirmation_redirect_uri
        .clone()
        .map(|u| uri("postClientConfirmationRedirectUri", u))
        .transpose()?;
    let orgnr = draft.organization_number.clone();
    let name = match store
        .organisation(&orgnr)
        .map_err(RegistrationError::from)?
    {
        Some(org) => format!("{} (Selvbetjening)", org.name),
        None => format!("Selvbetjening client of {orgnr}"),
    };
    let mut grant_types = vec!["client_credentials".to_owned()];
    if !redirect_uris.is_empty() {
        grant_types.push("authorization_code".into());
    }
    Ok(Client {
        client_id: registration::new_client_id().map_err(RegistrationError::from)?,
        name,
        tenancy,
        scopes,
        grant_types,
        redirect_uris,
        post_logout_redirect_uris,
        frontchannel_logout_uri: None,
        audience_specific_claims,
        keys: vec![ClientKey {
            jwk,
            created_at: now,
            expires_at: Some(now + key_lifetime),
        }],
        binding: TokenBinding::Dpop,
        confirmed: true,
        created_at: now,
        origin: ORIGIN.into(),
        confirmation_redirect_uri,
    })
}

/// Applies a `ClientUpdate` as the full replacement it is: a `null` list is applied as an
/// empty one (Selvbetjening.Samples README: null fields are applied, not ignored).
pub fn apply_update(
    store: &Store,
    apis: &[Api],
    client: &mut Client,
    update: &ClientUpdate,
) -> Result<(), RequestError> {
    let children = dedup(
        update
            .child_organization_numbers
            .clone()
            .unwrap_or_default(),
    );
    let tenancy = match &client.tenancy {
        Tenancy::SingleTenant { orgnr, .. } => Tenancy::SingleTenant {
            orgnr: orgnr.clone(),
            child_orgnrs: children,
        },
        Tenancy::MultiTenant { .. } if !children.is_empty() => {
            return Err(RequestError::MultiTenantChildren);
        }
        multi @ Tenancy::MultiTenant { .. } => multi.clone(),
    };
    let scopes = dedup(update.api_scopes.clone());
    registration::check(store, &scopes, &tenancy)?;
    let claims = audience_claims(
        apis,
        update
            .audience_specific_client_claims
            .as_deref()
            .unwrap_or_default(),
    )?;
    let redirect_uris = uris(
        "redirectUris",
        update.redirect_uris.clone().unwrap_or_default(),
    )?;
    let post_logout = uris(
        "postLogoutRedirectUris",
        update.post_logout_redirect_uris.clone().unwrap_or_default(),
    )?;
    client.tenancy = tenancy;
    client.scopes = scopes;
    client.audience_specific_claims = claims;
    client.redirect_uris = redirect_uris;
    client.post_logout_redirect_uris = post_logout;
    Ok(())
}

/// Makes `jwk` the client's only key, valid for `lifetime` seconds; returns its expiry.
pub fn replace_key(
    client: &mut Client,
    jwk: &Value,
    now: i64,
    lifetime: i64,
) -> Result<i64, RequestError> {
    const WHAT: &str = "the new public JWK";
    let new = public_key(jwk, WHAT)?;
    let thumbprint = |v: &Value| PublicJwk::from_json(v).ok().map(|k| k.thumbprint());
    let new_thumbprint = thumbprint(&new);
    if client
        .keys
        .iter()
        .any(|k| thumbprint(&k.jwk) == new_thumbprint)
    {
        return Err(RequestError::SameKey { what: WHAT });
    }
    let expires_at = now + lifetime;
    client.keys = vec![ClientKey {
        jwk: new,
        created_at: now,
        expires_at: Some(expires_at),
    }];
    Ok(expires_at)
}

/// A client's public key as it will be stored, once [`check_client_jwk`] (the one rule for a
/// registered key: public members only, RSA 2048–8192 bits with e = 65537, EC on a NIST curve,
/// a signing key whose `alg` fits) accepts it. A private member is refused, not stripped, so a
/// leaked private key is noticed.
pub fn public_key(value: &Value, what: &'static str) -> Result<Value, RequestError> {
    check_client_jwk(value)
        .map(|jwk| jwk.to_json())
        .map_err(|source| RequestError::Jwk { what, source })
}

/// Audience-specific claims, each typed `<audience>/<name>` for an API of the environment,
/// so that it lands only in that API's tokens and cannot shadow a claim the STS sets.
pub fn audience_claims(
    apis: &[Api],
    requested: &[AudienceSpecificClientClaim],
) -> Result<Vec<AudienceClaim>, RequestError> {
    let mut out: Vec<AudienceClaim> = Vec::new();
    for c in requested {
        let named = c
            .key
            .split_once('/')
            .is_some_and(|(_, name)| !name.is_empty());
        let known =
            claims::resource_of(&c.key).is_some_and(|aud| apis.iter().any(|a| a.audience == aud));
        if !named || !known {
            return Err(RequestError::ClaimType(c.key.clone()));
        }
        if out.iter().any(|o| o.claim_type == c.key) {
            return Err(RequestError::DuplicateClaim(c.key.clone()));
        }
        out.push(AudienceClaim {
            claim_type: c.key.clone(),
            value: c.value.clone(),
        });
    }
    Ok(out)
}

fn uris(field: &'static str, list: Vec<String>) -> Result<Vec<String>, RequestError> {
    let list = list
        .into_iter()
        .map(|u| uri(field, u))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(dedup(list))
}

/// An absolute http(s) URL without fragment (RFC 6749 §3.1.2 for redirect URIs).
fn uri(field: &'static str, u: String) -> Result<String, RequestError> {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with(['/', '?', '#']) && r.bytes().all(|b| b.is_ascii_graphic())
    });
    if !host_ok || u.contains('#') {
        return Err(RequestError::Uri { field, uri: u });
    }
    Ok(u)
}

fn dedup(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

// --- rendering ------------------------------------------------------------------------------

/// `CurrentClient`: every scope and claim is `ok` (the testbed has no API owners to approve
/// them).
pub fn current_client(client: &Client) -> CurrentClient {
    CurrentClient {
        api_scopes: client
            .scopes
            .iter()
            .map(|s| ApiScopeAccess {
                scope: s.clone(),
                status: ScopeAccessStatus::Ok,
                status_reason: None,
            })
            .collect(),
        audience_specific_client_claims: client
            .audience_specific_claims
            .iter()
            .map(|c| AudienceSpecificClientClaimAccess {
                claim_type: c.claim_type.clone(),
                active_claim_value: Some(c.value.clone()),
                pending_claim_value: None,
                status: AudienceSpecificClaimStatus::Ok,
                status_reason: None,
            })
            .collect(),
        redirect_uris: client.redirect_uris.clone(),
        post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
        child_organization_numbers: children_of(client),
    }
}

/// `ClientStatusResponse`: `active` once confirmed, `blocked` (awaiting the owner) before.
pub fn status_of(client: &Client) -> ClientStatusResponse {
    let (status, reason) = if client.confirmed {
        (OverallClientStatus::Active, None)
    } else {
        (
            OverallClientStatus::Blocked,
            Some(ClientActiveStatusReason::AwaitingOwnerConfirmation),
        )
    };
    ClientStatusResponse {
        status,
        details: ClientStatusDetails {
            client_status: ClientActiveStatus {
                active: client.confirmed,
                reason,
            },
            api_scope_access_statuses: client
                .scopes
                .iter()
                .map(|s| ApiScopeAccessStatus {
                    granted: true,
                    scope: s.clone(),
                    reason: None,
                })
                .collect(),
        },
    }
}

fn children_of(client: &Client) -> Vec<String> {
    match &client.tenancy {
        Tenancy::SingleTenant { child_orgnrs, .. } => child_orgnrs.clone(),
        Tenancy::MultiTenant { .. } => Vec::new(),
    }
}

fn key_summary(key: Option<&ClientKey>) -> Value {
    let Some(key) = key else {
        return Value::Null;
    };
    json!({
        "thumbprint": PublicJwk::from_json(&key.jwk).ok().map(|k| k.thumbprint()),
        "kid": key.jwk.get("kid"),
        "expires_at": key.expires_at.map(rfc3339),
    })
}

// --- the confirm page -------------------------------------------------------------------------

/// Why the confirm page cannot send the user back.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfirmError {
    #[error("redirectPort {0:?} is not a port number")]
    Port(String),
    #[error("redirectPath {0:?} must be a plain ASCII path without spaces or fragment")]
    Path(String),
}

/// Where to send the user after confirming: `http://localhost:{redirectPort}{redirectPath}`
/// as the samples ask, else the draft's `postClientConfirmationRedirectUri`, each with
/// `status=Success` added to the query; `None` when there is neither.
pub fn confirmation_redirect(
    client: &Client,
    query: &ConfirmQuery,
) -> Result<Option<String>, ConfirmError> {
    let base = match &query.redirect_port {
        Some(port) => {
            let port_ok = port.parse::<u16>().is_ok_and(|p| p != 0);
            if !port_ok {
                return Err(ConfirmError::Port(port.clone()));
            }
            let path = query.redirect_path.as_deref().unwrap_or("/");
            if !path.bytes().all(|b| b.is_ascii_graphic()) || path.contains(['#', '\\']) {
                return Err(ConfirmError::Path(path.to_owned()));
            }
            // Only localhost: the page can send nobody anywhere else.
            let slash = if path.starts_with('/') { "" } else { "/" };
            format!("http://localhost:{port}{slash}{path}")
        }
        None => match &client.confirmation_redirect_uri {
            Some(uri) => uri.clone(),
            None => return Ok(None),
        },
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    Ok(Some(format!(
        "{base}{separator}status={CONFIRMATION_STATUS_SUCCESS}"
    )))
}

/// A client made through this API; others are not the confirm page's business.
fn draft(store: &Store, client_id: &str) -> Result<Option<Client>, StoreError> {
    Ok(store.client(client_id)?.filter(|c| c.origin == ORIGIN))
}

fn no_draft(client_id: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        "No such client draft",
        &format!(
            "<p>There is no Selvbetjening client <code>{}</code>.</p>",
            escape_html(client_id)
        ),
    )
}

fn cannot_confirm(e: &ConfirmError) -> Response {
    let body = format!("<p>{}</p>", escape_html(&e.to_string()));
    page(StatusCode::BAD_REQUEST, "Cannot confirm", &body)
}

/// An HTML page; `body_html` must already be escaped.
fn page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1>{body_html}</body></html>\n",
        t = escape_html(title),
    );
    let mut r = (status, Html(html)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use protocol::jose::Alg;

    #[test]
    fn api_key_is_compared_whole() {
        let mut h = HeaderMap::new();
        assert_eq!(check_api_key("k", &h), Err(ApiKeyError::Missing));
        h.insert(API_KEY_HEADER, HeaderValue::from_static("k2"));
        assert_eq!(check_api_key("k", &h), Err(ApiKeyError::Wrong));
        h.insert(API_KEY_HEADER, HeaderValue::from_static("k"));
        assert_eq!(check_api_key("k", &h), Ok(()));
        h.insert(API_KEY_HEADER, HeaderValue::from_static(""));
        assert_eq!(check_api_key("", &h), Err(ApiKeyError::NotConfigured));
        let e: OAuthError = ApiKeyError::Missing.into();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        assert!(e.description.contains("api-key"), "{}", e.description);
    }

    #[test]
    fn public_key_refuses_private_weak_and_mismatched_keys() {
        let key = protocol::signing::SigningKey::generate_ec(Alg::ES256, "k".into()).unwrap();
        let public = key.public_jwk().to_json();
        assert!(public_key(&public, "publicJwk").is_ok());
        let private = key.to_private_jwk().unwrap();
        let e = public_key(&private, "publicJwk").unwrap_err();
        assert!(e.to_string().contains("private member"), "{e}");
        let mut wrong_alg = public.clone();
        wrong_alg["alg"] = "PS256".into();
        assert!(matches!(
            public_key(&wrong_alg, "publicJwk"),
            Err(RequestError::Jwk {
                source: KeyPolicyError::Alg { .. },
                ..
            })
        ));
        let mut enc = public.clone();
        enc["use"] = "enc".into();
        assert!(matches!(
            public_key(&enc, "publicJwk"),
            Err(RequestError::Jwk {
                source: KeyPolicyError::Use(_),
                ..
            })
        ));
        let weak =
            json!({"kty": "RSA", "e": "AQAB", "n": protocol::jose::b64_encode(&[0xc5; 128])});
        let e = public_key(&weak, "publicJwk").unwrap_err();
        assert!(e.to_string().contains("1024 bits"), "{e}");
        let huge =
            json!({"kty": "RSA", "e": "AQAB", "n": protocol::jose::b64_encode(&[0xff; 2048])});
        let e = public_key(&huge, "publicJwk").unwrap_err();
        assert_eq!(
            e.to_string(),
            "publicJwk has an RSA modulus of 16384 bits; at most 8192 are accepted"
        );
    }

    #[test]
    fn claim_types_must_belong_to_a_known_api() {
        let apis = vec![Api {
            audience: "nhn:testbed-api".into(),
            name: "x".into(),
            scopes: vec![],
            requires_terms: false,
            token_exchange_clients: Vec::new(),
        }];
        let claim = |k: &str| AudienceSpecificClientClaim {
            key: k.into(),
            value: "v".into(),
        };
        assert!(audience_claims(&apis, &[claim("nhn:testbed-api/unit")]).is_ok());
        for bad in ["client_id", "nhn:testbed-api/", "nhn:other/unit", "/x"] {
            assert!(
                matches!(
                    audience_claims(&apis, &[claim(bad)]),
                    Err(RequestError::ClaimType(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            audience_claims(
                &apis,
                &[claim("nhn:testbed-api/a"), claim("nhn:testbed-api/a")]
            ),
            Err(RequestError::DuplicateClaim(_))
        ));
    }

    #[test]
    fn uris_must_be_absolute_http() {
        assert!(uri("f", "http://localhost:1337/callback".into()).is_ok());
        assert!(uri("f", "https://app.example/cb?x=1".into()).is_ok());
        for bad in [
            "/callback",
            "ftp://x/",
            "https://",
            "https://x/#f",
            "http://a b/",
        ] {
            assert!(uri("f", bad.into()).is_err(), "{bad}");
        }
    }

    fn client(redirect: Option<&str>) -> Client {
        Client {
            client_id: "c".into(),
            name: "n".into(),
            tenancy: Tenancy::SingleTenant {
                orgnr: "999977774".into(),
                child_orgnrs: vec![],
            },
            scopes: vec![],
            grant_types: vec![],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            frontchannel_logout_uri: None,
            audience_specific_claims: vec![],
            keys: vec![],
            binding: TokenBinding::Dpop,
            confirmed: false,
            created_at: 0,
            origin: ORIGIN.into(),
            confirmation_redirect_uri: redirect.map(str::to_owned),
        }
    }

    #[test]
    fn confirmation_redirects_to_localhost_or_the_drafts_uri() {
        let q = |port: Option<&str>, path: Option<&str>| ConfirmQuery {
            redirect_port: port.map(str::to_owned),
            redirect_path: path.map(str::to_owned),
        };
        let c = client(Some("https://app.example/done?x=1"));
        assert_eq!(
            confirmation_redirect(&c, &q(Some("1337"), Some("/callback"))),
            Ok(Some("http://localhost:1337/callback?status=Success".into()))
        );
        assert_eq!(
            confirmation_redirect(&c, &q(Some("1337"), Some("callback"))),
            Ok(Some("http://localhost:1337/callback?status=Success".into()))
        );
        assert_eq!(
            confirmation_redirect(&c, &q(None, None)),
            Ok(Some("https://app.example/done?x=1&status=Success".into()))
        );
        assert_eq!(
            confirmation_redirect(&client(None), &q(None, None)),
            Ok(None)
        );
        assert_eq!(
            confirmation_redirect(&c, &q(Some("99999"), None)),
            Err(ConfirmError::Port("99999".into()))
        );
        assert_eq!(
            confirmation_redirect(&c, &q(Some("80"), Some("/a b"))),
            Err(ConfirmError::Path("/a b".into()))
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
