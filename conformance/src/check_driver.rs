//! One check driver for the three kinds: which checks run and which are skipped (and why),
//! the baseline the others depend on, timing and progress. The kinds decide how a check is
//! judged; this decides whether it is judged at all, the same way for each.

use std::time::Instant;

use crate::RunOptions;
use crate::catalogue::{Applies, Check, CheckId};
use crate::report::{CheckResult, Outcome, ScenarioReport};
use crate::scenario::{Binding, ClientTenancy, Scenario};

/// Whether `check` applies to `scenario`, and if not, why.
pub fn applies(check: &Check, scenario: &Scenario) -> Result<(), String> {
    let r = &scenario.requirements;
    let client = scenario.client.as_ref();
    let (ok, why) = match check.applies {
        Applies::Always => (true, ""),
        Applies::Scopes => (
            scenario.api.as_ref().is_some_and(|a| !a.scopes.is_empty()),
            "the API requires no scopes",
        ),
        Applies::Dpop => (
            r.token_binding == Binding::Dpop,
            "the API takes Bearer tokens",
        ),
        Applies::Bearer => (
            r.token_binding == Binding::Bearer,
            "the API takes DPoP tokens",
        ),
        Applies::User => (
            r.user_token(),
            "the API does not need a logged-in user (requirements.user, security_level or tillitsrammeverk)",
        ),
        Applies::Level4 => (
            r.security_level == Some(4),
            "the API does not require security level 4",
        ),
        Applies::Tillitsrammeverk => (
            r.tillitsrammeverk,
            "the API does not require the Tillitsrammeverk claim",
        ),
        Applies::Organisations => (
            !r.organisations.is_empty(),
            "the API names no organisations it serves",
        ),
        Applies::MultiTenantOrganisations => (
            r.tenancy == ClientTenancy::Multi && !r.organisations.is_empty(),
            if r.tenancy == ClientTenancy::Multi {
                "the API names no organisations it serves"
            } else {
                "the tokens are a single-tenant client's (requirements.tenancy is single)"
            },
        ),
        Applies::CancelSteps => (
            scenario.idp.as_ref().is_some_and(|i| !i.cancel.is_empty()),
            "the scenario has no idp.cancel steps",
        ),
        Applies::Login => (
            client.is_some_and(|c| c.login),
            "a machine client (client.login is false) does not log users in",
        ),
        Applies::MultiTenant => (
            client.is_some_and(|c| c.tenancy == ClientTenancy::Multi),
            "a single-tenant client (client.tenancy is single) names no organisation",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("does not apply: {why}"))
    }
}

/// Runs one scenario's checks: records each result with its duration and reports it as it is
/// decided.
pub(crate) struct Driver<'a> {
    scenario: &'a Scenario,
    options: &'a RunOptions,
    progress: &'a (dyn Fn(&CheckResult) + Sync),
    report: ScenarioReport,
    started: Instant,
    /// The check every `needs_baseline` check depends on, and what to say when it failed.
    baseline: Option<(CheckId, &'static str)>,
    baseline_passed: bool,
}

impl std::fmt::Debug for Driver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("scenario", &self.scenario.name)
            .field("results", &self.report.results.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Driver<'a> {
    pub fn new(
        scenario: &'a Scenario,
        options: &'a RunOptions,
        progress: &'a (dyn Fn(&CheckResult) + Sync),
        report: ScenarioReport,
        started: Instant,
    ) -> Driver<'a> {
        Driver {
            scenario,
            options,
            progress,
            report,
            started,
            baseline: None,
            baseline_passed: false,
        }
    }

    /// `check` is the baseline: always run (whatever the selection), and a check that needs
    /// it is inconclusive with `blocked` unless it passed.
    pub fn with_baseline(mut self, check: CheckId, blocked: &'static str) -> Driver<'a> {
        self.baseline = Some((check, blocked));
        self
    }

    pub fn report(&mut self) -> &mut ScenarioReport {
        &mut self.report
    }

    fn is_baseline(&self, check: &Check) -> bool {
        self.baseline.is_some_and(|(b, _)| b == check.key)
    }

    /// Why `check` does not run here, if it does not: it does not apply, or it was not
    /// selected (the baseline is always selected).
    pub fn skip_reason(&self, check: &Check) -> Option<String> {
        if let Err(why) = applies(check, self.scenario) {
            return Some(why);
        }
        if !self.is_baseline(check) && !self.options.selected(check, self.scenario) {
            return Some("not selected".into());
        }
        None
    }

    /// Whether `check` would run (it applies and is selected), without recording anything.
    pub fn would_run(&self, check: &Check) -> bool {
        self.skip_reason(check).is_none()
    }

    /// Starts `check`: when it does not run, or needs the baseline and the baseline did not
    /// pass, records why and returns `None`; otherwise the time it started.
    pub fn begin(&mut self, check: &'static Check, needs_baseline: bool) -> Option<Instant> {
        let now = Instant::now();
        if let Some(why) = self.skip_reason(check) {
            self.finish(CheckResult::new(check, Outcome::Skipped, why), now);
            return None;
        }
        if needs_baseline
            && !self.is_baseline(check)
            && let Some((_, blocked)) = self.baseline
            && !self.baseline_passed
        {
            self.finish(CheckResult::new(check, Outcome::Inconclusive, blocked), now);
            return None;
        }
        Some(now)
    }

    /// Records `result`, timed from `since`, and reports it.
    pub fn finish(&mut self, mut result: CheckResult, since: Instant) {
        if self
            .baseline
            .is_some_and(|(b, _)| b.check().id == result.id)
        {
            self.baseline_passed = result.outcome == Outcome::Passed;
        }
        result.duration_ms = since.elapsed().as_millis() as u64;
        (self.progress)(&result);
        self.report.results.push(result);
    }

    /// The report, with the run's duration and the results in catalogue order (a kind may
    /// decide its checks in another order).
    pub fn done(mut self) -> ScenarioReport {
        self.report.duration_ms = self.started.elapsed().as_millis() as u64;
        let position = |id: &str| {
            crate::catalogue::CHECKS
                .iter()
                .position(|c| c.id == id)
                .unwrap_or(usize::MAX)
        };
        self.report.results.sort_by_key(|r| position(&r.id));
        self.report
    }
}
