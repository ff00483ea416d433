//! `SharedCommits`: the cross-property committer.
//!
//! Each calendar actor still decides (one actor per property is the
//! serialisation point) and still groups its own property's accepted
//! changes into one batch, with one batch in flight at a time. Bookings
//! spread over many properties, though, make batches of one: a store
//! transaction per booking. `SharedCommits` sits between the actors and
//! the store and merges the batches waiting at the same moment, whatever
//! their property, into one store transaction
//! ([`CalendarStore::apply_calendars`]); each actor is answered only after
//! that transaction committed. While a transaction commits, the next
//! batches queue, so the busier the store, the more each transaction
//! carries (group commit across properties).
//!
//! A shared transaction that fails (a deadlock with another process, a
//! constraint no check foresaw, a lost connection) fails nobody yet: each
//! property's batch is applied again on its own, so an error reaches only
//! the batch it belongs to (and the actor splits that one further).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix::{Arbiter, ArbiterHandle};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::ports::{CalendarEntry, CalendarOp, CalendarStore, OpOutcome, PortError, PropertyOps};

type Reply = oneshot::Sender<Result<Vec<OpOutcome>, PortError>>;

/// One actor's batch, waiting for a shared transaction.
struct Pending {
    property_id: Uuid,
    ops: Vec<CalendarOp>,
    now: DateTime<Utc>,
    reply: Reply,
}

/// What the committer has done since it started.
#[derive(Debug, Default)]
pub struct CommitStats {
    /// Store transactions (shared ones, and the retries on their own).
    pub transactions: AtomicU64,
    /// Property batches committed.
    pub batches: AtomicU64,
    /// Changes (calendar ops) committed.
    pub ops: AtomicU64,
    /// Shared transactions that failed and were applied batch by batch.
    pub split: AtomicU64,
}

impl CommitStats {
    /// (transactions, batches, ops, split) now.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.transactions.load(Ordering::Relaxed),
            self.batches.load(Ordering::Relaxed),
            self.ops.load(Ordering::Relaxed),
            self.split.load(Ordering::Relaxed),
        )
    }
}

pub struct SharedCommits {
    inner: Arc<dyn CalendarStore>,
    queue: mpsc::UnboundedSender<Pending>,
    stats: Arc<CommitStats>,
    /// The thread the committers run on; stopped with the last clone.
    arbiter: ArbiterGuard,
}

struct ArbiterGuard(Arbiter);

impl Drop for ArbiterGuard {
    fn drop(&mut self) {
        self.0.stop();
    }
}

impl SharedCommits {
    /// Starts `committers` committers (transactions in flight at once) on
    /// a thread of their own, each taking up to `max_batches` waiting
    /// batches per transaction. Must be called inside an actix `System`.
    pub fn start(
        inner: Arc<dyn CalendarStore>,
        committers: usize,
        max_batches: usize,
    ) -> Arc<Self> {
        let (queue, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(Mutex::new(receiver));
        let stats = Arc::new(CommitStats::default());
        let arbiter = Arbiter::new();
        for _ in 0..committers.max(1) {
            let committer = Committer {
                inner: inner.clone(),
                receiver: receiver.clone(),
                stats: stats.clone(),
                max_batches: max_batches.max(1),
            };
            arbiter.spawn(committer.run());
        }
        Arc::new(Self {
            inner,
            queue,
            stats,
            arbiter: ArbiterGuard(arbiter),
        })
    }

    pub fn stats(&self) -> Arc<CommitStats> {
        self.stats.clone()
    }

    /// The thread the committers run on (where the store's drivers read
    /// and write their rows).
    pub fn thread(&self) -> ArbiterHandle {
        self.arbiter.0.handle()
    }
}

struct Committer {
    inner: Arc<dyn CalendarStore>,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<Pending>>>,
    stats: Arc<CommitStats>,
    max_batches: usize,
}

impl Committer {
    async fn run(self) {
        loop {
            let batch = {
                let mut receiver = self.receiver.lock().await;
                let first = match receiver.try_recv() {
                    Ok(first) => Some(first),
                    Err(mpsc::error::TryRecvError::Empty) => {
                        self.inner.idle().await;
                        receiver.recv().await
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                };
                let Some(first) = first else {
                    return;
                };
                let mut batch = vec![first];
                while batch.len() < self.max_batches {
                    match receiver.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                batch
            };
            self.commit(batch).await;
        }
    }

    async fn commit(&self, batch: Vec<Pending>) {
        let shared: Vec<PropertyOps<'_>> = batch
            .iter()
            .map(|p| PropertyOps {
                property_id: p.property_id,
                ops: &p.ops,
                now: p.now,
            })
            .collect();
        self.stats.transactions.fetch_add(1, Ordering::Relaxed);
        let result = self.inner.apply_calendars(&shared).await;
        drop(shared);
        match result {
            Ok(outcomes) if outcomes.len() == batch.len() => {
                for (pending, outcomes) in batch.into_iter().zip(outcomes) {
                    self.answer(pending, Ok(outcomes));
                }
            }
            Ok(_) => {
                for pending in batch {
                    let mismatch = PortError::new("outcome count mismatch");
                    self.answer(pending, Err(mismatch));
                }
            }
            Err(e) if batch.len() == 1 => {
                for pending in batch {
                    self.answer(pending, Err(e.clone()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, batches = batch.len(), "shared commit failed; committing batch by batch");
                self.stats.split.fetch_add(1, Ordering::Relaxed);
                for pending in batch {
                    self.stats.transactions.fetch_add(1, Ordering::Relaxed);
                    let result = self
                        .inner
                        .apply_calendar(pending.property_id, &pending.ops, pending.now)
                        .await;
                    self.answer(pending, result);
                }
            }
        }
    }

    fn answer(&self, pending: Pending, result: Result<Vec<OpOutcome>, PortError>) {
        if result.is_ok() {
            self.stats.batches.fetch_add(1, Ordering::Relaxed);
            let ops = u64::try_from(pending.ops.len()).unwrap_or(u64::MAX);
            self.stats.ops.fetch_add(ops, Ordering::Relaxed);
        }
        // The actor may be gone (stopped); its changes are committed all
        // the same, as they would have been without the committer.
        let _ = pending.reply.send(result);
    }
}

#[async_trait]
impl CalendarStore for SharedCommits {
    async fn load_calendar(&self, property_id: Uuid) -> Result<Vec<CalendarEntry>, PortError> {
        self.inner.load_calendar(property_id).await
    }

    async fn apply_calendar(
        &self,
        property_id: Uuid,
        ops: &[CalendarOp],
        now: DateTime<Utc>,
    ) -> Result<Vec<OpOutcome>, PortError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            property_id,
            ops: ops.to_vec(),
            now,
            reply,
        };
        if self.queue.send(pending).is_err() {
            // The committers are gone (shutting down): commit alone.
            return self.inner.apply_calendar(property_id, ops, now).await;
        }
        answer
            .await
            .unwrap_or_else(|_| Err(PortError::unavailable("the calendar committer stopped")))
    }

    async fn apply_calendars(
        &self,
        batches: &[PropertyOps<'_>],
    ) -> Result<Vec<Vec<OpOutcome>>, PortError> {
        self.inner.apply_calendars(batches).await
    }

    async fn idle(&self) {
        self.inner.idle().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A store whose transactions take a while, counting them; a shared
    /// transaction holding `poisoned` fails, as that batch alone does.
    struct SlowStore {
        transactions: AtomicU64,
        poisoned: Option<Uuid>,
    }

    impl SlowStore {
        fn new(poisoned: Option<Uuid>) -> Arc<Self> {
            Arc::new(Self {
                transactions: AtomicU64::new(0),
                poisoned,
            })
        }
    }

    #[async_trait]
    impl CalendarStore for SlowStore {
        async fn load_calendar(&self, _: Uuid) -> Result<Vec<CalendarEntry>, PortError> {
            Ok(Vec::new())
        }

        async fn apply_calendar(
            &self,
            property_id: Uuid,
            ops: &[CalendarOp],
            now: DateTime<Utc>,
        ) -> Result<Vec<OpOutcome>, PortError> {
            crate::ports::apply_one(self, property_id, ops, now).await
        }

        async fn apply_calendars(
            &self,
            batches: &[PropertyOps<'_>],
        ) -> Result<Vec<Vec<OpOutcome>>, PortError> {
            self.transactions.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            if batches.iter().any(|b| Some(b.property_id) == self.poisoned) {
                return Err(PortError::new("constraint violated"));
            }
            Ok(batches
                .iter()
                .map(|b| b.ops.iter().map(|_| OpOutcome::Applied(None)).collect())
                .collect())
        }
    }

    fn remove_block() -> Vec<CalendarOp> {
        vec![CalendarOp::RemoveBlock {
            block_id: Uuid::now_v7(),
        }]
    }

    /// `n` properties' batches sent at once through `commits`.
    async fn race(
        commits: &Arc<SharedCommits>,
        properties: &[Uuid],
    ) -> Vec<Result<Vec<OpOutcome>, PortError>> {
        let calls = properties.iter().map(|&id| {
            let commits = commits.clone();
            tokio::spawn(async move {
                commits
                    .apply_calendar(id, &remove_block(), Utc::now())
                    .await
            })
        });
        let mut results = Vec::new();
        for call in calls.collect::<Vec<_>>() {
            results.push(
                call.await
                    .unwrap_or_else(|e| Err(PortError::new(e.to_string()))),
            );
        }
        results
    }

    #[test]
    fn batches_waiting_together_share_one_transaction() {
        actix::System::new().block_on(async {
            let store = SlowStore::new(None);
            let commits = SharedCommits::start(store.clone(), 1, 512);
            let properties: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();
            let results = race(&commits, &properties).await;
            assert!(
                results
                    .iter()
                    .all(|r| matches!(r.as_deref(), Ok([OpOutcome::Applied(None)])))
            );
            // The first transaction carries whoever came first; the rest
            // queue behind it and go in one more (or very few).
            let transactions = store.transactions.load(Ordering::SeqCst);
            assert!(
                transactions <= 3,
                "{transactions} transactions for 50 batches"
            );
            let (counted, batches, ops, split) = commits.stats().snapshot();
            assert_eq!((counted, batches, ops, split), (transactions, 50, 50, 0));
        });
    }

    #[test]
    fn a_failing_shared_transaction_fails_only_its_own_batch() {
        actix::System::new().block_on(async {
            let poisoned = Uuid::now_v7();
            let store = SlowStore::new(Some(poisoned));
            let commits = SharedCommits::start(store.clone(), 1, 512);
            let mut properties: Vec<Uuid> = (0..9).map(|_| Uuid::now_v7()).collect();
            properties.insert(4, poisoned);
            let results = race(&commits, &properties).await;
            for (id, result) in properties.iter().zip(&results) {
                if *id == poisoned {
                    assert_eq!(result, &Err(PortError::new("constraint violated")));
                } else {
                    assert!(matches!(result.as_deref(), Ok([OpOutcome::Applied(None)])));
                }
            }
            let (_, batches, _, split) = commits.stats().snapshot();
            assert_eq!(batches, 9);
            assert!(split >= 1);
        });
    }
}
