//! Sessions: ids, cookies (names and attributes), raising a session to a new level, and the
//! moka cache in front of the store.
//!
//! A session id is 32 random bytes sent as base64url in the cookie; only its SHA-256 reaches
//! the store or the cache key. A valid cached session is answered from memory alone: the hot
//! path reads no disk and takes no lock held across an await. Last-seen times are kept in
//! memory and flushed to the store in batches by a background task. Changes made elsewhere
//! (the command line) reach the cache through [`Sessions::invalidate_all`], called by the
//! gateway's control channel and its generation watcher.
//!
//! Ending a session never depends on the store accepting the write: the session leaves the
//! cache at once, and a revocation the store refused waits in its outbox, which every cache
//! miss consults (never the hot path), until the maintenance loop gets it written.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use moka::sync::Cache;
use rand::RngCore;
use sha2::{Digest, Sha256};

use http::HeaderName;

use crate::auth::Origin;
use crate::config::{IdentityHeaders, SessionConfig};
use crate::store::{Enrolled, Pending, SessionRow, Store, StoreError, User};

/// How far a session has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Password accepted, second factor awaited: reaches no app.
    Pending = 0,
    OneFactor = 1,
    TwoFactor = 2,
}

impl Level {
    pub fn from_u8(v: u8) -> Option<Level> {
        match v {
            0 => Some(Level::Pending),
            1 => Some(Level::OneFactor),
            2 => Some(Level::TwoFactor),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Pending => "pending",
            Level::OneFactor => "one_factor",
            Level::TwoFactor => "two_factor",
        }
    }
}

/// Who a session belongs to, as the identity headers tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: i64,
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub groups: Vec<String>,
    /// The groups as sent in the groups header (comma-separated), built once.
    pub groups_header: String,
    pub has_totp: bool,
    /// Has a passkey (a second factor too, and the only one some people have).
    pub has_passkey: bool,
    /// Owes a second factor before any app (an invited person who has not enrolled yet).
    pub must_enrol: bool,
}

impl Identity {
    pub fn new(
        user_id: i64,
        username: String,
        email: Option<String>,
        display_name: Option<String>,
        groups: Vec<String>,
        has_totp: bool,
    ) -> Identity {
        Identity {
            user_id,
            username,
            email,
            display_name,
            groups_header: groups.join(","),
            groups,
            has_totp,
            has_passkey: false,
            must_enrol: false,
        }
    }

    pub fn from_user(user: &User, enrolled: Enrolled) -> Identity {
        Identity {
            must_enrol: user.must_enrol && !enrolled.any(),
            has_passkey: enrolled.passkeys,
            ..Identity::new(
                user.id,
                user.username.clone(),
                user.email.clone(),
                user.display_name.clone(),
                user.groups.clone(),
                enrolled.totp,
            )
        }
    }

    /// The second factors the user had when this identity was read.
    pub fn enrolled(&self) -> Enrolled {
        Enrolled {
            totp: self.has_totp,
            passkeys: self.has_passkey,
        }
    }

    /// Whether the user has a second factor (TOTP or a passkey).
    pub fn second_factor(&self) -> bool {
        self.has_totp || self.has_passkey
    }
}

/// The identity headers in configured `names`, each with `identity`'s value (`None` for an
/// email or name the user has not got, and for every header when there is no identity): the
/// one place both the proxy and the forward-auth answer take them from.
pub fn identity_headers<'a>(
    names: &'a IdentityHeaders,
    identity: Option<&'a Identity>,
) -> [(&'a HeaderName, Option<&'a str>); 4] {
    let field = |f: fn(&'a Identity) -> Option<&'a str>| identity.and_then(f);
    [
        (&names.user, field(|i| Some(i.username.as_str()))),
        (&names.email, field(|i| i.email.as_deref())),
        (&names.name, field(|i| i.display_name.as_deref())),
        (&names.groups, field(|i| Some(i.groups_header.as_str()))),
    ]
}

/// The gateway's cookies: their names (with the `__Host-` prefix when it applies) and the
/// attributes every one of them is set with.
#[derive(Debug, Clone)]
pub struct Cookies {
    pub session: String,
    pub csrf: String,
    /// A remembered browser's token.
    pub remember: String,
    secure: bool,
    domain: Option<String>,
}

impl Cookies {
    pub fn new(cfg: &SessionConfig) -> Cookies {
        let base = &cfg.cookie_name;
        let host_prefix = cfg.secure && cfg.cookie_domain.is_none();
        let prefix = if host_prefix { "__Host-" } else { "" };
        Cookies {
            session: format!("{prefix}{base}"),
            csrf: format!("{prefix}{base}_csrf"),
            remember: format!("{prefix}{base}_remember"),
            secure: cfg.secure,
            domain: cfg.cookie_domain.clone(),
        }
    }

    /// A `Set-Cookie` value with the gateway's attributes; an empty value clears the cookie.
    pub fn set(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let mut c = cookie::Cookie::new(name.to_string(), value.to_string());
        c.set_path("/");
        c.set_http_only(true);
        c.set_same_site(cookie::SameSite::Lax);
        c.set_secure(self.secure);
        if let Some(domain) = &self.domain {
            c.set_domain(domain.clone());
        }
        let secs = max_age.filter(|_| !value.is_empty()).unwrap_or(0);
        c.set_max_age(cookie::time::Duration::seconds(secs));
        c.to_string()
    }
}

/// A live session.
#[derive(Debug)]
pub struct ActiveSession {
    pub id_hash: [u8; 32],
    pub identity: Arc<Identity>,
    pub level: Level,
    pub created_at: i64,
    /// When a second factor was last typed in this session; `None` when none was (one
    /// factor, or a remembered browser).
    pub factor_at: Option<i64>,
    /// Absolute expiry (for pending sessions, the end of `pending_timeout`).
    pub expires_at: i64,
    last_seen: AtomicI64,
    flushed_seen: AtomicI64,
}

impl ActiveSession {
    fn from_row(row: &SessionRow, identity: Arc<Identity>, level: Level) -> ActiveSession {
        ActiveSession {
            id_hash: row.id_hash,
            identity,
            level,
            created_at: row.created_at,
            factor_at: row.factor_at,
            expires_at: row.expires_at,
            last_seen: AtomicI64::new(row.last_seen),
            flushed_seen: AtomicI64::new(row.last_seen),
        }
    }

    /// A session that was never stored, for unit tests of pure logic.
    pub fn for_tests(identity: Arc<Identity>, level: Level) -> ActiveSession {
        ActiveSession {
            id_hash: [0; 32],
            identity,
            level,
            created_at: 0,
            factor_at: None,
            expires_at: i64::MAX,
            last_seen: AtomicI64::new(0),
            flushed_seen: AtomicI64::new(0),
        }
    }

    pub fn last_seen(&self) -> i64 {
        self.last_seen.load(Ordering::Relaxed)
    }

    /// The CSRF token of forms shown in this session.
    pub fn csrf_token(&self) -> String {
        csrf_token(&self.id_hash)
    }
}

/// A token derived from a secret only the browser's cookie carries; an attacker who cannot
/// read the cookie cannot compute it.
pub fn csrf_token(secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"portcullis csrf v1\0");
    h.update(secret);
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// A fresh random value for a cookie: 32 bytes, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a well-formed cookie value; `None` for anything that is not one of ours.
pub fn hash_id(cookie_value: &str) -> Option<[u8; 32]> {
    if cookie_value.len() != 43 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(cookie_value).ok()?;
    if raw.len() != 32 {
        return None;
    }
    Some(Sha256::digest(cookie_value.as_bytes()).into())
}

/// How a new session relates to the one the request came with.
#[derive(Debug, Clone, Copy)]
pub enum Succession {
    /// No session before (or none worth keeping).
    Fresh,
    /// Replaces the old session whether or not it still exists (a new sign-in).
    Replaces([u8; 32]),
    /// Raises (or lowers) the old session, which must still exist: a session revoked while
    /// its second factor was being checked is not raised.
    Raises([u8; 32]),
}

/// Why a session could not be read from the store.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("revocations kept racing the read")]
    Contended,
}

/// The session table: cache in front, store behind.
#[derive(Clone)]
pub struct Sessions {
    cache: Cache<[u8; 32], Arc<ActiveSession>>,
    /// One shared identity per user among cached sessions (a user with many sessions costs
    /// one copy of their name, email and groups).
    identities: Cache<i64, Arc<Identity>>,
    /// Ids the store recently did not know: a flood of made-up cookies costs one read each
    /// per minute, not one read per request.
    unknown: Cache<[u8; 32], ()>,
    /// Bumped by every revocation, so that a store read that raced one is not cached.
    revocations: Arc<AtomicU64>,
    /// The same for the end of one session (signed out, replaced by a new id, or ended on
    /// another gateway), by the first byte of its id hash: a burst of them (sign-ins, a sweep
    /// on another replica) only makes reads of sessions in the same bucket read again.
    ended: Arc<[AtomicU64; ENDED_BUCKETS]>,
    store: Store,
    cfg: SessionConfig,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("cached", &self.cache.entry_count())
            .finish()
    }
}

/// Buckets of [`Sessions::ended`].
const ENDED_BUCKETS: usize = 64;

/// At most this many sessions are held in memory; the rest are read from the store.
pub const MAX_CACHED_SESSIONS: u64 = 250_000;

impl Sessions {
    pub fn new(store: Store, cfg: SessionConfig) -> Sessions {
        Sessions {
            cache: Cache::builder()
                .max_capacity(MAX_CACHED_SESSIONS)
                .time_to_idle(cfg.idle_timeout)
                .support_invalidation_closures()
                .build(),
            identities: Cache::builder()
                .max_capacity(MAX_CACHED_SESSIONS)
                .time_to_idle(cfg.idle_timeout)
                .build(),
            unknown: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(60))
                .build(),
            revocations: Arc::default(),
            ended: Arc::new(std::array::from_fn(|_| AtomicU64::new(0))),
            store,
            cfg,
        }
    }

    fn live(&self, s: &ActiveSession, now: i64) -> bool {
        now < s.expires_at && now - s.last_seen() < self.cfg.idle_timeout.as_secs() as i64
    }

    /// How many sessions the cache holds (after its pending housekeeping), for the metrics.
    pub fn cached_count(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    /// The cached session for `id_hash`, if live: memory only, never blocks.
    pub fn cached(&self, id_hash: &[u8; 32], now: i64) -> Option<Arc<ActiveSession>> {
        let s = self.cache.get(id_hash)?;
        if !self.live(&s, now) {
            self.cache.invalidate(id_hash);
            return None;
        }
        s.last_seen.fetch_max(now, Ordering::Relaxed);
        Some(s)
    }

    /// The cached session for `id_hash`, if live, without counting this as its use (for
    /// watching sessions from outside a request): memory only, never blocks.
    pub fn peek(&self, id_hash: &[u8; 32], now: i64) -> Option<Arc<ActiveSession>> {
        self.cache.get(id_hash).filter(|s| self.live(s, now))
    }

    /// The session named by a cookie value: from the cache, else from the store.
    ///
    /// While the store's change notices may have been missed (a shared store whose listening
    /// connection is down), the cache is not trusted: the session is read again, and the cached
    /// copy serves only when the store cannot answer (within the outage grace, which the
    /// caller enforces).
    pub async fn lookup(&self, cookie_value: &str, now: i64) -> Option<Arc<ActiveSession>> {
        let id_hash = hash_id(cookie_value)?;
        let suspect = self.store.cache_suspect();
        if !suspect {
            if let Some(s) = self.cached(&id_hash, now) {
                return Some(s);
            }
            if self.unknown.contains_key(&id_hash) {
                return None;
            }
        }
        match self.load_checked(id_hash, now).await {
            Ok(Some(session)) => Some(session),
            Ok(None) => {
                self.cache.invalidate(&id_hash);
                self.unknown.insert(id_hash, ());
                None
            }
            Err(_) if suspect => self.cached(&id_hash, now),
            // A store error says nothing about the id: it is not remembered as unknown.
            Err(e) => {
                tracing::error!("session lookup failed: {e}");
                None
            }
        }
    }

    /// Reads a session and its user from the store (the cache-miss path).
    pub async fn load(&self, id_hash: [u8; 32], now: i64) -> Option<Arc<ActiveSession>> {
        self.load_checked(id_hash, now).await.ok().flatten()
    }

    /// [`Sessions::load`], telling "no such live session" (`Ok(None)`) from a store failure.
    async fn load_checked(
        &self,
        id_hash: [u8; 32],
        now: i64,
    ) -> Result<Option<Arc<ActiveSession>>, LoadError> {
        // A revocation between the read and the caching would put a dead session back in the
        // cache: such a read is dropped and done again.
        for _ in 0..3 {
            let bucket = self.ended_epoch(&id_hash);
            let epoch = (
                self.revocations.load(Ordering::SeqCst),
                bucket.load(Ordering::SeqCst),
            );
            let Some(session) = self.read(id_hash, now).await? else {
                return Ok(None);
            };
            // Revoked, but the store refused the delete so far: the row is not the session.
            if self.store.outbox().is_revoked(&id_hash) {
                return Ok(None);
            }
            self.cache.insert(id_hash, Arc::clone(&session));
            if (
                self.revocations.load(Ordering::SeqCst),
                bucket.load(Ordering::SeqCst),
            ) == epoch
            {
                return Ok(Some(session));
            }
            self.cache.invalidate(&id_hash);
        }
        Err(LoadError::Contended)
    }

    /// Reads a live session and its user from the store.
    async fn read(
        &self,
        id_hash: [u8; 32],
        now: i64,
    ) -> Result<Option<Arc<ActiveSession>>, StoreError> {
        let idle = self.cfg.idle_timeout.as_secs() as i64;
        let loaded = self
            .store
            .call(move |store| {
                let Some(row) = store.session(&id_hash)? else {
                    return Ok(None);
                };
                // Left for the sweep to delete: a miss only reads, so it never waits for a
                // writer.
                if now >= row.expires_at || now - row.last_seen >= idle {
                    return Ok(None);
                }
                let Some(user) = store.user_by_id(row.user_id)? else {
                    return Ok(None);
                };
                if user.disabled {
                    return Ok(None);
                }
                let enrolled = store.enrolled(user.id)?;
                Ok(Some((row, user, enrolled)))
            })
            .await?;
        let Some((row, user, enrolled)) = loaded else {
            return Ok(None);
        };
        let Some(level) = Level::from_u8(row.level) else {
            return Ok(None);
        };
        let identity = self.shared(Identity::from_user(&user, enrolled));
        let mut session = ActiveSession::from_row(&row, identity, level);
        session.last_seen = AtomicI64::new(now.max(row.last_seen));
        Ok(Some(Arc::new(session)))
    }

    /// The cached copy of `identity` when an equal one is cached, else `identity` (now cached).
    fn shared(&self, identity: Identity) -> Arc<Identity> {
        if let Some(cached) = self.identities.get(&identity.user_id) {
            if *cached == identity {
                return cached;
            }
        }
        let identity = Arc::new(identity);
        self.identities
            .insert(identity.user_id, Arc::clone(&identity));
        identity
    }

    /// Opens a session for `user` at `level`, replacing `previous` (a change of level gets a
    /// new id), whose second factor was last typed at `factor_at`. Returns the cookie value
    /// and the session.
    pub async fn open(
        &self,
        identity: Arc<Identity>,
        level: Level,
        origin: &Origin<'_>,
        succession: Succession,
        factor_at: Option<i64>,
        now: i64,
    ) -> Result<(String, Arc<ActiveSession>), StoreError> {
        let value = random_token();
        let id_hash = hash_id(&value).expect("a fresh token is well formed");
        let lifetime = match level {
            Level::Pending => self.cfg.pending_timeout,
            _ => self.cfg.absolute_timeout,
        };
        let row = SessionRow {
            id_hash,
            user_id: identity.user_id,
            level: level as u8,
            created_at: now,
            last_seen: now,
            expires_at: now + lifetime.as_secs() as i64,
            client_ip: truncate(&origin.ip.to_string(), 64),
            user_agent: truncate(origin.user_agent.unwrap_or(""), 256),
            factor_at,
        };
        let stored = row.clone();
        let replaced = self
            .store
            .call(move |store| match succession {
                Succession::Fresh => store.insert_session(&stored).map(|()| true),
                Succession::Replaces(old) => store.replace_session(&old, &stored, false),
                Succession::Raises(old) => store.replace_session(&old, &stored, true),
            })
            .await?;
        if !replaced {
            return Err(StoreError::SessionGone);
        }
        if let Succession::Replaces(old) | Succession::Raises(old) = succession {
            self.ended_one(&old);
            self.cache.invalidate(&old);
        }
        let session = Arc::new(ActiveSession::from_row(&row, identity, level));
        self.cache.insert(id_hash, Arc::clone(&session));
        Ok((value, session))
    }

    /// Replaces `session` by a new one at `level` (new id), with the user's current facts.
    /// Returns the cookie value and the new session; [`StoreError::SessionGone`] when the
    /// session or its user ended meanwhile (revoked, deleted, disabled).
    pub async fn raise(
        &self,
        session: &ActiveSession,
        level: Level,
        origin: &Origin<'_>,
        now: i64,
    ) -> Result<(String, Arc<ActiveSession>), StoreError> {
        let user_id = session.identity.user_id;
        let (user, enrolled) = self
            .store
            .call(move |s| {
                let user = s.user_by_id(user_id)?;
                Ok((user, s.enrolled(user_id)?))
            })
            .await?;
        let user = user
            .filter(|u| !u.disabled)
            .ok_or(StoreError::SessionGone)?;
        let identity = Arc::new(Identity::from_user(&user, enrolled));
        let succession = Succession::Raises(session.id_hash);
        // Raised to two factors: one was just typed.
        let factor_at = (level == Level::TwoFactor).then_some(now);
        self.open(identity, level, origin, succession, factor_at, now)
            .await
    }

    /// Ends one session, at once, whether or not the store can delete its row now.
    ///
    /// The session is out of the cache before this returns, and no cache miss brings it back:
    /// until its row is deleted, the revocation waits in the store's outbox, which misses
    /// consult, and the maintenance loop retries the delete until the store accepts it. Returns
    /// whether the row is deleted already.
    pub async fn end(&self, id_hash: [u8; 32]) -> bool {
        let outbox = self.store.outbox();
        // Pending first, then the epoch, then the cache: a concurrent miss either finds it
        // pending, or sees the epoch move and drops what it read, or put it in the cache
        // before the invalidation below removes it.
        let live_until = crate::auth::unix_now() + self.cfg.absolute_timeout.as_secs() as i64;
        outbox.revoke(id_hash, live_until);
        self.ended_one(&id_hash);
        self.cache.invalidate(&id_hash);
        if outbox.refusing() {
            // An outage is under way: the maintenance loop writes it with the rest.
            return false;
        }
        match self.store.call(move |s| s.delete_session(&id_hash)).await {
            Ok(_) => {
                self.revocations_written(&[id_hash]);
                true
            }
            Err(e) => {
                outbox.note_refused(&e);
                false
            }
        }
    }

    /// Forgets pending revocations the store has now written.
    fn revocations_written(&self, id_hashes: &[[u8; 32]]) {
        // The epoch moves before they stop being pending: a miss that read a row before the
        // delete landed, and finds the revocation no longer pending, reads again.
        for id_hash in id_hashes {
            self.ended_one(id_hash);
        }
        self.store.outbox().written(&Pending {
            revoked: id_hashes.to_vec(),
            ..Pending::default()
        });
    }

    /// Writes what the store's outbox holds (revocations and bans), once; the maintenance loop
    /// calls this every second while anything waits. Returns what was written.
    pub async fn flush_outbox(&self, now: i64) -> Result<Pending, StoreError> {
        let outbox = self.store.outbox();
        let batch = outbox.pending(now);
        if batch.is_empty() {
            return Ok(batch);
        }
        let written = batch.clone();
        if let Err(e) = self.store.call(move |s| s.write_pending(&written)).await {
            outbox.note_refused(&e);
            return Err(e);
        }
        // As in `revocations_written`: the epoch first.
        self.revoked();
        outbox.written(&batch);
        outbox.note_accepted(&batch);
        if batch.end_all {
            // Every row is gone: cached sessions end too, as the outbox promised.
            self.invalidate_all();
        }
        Ok(batch)
    }

    /// Moves the epoch of one session's bucket: only reads of sessions in that bucket that
    /// raced it read again.
    fn ended_one(&self, id_hash: &[u8; 32]) {
        self.ended_epoch(id_hash).fetch_add(1, Ordering::SeqCst);
    }

    /// The epoch of the bucket `id_hash` falls in.
    fn ended_epoch(&self, id_hash: &[u8; 32]) -> &AtomicU64 {
        &self.ended[usize::from(id_hash[0]) % ENDED_BUCKETS]
    }

    fn revoked(&self) {
        self.revocations.fetch_add(1, Ordering::SeqCst);
    }

    /// Drops one cached session (it ended elsewhere: another gateway, the command line).
    pub fn forget(&self, id_hash: &[u8; 32]) {
        self.ended_one(id_hash);
        self.cache.invalidate(id_hash);
    }

    /// Drops every cached session of a user (their identity or rights changed).
    pub fn forget_user(&self, user_id: i64) {
        // Only fails when closures are not enabled, which `new` does.
        self.revoked();
        self.identities.invalidate(&user_id);
        let _ = self
            .cache
            .invalidate_entries_if(move |_, s| s.identity.user_id == user_id);
        self.cache.run_pending_tasks();
    }

    /// Drops the whole cache: the store is the truth again for every session.
    pub fn invalidate_all(&self) {
        self.revoked();
        self.identities.invalidate_all();
        self.cache.invalidate_all();
        self.cache.run_pending_tasks();
    }

    /// Writes last-seen times that moved since the previous flush.
    pub async fn flush_last_seen(&self) -> Result<usize, StoreError> {
        let mut dirty = Vec::new();
        for (hash, s) in self.cache.iter() {
            let seen = s.last_seen();
            if seen > s.flushed_seen.load(Ordering::Relaxed) {
                s.flushed_seen.store(seen, Ordering::Relaxed);
                dirty.push((*hash, seen));
            }
        }
        let n = dirty.len();
        if n > 0 {
            self.store.call(move |s| s.touch_sessions(&dirty)).await?;
        }
        Ok(n)
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_256_bit_and_only_well_formed_values_hash() {
        let v = random_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&v).unwrap().len(), 32);
        assert!(hash_id(&v).is_some());
        assert_ne!(hash_id(&v).unwrap().to_vec(), v.as_bytes().to_vec());
        assert!(hash_id("short").is_none());
        assert!(hash_id(&"!".repeat(43)).is_none());
    }
}
