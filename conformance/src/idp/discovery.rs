//! The IdP's discovery document and JWKS (IDP-DISC-01, -DISC-02, -JWKS-01).

use protocol::jose::PublicJwk;
use serde_json::Value;

use super::browser::keep_headers;
use super::{Endpoints, MAX_BODY, Run, list_has};
use crate::catalogue::IdpCheck;
use crate::report::{
    CheckResult, Exchange, cut, error_text, fail, inconclusive, pass, shown, shown_json,
};
use crate::scenario::ClientAuth;

impl Run<'_> {
    pub(super) async fn get_json(&self, label: &str, url: &str) -> (Exchange, Option<Value>) {
        let mut exchange = Exchange {
            label: label.to_owned(),
            method: "GET".into(),
            url: url.to_owned(),
            ..Default::default()
        };
        match self.http.get(url).send().await {
            Ok(response) => {
                exchange.status = Some(response.status().as_u16());
                keep_headers(&mut exchange, response.headers());
                let ok = response.status().is_success();
                let body = response.text().await.unwrap_or_default();
                exchange.response_body = cut(&body, MAX_BODY * 4);
                let value = serde_json::from_str::<Value>(&body)
                    .ok()
                    .filter(|v| ok && v.is_object());
                (exchange, value)
            }
            Err(e) => {
                exchange.error = Some(error_text(&e));
                (exchange, None)
            }
        }
    }

    pub(super) fn endpoints(&self, doc: &Value) -> Endpoints {
        let url = |name: &str| {
            doc[name]
                .as_str()
                .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
                .map(str::to_owned)
        };
        let auth = self.idp.client_auth.or_else(|| {
            match doc["token_endpoint_auth_methods_supported"].as_array() {
                Some(methods) => methods.iter().find_map(|m| match m.as_str() {
                    Some("client_secret_basic") => Some(ClientAuth::ClientSecretBasic),
                    Some("client_secret_post") => Some(ClientAuth::ClientSecretPost),
                    _ => None,
                }),
                None => None,
            }
        });
        Endpoints {
            authorization: url("authorization_endpoint"),
            token: url("token_endpoint"),
            jwks: url("jwks_uri"),
            auth,
            iss_parameter: doc["authorization_response_iss_parameter_supported"] == true,
        }
    }

    pub(super) fn disc_01(&self, exchange: &Exchange, doc: Option<&Value>) -> CheckResult {
        let c = IdpCheck::Disc01.check();
        let evidence = vec![exchange.clone()];
        let Some(doc) = doc else {
            return match (&exchange.error, exchange.status) {
                (Some(e), _) => {
                    inconclusive(c, format!("the IdP could not be reached: {e}"), evidence)
                }
                (None, Some(s)) if !(200..300).contains(&s) => {
                    fail(c, format!("the discovery document answered {s}"), evidence)
                }
                _ => fail(
                    c,
                    "the discovery document is not a JSON object".into(),
                    evidence,
                ),
            };
        };
        let mut problems = Vec::new();
        match doc["issuer"].as_str() {
            Some(i) if i == self.issuer => {}
            Some(i) => problems.push(format!(
                "issuer is {}, not the configured {} (they must be identical)",
                shown(Some(i)),
                shown(Some(&self.issuer))
            )),
            None => problems.push("issuer is missing".into()),
        }
        for name in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
            match doc[name].as_str() {
                Some(u) if u.starts_with("https://") || u.starts_with("http://") => {}
                Some(u) => {
                    problems.push(format!("{name} {} is not an http(s) URL", shown(Some(u))))
                }
                None => problems.push(format!("{name} is missing")),
            }
        }
        if !list_has(&doc["response_types_supported"], "code") {
            problems.push("response_types_supported does not include code".into());
        }
        for name in [
            "subject_types_supported",
            "id_token_signing_alg_values_supported",
        ] {
            if doc[name].as_array().is_none_or(Vec::is_empty) {
                problems.push(format!("{name} is missing or empty"));
            }
        }
        if problems.is_empty() {
            pass(
                c,
                "issuer matches; authorization, token and JWKS endpoints; code flow".into(),
                evidence,
            )
        } else {
            fail(c, problems.join("; "), evidence)
        }
    }
}

pub(super) fn disc_02(exchange: &Exchange, doc: Option<&Value>) -> CheckResult {
    let c = IdpCheck::Disc02.check();
    let evidence = vec![exchange.clone()];
    let Some(doc) = doc else {
        return inconclusive(
            c,
            "no discovery document (see IDP-DISC-01)".into(),
            evidence,
        );
    };
    if list_has(&doc["code_challenge_methods_supported"], "S256") {
        pass(
            c,
            "code_challenge_methods_supported includes S256".into(),
            evidence,
        )
    } else {
        fail(
            c,
            format!(
                "code_challenge_methods_supported is {}; it should include S256",
                doc.get("code_challenge_methods_supported")
                    .map_or("missing".into(), shown_json)
            ),
            evidence,
        )
    }
}

/// Members only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

pub(super) fn jwks_01(jwks: Option<&(Exchange, Option<Value>)>) -> CheckResult {
    let c = IdpCheck::Jwks01.check();
    let Some((exchange, value)) = jwks else {
        return inconclusive(
            c,
            "discovery names no jwks_uri to fetch (see IDP-DISC-01)".into(),
            vec![],
        );
    };
    let evidence = vec![exchange.clone()];
    let Some(value) = value else {
        return match &exchange.error {
            Some(e) => inconclusive(c, format!("the JWKS could not be fetched: {e}"), evidence),
            None => fail(
                c,
                format!(
                    "jwks_uri answered {} without a JSON object",
                    exchange.status.unwrap_or(0)
                ),
                evidence,
            ),
        };
    };
    let Some(keys) = value["keys"].as_array() else {
        return fail(c, "the JWKS has no keys array".into(), evidence);
    };
    let mut private = Vec::new();
    let mut usable = Vec::new();
    let mut unusable = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let kid = key["kid"]
            .as_str()
            .map_or(format!("key {i}"), |k| format!("kid {k}"));
        if let Some(map) = key.as_object() {
            let members: Vec<&str> = PRIVATE_MEMBERS
                .iter()
                .copied()
                .filter(|m| map.contains_key(*m))
                .collect();
            if !members.is_empty() {
                private.push(format!("{kid} ({})", members.join(", ")));
                continue;
            }
        }
        if key["use"].as_str().is_some_and(|u| u != "sig") {
            unusable.push(format!("{kid}: use {}", shown_json(&key["use"])));
            continue;
        }
        match PublicJwk::from_json(key) {
            Ok(_) => usable.push(kid),
            Err(e) => unusable.push(format!("{kid}: {e}")),
        }
    }
    if !private.is_empty() {
        return fail(
            c,
            format!(
                "the JWKS publishes private key material: {}",
                private.join("; ")
            ),
            evidence,
        );
    }
    if usable.is_empty() {
        return fail(
            c,
            format!(
                "no usable public signing key (RSA of 2048 bits or more, or EC){}",
                if unusable.is_empty() {
                    String::new()
                } else {
                    format!(": {}", unusable.join("; "))
                }
            ),
            evidence,
        );
    }
    pass(c, format!("signing keys: {}", usable.join(", ")), evidence)
}

/// The JWKS's public keys, read leniently (a published private part does not stop the
/// signature check; IDP-JWKS-01 reports it).
pub(super) fn public_keys(jwks: &Value) -> Vec<PublicJwk> {
    jwks["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_object().and_then(|m| PublicJwk::public_part(m).ok()))
                .collect()
        })
        .unwrap_or_default()
}
