//! The key file and the sealing of TOTP secrets at rest.
//!
//! Secrets are sealed with XChaCha20-Poly1305 under a 32-byte key kept outside the database,
//! with the user id bound as associated data (a sealed secret copied to another user's row does
//! not open). The store keeps a sealed check value so that a wrong key is caught at startup,
//! and a missing key with existing enrolments is an error, never a silent re-key.

use std::io::Write;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::store::{SealedSecret, Store, StoreError};

const CHECK_PLAINTEXT: &[u8] = b"portcullis key check v1";
const CHECK_META: &str = "key_check";

/// Why the key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {path} holds {len} bytes; it must hold exactly 32 (restore the right file)")]
    Length { path: String, len: usize },
    #[error(
        "key file {path} is missing but the database holds secrets sealed with a key: \
         restore the key file from backup, or run `portcullis user reset-2fa` for every \
         enrolled user after moving the database aside"
    )]
    Missing { path: String },
    #[error(
        "key file {path} does not open the secrets in the database: it is not the key they \
         were sealed with; restore the right key file"
    )]
    Wrong { path: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Could not open a sealed secret.
#[derive(Debug, thiserror::Error)]
#[error("a sealed secret does not open with this key")]
pub struct Unseal;

/// Seals and opens secrets under the key file's key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box over a raw key (tests and tools).
    pub fn from_key(key: &[u8; 32]) -> SecretBox {
        SecretBox {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// Loads the key at `path`, creating it (mode 0600) when absent and the store holds no
    /// sealed secrets; checks it against the store's check value.
    pub fn load_or_create(path: &Path, store: &Store) -> Result<SecretBox, KeyError> {
        let shown = path.display().to_string();
        let io = |source| KeyError::Io {
            path: shown.clone(),
            source,
        };
        let key = match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| KeyError::Length {
                    path: shown.clone(),
                    len: bytes.len(),
                })?;
                key
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if store.meta_get(CHECK_META)?.is_some() || store.has_sealed_secrets()? {
                    return Err(KeyError::Missing { path: shown });
                }
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_private(path, &key).map_err(io)?;
                key
            }
            Err(e) => return Err(io(e)),
        };
        let sealer = SecretBox::from_key(&key);
        let opens = |stored: &[u8]| {
            split(stored)
                .and_then(|sealed| sealer.open(0, &sealed).ok())
                .is_some_and(|opened| opened == CHECK_PLAINTEXT)
        };
        let stored = match store.meta_get(CHECK_META)? {
            Some(stored) => stored,
            None => {
                let sealed = sealer.seal(0, CHECK_PLAINTEXT);
                let mut joined = sealed.nonce.clone();
                joined.extend_from_slice(&sealed.ciphertext);
                // Written only if no gateway wrote one meanwhile (replicas starting together on
                // a new database): whichever came first, every other key is checked against it.
                store.meta_insert_new(CHECK_META, &joined)?;
                store.meta_get(CHECK_META)?.unwrap_or_default()
            }
        };
        if !opens(&stored) {
            return Err(KeyError::Wrong { path: shown });
        }
        Ok(sealer)
    }

    fn aad(user_id: i64) -> Vec<u8> {
        format!("portcullis totp secret for user {user_id}").into_bytes()
    }

    /// Seals `plaintext` for `user_id`.
    pub fn seal(&self, user_id: i64, plaintext: &[u8]) -> SealedSecret {
        self.seal_with(&Self::aad(user_id), plaintext)
    }

    /// Opens a secret sealed for `user_id`.
    pub fn open(&self, user_id: i64, sealed: &SealedSecret) -> Result<Vec<u8>, Unseal> {
        self.open_with(&Self::aad(user_id), sealed)
    }

    /// Seals `plaintext` for what `purpose` names (such as a certificate's key for its host),
    /// as one blob: the nonce, then the ciphertext.
    pub fn seal_for(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let sealed = self.seal_with(format!("portcullis {purpose}").as_bytes(), plaintext);
        let mut joined = sealed.nonce;
        joined.extend_from_slice(&sealed.ciphertext);
        joined
    }

    /// Opens what [`SecretBox::seal_for`] sealed for the same `purpose`.
    pub fn open_for(&self, purpose: &str, joined: &[u8]) -> Result<Vec<u8>, Unseal> {
        let sealed = split(joined).ok_or(Unseal)?;
        self.open_with(format!("portcullis {purpose}").as_bytes(), &sealed)
    }

    fn seal_with(&self, aad: &[u8], plaintext: &[u8]) -> SealedSecret {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption of a short message");
        SealedSecret {
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    fn open_with(&self, aad: &[u8], sealed: &SealedSecret) -> Result<Vec<u8>, Unseal> {
        if sealed.nonce.len() != 24 {
            return Err(Unseal);
        }
        self.cipher
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad,
                },
            )
            .map_err(|_| Unseal)
    }
}

fn split(joined: &[u8]) -> Option<SealedSecret> {
    (joined.len() > 24).then(|| SealedSecret {
        nonce: joined[..24].to_vec(),
        ciphertext: joined[24..].to_vec(),
    })
}

pub(crate) fn write_private(path: &Path, key: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(key)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn key_is_created_private_and_a_wrong_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let key = dir.path().join("k");
        let sb = SecretBox::load_or_create(&key, &store).unwrap();
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let sealed = sb.seal(7, b"secret");
        assert_eq!(sb.open(7, &sealed).unwrap(), b"secret");
        assert!(sb.open(8, &sealed).is_err(), "bound to the user id");
        // Same key loads again.
        SecretBox::load_or_create(&key, &store).unwrap();
        // Another key is refused.
        std::fs::write(&key, [9u8; 32]).unwrap();
        let err = SecretBox::load_or_create(&key, &store)
            .unwrap_err()
            .to_string();
        assert!(err.contains("restore the right key file"), "{err}");
        // A missing key with a check value present is refused, not re-created.
        std::fs::remove_file(&key).unwrap();
        let err = SecretBox::load_or_create(&key, &store)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is missing"), "{err}");
        assert!(!key.exists());
    }
}
