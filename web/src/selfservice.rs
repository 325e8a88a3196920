//! Self-service (seed 000: actors register and change their own clients): create clients
//! and APIs, rotate a client's key, and download the client configuration file, as HelseID's
//! portal does. A client goes through the Selvbetjening API's own code
//! (`mock_sts::selvbetjening::register_draft` for a new client, `rotate_key` for a new key),
//! so the page and the API apply the same rules; an API through
//! `mock_sts::registration::new_api`. The key pair is made here and its private half is only
//! in the downloaded file.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mock_sts::registration::{self, CLIENT_KEY_BITS};
use mock_sts::selvbetjening;
use protocol::jose::Alg;
use protocol::selvbetjening::ClientDraft;
use protocol::signing::SigningKey;

use crate::Web;
use crate::layout::{self, Chrome, Pager, error, page, see_other};
use crate::pages::checked_form;

pub fn routes(web: Arc<Web>) -> Router {
    Router::new()
        .route("/self-service", get(self_service_page))
        .route("/self-service/clients", post(create_client))
        .route("/self-service/apis", post(create_api))
        .route("/self-service/clients/{id}/rotate", post(rotate))
        .with_state(web)
}

type Q = Query<HashMap<String, String>>;

struct ScopeChoice {
    scope: String,
    id: String,
}

struct ClientRow {
    client_id: String,
    name: String,
    owner: String,
    scopes: String,
    rotate: String,
}

#[derive(Template)]
#[template(path = "selfservice.html")]
struct SelfServicePage {
    c: Chrome,
    scopes: Vec<ScopeChoice>,
    clients: Vec<ClientRow>,
    pager: String,
    apis: Vec<(String, String, String)>,
    default_org: String,
}

async fn self_service_page(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/self-service", "self-service");
    let c = c.clone().titled(c.l.t("Selvbetjening", "Self-service"));
    let store = &web.sts.store;
    let (limit, offset) = Pager::window(&q, "", 20);
    let loaded = (|| {
        Ok::<_, mock_sts::store::StoreError>((store.apis()?, store.clients_page(limit, offset)?))
    })();
    let (apis, (clients, total)) = match loaded {
        Ok(v) => v,
        Err(e) => return error(&c, 500, &e.to_string()),
    };
    let scopes = apis
        .iter()
        .flat_map(|a| &a.scopes)
        .enumerate()
        .map(|(i, s)| ScopeChoice {
            scope: s.clone(),
            id: format!("scope-{i}"),
        })
        .collect();
    let body = SelfServicePage {
        scopes,
        clients: clients
            .iter()
            .map(|cl| ClientRow {
                client_id: cl.client_id.clone(),
                name: cl.name.clone(),
                owner: cl.tenancy.owner().to_owned(),
                scopes: cl.scopes.join(" "),
                rotate: web.path(&format!("/self-service/clients/{}/rotate", cl.client_id)),
            })
            .collect(),
        pager: layout::pager(
            &c,
            &Pager::new(&web.path("/self-service"), "", total, limit, offset),
        ),
        apis: apis
            .iter()
            .map(|a| (a.audience.clone(), a.name.clone(), a.scopes.join(" ")))
            .collect(),
        default_org: mock_sts::seed::SAMPLE_PARENT.to_owned(),
        c: c.clone(),
    };
    page(&body, &c)
}

/// A new key pair as HelseID's portal makes one (RSA, PS256).
fn new_key() -> Result<SigningKey, String> {
    SigningKey::generate_rsa(CLIENT_KEY_BITS, Alg::PS256, protocol::jose::random_id())
        .map_err(|e| e.to_string())
}

/// The client's configuration file with `key`, as a download.
fn config_download(
    web: &Web,
    client: &mock_sts::store::Client,
    key: &SigningKey,
) -> Result<Response, String> {
    let file = registration::config_file(client, key, &web.sts.config.issuer)
        .map_err(|e| e.to_string())?;
    let text = file.to_json_pretty().map_err(|e| e.to_string())?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.json\"", client.client_id),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        text,
    )
        .into_response())
}

/// A list field: one entry per line or comma.
fn list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(['\n', ','])
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

async fn create_client(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/self-service", "self-service");
    let form = match checked_form(&web, &c, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let key = match new_key() {
        Ok(k) => k,
        Err(e) => return error(&c, 500, &e),
    };
    let redirect_uris = list(form.get("redirect_uris"));
    let children = list(form.get("children"));
    let draft = ClientDraft {
        organization_number: form
            .get("organization_number")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        public_jwk: key.public_jwk().to_json().to_string(),
        api_scopes: form.all("scope").into_iter().map(str::to_owned).collect(),
        audience_specific_client_claims: None,
        redirect_uris: (!redirect_uris.is_empty()).then_some(redirect_uris),
        post_logout_redirect_uris: None,
        child_organization_numbers: (!children.is_empty()).then_some(children),
        post_client_confirmation_redirect_uri: None,
    };
    // Created on the page by its owner: confirmed at once.
    let client = match selvbetjening::register_draft(&web.sts, &draft, true) {
        Ok(cl) => cl,
        Err(e) => return error(&c, e.status.as_u16(), &e.description),
    };
    config_download(&web, &client, &key).unwrap_or_else(|e| error(&c, 500, &e))
}

async fn create_api(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/self-service", "self-service");
    let form = match checked_form(&web, &c, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    match registration::new_api(
        &web.sts.store,
        form.get("audience").unwrap_or_default(),
        form.get("name").unwrap_or_default(),
        &list(form.get("scopes")),
    ) {
        Ok(_) => see_other(&web.path("/self-service")),
        Err(registration::RegistrationError::Store(e)) => error(&c, 500, &e.to_string()),
        Err(e) => error(&c, 400, &e.to_string()),
    }
}

async fn rotate(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/self-service", "self-service");
    if let Err(r) = checked_form(&web, &c, &headers, &body) {
        return *r;
    }
    let mut client = match web.sts.store.client(&id) {
        Ok(Some(cl)) => cl,
        Ok(None) => {
            return error(
                &c,
                404,
                &format!("{}: {id}", c.l.t("Ingen klient", "No client")),
            );
        }
        Err(e) => return error(&c, 500, &e.to_string()),
    };
    let key = match new_key() {
        Ok(k) => k,
        Err(e) => return error(&c, 500, &e),
    };
    if let Err(e) = selvbetjening::rotate_key(&web.sts, &mut client, &key.public_jwk().to_json()) {
        return error(&c, e.status.as_u16(), &e.description);
    }
    config_download(&web, &client, &key).unwrap_or_else(|e| error(&c, 500, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_fields_take_lines_and_commas() {
        assert_eq!(
            list(Some("http://a/cb\r\n, http://b/cb,\n")),
            vec!["http://a/cb".to_owned(), "http://b/cb".to_owned()]
        );
        assert!(list(None).is_empty());
    }
}
