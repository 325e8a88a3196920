//! What the IdP does with bad authorization requests (IDP-ERR-01) and cancelled logins
//! (IDP-CANCEL-01).

use protocol::jose;

use super::browser::{Browser, Ending};
use super::{Endpoints, Run, TIMEOUT, UNREGISTERED_REDIRECT_URI, vars};
use crate::catalogue::IdpCheck;
use crate::report::{CheckResult, fail, inconclusive, pass};

impl Run<'_> {
    pub(super) async fn err_01(&self, e: &Endpoints) -> CheckResult {
        let c = IdpCheck::Err01.check();
        let Some(user) = self.idp.users.first() else {
            return inconclusive(c, "the scenario has no test user".into(), vec![]);
        };
        let unknown_client = format!("conformance-unknown-client-{}", jose::random_id());
        let probes = [
            (
                "a redirect_uri that is not registered",
                self.idp.client_id.clone(),
            ),
            ("an unknown client_id", unknown_client),
        ];
        let mut evidence = Vec::new();
        let mut verdicts = Vec::new();
        let mut failures = Vec::new();
        for (what, client_id) in probes {
            let verifier = format!("{}{}", jose::random_id(), jose::random_id());
            let url = match self.authorize_url(
                e,
                &client_id,
                UNREGISTERED_REDIRECT_URI,
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
                    &[UNREGISTERED_REDIRECT_URI, &self.idp.redirect_uri],
                    self.steps(user),
                    vars(user),
                    &format!("request with {what}"),
                    &mut evidence,
                )
                .await;
            match ending {
                Ending::Arrived { stop: 0, .. } => failures.push(format!(
                    "a request with {what} was redirected to that redirect_uri"
                )),
                Ending::Arrived { .. } => verdicts.push(format!(
                    "{what}: sent to the registered redirect URI, not the unregistered one"
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
                if params.get("state") != Some(&state) {
                    return fail(
                        c,
                        format!(
                            "the error came back with state {:?}; {state:?} was sent",
                            params.get("state")
                        ),
                        evidence,
                    );
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
