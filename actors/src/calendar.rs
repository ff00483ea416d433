//! `CalendarActor`: owns one property's calendar.
//!
//! It loads the property's active ranges (bookings, holds, blocks) into
//! memory, answers availability from memory and serialises every change.
//! A change that overlaps is refused at once, without touching the
//! database. An accepted change is taken into memory and queued; the queue
//! is written in one store transaction (group commit) while new requests
//! keep being checked against memory, and each caller gets its answer only
//! after the transaction that holds its change has committed.
//!
//! Memory may be stale when another process writes the same property (its
//! changes reach us through `Invalidate`, or through the database refusing
//! one of ours): any surprise from the store triggers a reload, and the
//! database constraint keeps the data right in between.

use std::collections::{BTreeMap, HashMap};
use std::future::ready;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::NaiveDate;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::clock::Clock;
use crate::domain::DateRange;
use crate::ports::{CalendarEntry, CalendarOp, CalendarStore, OpOutcome};
use crate::registry::CalendarRegistry;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("calendar store failed: {0}")]
    Store(String),
    #[error("the calendar is not available right now")]
    Stopped,
}

/// Apply one change; answered after it is committed (or refused).
#[derive(Message)]
#[rtype(result = "Result<OpOutcome, CalendarError>")]
pub struct Apply(pub CalendarOp);

/// The unavailable ranges that intersect `window`, in order.
#[derive(Message)]
#[rtype(result = "Vec<DateRange>")]
pub struct Unavailable {
    pub window: DateRange,
}

/// Another process changed this calendar: reload it from the store.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Invalidate;

/// What a calendar's readers may see without a message to its actor: the
/// unavailable ranges as the actor's memory holds them, republished by the
/// actor after every change (copy on write; calendars are small). Reads
/// and refusals of overlapping requests are answered from it; every
/// accepted change still goes through the actor. Not `ready` while the
/// actor loads or reloads, when readers ask the actor instead.
#[derive(Default)]
pub struct CalendarView {
    ranges: std::sync::RwLock<Arc<Vec<DateRange>>>,
    ready: AtomicBool,
    /// Read since the actor last looked: keeps a calendar that only serves
    /// reads from passivating.
    touched: AtomicBool,
}

impl CalendarView {
    fn snapshot(&self) -> Option<Arc<Vec<DateRange>>> {
        if !self.ready.load(Ordering::Acquire) {
            return None;
        }
        self.touched.store(true, Ordering::Relaxed);
        let ranges = self
            .ranges
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(ranges.clone())
    }

    /// The unavailable ranges intersecting `window`, in order; `None` when
    /// the view is not ready.
    pub fn unavailable(&self, window: DateRange) -> Option<Vec<DateRange>> {
        let ranges = self.snapshot()?;
        let first = ranges.partition_point(|r| r.end <= window.start);
        Some(
            ranges[first..]
                .iter()
                .take_while(|r| r.start < window.end)
                .copied()
                .collect(),
        )
    }

    /// Whether `range` overlaps a range of the calendar; `None` when the
    /// view is not ready.
    pub fn overlaps(&self, range: DateRange) -> Option<bool> {
        let ranges = self.snapshot()?;
        let first = ranges.partition_point(|r| r.end <= range.start);
        Some(ranges.get(first).is_some_and(|r| r.start < range.end))
    }

    fn publish(&self, ranges: Vec<DateRange>) {
        *self
            .ranges
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(ranges);
        self.ready.store(true, Ordering::Release);
    }

    /// Until the next publish, readers ask the actor.
    pub(crate) fn hide(&self) {
        self.ready.store(false, Ordering::Release);
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    end: NaiveDate,
}

struct Queued {
    op: CalendarOp,
    reply: oneshot::Sender<Result<OpOutcome, CalendarError>>,
}

pub struct CalendarActor {
    property_id: Uuid,
    store: Arc<dyn CalendarStore>,
    clock: Arc<dyn Clock>,
    registry: Weak<CalendarRegistry>,
    idle_after: Duration,
    view: Arc<CalendarView>,
    /// Active ranges by start date; they never overlap, so they are also
    /// sorted by end date.
    slots: BTreeMap<NaiveDate, Slot>,
    starts: HashMap<Uuid, NaiveDate>,
    /// Accepted in memory, waiting for the next commit.
    queue: Vec<Queued>,
    /// Being committed right now.
    in_flight: Vec<CalendarOp>,
    committing: bool,
    stale: bool,
    last_used: Instant,
}

impl CalendarActor {
    pub fn new(
        property_id: Uuid,
        store: Arc<dyn CalendarStore>,
        clock: Arc<dyn Clock>,
        registry: Weak<CalendarRegistry>,
        idle_after: Duration,
        view: Arc<CalendarView>,
    ) -> Self {
        Self {
            property_id,
            store,
            clock,
            registry,
            idle_after,
            view,
            slots: BTreeMap::new(),
            starts: HashMap::new(),
            queue: Vec::new(),
            in_flight: Vec::new(),
            committing: false,
            stale: false,
            last_used: Instant::now(),
        }
    }

    /// Whether `range` is free in memory.
    fn is_free(&self, range: DateRange) -> bool {
        match self.slots.range(..range.end).next_back() {
            Some((_, slot)) => slot.end <= range.start,
            None => true,
        }
    }

    fn insert(&mut self, id: Uuid, range: DateRange) -> bool {
        if !self.is_free(range) {
            return false;
        }
        self.slots.insert(range.start, Slot { end: range.end });
        self.starts.insert(id, range.start);
        true
    }

    fn remove(&mut self, id: Uuid) {
        if let Some(start) = self.starts.remove(&id) {
            self.slots.remove(&start);
        }
    }

    /// Takes the op's effect into memory; `false` if it overlaps.
    fn take_effect(&mut self, op: &CalendarOp) -> bool {
        match op {
            CalendarOp::InsertBooking(booking) => self.insert(booking.id, booking.range()),
            CalendarOp::InsertBlock(block) => match DateRange::new(block.start, block.end) {
                Some(range) => self.insert(block.id, range),
                None => false,
            },
            CalendarOp::RemoveBlock { block_id } => {
                self.remove(*block_id);
                true
            }
            CalendarOp::Transition(t) => {
                if !t.to.holds_dates() {
                    self.remove(t.booking_id);
                }
                true
            }
        }
    }

    fn unavailable(&self, window: DateRange) -> Vec<DateRange> {
        let mut out: Vec<DateRange> = self
            .slots
            .range(..window.end)
            .rev()
            .take_while(|(_, slot)| slot.end > window.start)
            .map(|(start, slot)| DateRange {
                start: *start,
                end: slot.end,
            })
            .collect();
        out.reverse();
        out
    }

    /// Shows readers what memory holds now.
    fn publish(&self) {
        self.view.publish(
            self.slots
                .iter()
                .map(|(start, slot)| DateRange {
                    start: *start,
                    end: slot.end,
                })
                .collect(),
        );
    }

    fn rebuild(&mut self, entries: Vec<CalendarEntry>) {
        self.slots.clear();
        self.starts.clear();
        for entry in entries {
            // Stored ranges never overlap; if they ever did, keep them all
            // blocked rather than lose one.
            self.slots.insert(
                entry.range.start,
                Slot {
                    end: entry.range.end,
                },
            );
            self.starts.insert(entry.id, entry.range.start);
        }
        for op in self.in_flight.clone() {
            self.take_effect(&op);
        }
        for queued in std::mem::take(&mut self.queue) {
            if self.take_effect(&queued.op) {
                self.queue.push(queued);
            } else {
                let _ = queued.reply.send(Ok(OpOutcome::Overlap));
            }
        }
        self.publish();
    }

    /// Reloads from the store; no message is handled until it is done.
    fn reload(&mut self, ctx: &mut Context<Self>) {
        self.stale = false;
        self.view.hide();
        let store = self.store.clone();
        let property_id = self.property_id;
        let load = async move { store.load_calendar(property_id).await };
        ctx.wait(load.into_actor(self).map(|loaded, act, ctx| {
            match loaded {
                Ok(entries) => act.rebuild(entries),
                Err(e) => {
                    tracing::error!(property_id = %act.property_id, error = %e, "calendar reload failed; retrying");
                    act.stale = true;
                    ctx.run_later(Duration::from_millis(200), |act, ctx| {
                        if act.stale && !act.committing {
                            act.reload(ctx);
                        }
                    });
                }
            }
            act.flush(ctx);
        }));
    }

    /// Commits everything queued, unless a commit is already running (its
    /// completion starts the next one).
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.committing || self.queue.is_empty() {
            return;
        }
        self.committing = true;
        let batch = std::mem::take(&mut self.queue);
        let ops: Vec<CalendarOp> = batch.iter().map(|q| q.op.clone()).collect();
        self.in_flight = ops.clone();
        let store = self.store.clone();
        let property_id = self.property_id;
        let now = self.clock.now();
        let commit = async move {
            match store.apply_calendar(property_id, &ops, now).await {
                Ok(outcomes) if outcomes.len() == ops.len() => {
                    outcomes.into_iter().map(Ok).collect()
                }
                Ok(_) => {
                    vec![Err(CalendarError::Store("outcome count mismatch".into())); ops.len()]
                }
                Err(e) if ops.len() == 1 => vec![Err(CalendarError::Store(e.to_string()))],
                Err(e) => {
                    // One bad op, or a deadlock with another process, must
                    // not fail its neighbours: apply them one at a time.
                    tracing::warn!(%property_id, error = %e, ops = ops.len(), "batch failed; applying one by one");
                    let mut results = Vec::with_capacity(ops.len());
                    for op in &ops {
                        let single = store
                            .apply_calendar(property_id, std::slice::from_ref(op), now)
                            .await;
                        results.push(match single {
                            Ok(mut outcomes) => outcomes
                                .pop()
                                .ok_or_else(|| CalendarError::Store("no outcome".into())),
                            Err(e) => Err(CalendarError::Store(e.to_string())),
                        });
                    }
                    results
                }
            }
        };
        ctx.spawn(commit.into_actor(self).map(
            move |results: Vec<Result<OpOutcome, CalendarError>>, act, ctx| {
                act.committing = false;
                act.in_flight.clear();
                for (queued, result) in batch.into_iter().zip(results) {
                    // Memory expected every queued op to apply: anything else
                    // means it is out of date.
                    if !matches!(result, Ok(OpOutcome::Applied(_))) {
                        act.stale = true;
                    }
                    let _ = queued.reply.send(result);
                }
                if act.stale {
                    act.reload(ctx);
                } else {
                    act.flush(ctx);
                }
            },
        ));
    }

    fn is_idle(&mut self) -> bool {
        if self.view.touched.swap(false, Ordering::Relaxed) {
            self.last_used = Instant::now();
        }
        self.queue.is_empty() && !self.committing && self.last_used.elapsed() >= self.idle_after
    }
}

impl Actor for CalendarActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(4096);
        // The first load: until it is done no request is answered.
        let store = self.store.clone();
        let property_id = self.property_id;
        ctx.wait(
            async move { store.load_calendar(property_id).await }
                .into_actor(self)
                .map(|loaded, act, ctx| match loaded {
                    Ok(entries) => act.rebuild(entries),
                    Err(e) => {
                        tracing::error!(property_id = %act.property_id, error = %e, "calendar load failed");
                        if let Some(registry) = act.registry.upgrade() {
                            registry.forget(act.property_id, &ctx.address());
                        }
                        ctx.stop();
                    }
                }),
        );
        // Passivation: an idle calendar leaves the registry first, then
        // stops. Requests that raced into its mailbox get `Closed` and the
        // registry resends them to a fresh actor, so none is lost.
        let every = (self.idle_after / 2).max(Duration::from_millis(50));
        ctx.run_interval(every, |act, ctx| {
            if act.is_idle() {
                if let Some(registry) = act.registry.upgrade() {
                    registry.forget(act.property_id, &ctx.address());
                }
                ctx.stop();
            }
        });
    }
}

impl Handler<Apply> for CalendarActor {
    type Result = ResponseFuture<Result<OpOutcome, CalendarError>>;

    fn handle(&mut self, msg: Apply, ctx: &mut Self::Context) -> Self::Result {
        self.last_used = Instant::now();
        if !self.take_effect(&msg.0) {
            // Refused from memory: no database round trip.
            return Box::pin(ready(Ok(OpOutcome::Overlap)));
        }
        self.publish();
        let (reply, answer) = oneshot::channel();
        self.queue.push(Queued { op: msg.0, reply });
        self.flush(ctx);
        Box::pin(async move { answer.await.unwrap_or(Err(CalendarError::Stopped)) })
    }
}

impl Handler<Unavailable> for CalendarActor {
    type Result = MessageResult<Unavailable>;

    fn handle(&mut self, msg: Unavailable, _: &mut Self::Context) -> Self::Result {
        self.last_used = Instant::now();
        MessageResult(self.unavailable(msg.window))
    }
}

impl Handler<Invalidate> for CalendarActor {
    type Result = ();

    fn handle(&mut self, _: Invalidate, ctx: &mut Self::Context) {
        self.stale = true;
        self.view.hide();
        if !self.committing {
            self.reload(ctx);
        }
    }
}

#[cfg(test)]
mod view_tests {
    use super::*;

    fn range(from: u32, to: u32) -> DateRange {
        let day = |d: u32| NaiveDate::from_ymd_opt(2030, 1, d).unwrap_or(NaiveDate::MIN);
        DateRange {
            start: day(from),
            end: day(to),
        }
    }

    #[test]
    fn a_view_answers_only_once_published_and_not_while_hidden() {
        let view = CalendarView::default();
        assert_eq!(view.overlaps(range(1, 2)), None);
        view.publish(vec![range(3, 5), range(8, 10)]);
        assert_eq!(
            view.overlaps(range(1, 3)),
            Some(false),
            "check-out on check-in day"
        );
        assert_eq!(view.overlaps(range(4, 6)), Some(true));
        assert_eq!(view.overlaps(range(5, 8)), Some(false));
        assert_eq!(view.overlaps(range(7, 9)), Some(true));
        assert_eq!(view.overlaps(range(1, 20)), Some(true));
        assert_eq!(view.overlaps(range(10, 12)), Some(false));
        assert_eq!(
            view.unavailable(range(4, 9)),
            Some(vec![range(3, 5), range(8, 10)])
        );
        assert_eq!(view.unavailable(range(5, 8)), Some(vec![]));
        view.hide();
        assert_eq!(view.unavailable(range(1, 20)), None);
        assert!(
            view.touched.load(Ordering::Relaxed),
            "reads mark the calendar used"
        );
    }
}
