//! Time-driven booking changes: unpaid holds lapse at `expires_at`, and
//! confirmed stays complete after check-out. A sweep reads what is due
//! from the store each second, so nothing is lost across a restart, and
//! the injected clock decides what "due" means.

use std::time::Duration;

use actix_web::web;

use super::service;
use crate::error::AppResult;
use crate::state::AppState;

pub const SWEEP_EVERY: Duration = Duration::from_secs(1);
const BATCH: u32 = 500;

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
    Ok(changed)
}
