//! The review service, shared by REST and GraphQL.

use std::sync::Arc;

use chrono::{Duration, NaiveTime};
use innkeep_actors::Clock;
use innkeep_actors::domain::{Booking, BookingStatus};
use uuid::Uuid;

use super::{About, NewReview, Review, ReviewInput};
use crate::error::{AppError, AppResult, Validator};
use crate::properties::PropertyService;
use crate::store::{BookingStore, ReviewStore};

/// How long after check-out a stay may be reviewed.
pub const REVIEW_WINDOW_DAYS: i64 = 14;
pub const MAX_COMMENT_CHARS: usize = crate::schema::COMMENT_MAX_CHARS;

/// A page of reviews and the cursor of the next one.
pub struct ReviewsPage {
    pub reviews: Vec<Review>,
    pub next: Option<Uuid>,
}

#[derive(Clone)]
pub struct ReviewService {
    store: Arc<dyn ReviewStore>,
    bookings: Arc<dyn BookingStore>,
    properties: PropertyService,
    clock: Arc<dyn Clock>,
}

fn comment(v: &mut Validator, raw: &str, required: bool) -> String {
    v.check(
        "comment",
        crate::schema::text(raw, MAX_COMMENT_CHARS, required, true),
    )
    .unwrap_or_default()
}

fn page(mut reviews: Vec<Review>, limit: u32) -> ReviewsPage {
    let more = reviews.len() > limit as usize;
    reviews.truncate(limit as usize);
    let next = reviews.last().filter(|_| more).map(|r| r.id);
    ReviewsPage { reviews, next }
}

impl ReviewService {
    pub fn new(
        store: Arc<dyn ReviewStore>,
        bookings: Arc<dyn BookingStore>,
        properties: PropertyService,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            bookings,
            properties,
            clock,
        }
    }

    /// The booking's guest reviews the stay, or its host the guest. 404 for
    /// anyone else; 409 before check-out of a completed stay, after the
    /// window, or a second time; 422 for a bad rating or comment.
    pub async fn create(
        &self,
        user: Uuid,
        booking_id: Uuid,
        input: ReviewInput,
    ) -> AppResult<Review> {
        let booking = self
            .bookings
            .booking(booking_id)
            .await?
            .filter(|b| b.guest_id == user || b.host_id == user)
            .ok_or(AppError::NotFound("booking"))?;
        let mut v = Validator::default();
        if !(1..=5).contains(&input.rating) {
            v.fail("rating", "must be a whole number from 1 to 5");
        }
        let comment = comment(&mut v, &input.comment, false);
        v.finish()?;
        self.reviewable(&booking)?;
        let (about, subject_id) = if user == booking.guest_id {
            (About::Stay, booking.host_id)
        } else {
            (About::Guest, booking.guest_id)
        };
        let review = self
            .store
            .insert_review(&NewReview {
                id: Uuid::now_v7(),
                booking_id,
                property_id: booking.property_id,
                author_id: user,
                subject_id,
                about,
                rating: input.rating,
                comment,
                created_at: self.clock.now(),
            })
            .await?;
        if about == About::Stay {
            // Its rating changed: every cached copy goes.
            self.properties.changed(booking.property_id).await;
        }
        Ok(review)
    }

    /// 409 unless the stay is completed and checked out less than
    /// [`REVIEW_WINDOW_DAYS`] ago.
    fn reviewable(&self, booking: &Booking) -> AppResult<()> {
        if booking.status != BookingStatus::Completed {
            return Err(AppError::conflict(format!(
                "only completed stays can be reviewed; this one is {}",
                booking.status
            )));
        }
        let checked_out = booking.check_out.and_time(NaiveTime::MIN).and_utc();
        let now = self.clock.now();
        if now < checked_out {
            return Err(AppError::conflict(
                "the stay can be reviewed from check-out",
            ));
        }
        if now >= checked_out + Duration::days(REVIEW_WINDOW_DAYS) {
            return Err(AppError::conflict(format!(
                "reviews close {REVIEW_WINDOW_DAYS} days after check-out"
            )));
        }
        Ok(())
    }

    /// The host answers a guest's review of their property, once.
    pub async fn respond(&self, user: Uuid, review_id: Uuid, raw: &str) -> AppResult<Review> {
        let review = self
            .store
            .review(review_id)
            .await?
            .filter(|r| r.about == About::Stay && r.subject_id == user)
            .ok_or(AppError::NotFound("review"))?;
        let mut v = Validator::default();
        let text = comment(&mut v, raw, true);
        v.finish()?;
        let answered = self
            .store
            .respond_to_review(review.id, &text, self.clock.now())
            .await?
            .ok_or_else(|| AppError::conflict("this review has an answer already"))?;
        self.properties.changed(review.property_id).await;
        Ok(answered)
    }

    /// Guests' reviews of a listed property, newest first.
    pub async fn of_property(
        &self,
        property_id: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> AppResult<ReviewsPage> {
        self.properties.listed(property_id).await?;
        let rows = self
            .store
            .property_reviews(property_id, before, limit)
            .await?;
        Ok(page(rows, limit))
    }

    /// What hosts wrote about a guest, newest first: the history a host
    /// reads before accepting a request.
    pub async fn about_guest(
        &self,
        guest_id: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> AppResult<ReviewsPage> {
        let rows = self.store.guest_reviews(guest_id, before, limit).await?;
        Ok(page(rows, limit))
    }

    /// The newest `per_property` guests' reviews of each property, in one
    /// store call.
    pub async fn latest_of(
        &self,
        properties: &[Uuid],
        per_property: u32,
    ) -> AppResult<Vec<Review>> {
        Ok(self.store.latest_reviews(properties, per_property).await?)
    }
}
