//! The testbed's web pages, served by `helseid-testbed up` on the STS's port: the start page
//! (what runs, with its URLs and snippets) and the conformance sessions (start, record, fault
//! steps, end, results, downloads) over [`conformance::session`].
//!
//! The foundation the other pages build on:
//! - [`layout`]: one layout, askama templates (`web/templates/`), a locale switch
//!   (Norwegian by default, `?lang=en`, remembered in a cookie) and the pager.
//! - [`security`]: a Content-Security-Policy and `X-Frame-Options` on every HTML response,
//!   CSRF tokens (double-submit cookie) on every form that changes state, and the api-key on
//!   admin actions when `up` listens beyond loopback.
//! - [`assets`]: the CSS, embedded in the binary (no CDN).
//!
//! Pages work without JavaScript: forms POST and redirect (303) back to a page.

pub mod assets;
pub mod chart;
pub mod demo;
pub mod flows;
pub mod idps;
pub mod layout;
pub mod pages;
pub mod security;
pub mod selfservice;
pub mod synthpop;
pub mod usage;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use conformance::session::Sessions;
use mock_sts::Sts;

/// What the pages need to know beyond the STS and the sessions.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// `up` listens beyond loopback: admin actions on the pages need the api-key.
    pub public: bool,
    /// The seeded demo client's configuration file (offered for download on loopback).
    pub demo_config: Option<PathBuf>,
    /// The seeded demo login client's configuration file ("log in as this person").
    pub demo_login_config: Option<PathBuf>,
}

/// The pages' shared state.
#[derive(Debug)]
pub struct Web {
    pub sts: Arc<Sts>,
    pub sessions: Arc<Sessions>,
    pub settings: WebSettings,
    /// The demo client's runs in progress.
    pub demo: demo::Runs,
    /// The person API (`<issuer>/persontjenesten/fhir`), served beside the pages; `None`
    /// when the population cannot be had.
    pub persons: Option<Arc<persontjenesten::PersonApi>>,
}

impl Web {
    pub fn new(sts: Arc<Sts>, sessions: Arc<Sessions>, settings: WebSettings) -> Arc<Web> {
        let persons = persontjenesten::PersonApi::new(sts.clone())
            .ok()
            .map(Arc::new);
        Arc::new(Web {
            sts,
            sessions,
            settings,
            demo: demo::Runs::default(),
            persons,
        })
    }

    /// A URL of the testbed: the issuer followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sts.config.issuer)
    }

    /// The path of a page under the issuer's path (`/tenant/sessions` for an issuer with a
    /// path), for links and form actions.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", mock_sts::issuer_path(&self.sts.config.issuer))
    }
}

/// The testbed's whole router: the pages, the sessions' JSON API and authorities, the
/// person API, and the STS (`sts`, its router, answering everything else), with the security
/// headers on every HTML response.
pub fn app(web: Arc<Web>, sts: Router) -> Router {
    let routes = pages::routes(web.clone())
        .merge(usage::routes(web.clone()))
        .merge(synthpop::routes(web.clone()))
        .merge(selfservice::routes(web.clone()))
        .merge(flows::routes(web.clone()))
        .merge(demo::routes(web.clone()))
        .merge(assets::routes())
        .merge(conformance::session::http::routes(web.sessions.clone()));
    let app = conformance::session::http::with_sts(routes, &web.sessions, sts)
        .layer(axum::middleware::from_fn(security::headers));
    match &web.persons {
        Some(persons) => persontjenesten::mount_in_flow_log(app, persons.clone()),
        None => app,
    }
}
