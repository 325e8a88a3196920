//! The fault checks: the STS spoils one response of a run (an ID token, an authorization
//! response, a token response; [`mock_sts::fault`]) and the check judges what the client did
//! with it: whether it used the spoiled response's tokens at the probe API, redeemed a
//! spoiled code, or reported an error.

use mock_sts::fault::{Fault, Site};
use mock_sts::flow_log::FlowRecord;
use protocol::endpoints;
use serde_json::Value;

use super::checks::{Judge, param};
use super::probe::ProbeCall;
use crate::catalogue::{Check, ClientCheck};
use crate::report::{
    CheckResult, DecodedToken, Exchange, Outcome, cut, fail, inconclusive, pass, shown,
    with_evidence,
};

/// How a client check is judged: on the records of the baseline run, or on a run of its own
/// with a fault injected. One exhaustive table, so every check has exactly one way.
#[derive(Clone, Copy)]
pub enum How {
    /// A recording check, judged on what the client sent in the baseline run.
    Record(fn(&Judge<'_>, &Check) -> CheckResult),
    /// A fault check: the STS spoils one response of a run with this fault.
    Inject(Fault),
}

impl std::fmt::Debug for How {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            How::Record(_) => f.write_str("Record"),
            How::Inject(fault) => write!(f, "Inject({fault:?})"),
        }
    }
}

pub fn how(id: ClientCheck) -> How {
    use How::{Inject, Record};
    match id {
        ClientCheck::Run01 => Record(|j, c| j.run_01(c)),
        ClientCheck::Auth01 => Record(|j, c| j.auth_01(c)),
        ClientCheck::Dpop01 => Record(|j, c| j.dpop_01(c)),
        ClientCheck::Dpop02 => Record(|j, c| j.dpop_02(c)),
        ClientCheck::Res01 => Record(|j, c| j.res_01(c)),
        ClientCheck::Par01 => Record(|j, c| j.par_01(c)),
        ClientCheck::Code01 => Record(|j, c| j.code_01(c)),
        ClientCheck::Pkce01 => Record(|j, c| j.pkce_01(c)),
        ClientCheck::State01 => Record(|j, c| j.state_01(c)),
        ClientCheck::Refresh01 => Record(|j, c| j.refresh_01(c)),
        ClientCheck::Probe01 => Record(|j, c| j.probe_01(c)),
        ClientCheck::Tenancy01 => Record(|j, c| j.tenancy_01(c)),
        ClientCheck::Idt01 => Inject(Fault::WrongIss),
        ClientCheck::Idt02 => Inject(Fault::WrongAud),
        ClientCheck::Idt03 => Inject(Fault::WrongNonce),
        ClientCheck::Idt04 => Inject(Fault::Expired),
        ClientCheck::Idt05 => Inject(Fault::BadSignature),
        ClientCheck::Idt06 => Inject(Fault::UnknownKid),
        ClientCheck::Idt07 => Inject(Fault::TamperedPayload),
        ClientCheck::Idt08 => Inject(Fault::AlgNone),
        ClientCheck::Idt10 => Inject(Fault::WrongAzp),
        ClientCheck::Idt14 => Inject(Fault::ExpiredKey),
        ClientCheck::Key01 => Inject(Fault::RotatedKey),
        ClientCheck::Azresp01 => Inject(Fault::StateChanged),
        ClientCheck::Azresp02 => Inject(Fault::WrongIssParameter),
        ClientCheck::Azresp03 => Inject(Fault::MissingIssParameter),
        ClientCheck::Azresp04 => Inject(Fault::ErrorResponse),
        ClientCheck::Tokresp01 => Inject(Fault::MissingAccessToken),
        ClientCheck::Tokresp02 => Inject(Fault::OtherTokenType),
    }
}

/// The fault a fault-injection check injects, or `None` for a recording check.
pub fn fault_of(id: ClientCheck) -> Option<Fault> {
    match how(id) {
        How::Inject(fault) => Some(fault),
        How::Record(_) => None,
    }
}

/// One use of a spoiled response's tokens.
#[derive(Debug, Clone)]
pub(crate) struct Use {
    pub at_ms: i64,
    /// What happened, for the verdict: "the probe accepted it", ...
    pub what: &'static str,
    pub evidence: Exchange,
}

impl Judge<'_> {
    /// Whether `body`, a successful token response, is the one `fault` applied to (the
    /// first of its kind in the run: faults apply once).
    fn spoiled_by(fault: Fault, body: &Value) -> bool {
        match fault.site() {
            Site::IdToken => body["id_token"].is_string(),
            Site::TokenResponse => true,
            Site::AuthorizationResponse => false,
        }
    }

    /// Access tokens that came from the token response `fault` applied to: its own, and
    /// those of refreshes descending from its refresh token.
    fn tainted_tokens(&self, fault: Fault) -> Vec<String> {
        let mut tokens = Vec::new();
        let mut refresh_tokens: Vec<String> = Vec::new();
        let mut found = false;
        for r in self.token_requests() {
            if r.status != 200 {
                continue;
            }
            let Ok(body) = serde_json::from_str::<Value>(&r.response_body) else {
                continue;
            };
            let form = r.form();
            let descends = param(&form, "grant_type") == Some("refresh_token")
                && param(&form, "refresh_token")
                    .is_some_and(|t| refresh_tokens.iter().any(|x| x == t));
            if !found && Self::spoiled_by(fault, &body) {
                found = true;
            } else if !descends {
                continue;
            }
            tokens.extend(body["access_token"].as_str().map(str::to_owned));
            refresh_tokens.extend(body["refresh_token"].as_str().map(str::to_owned));
        }
        tokens
    }

    /// The evidence of the token response `fault` applied to.
    fn faulty_response(&self, fault: Fault) -> Option<Exchange> {
        let r = self.token_requests().into_iter().find(|r| {
            r.status == 200
                && serde_json::from_str::<Value>(&r.response_body)
                    .is_ok_and(|b| Self::spoiled_by(fault, &b))
        })?;
        let body = serde_json::from_str::<Value>(&r.response_body).unwrap_or_default();
        let label = match fault.site() {
            Site::IdToken => "token response with the ID token",
            _ => "the spoiled token response",
        };
        let mut e = self.evidence(label, r);
        e.decoded.extend(
            body["id_token"]
                .as_str()
                .and_then(|t| DecodedToken::of("ID token", t)),
        );
        Some(e)
    }

    /// Judges the run with `fault` injected (`unused`: the STS never sent a response the
    /// fault could spoil).
    pub fn fault_check(&self, c: &Check, fault: Fault, unused: bool) -> CheckResult {
        if unused {
            let sent = match fault.site() {
                Site::IdToken => "no ID token",
                Site::AuthorizationResponse => "no authorization response with a code",
                Site::TokenResponse => "no successful token response",
            };
            let when = if self.observed.driver.session.is_some() {
                "after the fault step (the application did not log in or get a token again before the next step or the end)".to_owned()
            } else {
                format!("in this run ({})", self.observed.driver.describe())
            };
            return inconclusive(
                c,
                format!(
                    "the STS sent {sent} {when}, so {} was never sent",
                    fault.describe()
                ),
                vec![self.driver_evidence()],
            );
        }
        // Rules that hold only for what the client sent: a nonce to correlate (HelseID: "If
        // a nonce value was sent ..."), a state to compare (RFC 6749 §10.12 asks for a
        // binding value; PKCE, which HelseID requires, is one).
        let sent = |name: &str| {
            self.authorization_params()
                .iter()
                .any(|(_, p)| param(p, name).is_some_and(|v| !v.is_empty()))
        };
        let not_sent = match fault {
            Fault::WrongNonce if !sent("nonce") => Some("nonce"),
            Fault::StateChanged if !sent("state") => Some("state"),
            _ => None,
        };
        if let Some(name) = not_sent {
            return with_evidence(
                CheckResult::new(
                    c,
                    Outcome::Skipped,
                    format!(
                        "does not apply: the client's authorization request in this run sent no {name}, so it has none to compare"
                    ),
                ),
                vec![self.driver_evidence()],
            );
        }
        match fault {
            Fault::RotatedKey => self.accepted(c, fault),
            Fault::MissingAccessToken => self.no_access_token(c, fault),
            Fault::ErrorResponse => self.error_handled(c, fault),
            f if f.site() == Site::AuthorizationResponse => self.code_not_redeemed(c, f),
            _ => self.refused(c, fault),
        }
    }

    /// Accepted probe calls with one of `tokens`.
    fn used(&self, tokens: &[String]) -> Vec<&ProbeCall> {
        self.observed
            .probe_calls
            .iter()
            .filter(|p| {
                p.status == 200
                    && p.authorization
                        .as_deref()
                        .and_then(|a| a.split_once(' '))
                        .is_some_and(|(_, got)| tokens.iter().any(|t| t == got))
            })
            .collect()
    }

    /// The refresh token of the token response `fault` applied to.
    fn spoiled_refresh_token(&self, fault: Fault) -> Option<String> {
        self.token_requests()
            .into_iter()
            .filter(|r| r.status == 200)
            .filter_map(|r| serde_json::from_str::<Value>(&r.response_body).ok())
            .find(|b| Self::spoiled_by(fault, b))
            .and_then(|b| b["refresh_token"].as_str().map(str::to_owned))
    }

    /// Every use the client made of the response `fault` spoiled: accepted probe calls with
    /// its access token (or one refreshed from it), userinfo requests the STS answered for
    /// such a token, and refresh requests with its refresh token; and the evidence (the
    /// driver, the spoiled response, those uses). In time order.
    fn spoiled_token_uses(&self, fault: Fault) -> (Vec<Use>, Vec<Exchange>) {
        let mut evidence = vec![self.driver_evidence()];
        evidence.extend(self.faulty_response(fault));
        let tainted = self.tainted_tokens(fault);
        let mut uses: Vec<Use> = self
            .used(&tainted)
            .into_iter()
            .map(|p| Use {
                at_ms: p.at_ms,
                what: "the probe accepted it",
                evidence: p.evidence(),
            })
            .collect();
        let bearer_of = |r: &FlowRecord| {
            r.header("authorization")
                .and_then(|a| a.split_once(' '))
                .map(|(_, t)| t.trim().to_owned())
        };
        for r in self.requests_to(endpoints::USERINFO) {
            if r.status == 200 && bearer_of(r).is_some_and(|t| tainted.contains(&t)) {
                uses.push(Use {
                    at_ms: r.at * 1000,
                    what: "the STS's userinfo endpoint answered it",
                    evidence: self.evidence("userinfo request with that access token", r),
                });
            }
        }
        if let Some(refresh) = self.spoiled_refresh_token(fault) {
            for r in self.token_requests() {
                let form = r.form();
                if param(&form, "grant_type") == Some("refresh_token")
                    && param(&form, "refresh_token") == Some(refresh.as_str())
                {
                    uses.push(Use {
                        at_ms: r.at * 1000,
                        what: "the client refreshed with that response's refresh token",
                        evidence: self.evidence("refresh with that response's refresh token", r),
                    });
                }
            }
        }
        uses.sort_by_key(|u| u.at_ms);
        evidence.extend(uses.iter().map(|u| u.evidence.clone()));
        (uses, evidence)
    }

    /// Requests to `path` at the STS (any client: userinfo names none).
    fn requests_to(&self, path: &str) -> Vec<&FlowRecord> {
        self.observed
            .flows
            .iter()
            .filter(|r| self.is(r, "GET", path) || self.is(r, "POST", path))
            .collect()
    }

    /// How the driver ended, with the time: "it exited 1 at 12:00:02.120 UTC".
    fn ending(&self) -> String {
        let d = &self.observed.driver;
        format!(
            "{} at {}",
            d.describe().replacen("the driver", "it", 1),
            crate::clock_time(d.ended_at_ms)
        )
    }

    /// CLIENT-KEY-01: the run whose ID token is signed by a just-rotated key must succeed
    /// with that response's access token.
    fn accepted(&self, c: &Check, fault: Fault) -> CheckResult {
        let d = &self.observed.driver;
        let (used, evidence) = self.spoiled_token_uses(fault);
        if d.succeeded() && !used.is_empty() {
            return pass(
                c,
                format!(
                    "given {}, the client accepted it and called the API",
                    fault.describe()
                ),
                evidence,
            );
        }
        fail(
            c,
            format!(
                "given {} (published in the JWKS), the client did not use it: {}",
                fault.describe(),
                if d.succeeded() {
                    "it never called the API with that response's access token".into()
                } else {
                    self.ending()
                }
            ),
            evidence,
        )
    }

    /// A fault check: the client must never use the access token of the response `fault`
    /// spoiled. If the API accepted it, the client used the response before (or without)
    /// validating it, whatever its exit code says afterwards.
    fn refused(&self, c: &Check, fault: Fault) -> CheckResult {
        let d = &self.observed.driver;
        let (used, evidence) = self.spoiled_token_uses(fault);
        if let Some(first) = used.first() {
            return fail(
                c,
                format!(
                    "given {}, the client used that response: {} at {}; {}",
                    fault.describe(),
                    first.what,
                    crate::clock_time(first.at_ms),
                    if d.session.is_some() {
                        "the application went on with it".to_owned()
                    } else if d.succeeded() {
                        "the client then exited 0".to_owned()
                    } else {
                        format!(
                            "the client used the token before refusing the response: {}",
                            self.ending()
                        )
                    }
                ),
                evidence,
            );
        }
        let how = if d.session.is_some() {
            "it never used that response's tokens (no probe call, userinfo request or refresh with them)".to_owned()
        } else if !d.succeeded() {
            format!(
                "it never used that response's tokens (at the API, userinfo or a refresh); {}",
                self.ending()
            )
        } else {
            "the driver exited 0 but never used that response's tokens (at the API, userinfo or a refresh)".into()
        };
        pass(
            c,
            format!("given {}, the client refused it: {how}", fault.describe()),
            evidence,
        )
    }

    /// The authorization response `fault` applied to: the first redirect of the run to one
    /// of the client's redirect URIs with a code, and that code.
    fn faulty_redirect(&self) -> Option<(&FlowRecord, String)> {
        self.observed.flows.iter().find_map(|r| {
            let (base, params) = r.location_params()?;
            if !self.redirect_uris.iter().any(|u| u == base) {
                return None;
            }
            param(&params, "code").map(|code| (r, code.to_owned()))
        })
    }

    /// CLIENT-AZRESP: given a spoiled authorization response, the client must not redeem
    /// its code.
    fn code_not_redeemed(&self, c: &Check, fault: Fault) -> CheckResult {
        let d = &self.observed.driver;
        let mut evidence = vec![self.driver_evidence()];
        let Some((redirect, code)) = self.faulty_redirect() else {
            return inconclusive(
                c,
                format!(
                    "no redirect with a code to the client's redirect URI was recorded ({})",
                    d.describe()
                ),
                evidence,
            );
        };
        evidence.push(self.evidence("the spoiled authorization response", redirect));
        let attempts: Vec<&FlowRecord> = self
            .token_requests()
            .into_iter()
            .filter(|r| {
                let form = r.form();
                param(&form, "grant_type") == Some("authorization_code")
                    && param(&form, "code") == Some(code.as_str())
            })
            .collect();
        // The attempt that got tokens if one did (the first may be the DPoP nonce round trip).
        let redeemed = attempts
            .iter()
            .find(|r| r.status == 200)
            .or(attempts.first());
        if let Some(r) = redeemed {
            evidence.push(self.evidence("token request redeeming its code", r));
            return fail(
                c,
                format!(
                    "given {}, the client redeemed its code at the token endpoint ({} answered {})",
                    fault.describe(),
                    self.endpoint(endpoints::TOKEN),
                    r.status
                ),
                evidence,
            );
        }
        pass(
            c,
            format!(
                "given {}, the client did not redeem the code: {}",
                fault.describe(),
                d.describe()
            ),
            evidence,
        )
    }

    /// CLIENT-AZRESP-04: given an error at the redirect URI, the client must end with a
    /// failure, or log in again and succeed; not hang, and not exit 0 without having called
    /// the API.
    fn error_handled(&self, c: &Check, fault: Fault) -> CheckResult {
        let d = &self.observed.driver;
        let mut evidence = vec![self.driver_evidence()];
        let redirect = self.observed.flows.iter().find(|r| {
            r.location_params().is_some_and(|(base, params)| {
                self.redirect_uris.iter().any(|u| u == base) && param(&params, "error").is_some()
            })
        });
        evidence.extend(redirect.map(|r| self.evidence("the error response", r)));
        let accepted = self.observed.probe_calls.iter().any(|p| p.status == 200);
        if d.timed_out {
            return fail(
                c,
                format!(
                    "given {}, the client hung: {}",
                    fault.describe(),
                    d.describe()
                ),
                evidence,
            );
        }
        self.reported_or_recovered(
            c,
            fault,
            accepted,
            "it logged in again and called the API",
            evidence,
        )
    }

    /// The ending of a run given a fault that leaves the client nothing to use: it must
    /// report a failure (exit non-zero) or, having `recovered` (called the API with a good
    /// token after asking again), exit 0; exiting 0 without recovering hides the failure.
    fn reported_or_recovered(
        &self,
        c: &Check,
        fault: Fault,
        recovered: bool,
        how_recovered: &str,
        evidence: Vec<Exchange>,
    ) -> CheckResult {
        let d = &self.observed.driver;
        if d.session.is_some() && !recovered {
            // No exit code: whether the application told its user is for the tester to see.
            return inconclusive(
                c,
                format!(
                    "given {}, the application did not ask again and call the API with a good token; whether it reported the failure to its user is for the tester to judge",
                    fault.describe()
                ),
                evidence,
            );
        }
        if d.succeeded() && !recovered {
            return fail(
                c,
                format!(
                    "given {}, the driver exited 0 without calling the API with a token: the client ended as if it had succeeded",
                    fault.describe()
                ),
                evidence,
            );
        }
        let how = if d.succeeded() {
            how_recovered.to_owned()
        } else {
            format!("it reported a failure: {}", d.describe())
        };
        pass(c, format!("given {}, {how}", fault.describe()), evidence)
    }

    /// CLIENT-TOKRESP-01: given a token response without an access token, the client must
    /// neither call the API with something else as a token nor end as if it had succeeded;
    /// asking again and using a complete response's token is fine.
    fn no_access_token(&self, c: &Check, fault: Fault) -> CheckResult {
        let mut evidence = vec![self.driver_evidence()];
        evidence.extend(self.faulty_response(fault));
        let issued: Vec<String> = self
            .token_requests()
            .into_iter()
            .filter(|r| r.status == 200)
            .filter_map(|r| serde_json::from_str::<Value>(&r.response_body).ok())
            .filter_map(|b| b["access_token"].as_str().map(str::to_owned))
            .collect();
        let foreign: Vec<&ProbeCall> = self
            .observed
            .probe_calls
            .iter()
            .filter(|p| {
                let token = p
                    .authorization
                    .as_deref()
                    .and_then(|a| a.split_once(' '))
                    .map(|(_, t)| t.trim());
                !token.is_some_and(|t| issued.iter().any(|i| i == t))
            })
            .collect();
        evidence.extend(foreign.iter().map(|p| p.evidence()));
        if let Some(p) = foreign.first() {
            return fail(
                c,
                format!(
                    "given {}, the client called the API with a token the STS never issued (Authorization: {})",
                    fault.describe(),
                    shown(p.authorization.as_deref().map(|a| cut(a, 40)).as_deref())
                ),
                evidence,
            );
        }
        let recovered = !self.used(&issued).is_empty();
        self.reported_or_recovered(
            c,
            fault,
            recovered,
            "it asked again and used the token of a complete response",
            evidence,
        )
    }
}
