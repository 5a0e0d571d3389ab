//! Password hashing with argon2id on a small pool of low-priority threads.
//!
//! Argon2 is made to be slow and memory-hungry; run on the proxy's threads it would stall every
//! request. The [`Hasher`] owns a few dedicated threads, at the lowest priority (nice 19) below the proxy workers, so a
//! storm of logins queues behind them instead of starving proxied traffic. Unknown users are
//! verified against a dummy hash so that they cost the same time as a wrong password.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier, Version};

/// OWASP's argon2id parameters: 19 MiB, two passes, one lane.
fn argon2_passwords() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (blocking: call through [`Hasher`] from async code).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2_passwords()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters")
        .to_string()
}

/// Verifies a password against a PHC string; a malformed hash never verifies.
pub fn verify_password(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password with the same parameters as real ones, for unknown users.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut random = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
        hash_password(&hex::encode(random))
    })
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A pool of niced threads for argon2 work.
#[derive(Clone)]
pub struct Hasher {
    queue: Arc<Mutex<mpsc::Sender<Job>>>,
    /// Jobs submitted and not yet finished (waiting or running).
    pending: Arc<AtomicI64>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher")
    }
}

impl Hasher {
    /// Starts `threads` hashing threads (at least one).
    pub fn new(threads: usize) -> Hasher {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("portcullis-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("spawning a hashing thread");
        }
        // Warm the dummy hash so the first unknown-user login is not slower than others.
        let hasher = Hasher {
            queue: Arc::new(Mutex::new(tx)),
            pending: Arc::default(),
        };
        hasher.submit(|_done| {
            dummy_hash();
        });
        hasher
    }

    /// Queues `job`; it is counted in the queue depth until it drops the [`Pending`] it is
    /// given (or is dropped unrun, by a pool whose threads are gone).
    fn submit(&self, job: impl FnOnce(Pending) + Send + 'static) {
        let pending = Pending::start(&self.pending);
        if let Ok(q) = self.queue.lock() {
            let _ = q.send(Box::new(move || job(pending)));
        }
    }

    /// Jobs waiting for a hashing thread or running on one.
    pub fn queue_depth(&self) -> i64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Runs blocking work on the pool and waits for it without blocking the runtime.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(move |pending| {
            let answer = work();
            // Uncounted before the answer is seen, so a caller never sees its own job queued.
            drop(pending);
            let _ = tx.send(answer);
        });
        rx.await.map_err(|_| HashingError)
    }

    /// Verifies `password` against `phc`, or against the dummy hash when `phc` is `None`
    /// (then the answer is always false, after the same work).
    pub async fn verify(
        &self,
        phc: Option<String>,
        password: String,
    ) -> Result<bool, HashingError> {
        self.run(move || match phc {
            Some(phc) => verify_password(&phc, &password),
            None => {
                verify_password(dummy_hash(), &password);
                false
            }
        })
        .await
    }
}

/// One job counted in [`Hasher::queue_depth`] until dropped, even by a panic.
struct Pending(Arc<AtomicI64>);

impl Pending {
    fn start(count: &Arc<AtomicI64>) -> Pending {
        count.fetch_add(1, Ordering::Relaxed);
        Pending(Arc::clone(count))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The hashing pool did not answer (its thread died): nothing was checked.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the hashing pool did not answer")]
pub struct HashingError;

/// Niceness 19 for the calling thread: when the proxy's threads want the CPU they get nearly all
/// of it (weight 1024 against 15), and logins still progress, unlike with SCHED_IDLE.
fn lower_priority() {
    // SAFETY: setpriority with PRIO_PROCESS and the thread id affects only this thread.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_queue_depth_counts_jobs_waiting_and_running_until_they_finish() {
        let hasher = Hasher::new(1);
        // Behind the warm-up job on the one thread: both are done when this answers.
        hasher.run(|| ()).await.unwrap();
        assert_eq!(hasher.queue_depth(), 0);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let pool = hasher.clone();
        let both = tokio::spawn(async move {
            let blocked = pool.run(move || {
                let _ = started_tx.send(());
                release_rx.recv().unwrap();
            });
            tokio::join!(blocked, pool.run(|| ()))
        });
        started_rx.await.unwrap();
        // One job runs (held), one waits behind it.
        assert_eq!(hasher.queue_depth(), 2);
        release_tx.send(()).unwrap();
        let (a, b) = both.await.unwrap();
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(hasher.queue_depth(), 0);
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "Correct horse"));
        assert!(!verify_password("not a hash", "x"));
    }
}
