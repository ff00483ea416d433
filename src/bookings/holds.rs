//! The per-guest hold gate: a guest may hold at most `max_holds` unpaid
//! bookings at once, even when their requests arrive together. Each
//! guest's new holds are decided one at a time against a count this
//! process keeps (read from the store at most once a second, counted up by
//! the holds made here, read again when one of the guest's bookings
//! changes here).

use std::time::Duration as StdDuration;

use innkeep_actors::CalendarRegistry;
use innkeep_actors::domain::DateRange;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::store::BookingStore;

/// How long a guest's pending-hold count read from the store is trusted
/// (counted up by the holds made here meanwhile): what another process
/// changed is seen within this.
const HOLD_COUNT_FRESH: StdDuration = StdDuration::from_secs(1);

/// A guest's pending holds as this process knows them, so a booking does
/// not read the store to count them: read at most once a second, counted
/// up by each hold made here, read again once one of the guest's bookings
/// changes here (a hold paid, cancelled or lapsed frees a place at once).
#[derive(Default)]
pub(super) struct GuestHolds {
    /// The count and when it was read; held while a hold is decided.
    known: tokio::sync::Mutex<Option<(i64, std::time::Instant)>>,
    /// Set when one of the guest's bookings changed: read the count again.
    stale: std::sync::atomic::AtomicBool,
}

impl GuestHolds {
    /// One of the guest's bookings changed here: read the count again.
    pub(super) fn changed(&self) {
        self.stale.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The guest's count, locked while one attempt decides: (count, read at).
pub(super) type Known<'a> = tokio::sync::MutexGuard<'a, Option<(i64, std::time::Instant)>>;

/// 409 if any of the dates is taken, as the calendar's published view
/// (or, while it loads, the actor) knows them now.
pub(super) async fn refuse_taken(
    calendars: &CalendarRegistry,
    property_id: Uuid,
    range: DateRange,
) -> AppResult<()> {
    if calendars.unavailable(property_id, range).await?.is_empty() {
        Ok(())
    } else {
        Err(AppError::dates_unavailable("those dates are already taken"))
    }
}

impl GuestHolds {
    /// How many holds the guest has now (`store` counts them when this
    /// process's count is stale), with the count locked for this attempt
    /// (the caller adds the hold it makes before letting go).
    pub(super) async fn held_by<'a>(
        &'a self,
        store: &dyn BookingStore,
        calendars: &CalendarRegistry,
        guest_id: Uuid,
        property_id: Uuid,
        range: DateRange,
    ) -> AppResult<(Known<'a>, i64)> {
        let mut known = self.decide(calendars, property_id, range).await?;
        let stale = self.stale.swap(false, std::sync::atomic::Ordering::SeqCst);
        let held = match *known {
            Some((count, read_at)) if !stale && read_at.elapsed() < HOLD_COUNT_FRESH => count,
            _ => {
                let count = store.pending_holds(guest_id).await?;
                *known = Some((count, std::time::Instant::now()));
                count
            }
        };
        Ok((known, held))
    }

    /// The guest's hold count, locked while this attempt decides. Another
    /// attempt of the guest's may hold it: while waiting, each change of
    /// the property's calendar has the dates looked up again, and once
    /// they are taken this one is refused at once. A thousand attempts of
    /// one guest on free dates otherwise each took the lock in turn to be
    /// refused, one after another (a convoy: p99 over a second at 1,000
    /// connections, `loadtests/README.md`, seventh sitting).
    async fn decide(
        &self,
        calendars: &CalendarRegistry,
        property_id: Uuid,
        range: DateRange,
    ) -> AppResult<Known<'_>> {
        if let Ok(known) = self.known.try_lock() {
            return Ok(known);
        }
        let mut changes = calendars.subscribe(property_id);
        let lock = self.known.lock();
        tokio::pin!(lock);
        loop {
            tokio::select! {
                known = &mut lock => return Ok(known),
                changed = changes.changed() => {
                    if changed.is_err() {
                        // No more notices: wait for the lock alone.
                        return Ok(lock.await);
                    }
                    refuse_taken(calendars, property_id, range).await?;
                }
            }
        }
    }
}
