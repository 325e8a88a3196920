//! `GET /testbed/environment`: what this testbed contains, for people and scripts: the issuer,
//! APIs with their scopes, organisations with their units and delegations, clients, identity
//! providers and a sample of test persons. Every feature that adds to the environment lists
//! it here.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use synthpop::Population;

use crate::Sts;
use crate::client_auth::internal;
use crate::error::OAuthError;
use crate::seed;

/// Test persons listed (half of them health personnel).
pub const SAMPLE_PERSONS: usize = 10;

/// Rows of each list `GET /testbed/environment` answers by default, and at most.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Which page of the environment's lists to show.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Page {
    #[serde(default = "default_limit")]
    pub limit: usize,
    #[serde(default)]
    pub offset: usize,
}

fn default_limit() -> usize {
    DEFAULT_LIMIT
}

impl Default for Page {
    fn default() -> Page {
        Page {
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// The environment: the issuer, identity providers and sample test persons, and one page
/// (`limit` rows from `offset`, the same for each) of the APIs, organisations (with their
/// children and delegations) and clients, with each list's total under `page`.
pub fn environment_for(sts: &Sts, page: Page) -> Result<Value, OAuthError> {
    let store = &sts.store;
    let limit = page.limit.min(MAX_LIMIT);
    let (apis, api_total) = store.apis_page(limit, page.offset).map_err(internal)?;
    let (orgs, org_total) = store
        .organisations_page(limit, page.offset)
        .map_err(internal)?;
    let (clients, client_total) = store.clients_page(limit, page.offset).map_err(internal)?;

    let mut organisations = Vec::with_capacity(orgs.len());
    for o in &orgs {
        let delegated: Vec<Value> = store
            .delegations_of(&o.orgnr)
            .map_err(internal)?
            .into_iter()
            .map(|d| json!({ "supplier": d.supplier, "signed_terms": d.signed_terms }))
            .collect();
        organisations.push(json!({
            "orgnr": o.orgnr,
            "name": o.name,
            "kind": o.kind,
            "parent": o.parent,
            "children": store.children_of(&o.orgnr).map_err(internal)?,
            "delegated_to": delegated,
        }));
    }
    let persons = match seed::recorded(store).map_err(internal)? {
        Some(_) => sample_persons(sts.population().map_err(internal)?.as_ref()),
        None => Vec::new(),
    };
    Ok(json!({
        "issuer": sts.config.issuer,
        "page": {
            "limit": limit,
            "offset": page.offset,
            "totals": {
                "apis": api_total,
                "organisations": org_total,
                "clients": client_total,
            },
        },
        "apis": apis.iter().map(|a| {
            let mut api = json!({
                "audience": a.audience,
                "name": a.name,
                "scopes": a.scopes,
                "requires_signed_terms": a.requires_terms,
            });
            // The one API the testbed serves itself (`up`'s person API).
            if a.audience == crate::seed::PERSONTJENESTEN_AUDIENCE {
                api["url"] = json!(sts.config.endpoint(crate::seed::PERSONTJENESTEN_PATH));
            }
            api
        }).collect::<Vec<_>>(),
        "organisations": organisations,
        "clients": clients.iter().map(|c| json!({
            "client_id": c.client_id,
            "name": c.name,
            "tenancy": c.tenancy,
            "scopes": c.scopes,
            "token_binding": c.binding,
            "confirmed": c.confirmed,
            "origin": c.origin,
        })).collect::<Vec<_>>(),
        "identity_providers": crate::discovery::identity_providers(sts),
        "test_persons": persons,
    }))
}

fn sample_persons(population: &Population) -> Vec<Value> {
    let person = |p: &synthpop::Person| {
        json!({
            "pid": p.pid.to_string(),
            "name": p.name,
            "hpr_number": p.hpr.as_ref().map(|h| h.hpr_number.to_string()),
        })
    };
    let practitioners = population.practitioners().take(SAMPLE_PERSONS / 2);
    let others = population
        .persons()
        .filter(|p| p.hpr.is_none())
        .take(SAMPLE_PERSONS / 2);
    practitioners.chain(others).map(|p| person(&p)).collect()
}

pub async fn environment(
    State(sts): State<Arc<Sts>>,
    page: Result<axum::extract::Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, OAuthError> {
    let axum::extract::Query(page) = page.map_err(|_| {
        OAuthError::invalid_request("limit and offset must be non-negative whole numbers")
    })?;
    environment_for(&sts, page).map(Json)
}
