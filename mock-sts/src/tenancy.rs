//! Multi-tenancy (reference §6, "Organisasjonsnumre"): which organisation numbers go into a
//! client's access token.
//!
//! * Single-tenant: the owner is `orgnr_parent` without asking; a child named in
//!   `assertion_details` (system Enhetsregisteret) must be on the client's whitelist.
//! * Multi-tenant: the client names `NO:ORGNR:<parent>:<child?>`; the parent must have
//!   delegated to the client's supplier (the delegation table stands in for Altinn). The child
//!   is not checked against a whitelist, as in HelseID. `orgnr_supplier` is the supplier.

use protocol::assertion_details::{Detail, OrgClaim};

use crate::client_auth::internal;
use crate::error::OAuthError;
use crate::store::{Client, Delegation, Store, Tenancy};

/// The organisation claims of one token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgClaims {
    pub parent: Option<String>,
    pub child: Option<String>,
    pub supplier: Option<String>,
    /// For a multi-tenant client: the delegation it acts under (for the terms check).
    pub delegation: Option<Delegation>,
}

/// Whether a multi-tenant client must name its organisation in this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgRequired {
    /// A system token (`client_credentials`): there is nobody else to say whom it acts for.
    Always,
    /// A user's tokens (code redemption, refresh): HelseID's guidance is to name the
    /// organisation in the client assertion of refresh requests, so the user can switch
    /// organisation without logging in again (reference §6.1), and HelseID.Samples' ApiAccess
    /// redeems its code naming none; such a token carries only `orgnr_supplier`.
    WhenNamed,
}

pub fn resolve(
    store: &Store,
    client: &Client,
    details: &[Detail],
    required: OrgRequired,
) -> Result<OrgClaims, OAuthError> {
    let requested = details.iter().find_map(|d| match d {
        Detail::Organisation(o) => Some(o),
        _ => None,
    });
    match &client.tenancy {
        Tenancy::SingleTenant {
            orgnr,
            child_orgnrs,
        } => {
            let child = match requested {
                None => None,
                Some(OrgClaim::Child(child)) => Some(child.clone()),
                Some(OrgClaim::ParentChild { parent, child }) => {
                    if parent != orgnr {
                        return Err(OAuthError::invalid_request(format!(
                            "client {} is single-tenant for organisation {orgnr}; it cannot act for {parent}",
                            client.client_id
                        )));
                    }
                    child.clone()
                }
            };
            if let Some(c) = &child
                && !child_orgnrs.contains(c)
            {
                return Err(OAuthError::invalid_request(format!(
                    "child organisation {c} is not in the list of client {} (allowed: {})",
                    client.client_id,
                    if child_orgnrs.is_empty() {
                        "none".to_owned()
                    } else {
                        child_orgnrs.join(", ")
                    }
                )));
            }
            Ok(OrgClaims {
                parent: Some(orgnr.clone()),
                child,
                supplier: None,
                delegation: None,
            })
        }
        Tenancy::MultiTenant { supplier_orgnr } => {
            let (parent, child) = match requested {
                Some(OrgClaim::ParentChild { parent, child }) => (parent, child),
                Some(OrgClaim::Child(child)) => {
                    return Err(OAuthError::invalid_request(format!(
                        "client {} is multi-tenant: name the organisation as NO:ORGNR:<parent>:<child> with system urn:oid:1.0.6523, not the child {child} alone",
                        client.client_id
                    )));
                }
                None if required == OrgRequired::WhenNamed => {
                    return Ok(OrgClaims {
                        parent: None,
                        child: None,
                        supplier: Some(supplier_orgnr.clone()),
                        delegation: None,
                    });
                }
                None => {
                    return Err(OAuthError::invalid_request(format!(
                        "client {} is multi-tenant and must state the organisation it acts for in assertion_details (type helseid_authorization, NO:ORGNR:<parent>:<child>)",
                        client.client_id
                    )));
                }
            };
            let delegation = store
                .delegation(parent, supplier_orgnr)
                .map_err(internal)?
                .ok_or_else(|| {
                    OAuthError::invalid_request(format!(
                        "organisation {parent} has not delegated to supplier {supplier_orgnr} (no delegation in Altinn), so client {} cannot act for it",
                        client.client_id
                    ))
                })?;
            Ok(OrgClaims {
                parent: Some(parent.clone()),
                child: child.clone(),
                supplier: Some(supplier_orgnr.clone()),
                delegation: Some(delegation),
            })
        }
    }
}
