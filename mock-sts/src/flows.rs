//! Flows: the flow log's exchanges grouped as a person reads a protocol run, PAR → authorize →
//! IdP → callback → token → refresh → API. Two exchanges belong to one flow when the later
//! one sends on a value the earlier one handed out: a `request_uri`, a code, a refresh or
//! access token, a `state` or any other long parameter in a redirect (the browser's hops
//! through the IdP), and a DPoP nonce retry joins the challenge it answers. The index is
//! kept as exchanges are recorded, so listing the newest flows costs what the page shows,
//! not what the log holds.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher as _;

use serde::Serialize;
use serde_json::Value;

use crate::flow_log::FlowRecord;

/// Values shorter than this are not followed (they would join unrelated runs).
const MIN_ARTIFACT: usize = 16;
/// JSON response members whose values a later request may send back.
const HANDED_OUT: [&str; 6] = [
    "request_uri",
    "code",
    "refresh_token",
    "access_token",
    "id_token",
    "issued_token",
];

/// The kind of a flow that only read discovery documents or keys (no client named).
pub const DISCOVERY_KIND: &str = "discovery";

/// One flow: its exchanges (ids, oldest first) and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    /// The id of its first exchange.
    pub id: u64,
    pub client_id: Option<String>,
    /// `login`, `system token`, `refresh`, `token exchange` or the first path's name.
    pub kind: String,
    pub started_at: i64,
    pub exchanges: Vec<u64>,
    /// Exchanges answered 400 or more.
    pub errors: usize,
    /// How strongly `kind` was decided (a login outranks what follows it).
    #[serde(skip)]
    rank: u8,
}

/// The flows of the exchanges the log holds.
#[derive(Debug, Default)]
pub struct FlowIndex {
    flows: VecDeque<Flow>,
    /// A handed-out value (by its hash: tokens are long, and a 64-bit hash tells them apart
    /// well enough to group exchanges for display) and the flow it came from.
    artifacts: HashMap<u64, u64>,
    /// When each artifact was handed out (exchange id), to forget it with its exchange.
    artifact_order: VecDeque<(u64, u64)>,
    hasher: std::hash::RandomState,
    /// A DPoP nonce challenge waiting for its retry: (client, path) → flow.
    retries: HashMap<(String, String), u64>,
    /// The oldest exchange the log still holds: flows that ended before it are gone.
    oldest: u64,
}

/// The client a request names: `client_id` in the form or query, or the client assertion's
/// `iss` (unverified: this is for grouping and showing, not for trust).
pub fn client_of(r: &FlowRecord) -> Option<String> {
    let form = r.form();
    let query = r.query_params();
    let find = |params: &[(String, String)], name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    find(&form, "client_id")
        .or_else(|| find(&query, "client_id"))
        .or_else(|| {
            find(&form, "client_assertion")
                .and_then(|a| protocol::jose::decode_unverified(&a).ok())
                .and_then(|(_, c)| c["iss"].as_str().map(str::to_owned))
        })
}

/// What kind of step `r` is, strongest first: a login beats a refresh beats a token.
fn kind_of(r: &FlowRecord) -> (u8, String) {
    let form = r.form();
    let grant = form
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.as_str());
    let path = r.path.as_str();
    if path.ends_with(protocol::endpoints::PAR) || path.ends_with(protocol::endpoints::AUTHORIZE) {
        return (4, "login".into());
    }
    if r.method == "GET"
        && (path.ends_with(protocol::endpoints::DISCOVERY)
            || path.ends_with(protocol::endpoints::JWKS)
            || path.ends_with(protocol::endpoints::EXPIRED_JWKS)
            || path.ends_with("/jwks")
            || path.ends_with(protocol::endpoints::AVAILABLE_IDPS))
    {
        return (0, DISCOVERY_KIND.into());
    }
    match grant {
        Some("urn:ietf:params:oauth:grant-type:token-exchange") => (3, "token exchange".into()),
        Some("refresh_token") => (2, "refresh".into()),
        Some("client_credentials") => (1, "system token".into()),
        Some("authorization_code") => (1, "code redemption".into()),
        _ => (
            0,
            path.rsplit('/')
                .find(|s| !s.is_empty())
                .unwrap_or(path)
                .to_owned(),
        ),
    }
}

/// The values `r` sends on (its parameters, its bearer token).
fn sent(r: &FlowRecord) -> Vec<String> {
    let mut out: Vec<String> = r
        .form()
        .into_iter()
        .chain(r.query_params())
        .map(|(_, v)| v)
        .filter(|v| v.len() >= MIN_ARTIFACT)
        .collect();
    if let Some((_, token)) = r.header("authorization").and_then(|a| a.split_once(' ')) {
        out.push(token.trim().to_owned());
    }
    out
}

/// The values `r`'s response hands out (named JSON members, the redirect's parameters).
fn handed_out(r: &FlowRecord) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Value::Object(body)) = serde_json::from_str::<Value>(&r.response_body) {
        for key in HANDED_OUT {
            if let Some(v) = body.get(key).and_then(Value::as_str) {
                out.push(v.to_owned());
            }
        }
    }
    out.extend(
        r.hidden_values
            .iter()
            .filter(|v| v.len() >= MIN_ARTIFACT)
            .cloned(),
    );
    if let Some((_, params)) = r.location_params() {
        out.extend(
            params
                .into_iter()
                .map(|(_, v)| v)
                .filter(|v| v.len() >= MIN_ARTIFACT),
        );
    }
    out
}

fn is_nonce_challenge(r: &FlowRecord) -> bool {
    protocol::dpop_nonce::asks_for_nonce::<&str>(r.status, &[], &r.response_body)
}

impl FlowIndex {
    fn position(&self, flow: u64) -> Option<usize> {
        self.flows.binary_search_by_key(&flow, |f| f.id).ok()
    }

    /// Files the exchange `r` (just recorded, ids rising) under its flow; returns the flow.
    pub fn add(&mut self, r: &FlowRecord) -> Flow {
        let client = client_of(r);
        let retry_key = client.as_ref().map(|c| (c.clone(), r.path.clone()));
        let joined = retry_key
            .as_ref()
            .and_then(|k| self.retries.remove(k))
            .or_else(|| {
                sent(r)
                    .iter()
                    .filter_map(|v| self.artifacts.get(&self.hasher.hash_one(v)).copied())
                    .max()
            })
            .and_then(|id| self.position(id));
        let (rank, kind) = kind_of(r);
        let index = match joined {
            Some(i) => i,
            None => {
                self.flows.push_back(Flow {
                    id: r.id,
                    client_id: None,
                    kind: kind.clone(),
                    started_at: r.at,
                    exchanges: Vec::new(),
                    errors: 0,
                    rank,
                });
                self.flows.len() - 1
            }
        };
        let flow = &mut self.flows[index];
        flow.exchanges.push(r.id);
        if r.status >= 400 {
            flow.errors += 1;
        }
        if flow.client_id.is_none() {
            flow.client_id = client;
        }
        if rank > flow.rank {
            flow.kind = kind;
            flow.rank = rank;
        }
        let id = flow.id;
        if is_nonce_challenge(r)
            && let Some(k) = retry_key
        {
            self.retries.insert(k, id);
        }
        for v in handed_out(r) {
            let h = self.hasher.hash_one(&v);
            self.artifact_order.push_back((r.id, h));
            self.artifacts.insert(h, id);
        }
        self.flows[index].clone()
    }

    /// Forgets what came before the exchange `oldest` (the log dropped it).
    pub fn forget_before(&mut self, oldest: u64) {
        self.oldest = oldest;
        while self
            .flows
            .front()
            .is_some_and(|f| f.exchanges.last().is_none_or(|last| *last < oldest))
        {
            self.flows.pop_front();
        }
        // A flow that goes on for ever (a refresh chain) keeps the front: the flows behind it
        // that ended, and its own forgotten exchanges, are dropped now and then instead.
        let limit = crate::flow_log::CAPACITY;
        if self.flows.len() > 2 * limit
            || self
                .flows
                .front()
                .is_some_and(|f| f.exchanges.len() > limit)
        {
            self.flows.retain_mut(|f| {
                f.exchanges.retain(|x| *x >= oldest);
                !f.exchanges.is_empty()
            });
        }
        while self
            .artifact_order
            .front()
            .is_some_and(|(id, _)| *id < oldest)
        {
            if let Some((_, v)) = self.artifact_order.pop_front() {
                self.artifacts.remove(&v);
            }
        }
        if self.retries.len() > 10_000 {
            let first = self.flows.front().map_or(u64::MAX, |f| f.id);
            self.retries.retain(|_, flow| *flow >= first);
        }
    }

    /// The newest flows first, of `client` if given (without the anonymous discovery and
    /// key fetches unless `with_discovery`): the page from `offset` (at most `limit`) and how
    /// many there are.
    pub fn page(
        &self,
        client: Option<&str>,
        with_discovery: bool,
        limit: usize,
        offset: usize,
    ) -> (Vec<Flow>, usize) {
        let matches = |f: &&Flow| {
            self.kept(f)
                && client.is_none_or(|c| f.client_id.as_deref() == Some(c))
                && (with_discovery || f.kind != DISCOVERY_KIND || f.client_id.is_some())
        };
        let total = self.flows.iter().filter(matches).count();
        let page = self
            .flows
            .iter()
            .rev()
            .filter(matches)
            .skip(offset)
            .take(limit)
            .cloned()
            .collect();
        (page, total)
    }

    /// The flow with id `id`.
    pub fn get(&self, id: u64) -> Option<Flow> {
        self.position(id)
            .map(|i| &self.flows[i])
            .filter(|f| self.kept(f))
            .cloned()
    }

    /// Whether some exchange of `f` is still in the log.
    fn kept(&self, f: &Flow) -> bool {
        f.exchanges.last().is_some_and(|last| *last >= self.oldest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, method: &str, path: &str, query: &str, body: &str) -> FlowRecord {
        FlowRecord {
            id,
            at: 1_800_000_000 + id as i64,
            method: method.into(),
            path: path.into(),
            query: query.into(),
            request_headers: vec![],
            request_body: body.into(),
            status: 200,
            location: None,
            response_body: String::new(),
            hidden_values: vec![],
        }
    }

    #[test]
    fn a_login_is_one_flow_and_a_second_client_another() {
        let mut index = FlowIndex::default();
        let uri = "urn:ietf:params:oauth:request_uri:ABCDEFGHIJKLMNOP";
        let code = "C0DE0123456789ABCDEF";
        let mut par = record(
            1,
            "POST",
            "/connect/par",
            "",
            "client_id=app&response_type=code",
        );
        par.status = 201;
        par.response_body = format!(r#"{{"request_uri":"{uri}","expires_in":60}}"#);
        let mut authorize = record(
            2,
            "GET",
            "/connect/authorize",
            &format!("client_id=app&request_uri={uri}"),
            "",
        );
        authorize.status = 302;
        authorize.location = Some("/connect/idp/start?login=LOGIN0123456789AB".into());
        let mut start = record(
            3,
            "GET",
            "/connect/idp/start",
            "login=LOGIN0123456789AB",
            "",
        );
        start.location = Some(format!(
            "http://localhost:7890/callback?code={code}&state=s"
        ));
        let mut nonce = record(
            4,
            "POST",
            "/connect/token",
            "",
            &format!("client_id=app&grant_type=authorization_code&code={code}"),
        );
        nonce.status = 400;
        nonce.response_body = r#"{"error":"use_dpop_nonce"}"#.into();
        let mut token = record(
            5,
            "POST",
            "/connect/token",
            "",
            &format!("client_id=app&grant_type=authorization_code&code={code}"),
        );
        token.response_body =
            r#"{"access_token":"AT0123456789ABCDEFGH","refresh_token":"RT0123456789ABCDEFGH"}"#
                .into();
        let other = record(
            6,
            "POST",
            "/connect/token",
            "",
            "client_id=machine&grant_type=client_credentials",
        );
        let mut refresh = record(
            7,
            "POST",
            "/connect/token",
            "",
            "client_id=app&grant_type=refresh_token&refresh_token=RT0123456789ABCDEFGH",
        );
        refresh.response_body = "{}".into();
        let mut userinfo = record(8, "GET", "/connect/userinfo", "", "");
        userinfo.request_headers =
            vec![("authorization".into(), "DPoP AT0123456789ABCDEFGH".into())];
        for r in [
            &par, &authorize, &start, &nonce, &token, &other, &refresh, &userinfo,
        ] {
            index.add(r);
        }
        let (flows, total) = index.page(None, true, 10, 0);
        assert_eq!(total, 2);
        let login = flows.iter().find(|f| f.id == 1).unwrap();
        assert_eq!(login.exchanges, vec![1, 2, 3, 4, 5, 7, 8]);
        assert_eq!(login.kind, "login");
        assert_eq!(login.client_id.as_deref(), Some("app"));
        assert_eq!(login.errors, 1);
        let machine = flows.iter().find(|f| f.id == 6).unwrap();
        assert_eq!(machine.kind, "system token");
        assert_eq!(flows[0].id, 6, "newest first");
        assert_eq!(index.page(Some("machine"), true, 10, 0).1, 1);
        // Forgetting drops whole flows that ended before the oldest kept exchange.
        index.forget_before(7);
        assert_eq!(index.page(None, true, 10, 0).1, 1);
        assert!(index.get(6).is_none());
        assert!(index.get(1).is_some());
    }

    #[test]
    fn a_refresh_chain_that_never_ends_does_not_keep_what_the_log_forgot() {
        let mut index = FlowIndex::default();
        let cap = crate::flow_log::CAPACITY as u64;
        let rt = |n: u64| format!("RT{n:018}");
        let mut id = 0;
        let mut next = |body: String, response: String| {
            id += 1;
            let mut r = record(id, "POST", "/connect/token", "", &body);
            r.response_body = response;
            r
        };
        let first = next(
            "client_id=app&grant_type=authorization_code&code=C0DE0123456789ABCDEF".into(),
            format!(r#"{{"refresh_token":"{}"}}"#, rt(0)),
        );
        index.add(&first);
        // The chain goes on while machines get tokens beside it, three times the log's size.
        for n in 0..(3 * cap / 2) {
            let refresh = next(
                format!(
                    "client_id=app&grant_type=refresh_token&refresh_token={}",
                    rt(n)
                ),
                format!(r#"{{"refresh_token":"{}"}}"#, rt(n + 1)),
            );
            index.add(&refresh);
            let machine = next(
                "client_id=machine&grant_type=client_credentials".into(),
                "{}".into(),
            );
            let oldest = machine.id.saturating_sub(cap - 1);
            index.add(&machine);
            index.forget_before(oldest);
        }
        let chain = index.get(1).unwrap();
        assert!(
            chain.exchanges.len() as u64 <= cap + 1,
            "{} exchanges kept in the chain",
            chain.exchanges.len()
        );
        let (_, total) = index.page(None, true, 1, 0);
        assert!(total as u64 <= 2 * cap + 1, "{total} flows kept");
    }

    #[test]
    fn short_values_do_not_join_runs() {
        let mut index = FlowIndex::default();
        let mut a = record(
            1,
            "POST",
            "/connect/token",
            "",
            "client_id=a&grant_type=client_credentials",
        );
        a.response_body = r#"{"code":"short"}"#.into();
        let b = record(
            2,
            "POST",
            "/connect/token",
            "",
            "client_id=b&grant_type=client_credentials&x=short",
        );
        index.add(&a);
        index.add(&b);
        assert_eq!(index.page(None, true, 10, 0).1, 2);
    }
}
