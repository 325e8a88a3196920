//! The STS's state in one embedded SQLite database (`<data-dir>/testbed.sqlite`): signing
//! keys, clients, APIs, organisations, delegations, revoked tokens and the audit log.
//!
//! WAL mode with `synchronous=NORMAL`: a transaction is in the OS's hands when its commit
//! returns, so killing the process (even with -9) right after a response loses nothing that
//! was acknowledged; only a power cut could. Writers from the CLI (`keys rotate`,
//! `client create`) and the running server share the file; the server notices their commits
//! through `PRAGMA data_version`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Params, Row, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

pub const DB_FILE: &str = "testbed.sqlite";
/// 2: `signing_keys.ring` (a conformance session's own keys beside the STS's) and the
/// `conformance_sessions` tables.
const SCHEMA_VERSION: i64 = 2;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored record {what} is unreadable: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("the data directory {path} cannot be used: {detail}")]
    DataDir { path: String, detail: String },
    #[error(
        "the database was written by a newer testbed (schema {found}, this one knows {SCHEMA_VERSION})"
    )]
    Schema { found: i64 },
}

/// How a client relates to organisations (reference §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Tenancy {
    /// Owned by one organisation; may name children from its whitelist.
    SingleTenant {
        orgnr: String,
        #[serde(default)]
        child_orgnrs: Vec<String>,
    },
    /// Owned by a supplier; acts for organisations that delegated to it.
    MultiTenant { supplier_orgnr: String },
}

impl Tenancy {
    pub fn as_str(&self) -> &'static str {
        match self {
            Tenancy::SingleTenant { .. } => "single-tenant",
            Tenancy::MultiTenant { .. } => "multi-tenant",
        }
    }

    /// The organisation that owns the client.
    pub fn owner(&self) -> &str {
        match self {
            Tenancy::SingleTenant { orgnr, .. } => orgnr,
            Tenancy::MultiTenant { supplier_orgnr } => supplier_orgnr,
        }
    }
}

/// A key a client authenticates with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientKey {
    /// The public JWK.
    pub jwk: Value,
    pub created_at: i64,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// Whether a client must use DPoP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenBinding {
    /// Every token request carries a DPoP proof (HelseID's profile for new clients).
    #[default]
    Dpop,
    /// An old client that may still receive plain Bearer tokens.
    LegacyBearer,
}

/// A registered client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub tenancy: Tenancy,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where the client is told, in a hidden frame, that the user logged out (OpenID
    /// Front-Channel Logout 1.0 §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub audience_specific_claims: Vec<AudienceClaim>,
    pub keys: Vec<ClientKey>,
    #[serde(default)]
    pub binding: TokenBinding,
    /// False for a Selvbetjening draft not yet confirmed.
    #[serde(default = "yes")]
    pub confirmed: bool,
    pub created_at: i64,
    /// How it came to exist: `seed`, `selvbetjening`, `cli`, `config`.
    #[serde(default)]
    pub origin: String,
    /// Where the Selvbetjening confirm page sends the user when the draft named
    /// `postClientConfirmationRedirectUri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_redirect_uri: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceClaim {
    pub claim_type: String,
    pub value: String,
}

/// An API (resource) clients get tokens for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Api {
    /// The `aud` of its tokens, e.g. `nhn:testbed-api`.
    pub audience: String,
    pub name: String,
    /// Full scope names, `<audience>/<name>`.
    pub scopes: Vec<String>,
    /// Whether a delegating organisation must have signed this API's terms before a
    /// multi-tenant client acting for it gets these scopes.
    #[serde(default)]
    pub requires_terms: bool,
    /// Clients that act as this API and may exchange tokens issued for it (RFC 8693; the
    /// "configuration owner" of HelseID's token-exchange errors).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_exchange_clients: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub orgnr: String,
    pub name: String,
    pub kind: String,
    pub parent: Option<String>,
}

/// An Altinn-style delegation: `delegator` lets `supplier`'s multi-tenant clients act for it,
/// and has signed the terms of the APIs in `signed_terms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    pub delegator: String,
    pub supplier: String,
    pub signed_terms: Vec<String>,
}

/// A stored STS signing key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub pkcs8: Vec<u8>,
    pub created_at: i64,
    /// When it stopped signing (a newer key took over).
    pub replaced_at: Option<i64>,
}

/// One line of the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// Its number (rises with time; 0 where not read).
    #[serde(default)]
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub client_id: Option<String>,
    pub detail: Value,
}

/// Audit events in one time bucket: (bucket start, event, client_id, count).
pub type AuditCount = (i64, String, Option<String>, i64);
/// Audit events by a detail field: (event, client_id, the field's value, count).
pub type AuditBreakdown = (String, Option<String>, Option<String>, i64);

/// Which audit rows a query reads; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only these events.
    pub events: Vec<String>,
    pub client_id: Option<String>,
    /// Text found in the event, the client id or the detail (case-insensitive for ASCII).
    pub text: Option<String>,
    /// From this time on (Unix seconds).
    pub since: Option<i64>,
}

#[derive(Debug, Clone)]
enum SqlArg {
    Int(i64),
    Text(String),
}

impl rusqlite::ToSql for SqlArg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            SqlArg::Int(i) => i.to_sql(),
            SqlArg::Text(t) => t.to_sql(),
        }
    }
}

impl AuditFilter {
    /// The WHERE clause (with numbered parameters) and its values.
    fn clause(&self) -> (String, Vec<SqlArg>) {
        let mut parts = vec!["1 = 1".to_owned()];
        let mut args = Vec::new();
        let next = |arg: SqlArg, args: &mut Vec<SqlArg>| {
            args.push(arg);
            format!("?{}", args.len())
        };
        if !self.events.is_empty() {
            let marks: Vec<String> = self
                .events
                .iter()
                .map(|e| next(SqlArg::Text(e.clone()), &mut args))
                .collect();
            parts.push(format!("event IN ({})", marks.join(", ")));
        }
        if let Some(c) = &self.client_id {
            let m = next(SqlArg::Text(c.clone()), &mut args);
            parts.push(format!("client_id = {m}"));
        }
        if let Some(t) = self.text.as_ref().filter(|t| !t.is_empty()) {
            // LIKE with the wildcards of the text escaped.
            let pattern = format!(
                "%{}%",
                t.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let m = next(SqlArg::Text(pattern), &mut args);
            parts.push(format!(
                "(event LIKE {m} ESCAPE '\\' OR client_id LIKE {m} ESCAPE '\\' OR detail LIKE {m} ESCAPE '\\')"
            ));
        }
        if let Some(since) = self.since {
            let m = next(SqlArg::Int(since), &mut args);
            parts.push(format!("at >= {m}"));
        }
        (parts.join(" AND "), args)
    }
}

/// A conformance session as stored: the conformance crate writes and reads `doc` (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub client_id: String,
    pub created_at: i64,
    pub doc: String,
}

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        client_id: r.get(1)?,
        created_at: r.get(2)?,
        doc: r.get(3)?,
    })
}

/// How much of the audit log is kept: rows beyond either bound go, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditRetention {
    /// Rows kept at most.
    pub max_rows: u64,
    /// Seconds a row is kept at most.
    pub max_age: i64,
}

impl Default for AuditRetention {
    /// 500,000 rows (some 150 MB) and 30 days.
    fn default() -> AuditRetention {
        AuditRetention {
            max_rows: 500_000,
            max_age: 30 * 24 * 3600,
        }
    }
}

/// Audit rows written between two prunings of the log and of expired tokens.
const PRUNE_EVERY: u64 = 1000;
/// How long after expiry a refresh token or a revocation is kept (so a late use still reads
/// "expired" rather than "unknown").
const EXPIRED_KEPT: i64 = 7 * 24 * 3600;

#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    retention: Mutex<AuditRetention>,
    audit_writes: std::sync::atomic::AtomicU64,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir`. A new data directory is made
    /// readable by its owner only (0700), and the database file (which holds the STS's
    /// private signing keys and the API key) 0600; SQLite gives its WAL and SHM files the
    /// database's mode.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let fail = |e: std::io::Error| StoreError::DataDir {
            path: data_dir.display().to_string(),
            detail: e.to_string(),
        };
        if data_dir.exists() && !data_dir.is_dir() {
            return Err(StoreError::DataDir {
                path: data_dir.display().to_string(),
                detail: "it is a file, not a directory".into(),
            });
        }
        if !data_dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            builder.create(data_dir).map_err(fail)?;
        }
        let db = data_dir.join(DB_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
            // Created 0600 before SQLite opens it, so it never exists readable by others;
            // an older database (and its WAL and SHM files) made 0644 is tightened.
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&db)
                .map_err(fail)?;
            for suffix in ["", "-wal", "-shm"] {
                let path = data_dir.join(format!("{DB_FILE}{suffix}"));
                if let Ok(meta) = std::fs::metadata(&path)
                    && meta.permissions().mode() & 0o077 != 0
                {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .map_err(fail)?;
                }
            }
        }
        let conn = Connection::open(db)?;
        Store::init(conn)
    }

    /// Sets how much of the audit log is kept (applied as rows are written).
    pub fn set_audit_retention(&self, retention: AuditRetention) {
        *self.retention.lock().unwrap_or_else(|p| p.into_inner()) = retention;
    }

    /// Drops audit rows beyond the retention (by count and by age at `now`), and refresh
    /// tokens and revocations a week past their expiry; returns the audit rows dropped.
    pub fn prune(&self, now: i64) -> Result<usize, StoreError> {
        let retention = *self.retention.lock().unwrap_or_else(|p| p.into_inner());
        let conn = self.conn();
        let mut dropped = conn.execute_cached(
            "DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?1",
            params![retention.max_rows.min(i64::MAX as u64) as i64],
        )?;
        dropped += conn.execute_cached(
            "DELETE FROM audit WHERE at < ?1",
            params![now.saturating_sub(retention.max_age)],
        )?;
        let horizon = now.saturating_sub(EXPIRED_KEPT);
        conn.execute_cached(
            "DELETE FROM refresh_tokens WHERE expires_at < ?1",
            params![horizon],
        )?;
        conn.execute_cached(
            "DELETE FROM revoked_tokens WHERE exp < ?1",
            params![horizon],
        )?;
        Ok(dropped)
    }

    /// A database in memory, for tests.
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Every statement the store runs stays prepared (the token endpoint runs a handful
        // per request; parsing them anew cost more than running them).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS signing_keys (
                kid TEXT PRIMARY KEY, alg TEXT NOT NULL, pkcs8 BLOB NOT NULL,
                created_at INTEGER NOT NULL, replaced_at INTEGER);
             CREATE TABLE IF NOT EXISTS clients (client_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS apis (audience TEXT PRIMARY KEY, doc TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS organisations (
                orgnr TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, parent TEXT);
             CREATE TABLE IF NOT EXISTS delegations (
                delegator TEXT NOT NULL, supplier TEXT NOT NULL, signed_terms TEXT NOT NULL,
                PRIMARY KEY (delegator, supplier));
             CREATE TABLE IF NOT EXISTS revoked_tokens (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS refresh_tokens (
                handle TEXT PRIMARY KEY, doc TEXT NOT NULL, expires_at INTEGER NOT NULL,
                consumed_at INTEGER);
             CREATE TABLE IF NOT EXISTS users (subject TEXT PRIMARY KEY, doc TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS audit (
                id INTEGER PRIMARY KEY, at INTEGER NOT NULL, event TEXT NOT NULL,
                client_id TEXT, detail TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS conformance_sessions (
                id TEXT PRIMARY KEY, client_id TEXT NOT NULL, created_at INTEGER NOT NULL,
                doc TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS conformance_session_records (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
                doc TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS conformance_session_records_by_session
                ON conformance_session_records (session_id, seq);
             CREATE TABLE IF NOT EXISTS reservations (
                pid TEXT PRIMARY KEY, team TEXT NOT NULL, at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS pending_clients (
                client_id TEXT PRIMARY KEY, due_at INTEGER NOT NULL, doc TEXT NOT NULL);",
        )?;
        // Schema 1 had one key ring; its keys are the STS's own (ring "").
        let has_ring: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('signing_keys') WHERE name = 'ring'")?
            .exists([])?;
        if !has_ring {
            conn.execute_batch(
                "ALTER TABLE signing_keys ADD COLUMN ring TEXT NOT NULL DEFAULT ''",
            )?;
        }
        let store = Store {
            conn: Mutex::new(conn),
            retention: Mutex::new(AuditRetention::default()),
            audit_writes: std::sync::atomic::AtomicU64::new(0),
        };
        match store.meta("schema_version")? {
            None => store.set_meta("schema_version", &SCHEMA_VERSION.to_string())?,
            Some(v) => {
                let found = v.parse().unwrap_or(i64::MAX);
                if found > SCHEMA_VERSION {
                    return Err(StoreError::Schema { found });
                }
            }
        }
        Ok(store)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (every write is a
        // transaction), so the poisoned guard is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes whenever another connection (the CLI) commits.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row_cached("PRAGMA data_version", [], |r| r.get(0))?)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row_cached("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn().execute_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    // --- signing keys -------------------------------------------------------------------

    /// The keys of `ring` (`""` is the STS's own; a conformance session has its own ring so
    /// its key faults never touch another issuer's tokens).
    pub fn signing_keys(&self, ring: &str) -> Result<Vec<StoredKey>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT kid, alg, pkcs8, created_at, replaced_at FROM signing_keys WHERE ring = ?1 ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map([ring], |r| {
            Ok(StoredKey {
                kid: r.get(0)?,
                alg: r.get(1)?,
                pkcs8: r.get(2)?,
                created_at: r.get(3)?,
                replaced_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds `key` as the signing key of `ring`; its current one is marked replaced at `now`.
    pub fn add_signing_key(&self, ring: &str, key: &StoredKey, now: i64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute_cached(
            "UPDATE signing_keys SET replaced_at = ?1 WHERE replaced_at IS NULL AND ring = ?2",
            params![now, ring],
        )?;
        tx.execute_cached(
            "INSERT INTO signing_keys (kid, alg, pkcs8, created_at, replaced_at, ring) VALUES (?1, ?2, ?3, ?4, NULL, ?5)",
            params![key.kid, key.alg, key.pkcs8, key.created_at, ring],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes the keys of `ring` (a conformance session that is gone).
    pub fn delete_signing_keys(&self, ring: &str) -> Result<(), StoreError> {
        if ring.is_empty() {
            return Ok(());
        }
        self.conn()
            .execute_cached("DELETE FROM signing_keys WHERE ring = ?1", [ring])?;
        Ok(())
    }

    /// Sets when the key `kid` was replaced (the fault that needs a key retired at once).
    pub fn set_key_replaced_at(&self, kid: &str, at: i64) -> Result<(), StoreError> {
        self.conn().execute_cached(
            "UPDATE signing_keys SET replaced_at = ?1 WHERE kid = ?2",
            params![at, kid],
        )?;
        Ok(())
    }

    // --- clients ------------------------------------------------------------------------

    pub fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let doc: Option<String> = self
            .conn()
            .query_row_cached(
                "SELECT doc FROM clients WHERE client_id = ?1",
                [client_id],
                |r| r.get(0),
            )
            .optional()?;
        doc.map(|d| parse_doc(&d, client_id)).transpose()
    }

    pub fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.docs("SELECT client_id, doc FROM clients ORDER BY client_id")
    }

    /// A page of clients by client id, and how many there are in all.
    pub fn clients_page(
        &self,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<Client>, usize), StoreError> {
        self.docs_page("clients", "client_id", limit, offset)
    }

    /// Inserts or replaces a client.
    pub fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let doc = to_doc(client)?;
        self.conn().execute_cached(
            "INSERT INTO clients (client_id, doc) VALUES (?1, ?2)
             ON CONFLICT(client_id) DO UPDATE SET doc = excluded.doc",
            params![client.client_id, doc],
        )?;
        Ok(())
    }

    /// Stores `client` as a change that takes effect at `due_at` (Selvbetjening's propagation
    /// delay): [`Store::client`] keeps answering the current version until
    /// [`Store::apply_due_changes`] runs at or after that time. A later change replaces an
    /// earlier one still waiting, keeping the earlier due time.
    pub fn put_client_pending(&self, client: &Client, due_at: i64) -> Result<(), StoreError> {
        let doc = to_doc(client)?;
        self.conn().execute_cached(
            "INSERT INTO pending_clients (client_id, due_at, doc) VALUES (?1, ?2, ?3)
             ON CONFLICT(client_id) DO UPDATE SET doc = excluded.doc",
            params![client.client_id, due_at, doc],
        )?;
        Ok(())
    }

    /// A change of `client_id` still waiting, with when it takes effect.
    pub fn pending_client(&self, client_id: &str) -> Result<Option<(i64, Client)>, StoreError> {
        let row: Option<(i64, String)> = self
            .conn()
            .query_row_cached(
                "SELECT due_at, doc FROM pending_clients WHERE client_id = ?1",
                [client_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(due, doc)| parse_doc(&doc, client_id).map(|c| (due, c)))
            .transpose()
    }

    /// Makes every waiting change due at `now` the client's current version, in one
    /// transaction; returns how many.
    pub fn apply_due_changes(&self, now: i64) -> Result<usize, StoreError> {
        let mut conn = self.conn();
        let due: i64 = conn.query_row_cached(
            "SELECT COUNT(*) FROM pending_clients WHERE due_at <= ?1",
            [now],
            |r| r.get(0),
        )?;
        if due == 0 {
            return Ok(0);
        }
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO clients (client_id, doc)
             SELECT client_id, doc FROM pending_clients WHERE due_at <= ?1 ORDER BY client_id
             ON CONFLICT(client_id) DO UPDATE SET doc = excluded.doc",
            [now],
        )?;
        let n = tx.execute("DELETE FROM pending_clients WHERE due_at <= ?1", [now])?;
        tx.commit()?;
        Ok(n)
    }

    /// Inserts a client; false if the id is taken.
    pub fn insert_client(&self, client: &Client) -> Result<bool, StoreError> {
        let doc = to_doc(client)?;
        let n = self.conn().execute_cached(
            "INSERT OR IGNORE INTO clients (client_id, doc) VALUES (?1, ?2)",
            params![client.client_id, doc],
        )?;
        Ok(n == 1)
    }

    // --- APIs, organisations, delegations ------------------------------------------------

    pub fn apis(&self) -> Result<Vec<Api>, StoreError> {
        self.docs("SELECT audience, doc FROM apis ORDER BY audience")
    }

    /// A page of APIs by audience, and how many there are.
    pub fn apis_page(&self, limit: usize, offset: usize) -> Result<(Vec<Api>, usize), StoreError> {
        self.docs_page("apis", "audience", limit, offset)
    }

    /// The organisation numbers whose parent is `orgnr`.
    pub fn children_of(&self, orgnr: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT orgnr FROM organisations WHERE parent = ?1 ORDER BY orgnr")?;
        let rows = stmt.query_map([orgnr], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The delegations `delegator` has made.
    pub fn delegations_of(&self, delegator: &str) -> Result<Vec<Delegation>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT supplier, signed_terms FROM delegations WHERE delegator = ?1 ORDER BY supplier",
        )?;
        let rows = stmt.query_map([delegator], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (supplier, terms) = row?;
            out.push(Delegation {
                delegator: delegator.to_owned(),
                supplier,
                signed_terms: parse_doc(&terms, "delegation terms")?,
            });
        }
        Ok(out)
    }

    pub fn api(&self, audience: &str) -> Result<Option<Api>, StoreError> {
        let doc: Option<String> = self
            .conn()
            .query_row_cached(
                "SELECT doc FROM apis WHERE audience = ?1",
                [audience],
                |r| r.get(0),
            )
            .optional()?;
        doc.map(|d| parse_doc(&d, audience)).transpose()
    }

    pub fn put_api(&self, api: &Api) -> Result<(), StoreError> {
        let doc = to_doc(api)?;
        self.conn().execute_cached(
            "INSERT INTO apis (audience, doc) VALUES (?1, ?2)
             ON CONFLICT(audience) DO UPDATE SET doc = excluded.doc",
            params![api.audience, doc],
        )?;
        Ok(())
    }

    pub fn put_organisations(&self, orgs: &[Organisation]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for o in orgs {
            tx.execute_cached(
                "INSERT OR REPLACE INTO organisations (orgnr, name, kind, parent) VALUES (?1, ?2, ?3, ?4)",
                params![o.orgnr, o.name, o.kind, o.parent],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT orgnr, name, kind, parent FROM organisations ORDER BY orgnr")?;
        let rows = stmt.query_map([], |r| {
            Ok(Organisation {
                orgnr: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                parent: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A page of organisations by number, and how many there are in all.
    pub fn organisations_page(
        &self,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<Organisation>, usize), StoreError> {
        let conn = self.conn();
        let total: i64 =
            conn.query_row_cached("SELECT COUNT(*) FROM organisations", [], |r| r.get(0))?;
        let mut stmt = conn.prepare_cached(
            "SELECT orgnr, name, kind, parent FROM organisations ORDER BY orgnr LIMIT ?1 OFFSET ?2",
        )?;
        let rows = stmt.query_map(params![limit as i64, offset as i64], |r| {
            Ok(Organisation {
                orgnr: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                parent: r.get(3)?,
            })
        })?;
        Ok((rows.collect::<Result<_, _>>()?, total as usize))
    }

    pub fn organisation(&self, orgnr: &str) -> Result<Option<Organisation>, StoreError> {
        Ok(self
            .conn()
            .query_row_cached(
                "SELECT orgnr, name, kind, parent FROM organisations WHERE orgnr = ?1",
                [orgnr],
                |r| {
                    Ok(Organisation {
                        orgnr: r.get(0)?,
                        name: r.get(1)?,
                        kind: r.get(2)?,
                        parent: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn put_delegation(&self, d: &Delegation) -> Result<(), StoreError> {
        let terms = to_doc(&d.signed_terms)?;
        self.conn().execute_cached(
            "INSERT OR REPLACE INTO delegations (delegator, supplier, signed_terms) VALUES (?1, ?2, ?3)",
            params![d.delegator, d.supplier, terms],
        )?;
        Ok(())
    }

    pub fn delegation(
        &self,
        delegator: &str,
        supplier: &str,
    ) -> Result<Option<Delegation>, StoreError> {
        let terms: Option<String> = self
            .conn()
            .query_row_cached(
                "SELECT signed_terms FROM delegations WHERE delegator = ?1 AND supplier = ?2",
                [delegator, supplier],
                |r| r.get(0),
            )
            .optional()?;
        terms
            .map(|t| {
                Ok(Delegation {
                    delegator: delegator.into(),
                    supplier: supplier.into(),
                    signed_terms: parse_doc(&t, "delegation terms")?,
                })
            })
            .transpose()
    }

    pub fn delegations(&self) -> Result<Vec<Delegation>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT delegator, supplier, signed_terms FROM delegations ORDER BY delegator, supplier",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (delegator, supplier, terms) = row?;
            out.push(Delegation {
                delegator,
                supplier,
                signed_terms: parse_doc(&terms, "delegation terms")?,
            });
        }
        Ok(out)
    }

    // --- tokens and audit ------------------------------------------------------------------

    pub fn revoke(&self, jti: &str, exp: i64) -> Result<(), StoreError> {
        self.conn().execute_cached(
            "INSERT OR IGNORE INTO revoked_tokens (jti, exp) VALUES (?1, ?2)",
            params![jti, exp],
        )?;
        Ok(())
    }

    pub fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_row_cached("SELECT 1 FROM revoked_tokens WHERE jti = ?1", [jti], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// Stores a refresh token's grant under the hash of the token.
    pub fn put_refresh_token(
        &self,
        handle: &str,
        doc: &Value,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute_cached(
            "INSERT INTO refresh_tokens (handle, doc, expires_at, consumed_at) VALUES (?1, ?2, ?3, NULL)",
            params![handle, doc.to_string(), expires_at],
        )?;
        Ok(())
    }

    /// Marks a refresh token used and returns its grant, expiry and, if it had been used
    /// before, when. One transaction, so two concurrent uses cannot both succeed.
    pub fn consume_refresh_token(
        &self,
        handle: &str,
        now: i64,
    ) -> Result<Option<(Value, i64, Option<i64>)>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let row: Option<(String, i64, Option<i64>)> = tx
            .query_row_cached(
                "SELECT doc, expires_at, consumed_at FROM refresh_tokens WHERE handle = ?1",
                [handle],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((doc, expires_at, consumed_at)) = row else {
            return Ok(None);
        };
        if consumed_at.is_none() {
            tx.execute_cached(
                "UPDATE refresh_tokens SET consumed_at = ?1 WHERE handle = ?2",
                params![now, handle],
            )?;
        }
        tx.commit()?;
        Ok(Some((
            parse_doc(&doc, "refresh token")?,
            expires_at,
            consumed_at,
        )))
    }

    pub fn put_user(&self, subject: &str, doc: &Value) -> Result<(), StoreError> {
        self.conn().execute_cached(
            "INSERT INTO users (subject, doc) VALUES (?1, ?2) ON CONFLICT(subject) DO UPDATE SET doc = excluded.doc",
            params![subject, doc.to_string()],
        )?;
        Ok(())
    }

    pub fn user(&self, subject: &str) -> Result<Option<Value>, StoreError> {
        let doc: Option<String> = self
            .conn()
            .query_row_cached("SELECT doc FROM users WHERE subject = ?1", [subject], |r| {
                r.get(0)
            })
            .optional()?;
        doc.map(|d| parse_doc(&d, subject)).transpose()
    }

    pub fn audit(
        &self,
        at: i64,
        event: &str,
        client_id: Option<&str>,
        detail: &Value,
    ) -> Result<(), StoreError> {
        self.conn().execute_cached(
            "INSERT INTO audit (at, event, client_id, detail) VALUES (?1, ?2, ?3, ?4)",
            params![at, event, client_id, detail.to_string()],
        )?;
        let written = self
            .audit_writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if written % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune(at)?;
        }
        Ok(())
    }

    // --- SyntPop reservations (+65 persons owned by a team) ---------------------------

    /// Reserves `pid` for `team`; returns the owner when another team holds it (nothing
    /// changes then). Reserving again for the same team keeps the first time.
    pub fn reserve(&self, pid: &str, team: &str, at: i64) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        conn.execute_cached(
            "INSERT INTO reservations (pid, team, at) VALUES (?1, ?2, ?3) ON CONFLICT(pid) DO NOTHING",
            params![pid, team, at],
        )?;
        let owner: String =
            conn.query_row_cached("SELECT team FROM reservations WHERE pid = ?1", [pid], |r| {
                r.get(0)
            })?;
        Ok((owner != team).then_some(owner))
    }

    /// Releases `pid` if `team` holds it; returns whether it did.
    pub fn release(&self, pid: &str, team: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute_cached(
            "DELETE FROM reservations WHERE pid = ?1 AND team = ?2",
            params![pid, team],
        )?;
        Ok(n > 0)
    }

    /// Who holds `pid`, and since when.
    pub fn reservation(&self, pid: &str) -> Result<Option<(String, i64)>, StoreError> {
        Ok(self
            .conn()
            .query_row_cached(
                "SELECT team, at FROM reservations WHERE pid = ?1",
                [pid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    // --- conformance sessions (their meaning is the conformance crate's) ---------------

    /// Inserts or replaces a session's row.
    pub fn put_session(&self, row: &SessionRow) -> Result<(), StoreError> {
        self.conn().execute_cached(
            "INSERT INTO conformance_sessions (id, client_id, created_at, doc) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
            params![row.id, row.client_id, row.created_at, row.doc],
        )?;
        Ok(())
    }

    pub fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        Ok(self
            .conn()
            .query_row_cached(
                "SELECT id, client_id, created_at, doc FROM conformance_sessions WHERE id = ?1",
                [id],
                session_row,
            )
            .optional()?)
    }

    /// A page of sessions, newest first, and how many there are in all.
    pub fn sessions(
        &self,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<SessionRow>, usize), StoreError> {
        let conn = self.conn();
        let total: i64 =
            conn.query_row_cached("SELECT COUNT(*) FROM conformance_sessions", [], |r| {
                r.get(0)
            })?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, client_id, created_at, doc FROM conformance_sessions
             ORDER BY created_at DESC, rowid DESC LIMIT ?1 OFFSET ?2",
        )?;
        let rows = stmt
            .query_map(params![limit as i64, offset as i64], session_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, total as usize))
    }

    /// Deletes a session, its recording and its signing keys (ring `ring`).
    pub fn delete_session(&self, id: &str, ring: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute_cached(
            "DELETE FROM conformance_session_records WHERE session_id = ?1",
            [id],
        )?;
        tx.execute_cached("DELETE FROM conformance_sessions WHERE id = ?1", [id])?;
        if !ring.is_empty() {
            tx.execute_cached("DELETE FROM signing_keys WHERE ring = ?1", [ring])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Appends one record (JSON) to a session's recording; returns how many it now has.
    pub fn append_session_record(&self, id: &str, doc: &str) -> Result<usize, StoreError> {
        let conn = self.conn();
        conn.execute_cached(
            "INSERT INTO conformance_session_records (session_id, doc) VALUES (?1, ?2)",
            params![id, doc],
        )?;
        let n: i64 = conn.query_row_cached(
            "SELECT COUNT(*) FROM conformance_session_records WHERE session_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// How many records a session's recording has.
    pub fn session_record_count(&self, id: &str) -> Result<usize, StoreError> {
        let n: i64 = self.conn().query_row_cached(
            "SELECT COUNT(*) FROM conformance_session_records WHERE session_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// A session's recording, oldest first.
    pub fn session_records(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT doc FROM conformance_session_records WHERE session_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(rows)
    }

    pub fn clear_session_records(&self, id: &str) -> Result<(), StoreError> {
        self.conn().execute_cached(
            "DELETE FROM conformance_session_records WHERE session_id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// A page of the audit log, newest first, matching `filter`; and how many match.
    pub fn audit_page(
        &self,
        filter: &AuditFilter,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<AuditEntry>, usize), StoreError> {
        let conn = self.conn();
        let (clause, args) = filter.clause();
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM audit WHERE {clause}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let mut all = args.clone();
        all.push(SqlArg::Int(limit as i64));
        all.push(SqlArg::Int(offset as i64));
        let mut stmt = conn.prepare(&format!(
            "SELECT id, at, event, client_id, detail FROM audit WHERE {clause} ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
            args.len() + 1,
            args.len() + 2
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(all.iter()), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, at, event, client_id, detail) = row?;
            out.push(AuditEntry {
                id,
                at,
                event,
                client_id,
                detail: serde_json::from_str(&detail).unwrap_or(Value::String(detail)),
            });
        }
        Ok((out, total as usize))
    }

    /// Counts of the audit events matching `filter`, per time bucket of `bucket` seconds,
    /// event and client: `(bucket start, event, client_id, count)`, oldest first.
    pub fn audit_counts(
        &self,
        filter: &AuditFilter,
        bucket: i64,
    ) -> Result<Vec<AuditCount>, StoreError> {
        let conn = self.conn();
        let (clause, args) = filter.clause();
        let bucket = bucket.max(1);
        let mut stmt = conn.prepare(&format!(
            "SELECT (at / {bucket}) * {bucket} AS b, event, client_id, COUNT(*) FROM audit WHERE {clause}
             GROUP BY b, event, client_id ORDER BY b"
        ))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Counts of the audit rows matching `filter` by event, client and the detail's field
    /// `key` (`aud` of a token, `error` of an error): `(event, client_id, value, count)`,
    /// largest first.
    pub fn audit_breakdown(
        &self,
        filter: &AuditFilter,
        key: &str,
    ) -> Result<Vec<AuditBreakdown>, StoreError> {
        let conn = self.conn();
        let (clause, mut args) = filter.clause();
        args.push(SqlArg::Text(format!("$.{key}")));
        let path = args.len();
        let mut stmt = conn.prepare(&format!(
            "SELECT event, client_id, json_extract(detail, ?{path}) AS v, COUNT(*) AS n FROM audit
             WHERE {clause} GROUP BY event, client_id, v ORDER BY n DESC, event, client_id"
        ))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                let v: rusqlite::types::Value = r.get(2)?;
                let v = match v {
                    rusqlite::types::Value::Text(t) => Some(t),
                    rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                    rusqlite::types::Value::Real(f) => Some(f.to_string()),
                    _ => None,
                };
                Ok((r.get(0)?, r.get(1)?, v, r.get(3)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT at, event, client_id, detail FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at, event, client_id, detail) = row?;
            out.push(AuditEntry {
                id: 0,
                at,
                event,
                client_id,
                detail: serde_json::from_str(&detail).unwrap_or(Value::String(detail)),
            });
        }
        Ok(out)
    }

    /// A page of a `(key, doc)` table's documents by key, and how many rows it has. `table`
    /// and `key` are this module's own names, never input.
    fn docs_page<T: for<'de> Deserialize<'de>>(
        &self,
        table: &'static str,
        key: &'static str,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<T>, usize), StoreError> {
        let conn = self.conn();
        let total: i64 =
            conn.query_row_cached(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {key}, doc FROM {table} ORDER BY {key} LIMIT ?1 OFFSET ?2"
        ))?;
        let rows = stmt.query_map(params![limit as i64, offset as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, doc) = row?;
            out.push(parse_doc(&doc, &id)?);
        }
        Ok((out, total as usize))
    }

    fn docs<T: for<'de> Deserialize<'de>>(&self, sql: &str) -> Result<Vec<T>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, doc) = row?;
            out.push(parse_doc(&doc, &id)?);
        }
        Ok(out)
    }
}

fn to_doc<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
        what: "new record".into(),
        detail: e.to_string(),
    })
}

fn parse_doc<T: for<'de> Deserialize<'de>>(doc: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
        what: what.to_owned(),
        detail: e.to_string(),
    })
}

/// Statements kept prepared; more than the store has.
const STATEMENT_CACHE: usize = 64;

/// `query_row` and `execute` through the connection's statement cache.
trait Cached {
    fn query_row_cached<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>;
    fn execute_cached<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl Cached for Connection {
    fn query_row_cached<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    fn execute_cached<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store_with_events() -> Store {
        let store = Store::in_memory().unwrap();
        store
            .audit(100, "token_issued", Some("a"), &json!({"aud": "nhn:x"}))
            .unwrap();
        store
            .audit(130, "token_issued", Some("b"), &json!({"aud": "nhn:y"}))
            .unwrap();
        store
            .audit(
                170,
                "error",
                Some("a"),
                &json!({"error": "invalid_client", "note": "50%_off"}),
            )
            .unwrap();
        store
            .audit(200, "client_created", None, &json!({}))
            .unwrap();
        store
    }

    #[test]
    fn the_audit_log_pages_and_filters() {
        let store = store_with_events();
        let all = AuditFilter::default();
        let (rows, total) = store.audit_page(&all, 2, 0).unwrap();
        assert_eq!(total, 4);
        assert_eq!(rows[0].event, "client_created", "newest first");
        assert!(rows[0].id > rows[1].id);
        let (rows, _) = store.audit_page(&all, 2, 2).unwrap();
        assert_eq!(rows[1].at, 100);
        let by_client = AuditFilter {
            client_id: Some("a".into()),
            ..AuditFilter::default()
        };
        assert_eq!(store.audit_page(&by_client, 10, 0).unwrap().1, 2);
        let tokens = AuditFilter {
            events: vec!["token_issued".into()],
            since: Some(120),
            ..AuditFilter::default()
        };
        assert_eq!(store.audit_page(&tokens, 10, 0).unwrap().1, 1);
        // Text search, with LIKE's wildcards taken literally.
        let text = |t: &str| AuditFilter {
            text: Some(t.into()),
            ..AuditFilter::default()
        };
        assert_eq!(store.audit_page(&text("nhn:y"), 10, 0).unwrap().1, 1);
        assert_eq!(store.audit_page(&text("50%_off"), 10, 0).unwrap().1, 1);
        assert_eq!(store.audit_page(&text("%"), 10, 0).unwrap().1, 1);
        assert_eq!(store.audit_page(&text("5_%"), 10, 0).unwrap().1, 0);
    }

    #[test]
    fn the_audit_log_keeps_its_retention_and_stays_queryable() {
        let store = Store::in_memory().unwrap();
        store.set_audit_retention(AuditRetention {
            max_rows: 1500,
            max_age: 10_000,
        });
        for i in 0..5000_i64 {
            store
                .audit(i, "token_issued", Some("c"), &json!({"n": i}))
                .unwrap();
        }
        let all = AuditFilter::default();
        let (rows, total) = store.audit_page(&all, 1, 0).unwrap();
        // Pruned every 1,000 rows: never more than the bound plus one batch.
        assert!((1500..=2500).contains(&total), "{total} rows kept");
        assert_eq!(rows[0].at, 4999, "the newest stay");
        // By age: rows older than max_age at the time of the next pruning go.
        store.set_audit_retention(AuditRetention {
            max_rows: 1_000_000,
            max_age: 100,
        });
        assert!(store.prune(5000).unwrap() > 0);
        let (rows, total) = store.audit_page(&all, 10_000, 0).unwrap();
        assert!(rows.iter().all(|r| r.at >= 4900), "{total}");
        assert_eq!(total, 100);
    }

    #[test]
    fn expired_tokens_are_dropped_a_week_after_expiry() {
        let store = Store::in_memory().unwrap();
        store.revoke("old", 1000).unwrap();
        store.revoke("new", 1_000_000).unwrap();
        store.prune(1000 + EXPIRED_KEPT + 1).unwrap();
        assert!(!store.is_revoked("old").unwrap());
        assert!(store.is_revoked("new").unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn the_data_directory_and_database_are_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("state");
        let store = Store::open(&data).unwrap();
        store.set_meta("k", "v").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        for suffix in ["", "-wal", "-shm"] {
            let f = data.join(format!("{DB_FILE}{suffix}"));
            if f.exists() {
                assert_eq!(mode(&f), 0o600, "{}", f.display());
            }
        }
        assert!(data.join(format!("{DB_FILE}-wal")).exists());
        drop(store);
        // A database left readable by others is tightened on the next open.
        std::fs::set_permissions(data.join(DB_FILE), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let _store = Store::open(&data).unwrap();
        assert_eq!(mode(&data.join(DB_FILE)), 0o600);
        // A file where the directory should be is named as such.
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let err = Store::open(&file).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
    }

    #[test]
    fn a_person_is_reserved_by_one_team_at_a_time() {
        let store = Store::in_memory().unwrap();
        assert_eq!(store.reserve("13896599786", "team-a", 10).unwrap(), None);
        assert_eq!(store.reserve("13896599786", "team-a", 20).unwrap(), None);
        assert_eq!(
            store.reservation("13896599786").unwrap(),
            Some(("team-a".into(), 10))
        );
        assert_eq!(
            store.reserve("13896599786", "team-b", 30).unwrap(),
            Some("team-a".into()),
            "owned by another team"
        );
        assert!(!store.release("13896599786", "team-b").unwrap());
        assert!(store.release("13896599786", "team-a").unwrap());
        assert_eq!(store.reservation("13896599786").unwrap(), None);
    }

    #[test]
    fn audit_counts_are_bucketed_by_time_event_and_client() {
        let store = store_with_events();
        let counts = store
            .audit_counts(
                &AuditFilter {
                    events: vec!["token_issued".into(), "error".into()],
                    ..AuditFilter::default()
                },
                60,
            )
            .unwrap();
        assert_eq!(
            counts,
            vec![
                (60, "token_issued".into(), Some("a".into()), 1),
                (120, "error".into(), Some("a".into()), 1),
                (120, "token_issued".into(), Some("b".into()), 1),
            ]
        );
        let by_audience = store
            .audit_breakdown(
                &AuditFilter {
                    events: vec!["token_issued".into()],
                    ..AuditFilter::default()
                },
                "aud",
            )
            .unwrap();
        assert_eq!(by_audience.len(), 2);
        assert!(by_audience.contains(&(
            "token_issued".into(),
            Some("b".into()),
            Some("nhn:y".into()),
            1
        )));
    }
}
