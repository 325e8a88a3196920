//! What the IdP does with bad authorization requests (IDP-ERR-01: a foreign redirect URI, an
//! unknown client; IDP-ERR-02: the registered redirect URI with another path or an added
//! query) and cancelled logins (IDP-CANCEL-01).

use protocol::jose;
use reqwest::Url;

use super::browser::{Browser, Ending, lands_at};
use super::{Endpoints, Run, TIMEOUT, UNREGISTERED_REDIRECT_URI, vars};
use crate::catalogue::{Check, IdpCheck};
use crate::report::{CheckResult, fail, inconclusive, pass, shown};

/// The path segment IDP-ERR-02 adds below the registered redirect URI.
const PROBE_SEGMENT: &str = "conformance-probe";
/// The query parameter IDP-ERR-02 adds to the registered redirect URI.
const PROBE_PARAMETER: &str = "conformance_probe";

/// An authorization request the IdP must not send back to its `redirect_uri`.
struct Probe {
    /// What is wrong with it, for messages: "a redirect_uri that is not registered".
    what: &'static str,
    client_id: String,
    redirect_uri: String,
}

impl Run<'_> {
    /// IDP-ERR-01: a foreign redirect_uri, and an unknown client.
    pub(super) async fn err_01(&self, e: &Endpoints) -> CheckResult {
        let probes = vec![
            Probe {
                what: "a redirect_uri that is not registered",
                client_id: self.idp.client_id.clone(),
                redirect_uri: UNREGISTERED_REDIRECT_URI.into(),
            },
            Probe {
                what: "an unknown client_id",
                client_id: format!("conformance-unknown-client-{}", jose::random_id()),
                redirect_uri: UNREGISTERED_REDIRECT_URI.into(),
            },
        ];
        self.not_redirected(IdpCheck::Err01.check(), e, probes)
            .await
    }

    /// IDP-ERR-02: the registered redirect_uri with a path below it, and with an added
    /// query: exact matching refuses both.
    pub(super) async fn err_02(&self, e: &Endpoints) -> CheckResult {
        let c = IdpCheck::Err02.check();
        let registered = match Url::parse(&self.idp.redirect_uri) {
            Ok(u) => u,
            Err(err) => {
                return inconclusive(c, format!("idp.redirect_uri is not a URL: {err}"), vec![]);
            }
        };
        let mut other_path = registered.clone();
        other_path.set_path(&format!(
            "{}/{PROBE_SEGMENT}",
            registered.path().trim_end_matches('/')
        ));
        let mut added_query = registered;
        added_query
            .query_pairs_mut()
            .append_pair(PROBE_PARAMETER, &jose::random_id());
        let probes = vec![
            Probe {
                what: "the registered redirect_uri with another path below it",
                client_id: self.idp.client_id.clone(),
                redirect_uri: other_path.into(),
            },
            Probe {
                what: "the registered redirect_uri with an added query",
                client_id: self.idp.client_id.clone(),
                redirect_uri: added_query.into(),
            },
        ];
        self.not_redirected(c, e, probes).await
    }

    /// Plays the login script on each probe's request and fails the check if any ends at the
    /// probe's redirect_uri (with a code or an error: either is a redirect there). Ending at
    /// the registered redirect URI instead is no redirect to the invalid one.
    async fn not_redirected(&self, c: &Check, e: &Endpoints, probes: Vec<Probe>) -> CheckResult {
        let Some(user) = self.idp.users.first() else {
            return inconclusive(c, "the scenario has no test user".into(), vec![]);
        };
        let mut evidence = Vec::new();
        let mut verdicts = Vec::new();
        let mut failures = Vec::new();
        for probe in probes {
            let what = probe.what;
            let verifier = format!("{}{}", jose::random_id(), jose::random_id());
            let url = match self.authorize_url(
                e,
                &probe.client_id,
                &probe.redirect_uri,
                &verifier,
                &jose::random_id(),
                &jose::random_id(),
                vars(user),
            ) {
                Ok(u) => u,
                Err(why) => return inconclusive(c, why, evidence),
            };
            let ending = Browser::new(TIMEOUT)
                .navigate(
                    &url,
                    &[&probe.redirect_uri, &self.idp.redirect_uri],
                    self.steps(user),
                    vars(user),
                    &format!("request with {what}"),
                    &mut evidence,
                )
                .await;
            match ending {
                Ending::Arrived { url, .. } if lands_at(&url, &probe.redirect_uri) => failures
                    .push(format!(
                        "a request with {what} was redirected to that redirect_uri ({})",
                        probe.redirect_uri
                    )),
                Ending::Arrived { .. } => verdicts.push(format!(
                    "{what}: sent to the registered redirect URI, not the one requested"
                )),
                Ending::Stopped(why) => verdicts.push(format!("{what}: not redirected ({why})")),
                Ending::Unreachable(why) => {
                    return inconclusive(
                        c,
                        format!("the IdP could not be reached: {why}"),
                        evidence,
                    );
                }
            }
        }
        if failures.is_empty() {
            pass(c, verdicts.join("; "), evidence)
        } else {
            fail(c, failures.join("; "), evidence)
        }
    }

    pub(super) async fn cancel_01(&self, e: &Endpoints) -> CheckResult {
        let c = IdpCheck::Cancel01.check();
        let Some(user) = self.idp.users.first() else {
            return inconclusive(c, "the scenario has no test user".into(), vec![]);
        };
        let verifier = format!("{}{}", jose::random_id(), jose::random_id());
        let state = jose::random_id();
        let url = match self.authorize_url(
            e,
            &self.idp.client_id,
            &self.idp.redirect_uri,
            &verifier,
            &state,
            &jose::random_id(),
            vars(user),
        ) {
            Ok(u) => u,
            Err(why) => return inconclusive(c, why, vec![]),
        };
        let mut evidence = Vec::new();
        let ending = Browser::new(TIMEOUT)
            .navigate(
                &url,
                &[&self.idp.redirect_uri],
                &self.idp.cancel,
                vars(user),
                "cancelled login",
                &mut evidence,
            )
            .await;
        match ending {
            Ending::Arrived { params, .. } => {
                if params.contains_key("code") {
                    return fail(
                        c,
                        "a cancelled login came back with a code".into(),
                        evidence,
                    );
                }
                let Some(error) = params.get("error") else {
                    return fail(
                        c,
                        "the cancelled login came back with neither error nor code".into(),
                        evidence,
                    );
                };
                match params.get("state") {
                    Some(s) if *s == state => {}
                    Some(s) => {
                        return fail(
                            c,
                            format!(
                                "the error came back with state {}; {} was sent",
                                shown(Some(s)),
                                shown(Some(&state))
                            ),
                            evidence,
                        );
                    }
                    None => {
                        return fail(
                            c,
                            format!(
                                "the error came back without state; {} was sent",
                                shown(Some(&state))
                            ),
                            evidence,
                        );
                    }
                }
                pass(
                    c,
                    format!("came back with error={error} and the state"),
                    evidence,
                )
            }
            Ending::Stopped(why) => fail(
                c,
                format!("the cancelled login did not come back to the redirect URI: {why}"),
                evidence,
            ),
            Ending::Unreachable(why) => {
                inconclusive(c, format!("the IdP could not be reached: {why}"), evidence)
            }
        }
    }
}
