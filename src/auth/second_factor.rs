//! Second-factor checks and enrolment: TOTP codes (each step accepted once), recovery codes
//! (each used once, even under concurrent attempts), and the pending enrolment a session
//! shows until its new authenticator proves itself.
//!
//! Every check reads and writes in one store call, so "accepted" and "recorded" cannot part.
//! A store, key or hashing failure is an error, never a wrong code.

use super::keys::SecretBox;
use super::password::{Hasher, HashingError};
use super::{recovery, totp};
use crate::config::TotpConfig;
use crate::store::{SealedSecret, Store, StoreError};

/// A pending TOTP enrolment shows the same secret for this long, then a new one.
pub const PENDING_ENROLMENT_SECS: i64 = 1800;

/// The outcome of checking a TOTP or recovery code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Accepted; for recovery codes, how many remain.
    Accepted {
        remaining: Option<i64>,
    },
    Invalid,
    Replayed,
    /// No TOTP (or no pending enrolment for this session) to check against.
    NotEnrolled,
}

impl CodeCheck {
    pub fn accepted(self) -> bool {
        matches!(self, CodeCheck::Accepted { .. })
    }
}

/// Why a code could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a TOTP secret does not open with the key file's key")]
    Key,
    #[error(transparent)]
    Hashing(#[from] HashingError),
}

/// The users' second factors.
#[derive(Debug)]
pub struct SecondFactors {
    store: Store,
    secrets: SecretBox,
    hasher: Hasher,
    totp: TotpConfig,
}

impl SecondFactors {
    pub fn new(store: Store, secrets: SecretBox, hasher: Hasher, totp: TotpConfig) -> Self {
        SecondFactors {
            store,
            secrets,
            hasher,
            totp,
        }
    }

    /// Checks a TOTP code of `user_id`'s enabled secret at `now` and records its step.
    pub async fn check_totp(
        &self,
        user_id: i64,
        code: &str,
        now: i64,
    ) -> Result<CodeCheck, FactorError> {
        let code = code.to_string();
        let secrets = self.secrets.clone();
        let cfg = self.totp.clone();
        self.store
            .call(move |s| {
                let Some(row) = s.totp(user_id)? else {
                    return Ok(Ok(CodeCheck::NotEnrolled));
                };
                let Ok(secret) = secrets.open(user_id, &row.secret) else {
                    return Ok(Err(FactorError::Key));
                };
                Ok(Ok(
                    match totp::verify(&cfg, &secret, &code, now.max(0) as u64, row.last_step) {
                        Ok(step) if s.accept_totp_step(user_id, step)? => {
                            CodeCheck::Accepted { remaining: None }
                        }
                        Ok(_) | Err(totp::TotpRejection::Replayed) => CodeCheck::Replayed,
                        Err(totp::TotpRejection::Invalid) => CodeCheck::Invalid,
                    },
                ))
            })
            .await?
    }

    /// Uses one of `user_id`'s recovery codes: exactly once, even under concurrent attempts.
    pub async fn use_recovery_code(
        &self,
        user_id: i64,
        typed: &str,
        now: i64,
    ) -> Result<CodeCheck, FactorError> {
        let Some(canonical) = recovery::normalize(typed) else {
            return Ok(CodeCheck::Invalid);
        };
        let rows = self
            .store
            .call(move |s| s.unused_recovery_codes(user_id))
            .await?;
        if rows.is_empty() {
            return Ok(CodeCheck::Invalid);
        }
        let matched = self
            .hasher
            .run(move || {
                rows.into_iter()
                    .find(|r| recovery::verify_code(&canonical, &r.hash))
                    .map(|r| r.id)
            })
            .await?;
        let Some(id) = matched else {
            return Ok(CodeCheck::Invalid);
        };
        let left = self
            .store
            .call(move |s| s.consume_recovery_code(user_id, id, now))
            .await?;
        Ok(match left {
            Some(left) => CodeCheck::Accepted {
                remaining: Some(left),
            },
            None => CodeCheck::Replayed,
        })
    }

    /// A current TOTP code or, failing that, one of the recovery codes (which is used up).
    pub async fn check_any_code(
        &self,
        user_id: i64,
        code: &str,
        now: i64,
    ) -> Result<CodeCheck, FactorError> {
        // A right code the store could not record is an error, never a wrong code.
        match self.check_totp(user_id, code, now).await? {
            accepted @ CodeCheck::Accepted { .. } => Ok(accepted),
            _ => self.use_recovery_code(user_id, code, now).await,
        }
    }

    /// The secret of the enrolment `session` has pending for `user_id`, made (and sealed) when
    /// there is none, it expired, or another session started it.
    pub async fn pending_enrolment(
        &self,
        user_id: i64,
        session: [u8; 32],
        now: i64,
    ) -> Result<Vec<u8>, FactorError> {
        let secrets = self.secrets.clone();
        let secret = self
            .store
            .call(move |s| {
                if let Some((_, secret)) = open_pending(s, &secrets, user_id, &session, now)? {
                    return Ok(secret);
                }
                let secret = totp::generate_secret();
                s.set_totp_pending(user_id, &secrets.seal(user_id, &secret), now, &session)?;
                Ok(secret)
            })
            .await?;
        Ok(secret)
    }

    /// Whether `code` is right for the enrolment `session` has pending; changes nothing.
    pub async fn check_enrolment_code(
        &self,
        user_id: i64,
        session: [u8; 32],
        code: &str,
        now: i64,
    ) -> Result<CodeCheck, FactorError> {
        self.enrolment_code(user_id, session, code, None, now).await
    }

    /// Confirms the enrolment `session` has pending with a code from the new authenticator; on
    /// success TOTP is enabled and `codes` become the user's recovery codes, in one transaction.
    pub async fn confirm_enrolment(
        &self,
        user_id: i64,
        session: [u8; 32],
        code: &str,
        codes: Vec<String>,
        now: i64,
    ) -> Result<CodeCheck, FactorError> {
        let hashes = self.hash_codes(codes).await?;
        self.enrolment_code(user_id, session, code, Some(hashes), now)
            .await
    }

    /// Checks `code` against the enrolment `session` has pending and, with `confirm` (the new
    /// recovery codes' hashes), enables it when the code is right.
    async fn enrolment_code(
        &self,
        user_id: i64,
        session: [u8; 32],
        code: &str,
        confirm: Option<Vec<String>>,
        now: i64,
    ) -> Result<CodeCheck, FactorError> {
        let code = code.to_string();
        let secrets = self.secrets.clone();
        let cfg = self.totp.clone();
        let check = self
            .store
            .call(move |s| {
                let Some((sealed, secret)) = open_pending(s, &secrets, user_id, &session, now)?
                else {
                    return Ok(CodeCheck::NotEnrolled);
                };
                let Ok(step) = totp::verify(&cfg, &secret, &code, now.max(0) as u64, None) else {
                    return Ok(CodeCheck::Invalid);
                };
                let enabled = match &confirm {
                    Some(hashes) => s.confirm_totp(user_id, &sealed, step, hashes, now)?,
                    None => true,
                };
                Ok(if enabled {
                    CodeCheck::Accepted { remaining: None }
                } else {
                    CodeCheck::NotEnrolled
                })
            })
            .await?;
        Ok(check)
    }

    /// Replaces `user_id`'s recovery codes with `codes` (hashed off the runtime); false, and
    /// nothing written, when the user has no second factor.
    pub async fn replace_recovery_codes(
        &self,
        user_id: i64,
        codes: Vec<String>,
    ) -> Result<bool, FactorError> {
        let hashes = self.hash_codes(codes).await?;
        Ok(self
            .store
            .call(move |s| s.replace_recovery_codes(user_id, &hashes))
            .await?)
    }

    /// Salted hashes of recovery codes, computed on the hashing pool.
    pub async fn hash_codes(&self, codes: Vec<String>) -> Result<Vec<String>, HashingError> {
        self.hasher
            .run(move || codes.iter().map(|c| recovery::hash_code(c)).collect())
            .await
    }
}

/// The live enrolment `session` has pending for `user_id`: its sealed and its opened secret.
fn open_pending(
    s: &Store,
    secrets: &SecretBox,
    user_id: i64,
    session: &[u8; 32],
    now: i64,
) -> Result<Option<(SealedSecret, Vec<u8>)>, StoreError> {
    let Some(p) = s.totp_pending(user_id)? else {
        return Ok(None);
    };
    if now - p.created_at >= PENDING_ENROLMENT_SECS
        || p.session_hash.as_deref() != Some(&session[..])
    {
        return Ok(None);
    }
    Ok(secrets
        .open(user_id, &p.secret)
        .ok()
        .map(|secret| (p.secret, secret)))
}
