//! Conformance sessions: NHN's client conformance service (Samsvarstesting, shared reference
//! §12.3), offline. A tester starts a session for a registered client, puts the session's
//! authority (`<issuer>/s/<id>`) in the application's configuration in place of HelseID's,
//! uses the application as usual, and ends the session to read the verdict; a reset clears
//! the recording to try again.
//!
//! The authority is a complete issuer ([`mock_sts::Sts::child`]): its own discovery, JWKS,
//! PAR, authorize, token, userinfo, endsession, revocation and introspection, its own signing
//! keys, faults and replay caches, over the registrations of the testbed's STS. Everything
//! the application sends there, and every call to the session's probe API
//! (`<authority>/probe/...`, the reference API accepting the session's DPoP tokens), is
//! recorded in the state database, so a restart loses neither sessions nor recordings.
//!
//! A fault step ("spoil the next ID token this way") arms one of [`mock_sts::fault`]'s faults
//! at the session's STS; the recording from that step to the next is judged by the fault's
//! check. Ending judges the recording with the client checks that need no driver
//! ([`judge`]); a check whose input never happened (no login, no refresh, no probe call) is
//! skipped with that reason, never passed.
//!
//! Modules: [`judge`] (the recording to a report), [`http`] (the JSON API and the
//! authorities' routing).

pub mod http;
pub mod judge;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use helseid_reference::api::{ApiConfig, ApiState};
use mock_sts::Sts;
use mock_sts::fault::Fault;
use mock_sts::flow_log::FlowRecord;
use mock_sts::store::{Api, SessionRow, StoreError, Tenancy};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::client::probe::ProbeCall;
use crate::client::{PROBE_AUDIENCE, PROBE_SCOPE};
use crate::report::Report;

/// The path under the issuer where sessions' authorities live: `<issuer>/s/<id>`.
pub const PATH: &str = "/s";
/// The probe API's path under a session's authority.
pub const PROBE_PATH: &str = "/probe";
/// Sessions kept by default (the oldest go first).
pub const DEFAULT_MAX_KEPT: usize = 100;
/// Records (exchanges, probe calls, steps) one session keeps; later ones are dropped and
/// the report says so.
pub const MAX_RECORDS: usize = 5_000;

/// How many sessions are kept.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    pub max_kept: usize,
}

impl Default for SessionSettings {
    fn default() -> SessionSettings {
        SessionSettings {
            max_kept: DEFAULT_MAX_KEPT,
        }
    }
}

#[derive(Debug, Error)]
pub enum SessionError {
    #[error("no client {0:?} is registered")]
    UnknownClient(String),
    #[error("no session {0:?}")]
    NotFound(String),
    #[error("session {0} has ended; reset it to record again")]
    Ended(String),
    #[error("no fault {0:?}; the faults are {1}")]
    UnknownFault(String, String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the state database: {0}")]
    Store(#[from] StoreError),
    #[error("the session's issuer: {0}")]
    Sts(String),
}

impl SessionError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            SessionError::UnknownClient(_)
            | SessionError::UnknownFault(..)
            | SessionError::BadRequest(_) => 400,
            SessionError::NotFound(_) => 404,
            SessionError::Ended(_) => 409,
            SessionError::Store(_) | SessionError::Sts(_) => 500,
        }
    }
}

/// Whether a session records or has been judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Ended,
}

/// A session as stored (the `doc` of its row) and as the JSON API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDoc {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    /// The organisation a multi-tenant client acts for (named in its assertions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orgnr: Option<String>,
    pub created_at: i64,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
    /// The verdict of the last end (the report model of `schemas/report.schema.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
}

/// One entry of a session's recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// An exchange with the session's authority.
    Flow { flow: FlowRecord },
    /// A call to the session's probe API.
    Probe { call: ProbeCall },
    /// A fault step armed (its [`Fault::name`]).
    Fault { fault: String, at_ms: i64 },
    /// The armed fault's fate when the next step came or the session ended: `applied` when
    /// the STS spoiled a response with it.
    FaultDone { applied: bool, at_ms: i64 },
}

/// A running session's issuer and probe.
struct Live {
    sts: Arc<Sts>,
    router: Router,
    probe: Router,
    /// The person API at `<authority>/persontjenesten/fhir`, recorded as the probe is.
    persons: Router,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("issuer", &self.sts.config.issuer)
            .finish_non_exhaustive()
    }
}

/// Every session of one testbed.
#[derive(Debug)]
pub struct Sessions {
    main: Arc<Sts>,
    settings: SessionSettings,
    live: RwLock<HashMap<String, Arc<Live>>>,
    /// Serialises start, end, reset and fault steps (each reads and writes a row).
    changes: tokio::sync::Mutex<()>,
}

/// What `start` needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartRequest {
    pub client_id: String,
    /// For a multi-tenant client: the organisation it acts for (default: the first that
    /// delegated to its supplier).
    #[serde(default)]
    pub orgnr: Option<String>,
}

impl Sessions {
    /// The sessions of the testbed whose STS is `main`; those still active in the database
    /// get their issuers back.
    pub fn new(main: Arc<Sts>, settings: SessionSettings) -> Result<Arc<Sessions>, SessionError> {
        let sessions = Arc::new(Sessions {
            main,
            settings,
            live: RwLock::default(),
            changes: tokio::sync::Mutex::new(()),
        });
        let mut offset = 0;
        loop {
            let (rows, total) = sessions.main.store.sessions(200, offset)?;
            for row in &rows {
                let doc = parse_doc(row)?;
                if doc.status == Status::Active {
                    // A fault armed before the restart is gone with the old process.
                    if let Some(Record::Fault { .. }) = sessions.records(&doc.id)?.last() {
                        sessions.append(
                            &doc.id,
                            &Record::FaultDone {
                                applied: false,
                                at_ms: crate::now_ms(),
                            },
                        )?;
                    }
                    sessions.go_live(&doc.id)?;
                }
            }
            offset += rows.len();
            if rows.is_empty() || offset >= total {
                break;
            }
        }
        Ok(sessions)
    }

    /// The testbed's own issuer.
    pub fn issuer(&self) -> &str {
        &self.main.config.issuer
    }

    pub fn settings(&self) -> SessionSettings {
        self.settings
    }

    /// A session's authority: `<issuer>/s/<id>`.
    pub fn authority(&self, id: &str) -> String {
        format!("{}{PATH}/{id}", self.main.config.issuer)
    }

    /// A session's probe API (any path under it is protected alike).
    pub fn probe_url(&self, id: &str) -> String {
        format!("{}{PROBE_PATH}", self.authority(id))
    }

    /// Starts a session for a registered client. The client keeps its registration; it is
    /// granted the probe API's scope (`nhn:conformance-probe/read`) if it lacks it, so it
    /// can call the session's probe.
    pub async fn start(&self, request: &StartRequest) -> Result<SessionDoc, SessionError> {
        let _guard = self.changes.lock().await;
        let store = &self.main.store;
        let client_id = request.client_id.trim();
        let mut client = store
            .client(client_id)?
            .ok_or_else(|| SessionError::UnknownClient(client_id.to_owned()))?;
        let orgnr = match (&client.tenancy, &request.orgnr) {
            (Tenancy::MultiTenant { supplier_orgnr }, wanted) => {
                let delegations = store.delegations()?;
                let ours = delegations.iter().filter(|d| &d.supplier == supplier_orgnr);
                match wanted {
                    Some(o) => Some(
                        ours.into_iter()
                            .find(|d| &d.delegator == o)
                            .map(|d| d.delegator.clone())
                            .ok_or_else(|| {
                                SessionError::BadRequest(format!(
                                    "organisation {o:?} has not delegated to the client's supplier {supplier_orgnr}"
                                ))
                            })?,
                    ),
                    None => ours.into_iter().next().map(|d| d.delegator.clone()),
                }
            }
            (_, Some(o)) => {
                return Err(SessionError::BadRequest(format!(
                    "orgnr {o:?} is only for a multi-tenant client; {client_id} is single-tenant"
                )));
            }
            (_, None) => None,
        };
        if store.api(PROBE_AUDIENCE)?.is_none() {
            store.put_api(&Api {
                audience: PROBE_AUDIENCE.into(),
                name: "Conformance probe API".into(),
                scopes: vec![PROBE_SCOPE.into()],
                requires_terms: false,
                token_exchange_clients: vec![],
            })?;
        }
        if !client.scopes.iter().any(|s| s == PROBE_SCOPE) {
            client.scopes.push(PROBE_SCOPE.into());
            store.put_client(&client)?;
        }
        let id = new_id().map_err(|e| SessionError::Sts(e.to_string()))?;
        let doc = SessionDoc {
            id: id.clone(),
            client_id: client.client_id.clone(),
            client_name: client.name.clone(),
            orgnr,
            created_at: self.main.now(),
            status: Status::Active,
            ended_at: None,
            report: None,
        };
        self.save(&doc)?;
        self.go_live(&id)?;
        self.trim()?;
        Ok(doc)
    }

    /// The session `id`.
    pub fn get(&self, id: &str) -> Result<SessionDoc, SessionError> {
        let row = self
            .main
            .store
            .session(id)?
            .ok_or_else(|| SessionError::NotFound(id.to_owned()))?;
        parse_doc(&row)
    }

    /// A page of sessions, newest first, and the total.
    pub fn list(
        &self,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<SessionDoc>, usize), SessionError> {
        let (rows, total) = self.main.store.sessions(limit, offset)?;
        let docs = rows.iter().map(parse_doc).collect::<Result<_, _>>()?;
        Ok((docs, total))
    }

    /// The session's recording so far.
    pub fn records(&self, id: &str) -> Result<Vec<Record>, SessionError> {
        self.main
            .store
            .session_records(id)?
            .iter()
            .map(|doc| {
                serde_json::from_str(doc).map_err(|e| {
                    SessionError::Store(StoreError::Corrupt {
                        what: format!("session {id}'s recording"),
                        detail: e.to_string(),
                    })
                })
            })
            .collect()
    }

    /// Arms a fault step: the session's STS spoils its next matching response with `fault`.
    pub async fn fault(&self, id: &str, fault_name: &str) -> Result<SessionDoc, SessionError> {
        let _guard = self.changes.lock().await;
        let fault = Fault::parse(fault_name).ok_or_else(|| {
            SessionError::UnknownFault(
                fault_name.to_owned(),
                Fault::ALL
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?;
        let doc = self.get(id)?;
        let live = self.live_active(&doc)?;
        self.close_fault_step(id, &live)?;
        live.sts
            .set_fault(Some(fault))
            .map_err(|e| SessionError::Sts(format!("the fault could not be prepared: {e}")))?;
        self.append(
            id,
            &Record::Fault {
                fault: fault.name().to_owned(),
                at_ms: crate::now_ms(),
            },
        )?;
        Ok(doc)
    }

    /// Ends the session: judges its recording, stores and returns the report. The
    /// authority stops answering until a reset.
    pub async fn end(&self, id: &str) -> Result<SessionDoc, SessionError> {
        let _guard = self.changes.lock().await;
        let mut doc = self.get(id)?;
        let live = self.live_active(&doc)?;
        self.close_fault_step(id, &live)?;
        let _ = live.sts.set_fault(None);
        let records = self.records(id)?;
        let client = self.main.store.client(&doc.client_id)?;
        let report = judge::judge(&judge::Input {
            doc: &doc,
            issuer: &live.sts.config.issuer,
            client: client.as_ref(),
            records: &records,
            full: records.len() >= MAX_RECORDS,
        });
        doc.status = Status::Ended;
        doc.ended_at = Some(self.main.now());
        doc.report = Some(report);
        self.save(&doc)?;
        self.live
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        Ok(doc)
    }

    /// Clears the recording and the report; the session records again (with fresh
    /// per-issuer state, its keys kept).
    pub async fn reset(&self, id: &str) -> Result<SessionDoc, SessionError> {
        let _guard = self.changes.lock().await;
        let mut doc = self.get(id)?;
        self.main.store.clear_session_records(id)?;
        doc.status = Status::Active;
        doc.ended_at = None;
        doc.report = None;
        self.save(&doc)?;
        self.live
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        self.go_live(id)?;
        Ok(doc)
    }

    /// The issuer of an active session (its flow log, for the flow inspector).
    pub fn issuer_of(&self, id: &str) -> Option<Arc<Sts>> {
        self.live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .map(|l| l.sts.clone())
    }

    /// The issuer router and probe of an active session, if it is one.
    /// The issuer, probe and person API routers of a live session.
    fn routes(&self, id: &str) -> Option<(Router, Router, Router)> {
        self.live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .map(|l| (l.router.clone(), l.probe.clone(), l.persons.clone()))
    }

    fn live_active(&self, doc: &SessionDoc) -> Result<Arc<Live>, SessionError> {
        if doc.status == Status::Ended {
            return Err(SessionError::Ended(doc.id.clone()));
        }
        self.live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&doc.id)
            .cloned()
            .ok_or_else(|| SessionError::NotFound(doc.id.clone()))
    }

    /// Records what became of the armed fault, if one is armed.
    fn close_fault_step(&self, id: &str, live: &Live) -> Result<(), SessionError> {
        let armed = self
            .records(id)?
            .iter()
            .rev()
            .find_map(|r| match r {
                Record::Fault { .. } => Some(true),
                Record::FaultDone { .. } => Some(false),
                _ => None,
            })
            .unwrap_or(false);
        if armed {
            let applied = live.sts.faults.pending().is_none();
            self.append(
                id,
                &Record::FaultDone {
                    applied,
                    at_ms: crate::now_ms(),
                },
            )?;
            let _ = live.sts.set_fault(None);
        }
        Ok(())
    }

    fn save(&self, doc: &SessionDoc) -> Result<(), SessionError> {
        let text = serde_json::to_string(doc).map_err(|e| SessionError::Sts(e.to_string()))?;
        self.main.store.put_session(&SessionRow {
            id: doc.id.clone(),
            client_id: doc.client_id.clone(),
            created_at: doc.created_at,
            doc: text,
        })?;
        Ok(())
    }

    fn append(&self, id: &str, record: &Record) -> Result<(), SessionError> {
        append(&self.main, id, record)?;
        Ok(())
    }

    /// Makes the session's issuer and probe, recording into the database.
    fn go_live(&self, id: &str) -> Result<(), SessionError> {
        let suffix = format!("{PATH}/{id}");
        let sts = self
            .main
            .child(&suffix)
            .map_err(|e| SessionError::Sts(e.to_string()))?;
        let (main, sid) = (self.main.clone(), id.to_owned());
        sts.flows.set_sink(Box::new(move |flow| {
            let _ = append(&main, &sid, &Record::Flow { flow });
        }));
        let sts = Arc::new(sts);
        let router = mock_sts::app(sts.clone());
        let mut config = ApiConfig::new(&sts.config.issuer, PROBE_AUDIENCE).with_scope(PROBE_SCOPE);
        // A key fault rotates the session's key: fetch the keys again for any unknown kid.
        config.jwks_refetch_interval_secs = 0;
        let state = ApiState::new(config).map_err(|e| SessionError::Sts(e.to_string()))?;
        let recorder = Recorder {
            main: self.main.clone(),
            id: id.to_owned(),
        };
        let probe = helseid_reference::api::router(state).layer(middleware::from_fn_with_state(
            recorder.clone(),
            record_probe,
        ));
        let person_api = persontjenesten::PersonApi::new(sts.clone())
            .map_err(|e| SessionError::Sts(format!("the person API: {e}")))?;
        let persons = persontjenesten::mount(Router::new(), Arc::new(person_api))
            .layer(middleware::from_fn_with_state(recorder, record_probe));
        self.live.write().unwrap_or_else(|p| p.into_inner()).insert(
            id.to_owned(),
            Arc::new(Live {
                sts,
                router,
                probe,
                persons,
            }),
        );
        Ok(())
    }

    /// Drops the oldest sessions beyond the number kept.
    fn trim(&self) -> Result<(), SessionError> {
        let (_, total) = self.main.store.sessions(0, 0)?;
        if total <= self.settings.max_kept {
            return Ok(());
        }
        let (old, _) = self
            .main
            .store
            .sessions(total - self.settings.max_kept, self.settings.max_kept)?;
        for row in old {
            self.live
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&row.id);
            self.main
                .store
                .delete_session(&row.id, &format!("{}/{}", &PATH[1..], row.id))?;
        }
        Ok(())
    }
}

/// Appends `record` to session `id`'s recording unless it is full.
fn append(main: &Sts, id: &str, record: &Record) -> Result<(), SessionError> {
    if main.store.session_record_count(id)? >= MAX_RECORDS {
        return Ok(());
    }
    let text = serde_json::to_string(record).map_err(|e| SessionError::Sts(e.to_string()))?;
    main.store.append_session_record(id, &text)?;
    Ok(())
}

fn parse_doc(row: &SessionRow) -> Result<SessionDoc, SessionError> {
    serde_json::from_str(&row.doc).map_err(|e| {
        SessionError::Store(StoreError::Corrupt {
            what: format!("session {}", row.id),
            detail: e.to_string(),
        })
    })
}

/// A session id: 12 lower-case hex characters from the CSPRNG (URLs, not secrets).
fn new_id() -> Result<String, protocol::jose::RngError> {
    Ok(protocol::jose::random_hex::<6>()?.to_lowercase())
}

#[derive(Clone)]
struct Recorder {
    main: Arc<Sts>,
    id: String,
}

async fn record_probe(State(rec): State<Recorder>, request: Request, next: Next) -> Response {
    if !crate::client::probe::judged(&request) {
        return next.run(request).await;
    }
    let (response, call) = crate::client::probe::recorded(request, next).await;
    let _ = append(&rec.main, &rec.id, &Record::Probe { call });
    response
}
