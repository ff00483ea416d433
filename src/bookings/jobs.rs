//! Time-driven booking changes: unpaid holds and unanswered requests lapse
//! at `expires_at`, confirmed stays complete after check-out, unrecorded
//! intents and captures are reconciled, and hosts are paid 24 h after
//! check-in (a payout job in the outbox, carried out by the PaymentsActor).
//! A sweep reads what is due from the store each second, so nothing is lost
//! across a restart, and the injected clock decides what "due" means.

use std::time::Duration;

use actix_web::web;

use innkeep_actors::ledger;
use innkeep_actors::ports::{NewPaymentJob, PaymentJobKind};

use super::service;
use crate::error::AppResult;
use crate::state::AppState;

pub const SWEEP_EVERY: Duration = Duration::from_secs(1);
const BATCH: u32 = 500;
/// How old a hold without a payment intent must be before the sweep looks
/// its intent up (a booking request records it within its own request).
const INTENT_GRACE_SECS: i64 = 30;

pub fn spawn(state: web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&state).await {
                tracing::warn!(error = %e, "booking sweep failed; retrying next tick");
            }
        }
    });
}

/// One pass; returns how many bookings changed.
pub async fn sweep(state: &AppState) -> AppResult<usize> {
    let mut changed = 0;
    for (booking_id, _) in state.store.due_holds(state.clock.now(), BATCH).await? {
        if service::expire(state, booking_id).await?.is_some() {
            tracing::info!(%booking_id, "hold expired");
            changed += 1;
        }
    }
    for (booking_id, _) in state
        .store
        .finished_stays(state.clock.today(), BATCH)
        .await?
    {
        if service::complete(state, booking_id).await?.is_some() {
            changed += 1;
        }
    }
    // Holds whose intent was created but not recorded (a crash in between):
    // past a grace period for requests still in flight, find and record it.
    let grace = state.clock.now() - chrono::Duration::seconds(INTENT_GRACE_SECS);
    for booking_id in state.store.holds_without_intent(grace, BATCH).await? {
        if let Some(mut booking) = state.store.booking(booking_id).await?
            && service::recover_intent(state, &mut booking).await?
        {
            changed += 1;
        }
    }
    // Captures that went through without the acceptance being recorded (a
    // crash, or a retry that succeeded after the host was told 503): the
    // same path as Stripe's `succeeded` confirms the booking, or returns
    // the money if the booking has moved on.
    let recent = state.clock.now() - chrono::Duration::days(1);
    for intent_id in state.store.captures_unposted(recent, BATCH).await? {
        tracing::warn!(intent_id, "capture not recorded; reconciling");
        crate::payments::events::apply(
            state,
            &intent_id,
            crate::payments::events::PaymentEvent::Succeeded,
        )
        .await?;
        changed += 1;
    }
    let checked_in_by = crate::payments::ledger::payable_from(state.clock.now());
    for booking in state.store.payouts_due(checked_in_by, BATCH).await? {
        let amount = ledger::host_net(&booking, booking.refund_amount.unwrap_or(0));
        if amount > 0 {
            tracing::info!(booking_id = %booking.id, amount, "host payout due");
            let job = NewPaymentJob::new(PaymentJobKind::Payout, booking.id, amount);
            crate::payments::outbox::enqueue_and_run(state, job).await?;
            changed += 1;
        }
    }
    Ok(changed)
}
