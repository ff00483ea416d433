//! The booking service, shared by REST and GraphQL. Every change of a
//! booking's state goes through its property's calendar actor, so changes
//! to one property are serialised and each is applied only from the states
//! it expects. Gateway calls go through the payments outbox.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use innkeep_actors::domain::{
    Booking, BookingStatus, Canceller, PaymentStatus, StayDates, refund_amount,
};
use innkeep_actors::ledger;
use innkeep_actors::ports::{
    CalendarOp, CreateIntent, JobOutcome, NewPaymentJob, OpOutcome, PaymentIntent, PaymentJobKind,
    Transition,
};
use innkeep_actors::{CalendarRegistry, Clock};
use uuid::Uuid;

use super::CreateBooking;
use super::holds::{GuestHolds, refuse_taken};
use crate::auth::limits::{Limit, Limiter};
use crate::error::{AppError, AppResult};
use crate::payments::ledger::Ledger;
use crate::payments::outbox::Outbox;
use crate::properties::PropertyService;
use crate::properties::service::price;
use crate::store::{BookingQuery, BookingStore};

#[derive(Clone)]
pub struct BookingService {
    pub(super) store: Arc<dyn BookingStore>,
    properties: PropertyService,
    calendars: Arc<CalendarRegistry>,
    pub(super) outbox: Outbox,
    pub(super) ledger: Ledger,
    pub(super) clock: Arc<dyn Clock>,
    /// How long an unpaid booking holds its dates.
    hold: Duration,
    limits: BookingRules,
    limiter: Arc<Limiter>,
    /// One guest's new holds are decided one at a time (count, then hold),
    /// so concurrent requests cannot all slip under the cap.
    hold_locks: moka::sync::Cache<Uuid, Arc<GuestHolds>>,
}

/// What the booking service works with.
pub struct BookingDeps {
    pub store: Arc<dyn BookingStore>,
    pub properties: PropertyService,
    pub calendars: Arc<CalendarRegistry>,
    pub outbox: Outbox,
    pub ledger: Ledger,
    pub limiter: Arc<Limiter>,
    pub clock: Arc<dyn Clock>,
}

/// The settings of booking: how long a hold lasts, and the abuse limits.
#[derive(Debug, Clone, Copy)]
pub struct BookingRules {
    /// Minutes an unpaid booking holds its dates.
    pub hold_minutes: u32,
    /// Unpaid holds (`pending_payment`) one guest may have at once.
    pub max_holds: u32,
    /// Booking attempts per guest per minute (0: no limit).
    pub per_minute: u64,
}

/// A transition of `booking_id` from any of `from` to `to`, with nothing
/// else attached yet.
pub(super) fn to(from: &[BookingStatus], to: BookingStatus, booking_id: Uuid) -> Transition {
    Transition {
        booking_id,
        from: from.to_vec(),
        to,
        expires_at: None,
        payment_status: None,
        refund_amount: None,
        postings: Vec::new(),
        jobs: Vec::new(),
        notices: Vec::new(),
    }
}

/// The job that releases the booking's payment intent, if it has one.
fn release(booking: &Booking) -> Option<NewPaymentJob> {
    booking
        .payment_intent_id
        .as_ref()
        .map(|_| NewPaymentJob::new(PaymentJobKind::CancelIntent, booking.id, 0))
}

/// The booking's one payment intent: the key is derived from the booking,
/// so asking again returns the intent created the first time.
fn intent_request(booking: &Booking) -> CreateIntent {
    CreateIntent {
        booking_id: booking.id,
        amount: booking.total,
        currency: booking.currency,
        manual_capture: !booking.instant_book,
        idempotency_key: format!("booking-{}-create", booking.id),
    }
}

/// The booking as it is once `intent` is recorded for it.
fn take_intent(booking: &mut Booking, intent: PaymentIntent) {
    booking.payment_intent_id = Some(intent.id);
    booking.payment_client_secret = intent.client_secret;
    booking.payment_status = intent.status;
}

/// How long an acceptance waits for a capture attempt it did not start:
/// longer than one gateway call may take.
const CAPTURE_WAIT: StdDuration = StdDuration::from_secs(25);

/// What a capture attempt's outcome means for the acceptance.
fn captured(booking: &Booking, outcome: JobOutcome) -> AppResult<()> {
    match outcome {
        JobOutcome::Succeeded(_) => Ok(()),
        JobOutcome::Failed(reason) => Err(AppError::conflict(format!(
            "the payment could not be captured: {reason}"
        ))),
        JobOutcome::Retry { error, .. } => {
            tracing::warn!(booking_id = %booking.id, error, "capture failed; retrying");
            Err(AppError::Unavailable(
                "the payment could not be captured yet; retry shortly",
            ))
        }
    }
}

fn changed_meanwhile() -> AppError {
    AppError::conflict("the booking changed meanwhile; reload it")
}

impl BookingService {
    pub fn new(deps: BookingDeps, rules: BookingRules) -> Self {
        Self {
            store: deps.store,
            properties: deps.properties,
            calendars: deps.calendars,
            outbox: deps.outbox,
            ledger: deps.ledger,
            clock: deps.clock,
            hold: Duration::minutes(i64::from(rules.hold_minutes)),
            limits: rules,
            limiter: deps.limiter,
            hold_locks: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(StdDuration::from_secs(60))
                .build(),
        }
    }

    /// Applies a transition through the calendar; `None` if the booking was
    /// no longer in one of `from` (someone else moved it first).
    /// The change's notifications are decided here, for every transition
    /// alike, and written with it (`notifications::on_transition`).
    pub(super) async fn transition(
        &self,
        booking: &Booking,
        mut t: Transition,
    ) -> AppResult<Option<Booking>> {
        t.notices = crate::notifications::on_transition(booking, &t);
        match self
            .calendars
            .apply(booking.property_id, CalendarOp::Transition(t))
            .await?
        {
            OpOutcome::Applied(Some(updated)) => {
                if let Some(holds) = self.hold_locks.get(&booking.guest_id) {
                    holds.changed();
                }
                Ok(Some(*updated))
            }
            OpOutcome::Applied(None) | OpOutcome::NotApplied | OpOutcome::Overlap => Ok(None),
        }
    }

    /// The booking as stored now, or `fallback` if it vanished.
    pub(super) async fn reload(&self, fallback: Booking) -> AppResult<Booking> {
        Ok(self.store.booking(fallback.id).await?.unwrap_or(fallback))
    }

    /// Holds the dates and creates the payment intent.
    pub async fn create(&self, guest_id: Uuid, input: CreateBooking) -> AppResult<Booking> {
        let property = self.properties.listed_shared(input.property_id).await?;
        if property.host_id == guest_id {
            return Err(AppError::Forbidden("hosts cannot book their own property"));
        }
        let stay: StayDates = self.properties.stay(input.check_in, input.check_out)?;
        let price = price(&property, &stay, input.guests)?;
        // Taken dates are refused from the calendar's memory before any
        // limit is counted or the store asked: a refusal costs nothing
        // worth limiting (the calendar's published view answers; while it
        // loads, the actor does).
        refuse_taken(&self.calendars, property.id, stay.range()).await?;
        let per_minute = Limit::new(self.limits.per_minute, StdDuration::from_secs(60));
        self.limiter
            .check(&format!("bookings:user:{guest_id}"), per_minute)
            .await?;
        let holds = self.hold_locks.get_with(guest_id, Default::default);
        let (mut known, held) = holds
            .held_by(
                &*self.store,
                &self.calendars,
                guest_id,
                property.id,
                stay.range(),
            )
            .await?;
        if held >= i64::from(self.limits.max_holds) {
            return Err(AppError::TooManyHolds {
                max: self.limits.max_holds,
                retry_after_secs: u64::try_from(self.hold.num_seconds()).unwrap_or(60),
            });
        }
        let now = self.clock.now();
        let mut booking = Booking {
            id: Uuid::now_v7(),
            property_id: property.id,
            guest_id,
            host_id: property.host_id,
            check_in: stay.check_in(),
            check_out: stay.check_out(),
            guests: input.guests,
            status: BookingStatus::PendingPayment,
            nights: i32::try_from(price.nights).unwrap_or(i32::MAX),
            subtotal: price.subtotal,
            cleaning_fee: price.cleaning_fee,
            service_fee: price.service_fee,
            total: price.total,
            host_payout: price.host_payout,
            currency: price.currency,
            instant_book: property.instant_book,
            cancellation_policy: property.cancellation_policy,
            created_at: now,
            updated_at: now,
            expires_at: Some(now + self.hold),
            payment_provider: self.outbox.provider().to_owned(),
            payment_intent_id: None,
            payment_client_secret: None,
            payment_status: PaymentStatus::Pending,
            refund_amount: None,
        };
        // With the dev gateway the intent is recorded with the hold, in
        // its transaction: one write per booking. With Stripe it is a call,
        // made after the hold is stored and keyed by the booking.
        let request = intent_request(&booking);
        let local = self.outbox.local_intent(&request);
        if let Some(local) = &local {
            take_intent(&mut booking, local.intent.clone());
        }
        let recorded = local.is_some();
        let insert = CalendarOp::InsertBooking(Box::new(booking.clone()), local.map(Box::new));
        let applied = self.calendars.apply(property.id, insert).await;
        if applied.is_err() {
            // Whether the hold was stored is unknown: count again next time.
            *known = None;
        }
        match applied? {
            OpOutcome::Applied(_) => {
                if let Some((count, _)) = known.as_mut() {
                    *count += 1;
                }
            }
            OpOutcome::Overlap => {
                return Err(AppError::dates_unavailable("those dates are already taken"));
            }
            OpOutcome::NotApplied => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "booking insert not applied"
                )));
            }
        }
        if recorded {
            return Ok(booking);
        }
        match self.outbox.create_intent(request).await {
            Ok(intent) => {
                self.store.set_payment(booking.id, &intent).await?;
                take_intent(&mut booking, intent);
                Ok(booking)
            }
            Err(e) => {
                // No way to pay: give the dates back at once.
                tracing::error!(booking_id = %booking.id, error = %e, "payment intent creation failed");
                let failed = to(
                    &[BookingStatus::PendingPayment],
                    BookingStatus::PaymentFailed,
                    booking.id,
                );
                self.transition(&booking, failed).await?;
                Err(AppError::Unavailable(
                    "the payment provider is unavailable; nothing was booked",
                ))
            }
        }
    }

    /// The booking if `user` is its guest or host; 404 for anyone else.
    pub async fn visible(&self, user: Uuid, id: Uuid) -> AppResult<Booking> {
        self.store
            .booking(id)
            .await?
            .filter(|b| b.guest_id == user || b.host_id == user)
            .ok_or(AppError::NotFound("booking"))
    }

    /// A page of the user's bookings and the cursor of the next one.
    pub async fn list(&self, query: BookingQuery) -> AppResult<(Vec<Booking>, Option<Uuid>)> {
        let mut rows = self.store.list_bookings(&query).await?;
        let more = rows.len() > query.limit as usize;
        rows.truncate(query.limit as usize);
        let next = rows.last().filter(|_| more).map(|b| b.id);
        Ok((rows, next))
    }

    pub async fn cancel(&self, user: Uuid, id: Uuid) -> AppResult<Booking> {
        let booking = self.visible(user, id).await?;
        if !booking.status.holds_dates() {
            return Err(AppError::conflict(format!(
                "a {} booking cannot be cancelled",
                booking.status
            )));
        }
        let by = if user == booking.guest_id {
            Canceller::Guest
        } else {
            Canceller::Host
        };
        // Only a captured payment is refunded; an authorisation is released.
        let captured = booking.status == BookingStatus::Confirmed
            && booking.payment_status == PaymentStatus::Succeeded;
        let refund = captured.then(|| refund_amount(&booking, by, self.clock.now()));
        let mut t = to(&[booking.status], BookingStatus::Cancelled, id);
        t.refund_amount = refund;
        t.postings
            .extend(refund.and_then(|amount| ledger::refund(&booking, amount)));
        // The gateway call goes in the outbox with the decision: refund what
        // was captured, or release what was only authorised.
        let job = match (refund, &booking.payment_intent_id) {
            (Some(amount), Some(_)) if amount > 0 => {
                Some(NewPaymentJob::new(PaymentJobKind::Refund, id, amount))
            }
            (None, Some(_)) => Some(NewPaymentJob::new(PaymentJobKind::CancelIntent, id, 0)),
            _ => None,
        };
        t.jobs.extend(job.clone());
        let cancelled = self
            .transition(&booking, t)
            .await?
            .ok_or_else(changed_meanwhile)?;
        self.settle(cancelled, job).await
    }

    /// Runs the decision's gateway job now and answers with the booking as
    /// it stands afterwards (its payment status moved if the job went
    /// through; if not, the PaymentsActor retries it and the status follows).
    pub(super) async fn settle(
        &self,
        booking: Booking,
        job: Option<NewPaymentJob>,
    ) -> AppResult<Booking> {
        let Some(job) = job else {
            return Ok(booking);
        };
        self.outbox.run_now(&job).await;
        self.reload(booking).await
    }

    /// Host accepts a request to book: capture, then confirm.
    pub async fn accept(&self, user: Uuid, id: Uuid) -> AppResult<Booking> {
        let booking = self.host_decision(user, id).await?;
        if booking.payment_intent_id.is_none() {
            return Err(AppError::Internal(anyhow::anyhow!(
                "awaiting_host booking without intent"
            )));
        }
        self.capture(&booking).await?;
        let mut t = to(&[BookingStatus::AwaitingHost], BookingStatus::Confirmed, id);
        t.payment_status = Some(PaymentStatus::Succeeded);
        t.postings.push(ledger::capture(&booking));
        if let Some(confirmed) = self.transition(&booking, t).await? {
            return Ok(confirmed);
        }
        let current = self.reload(booking.clone()).await?;
        if current.status == BookingStatus::Confirmed {
            // Stripe's `succeeded` for this capture confirmed it first.
            return Ok(current);
        }
        // Captured, but the guest cancelled meanwhile: give it all back.
        self.ledger.returned_in_full(&booking).await?;
        self.outbox
            .enqueue_and_run(NewPaymentJob::new(
                PaymentJobKind::Refund,
                id,
                booking.total,
            ))
            .await?;
        Err(changed_meanwhile())
    }

    pub async fn decline(&self, user: Uuid, id: Uuid) -> AppResult<Booking> {
        let booking = self.host_decision(user, id).await?;
        let mut t = to(&[BookingStatus::AwaitingHost], BookingStatus::Declined, id);
        let job = release(&booking);
        t.jobs.extend(job.clone());
        let declined = self
            .transition(&booking, t)
            .await?
            .ok_or_else(changed_meanwhile)?;
        self.settle(declined, job).await
    }

    /// Captures the request's authorisation through the outbox: recorded
    /// first, run now; if that fails transiently the job queue retries
    /// it and the sweep confirms the booking once it goes through. If an
    /// attempt is already running (a job worker took the job first),
    /// this waits for its outcome.
    async fn capture(&self, booking: &Booking) -> AppResult<()> {
        let job = NewPaymentJob::new(PaymentJobKind::Capture, booking.id, booking.total);
        let deadline = tokio::time::Instant::now() + CAPTURE_WAIT;
        let mut outcome = self.outbox.enqueue_and_run(job.clone()).await?;
        loop {
            if let Some(outcome) = outcome {
                return captured(booking, outcome);
            }
            // Not run here: done before (an accept that did not get to
            // record it), or an attempt is running now.
            let jobs = self.outbox.jobs_of(booking.id).await?;
            match jobs.iter().find(|j| j.kind == PaymentJobKind::Capture) {
                Some(j) if j.succeeded() => return Ok(()),
                Some(j) if j.failed() => {
                    return Err(AppError::conflict(format!(
                        "the payment could not be captured: {}",
                        j.last_error.as_deref().unwrap_or("refused")
                    )));
                }
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(AppError::Unavailable(
                    "the payment is being captured; retry shortly",
                ));
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
            // Runs it unless the other attempt still holds it.
            outcome = self.outbox.run_now(&job).await;
        }
    }

    async fn host_decision(&self, user: Uuid, id: Uuid) -> AppResult<Booking> {
        let booking = self.visible(user, id).await?;
        if booking.host_id != user {
            return Err(AppError::Forbidden("only the host can accept or decline"));
        }
        if booking.status != BookingStatus::AwaitingHost {
            return Err(AppError::conflict(format!(
                "only awaiting_host bookings can be decided; this one is {}",
                booking.status
            )));
        }
        Ok(booking)
    }

    /// Records the intent of a hold that lacks one. The process stopped
    /// between creating the intent and recording it: the same idempotency
    /// key finds that intent (no second one is made), so the guest can still
    /// pay it, or it can be released. `true` if the booking has an intent
    /// afterwards.
    pub async fn recover_intent(&self, booking: &mut Booking) -> AppResult<bool> {
        if booking.payment_intent_id.is_some() {
            return Ok(true);
        }
        match self.outbox.create_intent(intent_request(booking)).await {
            Ok(intent) => {
                self.store.set_payment(booking.id, &intent).await?;
                tracing::warn!(booking_id = %booking.id, intent_id = %intent.id, "recovered an unrecorded payment intent");
                take_intent(booking, intent);
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(booking_id = %booking.id, error = %e, "recovering an unrecorded payment intent failed; retried next sweep");
                Ok(false)
            }
        }
    }

    /// Lets an unpaid hold, or an unanswered request to book, lapse:
    /// `expired`, dates free, intent cancelled (the authorisation released).
    pub async fn expire(&self, booking_id: Uuid) -> AppResult<Option<Booking>> {
        let Some(mut booking) = self.store.booking(booking_id).await? else {
            return Ok(None);
        };
        // An intent never recorded is found first, so that it can be released.
        self.recover_intent(&mut booking).await?;
        let mut t = to(
            &[BookingStatus::PendingPayment, BookingStatus::AwaitingHost],
            BookingStatus::Expired,
            booking_id,
        );
        let job = release(&booking);
        t.jobs.extend(job.clone());
        match self.transition(&booking, t).await? {
            Some(expired) => Ok(Some(self.settle(expired, job).await?)),
            None => Ok(None),
        }
    }

    /// A confirmed stay whose guest has checked out.
    pub async fn complete(&self, booking_id: Uuid) -> AppResult<Option<Booking>> {
        let Some(booking) = self.store.booking(booking_id).await? else {
            return Ok(None);
        };
        let t = to(
            &[BookingStatus::Confirmed],
            BookingStatus::Completed,
            booking_id,
        );
        self.transition(&booking, t).await
    }
}
