//! `POST /connect/token` (reference §4.3, "Token-endepunktet"): the `client_credentials`
//! grant (RFC 6749 §4.4) with `private_key_jwt` client authentication (RFC 7523), DPoP with a
//! mandatory nonce (RFC 9449), one audience per token chosen by `resource` or by the scopes
//! (RFC 8707), and HelseID's multi-tenancy.
//!
//! Order of checks, as Duende IdentityServer does them: the request's shape, the client,
//! the grant, DPoP, then scopes and organisations. The nonce challenge therefore comes after
//! the client assertion has been consumed, and the retry needs a fresh assertion.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use protocol::assertion_details::Detail;
use protocol::claims;
use protocol::oauth::{ErrorCode, TokenResponse};
use serde_json::{Map, json};

use crate::Sts;
use crate::access_token::{self, TokenSpec};
use crate::client_auth::{self, Authenticated, internal};
use crate::dpop;
use crate::error::OAuthError;
use crate::form::Form;
use crate::store::{Api, Client, TokenBinding};
use crate::tenancy::{self, OrgClaims};
use crate::token_exchange;
use crate::user_tokens::{self, Issue, UserGrant};

pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";

pub async fn token(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, OAuthError> {
    let grant_type = form.require("grant_type")?;
    let supported = [
        GRANT_CLIENT_CREDENTIALS,
        GRANT_AUTHORIZATION_CODE,
        GRANT_REFRESH_TOKEN,
        token_exchange::GRANT,
    ];
    if !supported.contains(&grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!(
                "grant_type {grant_type:?} is not supported; use one of {}",
                supported.join(", ")
            ),
        ));
    }
    let endpoint = sts.config.token_endpoint();
    let auth = client_auth::authenticate(&sts, &headers, &form, &endpoint)?;
    let body = match grant_type {
        GRANT_AUTHORIZATION_CODE => code_grant(&sts, &headers, &form, &auth, &endpoint)?,
        GRANT_REFRESH_TOKEN => refresh_grant(&sts, &headers, &form, &auth, &endpoint)?,
        token_exchange::GRANT => {
            let jkt = binding(&sts, &headers, &auth.client, &endpoint)?;
            let body = token_exchange::exchange(
                &sts,
                &auth.client,
                form.require("subject_token")?,
                form.require("subject_token_type")?,
                form.get("scope"),
                jkt.as_deref(),
            )?;
            return Ok(no_store(Json(body).into_response()));
        }
        _ => client_credentials(&sts, &headers, &form, &auth, &endpoint)?,
    };
    Ok(no_store(respond(&sts, body)))
}

/// The token response's body, spoiled when the conformance runner asked for a token
/// response fault ([`crate::fault`]).
fn respond(sts: &Sts, body: TokenResponse) -> Response {
    match sts.faults.take(crate::fault::Site::TokenResponse) {
        None => Json(body).into_response(),
        Some(fault) => {
            let mut map = match serde_json::to_value(&body) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => Map::new(),
            };
            crate::fault::spoil_token_response(fault, &mut map);
            Json(map).into_response()
        }
    }
}

fn invalid_grant(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

/// Redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6). DPoP and its nonce are
/// checked before the code is spent, so the nonce round trip does not burn it.
fn code_grant(
    sts: &Sts,
    headers: &HeaderMap,
    form: &Form,
    auth: &Authenticated,
    endpoint: &str,
) -> Result<TokenResponse, OAuthError> {
    let client = &auth.client;
    let jkt = binding(sts, headers, client, endpoint)?;
    let code = form.require("code")?;
    let now = sts.now();
    let (expires_at, grant) = sts.codes.take(code).ok_or_else(|| {
        invalid_grant("the code is unknown or was already used; codes are good for one request")
    })?;
    if expires_at <= now {
        return Err(invalid_grant(format!(
            "the code expired {} s ago; codes live {} s",
            now - expires_at,
            crate::authorization_code::LIFETIME_SECS
        )));
    }
    if grant.request.client_id != client.client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    let redirect_uri = form.require("redirect_uri")?;
    if redirect_uri != grant.request.redirect_uri {
        return Err(invalid_grant(format!(
            "redirect_uri {redirect_uri:?} is not the one of the authorization request ({:?})",
            grant.request.redirect_uri
        )));
    }
    let verifier = form.require("code_verifier")?;
    if !protocol::pkce::verifies(verifier, &grant.request.code_challenge) {
        return Err(invalid_grant(
            "code_verifier does not match the code_challenge (S256)",
        ));
    }
    if let Some(bound) = &grant.request.dpop_jkt
        && jkt.as_deref() != Some(bound.as_str())
    {
        return Err(invalid_grant(
            "the code is bound (dpop_jkt) to another DPoP key",
        ));
    }
    let user_grant = UserGrant {
        client_id: client.client_id.clone(),
        user: grant.user.clone(),
        sid: grant.sid.clone(),
        scopes: grant.request.scopes.clone(),
        resources: grant.request.resources.clone(),
        jkt: jkt.clone(),
        authorization_details: grant.request.authorization_details.clone(),
        on_behalf_of: grant.request.on_behalf_of.clone(),
    };
    let issue = Issue {
        resource: form.get("resource"),
        scope: None,
        details: &auth.details,
        nonce: grant.request.nonce.as_deref(),
        jkt: jkt.as_deref(),
    };
    user_tokens::issue(sts, client, &user_grant, &issue)
}

/// Redeems a refresh token (RFC 6749 §6): one use each, a new one with every response, bound
/// to the DPoP key of the first request.
fn refresh_grant(
    sts: &Sts,
    headers: &HeaderMap,
    form: &Form,
    auth: &Authenticated,
    endpoint: &str,
) -> Result<TokenResponse, OAuthError> {
    let client = &auth.client;
    let jkt = binding(sts, headers, client, endpoint)?;
    let token = form.require("refresh_token")?;
    let now = sts.now();
    let (doc, expires_at, consumed) = sts
        .store
        .consume_refresh_token(&user_tokens::handle(token), now)
        .map_err(internal)?
        .ok_or_else(|| invalid_grant("the refresh token is unknown"))?;
    if let Some(at) = consumed {
        return Err(invalid_grant(format!(
            "the refresh token was already used at {} UTC; each refresh token is good for one request, use the one from the latest response",
            crate::clock::time_of_day(at)
        )));
    }
    if expires_at <= now {
        return Err(invalid_grant("the refresh token has expired"));
    }
    let grant: UserGrant = serde_json::from_value(doc).map_err(internal)?;
    if grant.client_id != client.client_id {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if let Some(bound) = &grant.jkt
        && jkt.as_deref() != Some(bound.as_str())
    {
        return Err(invalid_grant(
            "the refresh token is bound to another DPoP key (cnf.jkt)",
        ));
    }
    let issue = Issue {
        resource: form.get("resource"),
        scope: form.get("scope"),
        details: &auth.details,
        nonce: None,
        jkt: jkt.as_deref(),
    };
    user_tokens::issue(sts, client, &grant, &issue)
}

fn client_credentials(
    sts: &Sts,
    headers: &HeaderMap,
    form: &Form,
    auth: &Authenticated,
    endpoint: &str,
) -> Result<TokenResponse, OAuthError> {
    let client = &auth.client;
    if !client.grant_types.is_empty()
        && !client
            .grant_types
            .iter()
            .any(|g| g == GRANT_CLIENT_CREDENTIALS)
    {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!(
                "client {} may not use the client_credentials grant",
                client.client_id
            ),
        ));
    }
    let jkt = binding(sts, headers, client, endpoint)?;
    let apis = sts.store.apis().map_err(internal)?;
    let mut selection = select_scopes(client, form, &apis, &sts.config.issuer)?;
    let orgs = tenancy::resolve(
        &sts.store,
        client,
        &auth.details,
        tenancy::OrgRequired::Always,
    )?;
    apply_terms(&orgs, &apis, &mut selection)?;

    let mut extra = Map::new();
    for d in &auth.details {
        match d {
            Detail::SfmJournalId(id) => {
                extra.insert(claims::SFM_JOURNAL_ID.into(), json!(id));
            }
            Detail::Tillitsrammeverk(v) => {
                // Without a logged-in user there is no practitioner to enrich from; the
                // attestation is checked and passed on as sent.
                protocol::tillitsrammeverk::validate(v).map_err(|e| {
                    OAuthError::new(ErrorCode::InvalidAuthorizationDetails, e.to_string())
                })?;
                extra.insert(claims::TILLITSRAMMEVERK.into(), v.clone());
            }
            Detail::Organisation(_) => {}
        }
    }
    let lifetime = sts.config.access_token_lifetime;
    let minted = access_token::mint(
        sts,
        &TokenSpec {
            client,
            audience: &selection.audience,
            scopes: &selection.granted,
            jkt: jkt.as_deref(),
            orgs: &orgs,
            extra,
            lifetime,
        },
    )
    .map_err(internal)?;
    sts.audit(
        sts.now(),
        "token_issued",
        Some(&client.client_id),
        &json!({
            "grant_type": GRANT_CLIENT_CREDENTIALS,
            "jti": minted.jti,
            "aud": selection.audience,
            "scope": selection.granted,
            "rejected_scope": selection.rejected,
            "dpop": jkt.is_some(),
            "orgnr_parent": orgs.parent,
            "orgnr_child": orgs.child,
        }),
    )
    .map_err(internal)?;
    Ok(TokenResponse {
        access_token: minted.jwt,
        token_type: if jkt.is_some() { "DPoP" } else { "Bearer" }.into(),
        expires_in: lifetime,
        scope: selection.granted.join(" "),
        rejected_scope: (!selection.rejected.is_empty()).then(|| selection.rejected.join(" ")),
        refresh_token: None,
        rt_expires_in: None,
        id_token: None,
    })
}

/// `Cache-Control: no-store` and `Pragma: no-cache` on token responses (RFC 6749 §5.1).
pub fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The DPoP key the token is bound to, or `None` for a legacy bearer client without a proof.
fn binding(
    sts: &Sts,
    headers: &HeaderMap,
    client: &Client,
    endpoint: &str,
) -> Result<Option<String>, OAuthError> {
    match dpop::proof_header(headers)? {
        Some(proof) => Ok(Some(dpop::at_token_endpoint(sts, proof, endpoint)?.jkt)),
        None if client.binding == TokenBinding::LegacyBearer => Ok(None),
        None => Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            format!(
                "client {} must send a DPoP proof in the DPoP header; HelseID issues DPoP-bound tokens",
                client.client_id
            ),
        )),
    }
}

/// The audience of the token and which requested scopes it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSelection {
    pub audience: String,
    pub granted: Vec<String>,
    pub rejected: Vec<String>,
}

/// HelseID's own scope for its client info endpoint (`/connect/clientinfo`): listed in
/// production's `scopes_supported` (reference §1.2) and, until 2024, asked for by
/// HelseID.Samples' client-credentials sample together with the sample API's scope
/// (`Configuration/ConfigurationValues.cs` before commit 816d490, "Removed rests from the
/// client_info endpoint"). It belongs to no API: a client that was given it gets it in a
/// `client_credentials` token beside its API scopes; alone, the token's audience is the
/// STS's static one, `<issuer>/resources`.
pub const SCOPE_CLIENT_INFO: &str = "helseid://scopes/client/info";

/// Scopes of HelseID itself that a client may be given besides API scopes.
pub fn is_helseid_client_scope(scope: &str) -> bool {
    scope == SCOPE_CLIENT_INFO
}

/// Picks the one audience of the token: the `resource` parameter, else the API of the first
/// requested scope. Scopes of other APIs are dropped and reported in `rejected_scope`;
/// HelseID's own client scopes ([`SCOPE_CLIENT_INFO`]) go with any audience.
pub fn select_scopes(
    client: &Client,
    form: &Form,
    apis: &[Api],
    issuer: &str,
) -> Result<ScopeSelection, OAuthError> {
    let requested: Vec<String> = match form.get("scope") {
        Some(s) => s.split_whitespace().map(str::to_owned).collect(),
        None => client.scopes.clone(),
    };
    let mut seen = Vec::new();
    for scope in &requested {
        if seen.contains(scope) {
            continue;
        }
        let known = is_helseid_client_scope(scope) || apis.iter().any(|a| a.scopes.contains(scope));
        if !known {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("scope {scope:?} is not a scope of any API in this environment"),
            ));
        }
        if !client.scopes.contains(scope) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("client {} is not allowed scope {scope:?}", client.client_id),
            ));
        }
        seen.push(scope.clone());
    }
    if seen.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!(
                "no scope was requested and client {} has none",
                client.client_id
            ),
        ));
    }
    let (own, seen): (Vec<String>, Vec<String>) =
        seen.into_iter().partition(|s| is_helseid_client_scope(s));
    let resources = form.all("resource");
    if seen.is_empty() && resources.is_empty() {
        return Ok(ScopeSelection {
            audience: format!("{}/resources", issuer.trim_end_matches('/')),
            granted: own,
            rejected: Vec::new(),
        });
    }
    let audience = match resources.as_slice() {
        [] => api_of(apis, &seen[0])
            .map(|a| a.audience.clone())
            .unwrap_or_default(),
        [one] => {
            if !apis.iter().any(|a| a.audience == *one) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidTarget,
                    format!("resource {one:?} is not an API in this environment"),
                ));
            }
            (*one).to_owned()
        }
        many => {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!(
                    "{} resources were requested; a HelseID access token has exactly one audience, so ask once per resource",
                    many.len()
                ),
            ));
        }
    };
    let (mut granted, rejected): (Vec<String>, Vec<String>) = seen
        .into_iter()
        .partition(|s| api_of(apis, s).is_some_and(|a| a.audience == audience));
    if granted.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            format!("none of the requested scopes belongs to resource {audience:?}"),
        ));
    }
    granted.extend(own);
    Ok(ScopeSelection {
        audience,
        granted,
        rejected,
    })
}

fn api_of<'a>(apis: &'a [Api], scope: &str) -> Option<&'a Api> {
    apis.iter().find(|a| a.scopes.iter().any(|s| s == scope))
}

/// A multi-tenant client acting for an organisation that has not signed an API's terms
/// loses that API's scopes (reported in `rejected_scope`, reference §4.3).
fn apply_terms(
    orgs: &OrgClaims,
    apis: &[Api],
    selection: &mut ScopeSelection,
) -> Result<(), OAuthError> {
    let Some(delegation) = &orgs.delegation else {
        return Ok(());
    };
    let Some(api) = apis.iter().find(|a| a.audience == selection.audience) else {
        return Ok(());
    };
    if !api.requires_terms || delegation.signed_terms.contains(&api.audience) {
        return Ok(());
    }
    let refused = std::mem::take(&mut selection.granted);
    Err(OAuthError::new(
        ErrorCode::InvalidScope,
        format!(
            "organisation {} has not signed the terms of use of {}; refused scopes: {}",
            delegation.delegator,
            api.audience,
            refused.join(" ")
        ),
    ))
}
