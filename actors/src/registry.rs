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

use crate::calendar::{Apply, CalendarActor, CalendarError, Invalidate, Unavailable};
use crate::clock::Clock;
use crate::domain::DateRange;
use crate::ports::{CalendarOp, CalendarStore, OpOutcome};

pub struct CalendarRegistry {
    actors: Mutex<HashMap<Uuid, Addr<CalendarActor>>>,
    arbiters: Vec<Arbiter>,
    store: Arc<dyn CalendarStore>,
    clock: Arc<dyn Clock>,
    idle_after: Duration,
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
            this: this.clone(),
        })
    }

    fn actors(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Addr<CalendarActor>>> {
        self.actors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn addr(&self, property_id: Uuid) -> Addr<CalendarActor> {
        let mut actors = self.actors();
        if let Some(addr) = actors.get(&property_id)
            && addr.connected()
        {
            return addr.clone();
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        property_id.hash(&mut hasher);
        let arbiter = &self.arbiters[(hasher.finish() as usize) % self.arbiters.len()];
        let actor = CalendarActor::new(
            property_id,
            self.store.clone(),
            self.clock.clone(),
            self.this.clone(),
            self.idle_after,
        );
        let addr = CalendarActor::start_in_arbiter(&arbiter.handle(), move |_| actor);
        actors.insert(property_id, addr.clone());
        addr
    }

    /// Removes `addr` for `property_id`, unless a newer actor replaced it.
    pub fn forget(&self, property_id: Uuid, addr: &Addr<CalendarActor>) {
        let mut actors = self.actors();
        if actors
            .get(&property_id)
            .is_some_and(|current| current == addr)
        {
            actors.remove(&property_id);
        }
    }

    /// Applies one change through the property's calendar.
    pub async fn apply(
        &self,
        property_id: Uuid,
        op: CalendarOp,
    ) -> Result<OpOutcome, CalendarError> {
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
        for _ in 0..RESENDS {
            let addr = self.addr(property_id);
            match addr.send(Unavailable { window }).await {
                Ok(ranges) => return Ok(ranges),
                Err(MailboxError::Closed) => self.forget(property_id, &addr),
                Err(MailboxError::Timeout) => return Err(CalendarError::Stopped),
            }
        }
        Err(CalendarError::Stopped)
    }

    /// Tells the property's calendar, if it is live here, to reload.
    pub fn invalidate(&self, property_id: Uuid) {
        if let Some(addr) = self.actors().get(&property_id) {
            addr.do_send(Invalidate);
        }
    }

    /// Calendars currently in memory.
    pub fn live(&self) -> usize {
        self.actors().len()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

impl Drop for CalendarRegistry {
    fn drop(&mut self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}
