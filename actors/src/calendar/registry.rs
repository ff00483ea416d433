//! `CalendarRegistry`: `PropertyId -> Addr<CalendarActor>`. Starts a
//! calendar on first use (on one of a few arbiter threads, by property),
//! forgets it when it passivates, and resends a message that reached a
//! calendar just as it stopped.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use actix::prelude::*;
use uuid::Uuid;

use super::actor::{Apply, CalendarActor, CalendarError, Invalidate, Unavailable};
use super::feed::ChangeFeed;
use super::view::CalendarView;
use crate::clock::Clock;
use crate::domain::DateRange;
use crate::ports::{CalendarOp, CalendarStore, OpOutcome};

/// A live calendar: its actor, and the view its readers see.
struct Live {
    addr: Addr<CalendarActor>,
    view: Arc<CalendarView>,
}

pub struct CalendarRegistry {
    actors: Mutex<HashMap<Uuid, Live>>,
    arbiters: Vec<Arbiter>,
    store: Arc<dyn CalendarStore>,
    clock: Arc<dyn Clock>,
    idle_after: Duration,
    feed: Arc<ChangeFeed>,
    this: Weak<CalendarRegistry>,
}

/// How many times a message is resent to a fresh actor after the one it
/// reached stopped (passivation) before giving up.
const RESENDS: usize = 5;

impl CalendarRegistry {
    /// Must be called inside an actix `System`. `threads` arbiters host the
    /// calendars; a calendar idle for `idle_after` stops.
    pub fn new(
        store: Arc<dyn CalendarStore>,
        clock: Arc<dyn Clock>,
        idle_after: Duration,
        threads: usize,
    ) -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            actors: Mutex::new(HashMap::new()),
            arbiters: (0..threads.max(1)).map(|_| Arbiter::new()).collect(),
            store,
            clock,
            idle_after,
            feed: Arc::new(ChangeFeed::default()),
            this: this.clone(),
        })
    }

    fn actors(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Live>> {
        self.actors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The view of the property's calendar, if one is live here.
    fn view(&self, property_id: Uuid) -> Option<Arc<CalendarView>> {
        self.actors()
            .get(&property_id)
            .filter(|live| live.addr.connected())
            .map(|live| live.view.clone())
    }

    fn addr(&self, property_id: Uuid) -> Addr<CalendarActor> {
        let mut actors = self.actors();
        if let Some(live) = actors.get(&property_id)
            && live.addr.connected()
        {
            return live.addr.clone();
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        property_id.hash(&mut hasher);
        let arbiter = &self.arbiters[(hasher.finish() as usize) % self.arbiters.len()];
        let view = Arc::new(CalendarView::default());
        let registry = self.this.clone();
        let on_stop = Box::new(move |addr: &Addr<CalendarActor>| {
            if let Some(registry) = registry.upgrade() {
                registry.forget(property_id, addr);
            }
        });
        let actor = CalendarActor::new(
            property_id,
            self.store.clone(),
            self.clock.clone(),
            on_stop,
            self.idle_after,
            view.clone(),
            self.feed.clone(),
        );
        let addr = CalendarActor::start_in_arbiter(&arbiter.handle(), move |_| actor);
        actors.insert(
            property_id,
            Live {
                addr: addr.clone(),
                view,
            },
        );
        addr
    }

    /// Removes `addr` for `property_id`, unless a newer actor replaced it.
    fn forget(&self, property_id: Uuid, addr: &Addr<CalendarActor>) {
        let mut actors = self.actors();
        if actors
            .get(&property_id)
            .is_some_and(|current| &current.addr == addr)
        {
            actors.remove(&property_id);
        }
    }

    /// Whether the property's calendar, as its view shows it now, would
    /// refuse `range` (an overlap): answered without a message to the
    /// actor; `false` when no view is ready (the actor decides then).
    pub fn refuses(&self, property_id: Uuid, range: DateRange) -> bool {
        self.view(property_id)
            .and_then(|view| view.overlaps(range))
            .unwrap_or(false)
    }

    /// Applies one change through the property's calendar.
    pub async fn apply(
        &self,
        property_id: Uuid,
        op: CalendarOp,
    ) -> Result<OpOutcome, CalendarError> {
        // A booking that overlaps what the calendar shows is refused here,
        // with no message to the actor: the hot path of a popular property.
        if let CalendarOp::InsertBooking(booking, _) = &op
            && self.refuses(property_id, booking.range())
        {
            return Ok(OpOutcome::Overlap);
        }
        for _ in 0..RESENDS {
            let addr = self.addr(property_id);
            match addr.send(Apply(op.clone())).await {
                Ok(result) => return result,
                // Never handled: the actor stopped first. Safe to resend.
                Err(MailboxError::Closed) => self.forget(property_id, &addr),
                Err(MailboxError::Timeout) => return Err(CalendarError::Stopped),
            }
        }
        Err(CalendarError::Stopped)
    }

    /// Unavailable ranges of the property within `window`, from memory.
    pub async fn unavailable(
        &self,
        property_id: Uuid,
        window: DateRange,
    ) -> Result<Vec<DateRange>, CalendarError> {
        if let Some(ranges) = self.view(property_id).and_then(|v| v.unavailable(window)) {
            return Ok(ranges);
        }
        for _ in 0..RESENDS {
            let addr = self.addr(property_id);
            match addr.send(Unavailable { window }).await {
                Ok(ranges) => return ranges,
                Err(MailboxError::Closed) => self.forget(property_id, &addr),
                Err(MailboxError::Timeout) => return Err(CalendarError::Stopped),
            }
        }
        Err(CalendarError::Stopped)
    }

    /// Another process changed the property's calendar: the actor, if it
    /// is live here, reloads, and listeners hear of it either way.
    pub fn invalidate(&self, property_id: Uuid) {
        if let Some(live) = self.actors().get(&property_id) {
            live.view.hide();
            live.addr.do_send(Invalidate);
        }
        self.feed.notify(property_id);
    }

    /// Hears of every change of the property's calendar from now on, made
    /// here or (through `invalidate`) by another process.
    pub fn subscribe(&self, property_id: Uuid) -> tokio::sync::watch::Receiver<u64> {
        self.feed.subscribe(property_id)
    }

    /// Tells the property's listeners that something of it changed outside
    /// the calendar (a payment's status).
    pub fn notify(&self, property_id: Uuid) {
        self.feed.notify(property_id);
    }

    /// Calendars currently in memory.
    pub fn live(&self) -> usize {
        self.actors().len()
    }

    /// The threads the calendars run on.
    pub fn threads(&self) -> Vec<ArbiterHandle> {
        self.arbiters.iter().map(Arbiter::handle).collect()
    }
}

impl Drop for CalendarRegistry {
    fn drop(&mut self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}
