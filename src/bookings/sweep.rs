//! Time-driven booking changes: unpaid holds and unanswered requests lapse
//! at `expires_at`, confirmed stays complete after check-out, unrecorded
//! intents and captures are reconciled, and hosts are paid 24 h after
//! check-in (a payout job in the outbox, carried out by the PaymentsActor).
//! A sweep reads what is due from the store; the job queue runs one each
//! second (`bookings.sweep`), so nothing is lost across a restart, and the
//! injected clock decides what "due" means. One booking that fails is
//! logged and retried next pass; the others go on. Guests checking in
//! tomorrow get their reminder. Every ten minutes of
//! that clock a sweep also prunes kept records, finished jobs among them.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use innkeep_actors::Clock;
use innkeep_actors::ledger;
use innkeep_actors::ports::{NewPaymentJob, PaymentJobKind};
use uuid::Uuid;

use super::BookingService;
use crate::error::AppResult;
use crate::payments::events::PaymentEvent;
use crate::payments::ledger::payable_from;
use crate::store::{DueWork, Retention, SweepCutoffs, SweepStore};

pub const SWEEP_EVERY: Duration = Duration::from_secs(1);
const BATCH: u32 = 500;
/// How old a hold without a payment intent must be before the sweep looks
/// its intent up (a booking request records it within its own request).
const INTENT_GRACE_SECS: i64 = 30;

/// How often kept records are pruned, and how long each is kept.
const PRUNE_EVERY_SECS: i64 = 600;
/// Rows of each kind one prune deletes at most.
const PRUNE_BATCH: u32 = 5_000;
/// A replay answers the same key for at least a day (keys go after two).
const KEEP_IDEMPOTENCY_KEYS: chrono::Duration = chrono::Duration::hours(48);
/// A refresh token is useless once expired; kept a day more for the logs.
const KEEP_EXPIRED_TOKENS: chrono::Duration = chrono::Duration::days(1);
/// Stripe redelivers for up to three days; event ids are kept a month.
const KEEP_WEBHOOK_EVENTS: chrono::Duration = chrono::Duration::days(35);
/// Finished jobs stay a week for `innkeep jobs list` (dead ones until
/// retried, except periodic ones, whose next period redid the work).
const KEEP_FINISHED_JOBS: chrono::Duration = chrono::Duration::days(7);

/// The steps of a pass, in order.
#[derive(Debug, Clone, Copy)]
enum Step {
    Expire,
    Complete,
    RecoverIntents,
    ReconcileCaptures,
    PayOut,
    Remind,
}

#[derive(Clone)]
pub struct Sweeper {
    bookings: BookingService,
    store: Arc<dyn SweepStore>,
    clock: Arc<dyn Clock>,
    /// When the last prune ran (Unix seconds of the injected clock).
    last_pruned: Arc<AtomicI64>,
}

/// Logs a failure of one booking's step without stopping the pass.
fn counted(step: &str, booking: impl std::fmt::Display, result: AppResult<bool>) -> usize {
    match result {
        Ok(changed) => usize::from(changed),
        Err(e) => {
            tracing::warn!(step, booking = %booking, error = %e, "sweep step failed; retried next pass");
            0
        }
    }
}

impl Sweeper {
    pub fn new(
        bookings: BookingService,
        store: Arc<dyn SweepStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            bookings,
            store,
            clock,
            last_pruned: Arc::new(AtomicI64::new(i64::MIN)),
        }
    }

    /// One pass; returns how many bookings changed. One probe of every
    /// step's index says which have anything due; each of those finds it
    /// through its index and takes at most [`BATCH`] (the rest next pass); a step whose store cannot say what is due is
    /// logged and the others still run; the pass then fails, to be
    /// counted (`/metrics`), and the next one tries again.
    pub async fn sweep(&self) -> AppResult<usize> {
        let now = self.clock.now();
        let today = self.clock.today();
        let at = SweepCutoffs {
            now,
            // Holds whose intent was created but not recorded (a crash in
            // between), past a grace period for requests still in flight.
            intents_before: now - chrono::Duration::seconds(INTENT_GRACE_SECS),
            today,
            captures_after: now - chrono::Duration::days(1),
            checked_in_by: payable_from(now),
            // Guests checking in tomorrow (the service's today).
            tomorrow: today + chrono::Duration::days(1),
        };
        let mut changed = 0;
        let mut failed = None;
        // One probe says which steps have anything due; the others are
        // not read at all.
        let due = match self.store.due_work(&at).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "the sweep could not read what is due; retried next pass");
                failed = Some(e.into());
                DueWork::default()
            }
        };
        let steps = [
            (Step::Expire, due.holds),
            (Step::Complete, due.stays),
            (Step::RecoverIntents, due.intents),
            (Step::ReconcileCaptures, due.captures),
            (Step::PayOut, due.payouts),
            (Step::Remind, due.reminders),
        ];
        for (step, _) in steps.into_iter().filter(|(_, due)| *due) {
            match self.step(step, &at).await {
                Ok(n) => changed += n,
                Err(e) => {
                    tracing::warn!(step = ?step, error = %e, "sweep step could not read what is due; retried next pass");
                    failed = Some(e);
                }
            }
        }
        self.prune_now_and_then().await;
        match failed {
            Some(e) => Err(e),
            None => Ok(changed),
        }
    }

    async fn step(&self, step: Step, at: &SweepCutoffs) -> AppResult<usize> {
        let bookings = &self.bookings;
        let mut changed = 0;
        match step {
            Step::Expire => {
                for (id, _) in self.store.due_holds(at.now, BATCH).await? {
                    let expired = bookings.expire(id).await.map(|b| b.is_some());
                    if matches!(expired, Ok(true)) {
                        tracing::info!(booking_id = %id, "hold expired");
                    }
                    changed += counted("expire", id, expired);
                }
            }
            Step::Complete => {
                for (id, _) in self.store.finished_stays(at.today, BATCH).await? {
                    changed += counted(
                        "complete",
                        id,
                        bookings.complete(id).await.map(|b| b.is_some()),
                    );
                }
            }
            Step::RecoverIntents => {
                for id in self
                    .store
                    .holds_without_intent(at.intents_before, BATCH)
                    .await?
                {
                    changed += counted("recover intent", id, self.recover_intent(id).await);
                }
            }
            Step::ReconcileCaptures => {
                // Captures that went through without the acceptance being
                // recorded (a crash, or a retry that succeeded after the
                // host was told 503): the same path as Stripe's `succeeded`
                // confirms the booking, or returns the money if the booking
                // has moved on. Either way the capture is settled.
                for intent_id in self
                    .store
                    .captures_unposted(at.captures_after, BATCH)
                    .await?
                {
                    tracing::warn!(intent_id, "capture not recorded; reconciling");
                    let applied = match bookings
                        .apply_payment_event(&intent_id, PaymentEvent::Succeeded)
                        .await
                    {
                        Ok(_) => self
                            .store
                            .capture_settled(&intent_id)
                            .await
                            .map(|()| true)
                            .map_err(Into::into),
                        Err(e) => Err(e),
                    };
                    changed += counted("reconcile capture", &intent_id, applied);
                }
            }
            Step::PayOut => {
                for booking in self.store.payouts_due(at.checked_in_by, BATCH).await? {
                    let amount = ledger::host_net(&booking, booking.refund_amount.unwrap_or(0));
                    let paid = self.pay_out(booking.id, amount).await;
                    changed += counted("payout", booking.id, paid);
                }
            }
            Step::Remind => {
                // Each guest hears of it once.
                let due = self.store.checkins_to_remind(at.tomorrow, BATCH).await?;
                if !due.is_empty() {
                    let notices: Vec<_> = due
                        .iter()
                        .map(|(booking, guest)| {
                            crate::notifications::checkin_reminder(*booking, *guest, at.tomorrow)
                        })
                        .collect();
                    changed += counted(
                        "check-in reminders",
                        at.tomorrow,
                        self.store
                            .record_reminders(&notices, at.now)
                            .await
                            .map(|n| n > 0)
                            .map_err(Into::into),
                    );
                }
            }
        }
        Ok(changed)
    }

    /// Forgets old idempotency keys, expired refresh tokens, old webhook
    /// event ids and finished jobs, every [`PRUNE_EVERY_SECS`], at most
    /// [`PRUNE_BATCH`] rows of each a pass: a pass that had more to do
    /// leaves the next pass to go on at once.
    async fn prune_now_and_then(&self) {
        let now = self.clock.now();
        let last = self.last_pruned.load(Ordering::Relaxed);
        if now.timestamp().saturating_sub(last) < PRUNE_EVERY_SECS {
            return;
        }
        // One pass prunes (sweeps of two workers may overlap); a failed one
        // gives its turn back, so the next pass tries again.
        if self
            .last_pruned
            .compare_exchange(last, now.timestamp(), Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let cutoffs = Retention {
            idempotency_keys: now - KEEP_IDEMPOTENCY_KEYS,
            refresh_tokens: now - KEEP_EXPIRED_TOKENS,
            webhook_events: now - KEEP_WEBHOOK_EVENTS,
            // The queue keeps system time (`crate::jobs`).
            jobs: chrono::Utc::now() - KEEP_FINISHED_JOBS,
        };
        let give_back = || {
            let _ = self.last_pruned.compare_exchange(
                now.timestamp(),
                last,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        };
        match self.store.prune(&cutoffs, PRUNE_BATCH).await {
            Ok(0) => {}
            Ok(rows) => {
                tracing::info!(
                    rows,
                    "pruned old idempotency keys, tokens, event ids and jobs"
                );
                if rows >= u64::from(PRUNE_BATCH) {
                    // Maybe more: the next pass goes on.
                    give_back();
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "pruning failed; retried next pass");
                give_back();
            }
        }
    }

    async fn recover_intent(&self, id: Uuid) -> AppResult<bool> {
        match self.bookings.store.booking(id).await? {
            Some(mut booking) => self.bookings.recover_intent(&mut booking).await,
            None => Ok(false),
        }
    }

    async fn pay_out(&self, booking_id: Uuid, amount: i64) -> AppResult<bool> {
        if amount <= 0 {
            // Refunded in full: nothing is owed, nothing to look at again.
            self.store.payout_settled(booking_id).await?;
            return Ok(false);
        }
        tracing::info!(%booking_id, amount, "host payout due");
        let job = NewPaymentJob::new(PaymentJobKind::Payout, booking_id, amount);
        self.bookings.outbox.enqueue_and_run(job).await?;
        Ok(true)
    }
}
