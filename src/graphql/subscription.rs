//! `Subscription`: live availability of a property, and a booking's status
//! as it moves (the checkout screen waiting for the payment webhook).
//!
//! Both listen to the property's calendar feed (`ChangeFeed`): a `watch`
//! channel per property, bumped by its calendar actor here and, through
//! PostgreSQL's notifications, by other processes. A slow subscriber only
//! ever sees the latest state; nothing queues up behind it and no actor
//! waits for it. Each push reads the state afresh and is sent only if it
//! differs from the last one.

use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;
use innkeep_actors::domain::{Booking, DateRange};
use juniper::{ID, graphql_subscription};
use tokio::sync::watch;
use uuid::Uuid;

use super::context::Context;
use super::errors::GqlResult;
use super::scalars::{Date, uuid};
use super::seats::Seat;
use super::types::{AvailabilityUpdate, BookingNode};
use crate::properties::calendar::AvailabilityParams;

/// How often a watched booking is read again even without a notice
/// (a payment status the processor changed without a calendar change).
const BOOKING_POLL: Duration = Duration::from_secs(2);

pub struct Subscription;

type Live<T> = Pin<Box<dyn Stream<Item = GqlResult<T>> + Send>>;

/// Who a subscription counts against: the user, or the address.
fn subscriber(ctx: &Context) -> String {
    match (ctx.viewer, ctx.client) {
        (Some(session), _) => format!("user:{}", session.user_id),
        (None, Some(ip)) => format!("address:{ip}"),
        (None, None) => "anonymous".to_owned(),
    }
}

struct AvailabilityWatch {
    ctx: Context,
    property_id: Uuid,
    from: Option<Date>,
    to: Option<Date>,
    changes: watch::Receiver<u64>,
    last: Option<Vec<DateRange>>,
    started: bool,
    done: bool,
    _seat: Seat,
}

impl AvailabilityWatch {
    async fn next(mut self) -> Option<(GqlResult<AvailabilityUpdate>, Self)> {
        loop {
            if self.done {
                return None;
            }
            if self.started && self.changes.changed().await.is_err() {
                return None;
            }
            self.started = true;
            let params = AvailabilityParams {
                from: self.from.map(|d| d.0),
                to: self.to.map(|d| d.0),
            };
            let read = self
                .ctx
                .services
                .properties
                .availability(self.property_id, params)
                .await;
            match read {
                Ok(now) if self.last.as_ref() != Some(&now.unavailable) => {
                    self.last = Some(now.unavailable.clone());
                    let update = AvailabilityUpdate::new(self.property_id, now.unavailable);
                    return Some((Ok(update), self));
                }
                Ok(_) => {} // the same as last pushed
                Err(e) => {
                    self.done = true;
                    return Some((Err(e), self));
                }
            }
        }
    }
}

struct BookingWatch {
    ctx: Context,
    viewer: Uuid,
    booking_id: Uuid,
    changes: watch::Receiver<u64>,
    last: Option<Booking>,
    started: bool,
    done: bool,
    _seat: Seat,
}

impl BookingWatch {
    async fn next(mut self) -> Option<(GqlResult<BookingNode>, Self)> {
        loop {
            if self.done {
                return None;
            }
            if self.started {
                tokio::select! {
                    changed = self.changes.changed() => {
                        if changed.is_err() {
                            return None;
                        }
                    }
                    _ = tokio::time::sleep(BOOKING_POLL) => {}
                }
            }
            self.started = true;
            let read = self
                .ctx
                .services
                .bookings
                .visible(self.viewer, self.booking_id)
                .await;
            match read {
                Ok(now) if self.last.as_ref().is_none_or(|last| moved(last, &now)) => {
                    self.last = Some(now.clone());
                    let node = BookingNode {
                        booking: now,
                        viewer: self.viewer,
                    };
                    return Some((Ok(node), self));
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some((Err(e), self));
                }
            }
        }
    }
}

/// Whether a booking moved in a way its watcher cares about.
fn moved(before: &Booking, now: &Booking) -> bool {
    before.status != now.status
        || before.payment_status != now.payment_status
        || before.refund_amount != now.refund_amount
        || before.payment_intent_id != now.payment_intent_id
}

#[graphql_subscription(context = Context)]
impl Subscription {
    /// The property's merged unavailable ranges between `from` (default
    /// today) and `to` (default `from` + 90 days): now, then at every
    /// change of its calendar.
    async fn availability_changed(
        ctx: &Context,
        property_id: ID,
        from: Option<Date>,
        to: Option<Date>,
    ) -> GqlResult<Live<AvailabilityUpdate>> {
        let property_id = uuid(&property_id, "property")?;
        let seat = ctx.subscriptions.take(subscriber(ctx))?;
        ctx.services.properties.listed(property_id).await?;
        // Listening starts before the first read, so no change is missed.
        let changes = ctx.services.properties.subscribe(property_id);
        let watch = AvailabilityWatch {
            ctx: ctx.clone(),
            property_id,
            from,
            to,
            changes,
            last: None,
            started: false,
            done: false,
            _seat: seat,
        };
        Ok(Box::pin(futures_util::stream::unfold(
            watch,
            AvailabilityWatch::next,
        )))
    }

    /// The booking now, then each time its status, payment or refund
    /// changes. Its guest and host only (`NOT_FOUND` for anyone else).
    async fn booking_changed(ctx: &Context, id: ID) -> GqlResult<Live<BookingNode>> {
        let session = ctx.viewer()?;
        let booking_id = uuid(&id, "booking")?;
        let seat = ctx.subscriptions.take(subscriber(ctx))?;
        let booking = ctx
            .services
            .bookings
            .visible(session.user_id, booking_id)
            .await?;
        let changes = ctx.services.properties.subscribe(booking.property_id);
        let watch = BookingWatch {
            ctx: ctx.clone(),
            viewer: session.user_id,
            booking_id,
            changes,
            last: None,
            started: false,
            done: false,
            _seat: seat,
        };
        Ok(Box::pin(futures_util::stream::unfold(
            watch,
            BookingWatch::next,
        )))
    }
}
