//! The browser session at the STS (OIDC Core §3.1.2.3 "authenticate the end-user or use an
//! existing session"; reference §4.9): after one login, other clients in the same browser get
//! a code without a login page, until the session ends (`/connect/endsession`) or is too old
//! for a client's `max_age`, or too weak for its `acr_values`.
//!
//! Sessions live in memory; a restart logs everyone out, as a cleared cookie would.

use axum::http::{HeaderMap, HeaderValue, header};
use protocol::jose::RngError;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ephemeral::{Ephemeral, Full};
use crate::identity::User;

pub const COOKIE: &str = "helseid_testbed_session";
/// A working day, the session length HelseID's ADR describes for practitioners.
pub const LIFETIME_SECS: i64 = 10 * 3600;
const CAPACITY: usize = 100_000;

/// One browser's login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The `sid` claim.
    pub sid: String,
    pub user: User,
    /// Clients that got tokens in this session (for front-channel logout).
    pub clients: Vec<String>,
    pub expires_at: i64,
}

/// Why no session could be started.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StartError {
    #[error("too many sessions")]
    Full,
    /// The session id is the cookie a browser presents, a bearer secret; without the CSPRNG
    /// there is none.
    #[error(transparent)]
    Random(#[from] RngError),
}

impl From<Full> for StartError {
    fn from(_: Full) -> StartError {
        StartError::Full
    }
}

#[derive(Debug)]
pub struct Sessions {
    store: Ephemeral<Session>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            store: Ephemeral::new(CAPACITY),
        }
    }
}

impl Sessions {
    /// The live session the request's cookie names.
    pub fn from_request(&self, headers: &HeaderMap, now: i64) -> Option<Session> {
        let sid = cookie(headers, COOKIE)?;
        self.store.get(&sid, now)
    }

    /// Starts a session for `user`; returns it with the cookie to set.
    pub fn start(&self, user: User, now: i64) -> Result<(Session, HeaderValue), StartError> {
        let session = Session {
            sid: protocol::jose::random_hex::<16>()?,
            user,
            clients: Vec::new(),
            expires_at: now + LIFETIME_SECS,
        };
        self.store.insert(
            session.sid.clone(),
            session.clone(),
            now,
            session.expires_at,
        )?;
        let cookie = HeaderValue::from_str(&format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={LIFETIME_SECS}",
            session.sid
        ))
        .map_err(|_| Full)?;
        Ok((session, cookie))
    }

    /// Records that `client_id` got tokens in the session.
    pub fn add_client(&self, sid: &str, client_id: &str, now: i64) {
        if let Some(mut s) = self.store.get(sid, now)
            && !s.clients.iter().any(|c| c == client_id)
        {
            s.clients.push(client_id.to_owned());
            let exp = s.expires_at;
            let _ = self.store.insert(sid.to_owned(), s, now, exp);
        }
    }

    /// Ends a session; returns it if it was live.
    pub fn end(&self, sid: &str) -> Option<Session> {
        self.store.take(sid).map(|(_, s)| s)
    }

    pub fn get(&self, sid: &str, now: i64) -> Option<Session> {
        self.store.get(sid, now)
    }
}

/// A `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("helseid_testbed_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
