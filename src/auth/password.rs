//! argon2id password hashing on a small pool of threads of its own.
//!
//! One hash or check takes argon2's default 19 MiB of memory and tens of
//! milliseconds of CPU. When every call allocated its 19 MiB afresh (on
//! tokio's blocking pool), the server grew by about that much per sign-up
//! and never shrank: 23 MB idle, 6.7 GB after 1,000 sign-ups. The cause,
//! measured (`loadtests/password_memory.sh`, numbers in `benches/README.md`):
//! glibc's dynamic mmap threshold. The first 19 MiB block is mmapped; when
//! it is freed glibc raises the threshold to 19 MiB, so every later block
//! comes from the heap, where a freed block is kept (6.7 GB as is, 8.9 GB
//! with `MALLOC_ARENA_MAX=2`, but 27 MB with the threshold pinned at 1 MiB).
//!
//! Here a fixed set of threads (about two per core) does all the hashing,
//! each reusing one buffer of argon2 blocks allocated at its first job: no
//! allocation per hash, and at most threads × 19 MiB whatever the load.
//! A thread that has waited [`IDLE_RELEASE`] for a job gives its buffer
//! back (the threads take turns waiting, so on a quiet server all of them
//! have within threads × `IDLE_RELEASE`), so it does not keep the 19 MiB
//! per thread of a burst of sign-ups (about 80 MB on two cores). Callers queue for them; when the
//! queue is long, they get 503 with `Retry-After` rather than waiting
//! without end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

use crate::error::{AppError, AppResult};
use crate::users::Password;

/// Checks waiting for a thread before the next caller is turned away.
pub const QUEUE: usize = 256;

/// How long a hashing thread keeps its buffer with no job to do.
pub const IDLE_RELEASE: Duration = Duration::from_secs(5);

enum Job {
    Hash {
        password: Password,
        reply: oneshot::Sender<anyhow::Result<String>>,
    },
    Verify {
        password: String,
        stored: Option<String>,
        reply: oneshot::Sender<anyhow::Result<bool>>,
    },
}

/// The password hasher: a handle on its threads.
pub struct Passwords {
    jobs: SyncSender<Job>,
    /// How many threads hold a buffer now.
    held: Arc<AtomicUsize>,
}

impl Passwords {
    /// Starts `threads` hashing threads (at least one) with room for
    /// `queue` waiting jobs; each gives its buffer back after
    /// [`IDLE_RELEASE`] without a job.
    pub fn start(threads: usize, queue: usize) -> anyhow::Result<Self> {
        Self::start_releasing_after(threads, queue, IDLE_RELEASE)
    }

    fn start_releasing_after(threads: usize, queue: usize, idle: Duration) -> anyhow::Result<Self> {
        let (jobs, receiver) = sync_channel(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let held = Arc::new(AtomicUsize::new(0));
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            let held = held.clone();
            std::thread::Builder::new()
                .name(format!("innkeep-argon2-{i}"))
                .spawn(move || work(&receiver, &held, idle))?;
        }
        Ok(Self { jobs, held })
    }

    /// How many hashing threads hold their 19 MiB buffer now.
    pub fn buffers_held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    fn submit(&self, job: Job) -> AppResult<()> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => {
                AppError::Unavailable("too many sign-ins at once; retry shortly")
            }
            TrySendError::Disconnected(_) => {
                AppError::Internal(anyhow::anyhow!("password threads stopped"))
            }
        })
    }

    /// The PHC string of `password` with a fresh salt.
    pub async fn hash(&self, password: Password) -> AppResult<String> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password, reply })?;
        Ok(answer
            .await
            .map_err(|_| anyhow::anyhow!("password thread dropped a job"))??)
    }

    /// Whether `password` matches `stored`. With no stored hash (unknown
    /// e-mail) it checks a fixed dummy hash anyway, so the two cases take
    /// the same time and cannot be told apart.
    pub async fn verify(&self, password: String, stored: Option<String>) -> AppResult<bool> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            password,
            stored,
            reply,
        })?;
        Ok(answer
            .await
            .map_err(|_| anyhow::anyhow!("password thread dropped a job"))??)
    }
}

/// The parameters of every new hash: argon2id, version 0x13, the crate's
/// defaults (m = 19 MiB, t = 2, p = 1).
fn params() -> Params {
    Params::default()
}

/// One thread's life: take a job, do it in this thread's own memory.
fn work(receiver: &Mutex<Receiver<Job>>, held: &AtomicUsize, idle: Duration) {
    // Taken at the first job, kept while jobs come, given back after `idle`
    // without one: an idle server holds none of it.
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = {
            let receiver = receiver
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            receiver.recv_timeout(idle)
        };
        let job = match job {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                if !memory.is_empty() {
                    memory = Vec::new();
                    held.fetch_sub(1, Ordering::Relaxed);
                }
                continue;
            }
            // Every handle is gone: the server stopped.
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if memory.is_empty() {
            memory = vec![Block::default(); params().block_count()];
            held.fetch_add(1, Ordering::Relaxed);
        }
        match job {
            Job::Hash { password, reply } => {
                let _ = reply.send(hash_with(&mut memory, password.expose().as_bytes()));
            }
            Job::Verify {
                password,
                stored,
                reply,
            } => {
                let known = stored.is_some();
                let phc = match stored {
                    Some(phc) => Ok(phc),
                    None => dummy_hash(&mut memory),
                };
                let ok = phc.and_then(|phc| verify_with(&mut memory, password.as_bytes(), &phc));
                let _ = reply.send(ok.map(|ok| ok && known));
            }
        }
    }
}

fn hash_with(memory: &mut [Block], password: &[u8]) -> anyhow::Result<String> {
    let params = params();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon
            .hash_password_into_with_memory(password, salt_raw, out, &mut *memory)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("{e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

fn verify_with(memory: &mut [Block], password: &[u8], phc: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(phc).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| anyhow::anyhow!("{e}"))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("{e}"))?;
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // A hash made with more memory than ours (an older setting) gets a
    // buffer of its own for this one check.
    let mut larger;
    let memory: &mut [Block] = if params.block_count() <= memory.len() {
        memory
    } else {
        larger = vec![Block::default(); params.block_count()];
        &mut larger
    };
    let computed = Output::init_with(expected.len(), |out| {
        argon
            .hash_password_into_with_memory(password, salt_raw, out, &mut *memory)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(|e| anyhow::anyhow!("checking a password: {e}"))?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

/// A hash of nothing anyone types, made once, to check unknown e-mails
/// against.
fn dummy_hash(memory: &mut [Block]) -> anyhow::Result<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(dummy) = DUMMY.get() {
        return Ok(dummy.clone());
    }
    let made = hash_with(memory, b"innkeep-timing-equaliser")?;
    Ok(DUMMY.get_or_init(|| made).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(p: &str) -> Password {
        Password::parse(p).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn hashes_verify_and_others_do_not() {
        let pool = Passwords::start(2, 8).unwrap_or_else(|e| panic!("{e}"));
        let phc = pool
            .hash(password("correct horse battery"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let check = |p: &str, stored: Option<String>| pool.verify(p.into(), stored);
        assert!(matches!(
            check("correct horse battery", Some(phc.clone())).await,
            Ok(true)
        ));
        assert!(matches!(
            check("wrong horse battery", Some(phc.clone())).await,
            Ok(false)
        ));
        assert!(matches!(
            check("correct horse battery", None).await,
            Ok(false)
        ));
        // A hash made by the argon2 crate's own hasher checks too.
        use argon2::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"another passphrase", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(matches!(
            check("another passphrase", Some(theirs)).await,
            Ok(true)
        ));
    }

    #[tokio::test]
    async fn idle_threads_give_their_buffers_back() {
        let pool = Passwords::start_releasing_after(2, 8, Duration::from_millis(200))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pool.buffers_held(), 0, "no buffer before the first job");
        let checks = (0..4).map(|_| pool.verify("x".repeat(8), None));
        futures_util::future::join_all(checks).await;
        assert!(
            pool.buffers_held() >= 1,
            "a thread that worked holds a buffer"
        );
        let mut held = pool.buffers_held();
        for _ in 0..50 {
            held = pool.buffers_held();
            if held == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(held, 0, "idle threads kept their buffers");
        // And they take one again for the next job.
        assert!(matches!(pool.verify("x".repeat(8), None).await, Ok(false)));
    }

    #[tokio::test]
    async fn a_full_queue_turns_callers_away() {
        let pool = Passwords::start(1, 1).unwrap_or_else(|e| panic!("{e}"));
        let attempts = (0..8).map(|_| pool.verify("x".repeat(8), None));
        let results = futures_util::future::join_all(attempts).await;
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(AppError::Unavailable(_)))),
            "one thread and one seat cannot take eight at once"
        );
        assert!(results.iter().any(|r| matches!(r, Ok(false))));
    }
}
