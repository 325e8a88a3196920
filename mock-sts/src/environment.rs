//! `GET /testbed/environment`: what this testbed contains, for people and scripts: the issuer,
//! APIs with their scopes, organisations with their units and delegations, clients, identity
//! providers and a sample of test persons. Every feature that adds to the environment lists
//! it here.

use std::collections::BTreeMap;
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

pub fn environment_for(sts: &Sts) -> Result<Value, OAuthError> {
    let store = &sts.store;
    let apis = store.apis().map_err(internal)?;
    let orgs = store.organisations().map_err(internal)?;
    let delegations = store.delegations().map_err(internal)?;
    let clients = store.clients().map_err(internal)?;

    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for o in &orgs {
        if let Some(p) = &o.parent {
            children.entry(p.as_str()).or_default().push(&o.orgnr);
        }
    }
    let organisations: Vec<Value> = orgs
        .iter()
        .map(|o| {
            let delegated: Vec<Value> = delegations
                .iter()
                .filter(|d| d.delegator == o.orgnr)
                .map(|d| json!({ "supplier": d.supplier, "signed_terms": d.signed_terms }))
                .collect();
            json!({
                "orgnr": o.orgnr,
                "name": o.name,
                "kind": o.kind,
                "parent": o.parent,
                "children": children.get(o.orgnr.as_str()).cloned().unwrap_or_default(),
                "delegated_to": delegated,
            })
        })
        .collect();
    let persons = match seed::recorded(store).map_err(internal)? {
        Some(_) => sample_persons(sts.population().map_err(internal)?.as_ref()),
        None => Vec::new(),
    };
    Ok(json!({
        "issuer": sts.config.issuer,
        "apis": apis.iter().map(|a| json!({
            "audience": a.audience,
            "name": a.name,
            "scopes": a.scopes,
            "requires_signed_terms": a.requires_terms,
        })).collect::<Vec<_>>(),
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

pub async fn environment(State(sts): State<Arc<Sts>>) -> Result<Json<Value>, OAuthError> {
    environment_for(&sts).map(Json)
}
