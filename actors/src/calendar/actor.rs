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
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::NaiveDate;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::clock::Clock;
use crate::domain::DateRange;
use crate::ports::{CalendarEntry, CalendarOp, CalendarStore, EntryKind, OpOutcome, PortError};

use super::feed::ChangeFeed;
use super::view::CalendarView;

/// Called once when the actor stops of its own accord (passivation, or a
/// first load that failed), before it stops: whoever started it forgets
/// its address then, so that new requests start a fresh actor.
pub type OnStop = Box<dyn Fn(&Addr<CalendarActor>) + Send>;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("calendar store failed: {0}")]
    Store(String),
    /// The store cannot be reached: worth a retry soon.
    #[error("calendar store unavailable: {0}")]
    Unavailable(String),
    #[error("the calendar is not available right now")]
    Stopped,
}

impl From<PortError> for CalendarError {
    fn from(e: PortError) -> Self {
        if e.unavailable {
            Self::Unavailable(e.message)
        } else {
            Self::Store(e.message)
        }
    }
}

/// Apply one change; answered after it is committed (or refused).
#[derive(Message)]
#[rtype(result = "Result<OpOutcome, CalendarError>")]
pub struct Apply(pub CalendarOp);

/// The unavailable ranges that intersect `window`, in order.
#[derive(Message)]
#[rtype(result = "Result<Vec<DateRange>, CalendarError>")]
pub struct Unavailable {
    pub window: DateRange,
}

/// Another process changed this calendar: reload it from the store.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Invalidate;

/// What memory makes of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Taken into memory; to be committed.
    Taken,
    /// Overlaps an active range.
    Overlaps,
    /// Cannot apply (removing a "block" that is a booking).
    NotApplicable,
}

impl Effect {
    /// The answer for a change refused from memory.
    fn outcome(self) -> OpOutcome {
        match self {
            Self::Overlaps => OpOutcome::Overlap,
            Self::Taken | Self::NotApplicable => OpOutcome::NotApplied,
        }
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
    on_stop: OnStop,
    idle_after: Duration,
    view: Arc<CalendarView>,
    feed: Arc<ChangeFeed>,
    /// Active ranges by start date; they never overlap, so they are also
    /// sorted by end date.
    slots: BTreeMap<NaiveDate, Slot>,
    /// Each active range's start and what holds it, by id.
    entries: HashMap<Uuid, (NaiveDate, EntryKind)>,
    /// Accepted in memory, waiting for the next commit.
    queue: Vec<Queued>,
    /// Being committed right now.
    in_flight: Vec<CalendarOp>,
    committing: bool,
    stale: bool,
    /// The first load failed: every request gets this until the actor stops.
    failed: Option<CalendarError>,
    last_used: Instant,
}

impl CalendarActor {
    pub fn new(
        property_id: Uuid,
        store: Arc<dyn CalendarStore>,
        clock: Arc<dyn Clock>,
        on_stop: OnStop,
        idle_after: Duration,
        view: Arc<CalendarView>,
        feed: Arc<ChangeFeed>,
    ) -> Self {
        Self {
            property_id,
            store,
            clock,
            on_stop,
            idle_after,
            view,
            feed,
            slots: BTreeMap::new(),
            entries: HashMap::new(),
            queue: Vec::new(),
            in_flight: Vec::new(),
            committing: false,
            stale: false,
            failed: None,
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

    fn insert(&mut self, id: Uuid, range: DateRange, kind: EntryKind) -> Effect {
        if !self.is_free(range) {
            return Effect::Overlaps;
        }
        self.slots.insert(range.start, Slot { end: range.end });
        self.entries.insert(id, (range.start, kind));
        Effect::Taken
    }

    fn remove(&mut self, id: Uuid) {
        if let Some((start, _)) = self.entries.remove(&id) {
            self.slots.remove(&start);
        }
    }

    /// Takes the op's effect into memory, or says why not.
    fn take_effect(&mut self, op: &CalendarOp) -> Effect {
        match op {
            CalendarOp::InsertBooking(booking, _) => {
                self.insert(booking.id, booking.range(), EntryKind::Booking)
            }
            CalendarOp::InsertBlock(block) => match DateRange::new(block.start, block.end) {
                Some(range) => self.insert(block.id, range, EntryKind::Block),
                None => Effect::Overlaps,
            },
            CalendarOp::RemoveBlock { block_id } => match self.entries.get(block_id) {
                // Not a block: a booking's nights are freed by its own
                // state change only.
                Some((_, EntryKind::Booking)) => Effect::NotApplicable,
                Some((_, EntryKind::Block)) => {
                    self.remove(*block_id);
                    Effect::Taken
                }
                // Unknown here: the store decides (and a surprise reloads).
                None => Effect::Taken,
            },
            CalendarOp::Transition(t) => {
                if !t.to.holds_dates() {
                    self.remove(t.booking_id);
                }
                Effect::Taken
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

    /// Shows readers what memory holds now, and tells listeners.
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
        self.feed.notify(self.property_id);
    }

    fn rebuild(&mut self, entries: Vec<CalendarEntry>) {
        self.slots.clear();
        self.entries.clear();
        for entry in entries {
            // Stored ranges never overlap; if they ever did, keep them all
            // blocked rather than lose one.
            self.slots.insert(
                entry.range.start,
                Slot {
                    end: entry.range.end,
                },
            );
            self.entries
                .insert(entry.id, (entry.range.start, entry.kind));
        }
        for op in self.in_flight.clone() {
            self.take_effect(&op);
        }
        for queued in std::mem::take(&mut self.queue) {
            match self.take_effect(&queued.op) {
                Effect::Taken => self.queue.push(queued),
                refused => {
                    let _ = queued.reply.send(Ok(refused.outcome()));
                }
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
                Err(e) if ops.len() == 1 => vec![Err(e.into())],
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
                            Err(e) => Err(e.into()),
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
                // What was published before the commit is now in the store
                // too (a listener reading bookings back sees it).
                act.feed.notify(act.property_id);
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
        if self.view.take_touched() {
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
                        // New requests start a fresh actor (which loads
                        // again); the ones already here are answered with
                        // the error rather than left to time out.
                        (act.on_stop)(&ctx.address());
                        act.failed = Some(e.into());
                        ctx.run_later(Duration::from_millis(50), |_, ctx| ctx.stop());
                    }
                }),
        );
        // Passivation: an idle calendar has itself forgotten first, then
        // stops. Requests that raced into its mailbox get `Closed` and the
        // registry resends them to a fresh actor, so none is lost.
        let every = (self.idle_after / 2).max(Duration::from_millis(50));
        ctx.run_interval(every, |act, ctx| {
            if act.is_idle() {
                (act.on_stop)(&ctx.address());
                ctx.stop();
            }
        });
    }
}

impl Handler<Apply> for CalendarActor {
    type Result = ResponseFuture<Result<OpOutcome, CalendarError>>;

    fn handle(&mut self, msg: Apply, ctx: &mut Self::Context) -> Self::Result {
        self.last_used = Instant::now();
        if let Some(failed) = &self.failed {
            return Box::pin(ready(Err(failed.clone())));
        }
        match self.take_effect(&msg.0) {
            Effect::Taken => {}
            // Refused from memory: no database round trip.
            refused => return Box::pin(ready(Ok(refused.outcome()))),
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
        match &self.failed {
            Some(failed) => MessageResult(Err(failed.clone())),
            None => MessageResult(Ok(self.unavailable(msg.window))),
        }
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
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use tokio::sync::Semaphore;

    use super::*;
    use crate::clock::SystemClock;
    use crate::ports::NewBlock;

    /// The store as another process would leave it: ranges that may be
    /// written behind the actor's back (`write_elsewhere`), commits that
    /// wait for a permit when `gated`, and a count of them.
    #[derive(Default)]
    struct MemoryStore {
        entries: Mutex<Vec<CalendarEntry>>,
        commits: AtomicU64,
        /// When set, each commit takes a permit first.
        gate: Option<Semaphore>,
    }

    impl MemoryStore {
        fn gated() -> Self {
            Self {
                gate: Some(Semaphore::new(0)),
                ..Self::default()
            }
        }

        fn write_elsewhere(&self, range: DateRange) {
            if let Ok(mut entries) = self.entries.lock() {
                entries.push(CalendarEntry {
                    id: Uuid::now_v7(),
                    range,
                    kind: EntryKind::Block,
                });
            }
        }

        fn commits(&self) -> u64 {
            self.commits.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl CalendarStore for MemoryStore {
        async fn load_calendar(&self, _: Uuid) -> Result<Vec<CalendarEntry>, PortError> {
            self.entries
                .lock()
                .map(|e| e.clone())
                .map_err(|e| PortError::new(e.to_string()))
        }

        async fn apply_calendar(
            &self,
            _: Uuid,
            ops: &[CalendarOp],
            _: DateTime<Utc>,
        ) -> Result<Vec<OpOutcome>, PortError> {
            if let Some(gate) = &self.gate {
                gate.acquire()
                    .await
                    .map_err(|e| PortError::new(e.to_string()))?
                    .forget();
            }
            self.commits.fetch_add(1, Ordering::SeqCst);
            let mut entries = self
                .entries
                .lock()
                .map_err(|e| PortError::new(e.to_string()))?;
            fn insert(
                entries: &mut Vec<CalendarEntry>,
                id: Uuid,
                range: DateRange,
                kind: EntryKind,
            ) -> OpOutcome {
                if entries.iter().any(|e| e.range.overlaps(&range)) {
                    return OpOutcome::Overlap;
                }
                entries.push(CalendarEntry { id, range, kind });
                OpOutcome::Applied(None)
            }
            let entries = &mut *entries;
            Ok(ops
                .iter()
                .map(|op| match op {
                    CalendarOp::InsertBlock(b) => match DateRange::new(b.start, b.end) {
                        Some(range) => insert(entries, b.id, range, EntryKind::Block),
                        None => OpOutcome::NotApplied,
                    },
                    CalendarOp::InsertBooking(b, _) => {
                        insert(entries, b.id, b.range(), EntryKind::Booking)
                    }
                    CalendarOp::RemoveBlock { block_id } => {
                        let before = entries.len();
                        entries.retain(|e| e.id != *block_id || e.kind != EntryKind::Block);
                        if entries.len() < before {
                            OpOutcome::Applied(None)
                        } else {
                            OpOutcome::NotApplied
                        }
                    }
                    CalendarOp::Transition(t) => {
                        if !t.to.holds_dates() {
                            entries.retain(|e| e.id != t.booking_id);
                        }
                        OpOutcome::Applied(None)
                    }
                })
                .collect())
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2031, 3, d).unwrap_or_default()
    }

    fn nights(from: u32, to: u32) -> DateRange {
        DateRange {
            start: day(from),
            end: day(to),
        }
    }

    fn block(from: u32, to: u32) -> CalendarOp {
        CalendarOp::InsertBlock(NewBlock {
            id: Uuid::now_v7(),
            property_id: Uuid::nil(),
            start: day(from),
            end: day(to),
            reason: None,
        })
    }

    fn start(store: Arc<MemoryStore>) -> Addr<CalendarActor> {
        CalendarActor::new(
            Uuid::nil(),
            store,
            Arc::new(SystemClock),
            Box::new(|_| {}),
            Duration::from_secs(600),
            Arc::new(CalendarView::default()),
            Arc::new(ChangeFeed::default()),
        )
        .start()
    }

    async fn apply(actor: &Addr<CalendarActor>, op: CalendarOp) -> OpOutcome {
        match actor.send(Apply(op)).await {
            Ok(Ok(outcome)) => outcome,
            other => panic!("apply: {other:?}"),
        }
    }

    async fn unavailable(actor: &Addr<CalendarActor>, window: DateRange) -> Vec<DateRange> {
        match actor.send(Unavailable { window }).await {
            Ok(Ok(ranges)) => ranges,
            other => panic!("unavailable: {other:?}"),
        }
    }

    #[test]
    fn an_overlap_is_refused_from_memory_without_the_store() {
        actix::System::new().block_on(async {
            let store = Arc::new(MemoryStore::default());
            store.write_elsewhere(nights(10, 15));
            let actor = start(store.clone());
            // Touching at either end is free; any shared night is not.
            for (from, to) in [(12, 14), (9, 11), (14, 16), (1, 28)] {
                assert_eq!(apply(&actor, block(from, to)).await, OpOutcome::Overlap);
            }
            assert_eq!(store.commits(), 0, "an overlap reached the store");
            assert_eq!(apply(&actor, block(15, 17)).await, OpOutcome::Applied(None));
            assert_eq!(apply(&actor, block(5, 10)).await, OpOutcome::Applied(None));
            assert_eq!(store.commits(), 2);
            assert_eq!(
                unavailable(&actor, nights(1, 28)).await,
                [nights(5, 10), nights(10, 15), nights(15, 17)]
            );
        });
    }

    /// While one commit runs, what arrives is checked against memory and
    /// queued; the queue then goes in one commit. Two requests for the same
    /// nights at once: one is taken, the other refused.
    #[test]
    fn requests_during_a_commit_go_in_the_next_one_and_races_have_one_winner() {
        actix::System::new().block_on(async {
            let store = Arc::new(MemoryStore::gated());
            let actor = start(store.clone());
            let first = actix::spawn({
                let actor = actor.clone();
                async move { apply(&actor, block(1, 2)).await }
            });
            let rest: Vec<_> = (0..20u32)
                .map(|i| {
                    let actor = actor.clone();
                    // Days 3..22, and a second request for day 3's night.
                    let from = if i == 19 { 3 } else { 3 + i };
                    actix::spawn(async move { apply(&actor, block(from, from + 1)).await })
                })
                .collect();
            // Let every request reach the actor, then let commits through.
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Some(gate) = &store.gate {
                gate.add_permits(100);
            }
            let first = first.await.unwrap_or(OpOutcome::NotApplied);
            assert_eq!(first, OpOutcome::Applied(None));
            let mut outcomes = Vec::new();
            for r in rest {
                outcomes.push(r.await.unwrap_or(OpOutcome::NotApplied));
            }
            let applied = outcomes
                .iter()
                .filter(|o| **o == OpOutcome::Applied(None))
                .count();
            let refused = outcomes
                .iter()
                .filter(|o| **o == OpOutcome::Overlap)
                .count();
            assert_eq!((applied, refused), (19, 1), "{outcomes:?}");
            // The first alone, then the 19 queued behind it together.
            assert_eq!(store.commits(), 2);
        });
    }

    /// Memory missed a range another process wrote: the store refuses the
    /// change, the actor answers so and reloads, and from then on refuses
    /// from memory.
    #[test]
    fn a_surprise_from_the_store_reloads_memory() {
        actix::System::new().block_on(async {
            let store = Arc::new(MemoryStore::default());
            let actor = start(store.clone());
            assert!(unavailable(&actor, nights(1, 28)).await.is_empty());
            store.write_elsewhere(nights(20, 25));
            assert_eq!(apply(&actor, block(21, 22)).await, OpOutcome::Overlap);
            assert_eq!(store.commits(), 1);
            assert_eq!(unavailable(&actor, nights(1, 28)).await, [nights(20, 25)]);
            assert_eq!(apply(&actor, block(22, 23)).await, OpOutcome::Overlap);
            assert_eq!(store.commits(), 1, "memory did not learn of the range");
        });
    }

    #[test]
    fn invalidate_reloads_and_a_booking_is_not_removed_as_a_block() {
        actix::System::new().block_on(async {
            let store = Arc::new(MemoryStore::default());
            let actor = start(store.clone());
            // Loaded (empty) before the store changes behind its back.
            assert!(unavailable(&actor, nights(1, 28)).await.is_empty());
            let booked = Uuid::now_v7();
            if let Ok(mut entries) = store.entries.lock() {
                entries.push(CalendarEntry {
                    id: booked,
                    range: nights(8, 9),
                    kind: EntryKind::Booking,
                });
            }
            assert!(unavailable(&actor, nights(1, 28)).await.is_empty());
            actor.do_send(Invalidate);
            assert_eq!(unavailable(&actor, nights(1, 28)).await, [nights(8, 9)]);
            let remove = CalendarOp::RemoveBlock { block_id: booked };
            assert_eq!(apply(&actor, remove).await, OpOutcome::NotApplied);
            assert_eq!(store.commits(), 0);
            assert_eq!(unavailable(&actor, nights(1, 28)).await, [nights(8, 9)]);
        });
    }
}
