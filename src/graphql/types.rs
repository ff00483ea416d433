//! The GraphQL types: each wraps the service layer's own value and shows
//! the same fields REST shows, in camelCase. Nested objects (a property's
//! host, a booking's property and people) come through the request's batch
//! loaders.

use chrono::{DateTime, Utc};
use innkeep_actors::domain::{Booking, BookingStatus, DateRange, StayDates, merge_ranges};
use juniper::{GraphQLEnum, GraphQLObject, GraphQLUnion, ID, graphql_object};
use uuid::Uuid;

use super::context::Context;
use super::errors::GqlResult;
use super::scalars::{Date, id, int};
use crate::auth::service::AuthResponse;
use crate::error::{AppError, FieldError};
use crate::notifications::Notification;
use crate::properties::calendar::AvailabilityParams;
use crate::properties::service::price;
use crate::properties::{Block, Property};
use crate::reviews::Review;
use crate::users::User;

/// An account. Its e-mail shows only to its owner.
pub struct UserNode {
    user: User,
    /// The account is the one this answer signs in (`register`, `login`,
    /// `refresh`): whoever reads it just proved to own it, though the
    /// request carried no token of it (or another one).
    signing_in: bool,
}

impl UserNode {
    /// An account as anyone may see it: its e-mail only to its owner.
    pub fn new(user: User) -> Self {
        Self {
            user,
            signing_in: false,
        }
    }

    /// The account an auth payload signs in, answered to its owner.
    pub fn signing_in(user: User) -> Self {
        Self {
            user,
            signing_in: true,
        }
    }
}

#[graphql_object(name = "User", context = Context)]
impl UserNode {
    fn id(&self) -> ID {
        id(self.user.id)
    }
    /// Only your own.
    fn email(&self, ctx: &Context) -> Option<&str> {
        let own = self.signing_in || ctx.viewer.map(|s| s.user_id) == Some(self.user.id);
        own.then_some(self.user.email.as_str())
    }
    fn name(&self) -> &str {
        &self.user.name
    }
    fn bio(&self) -> &str {
        &self.user.bio
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.user.created_at
    }
}

/// `[start, end)`: the guest leaves on `end`.
#[derive(GraphQLObject)]
#[graphql(name = "DateRange")]
pub struct DateRangeNode {
    pub start: Date,
    pub end: Date,
}

impl From<DateRange> for DateRangeNode {
    fn from(r: DateRange) -> Self {
        Self {
            start: r.start.into(),
            end: r.end.into(),
        }
    }
}

/// What a stay costs, exactly as a booking would charge it (minor units).
#[derive(GraphQLObject)]
pub struct Quote {
    pub nights: i32,
    pub subtotal: i32,
    pub cleaning_fee: i32,
    pub service_fee: i32,
    pub total: i32,
    pub currency: String,
}

impl Quote {
    pub fn of(quote: crate::properties::service::Quote) -> GqlResult<Self> {
        Ok(Self {
            nights: int(i64::from(quote.nights))?,
            subtotal: int(quote.subtotal)?,
            cleaning_fee: int(quote.cleaning_fee)?,
            service_fee: int(quote.service_fee)?,
            total: int(quote.total)?,
            currency: quote.currency.to_string(),
        })
    }
}

/// A property's unavailable nights in a window: merged, sorted ranges.
#[derive(GraphQLObject)]
pub struct Availability {
    pub property_id: ID,
    pub from: Date,
    pub to: Date,
    pub unavailable: Vec<DateRangeNode>,
}

impl From<crate::properties::calendar::Availability> for Availability {
    fn from(a: crate::properties::calendar::Availability) -> Self {
        Self {
            property_id: id(a.property_id),
            from: a.from.into(),
            to: a.to.into(),
            unavailable: a.unavailable.into_iter().map(Into::into).collect(),
        }
    }
}

pub struct PropertyNode(pub Property);

#[graphql_object(name = "Property", context = Context)]
impl PropertyNode {
    fn id(&self) -> ID {
        id(self.0.id)
    }
    /// Batched: a page of properties costs one lookup for all their hosts.
    async fn host(&self, ctx: &Context) -> Option<UserNode> {
        ctx.users().load(self.0.host_id).await.map(UserNode::new)
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn description(&self) -> &str {
        &self.0.description
    }
    fn city(&self) -> &str {
        &self.0.city
    }
    fn country(&self) -> &str {
        &self.0.country
    }
    fn latitude(&self) -> Option<f64> {
        self.0.latitude
    }
    fn longitude(&self) -> Option<f64> {
        self.0.longitude
    }
    /// Minor units of `currency`.
    fn price_per_night(&self) -> GqlResult<i32> {
        int(self.0.price_per_night)
    }
    fn currency(&self) -> String {
        self.0.currency.to_string()
    }
    fn cleaning_fee(&self) -> GqlResult<i32> {
        int(self.0.cleaning_fee)
    }
    fn max_guests(&self) -> i32 {
        self.0.max_guests
    }
    fn bedrooms(&self) -> i32 {
        self.0.bedrooms
    }
    fn amenities(&self) -> &[String] {
        &self.0.amenities
    }
    /// `flexible`, `moderate` or `strict`.
    fn cancellation_policy(&self) -> &str {
        self.0.cancellation_policy.as_str()
    }
    fn instant_book(&self) -> bool {
        self.0.instant_book
    }
    fn min_nights(&self) -> i32 {
        self.0.min_nights
    }
    fn max_nights(&self) -> i32 {
        self.0.max_nights
    }
    fn listed(&self) -> bool {
        self.0.listed
    }
    /// Average rating, 2 decimals; null before the first review.
    fn rating_avg(&self) -> Option<f64> {
        self.0.rating_avg()
    }
    fn review_count(&self) -> GqlResult<i32> {
        int(self.0.review_count)
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Guests' newest reviews (at most 20): batched, one store call for a
    /// whole page of properties.
    async fn reviews(&self, ctx: &Context, first: Option<i32>) -> GqlResult<Vec<ReviewNode>> {
        let first = u32::try_from(first.unwrap_or(5).clamp(1, 20)).unwrap_or(5);
        let reviews = ctx.reviews().load((self.0.id, first)).await;
        Ok(reviews.into_iter().map(ReviewNode).collect())
    }
    /// The price of a stay here: no store call, the property is at hand.
    /// Null (with the error) for a stay the property does not take.
    fn quote(
        &self,
        ctx: &Context,
        check_in: Date,
        check_out: Date,
        guests: Option<i32>,
    ) -> GqlResult<Option<Quote>> {
        let stay: StayDates = ctx.services.properties.stay(check_in.0, check_out.0)?;
        Quote::of(price(&self.0, &stay, guests.unwrap_or(1))?.into()).map(Some)
    }
    /// Unavailable nights from `from` (default today) to `to` (default
    /// `from` + 90 days), from the calendar's memory.
    async fn availability(
        &self,
        ctx: &Context,
        from: Option<Date>,
        to: Option<Date>,
    ) -> GqlResult<Option<Vec<DateRangeNode>>> {
        let params = AvailabilityParams {
            from: from.map(|d| d.0),
            to: to.map(|d| d.0),
        };
        let availability = ctx
            .services
            .properties
            .availability(self.0.id, params)
            .await?;
        Ok(Some(
            availability
                .unavailable
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }
}

#[derive(GraphQLEnum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(name = "BookingStatus")]
pub enum BookingStatusGql {
    PendingPayment,
    AwaitingHost,
    Confirmed,
    Completed,
    Expired,
    Cancelled,
    Declined,
    PaymentFailed,
}

impl From<BookingStatus> for BookingStatusGql {
    fn from(s: BookingStatus) -> Self {
        match s {
            BookingStatus::PendingPayment => Self::PendingPayment,
            BookingStatus::AwaitingHost => Self::AwaitingHost,
            BookingStatus::Confirmed => Self::Confirmed,
            BookingStatus::Completed => Self::Completed,
            BookingStatus::Expired => Self::Expired,
            BookingStatus::Cancelled => Self::Cancelled,
            BookingStatus::Declined => Self::Declined,
            BookingStatus::PaymentFailed => Self::PaymentFailed,
        }
    }
}

impl From<BookingStatusGql> for BookingStatus {
    fn from(s: BookingStatusGql) -> Self {
        match s {
            BookingStatusGql::PendingPayment => Self::PendingPayment,
            BookingStatusGql::AwaitingHost => Self::AwaitingHost,
            BookingStatusGql::Confirmed => Self::Confirmed,
            BookingStatusGql::Completed => Self::Completed,
            BookingStatusGql::Expired => Self::Expired,
            BookingStatusGql::Cancelled => Self::Cancelled,
            BookingStatusGql::Declined => Self::Declined,
            BookingStatusGql::PaymentFailed => Self::PaymentFailed,
        }
    }
}

#[derive(GraphQLObject)]
pub struct Payment {
    /// `stripe` or `dev`.
    pub provider: String,
    pub payment_intent_id: Option<String>,
    /// For the guest only (Stripe.js confirms the payment with it).
    pub client_secret: Option<String>,
    pub status: String,
}

#[derive(GraphQLObject)]
pub struct Refund {
    pub amount: i32,
    pub currency: String,
}

/// A booking as its guest or host sees it.
pub struct BookingNode {
    pub booking: Booking,
    pub viewer: Uuid,
}

#[graphql_object(name = "Booking", context = Context)]
impl BookingNode {
    fn id(&self) -> ID {
        id(self.booking.id)
    }
    /// Batched, like every nested lookup.
    async fn property(&self, ctx: &Context) -> Option<PropertyNode> {
        ctx.properties()
            .load(self.booking.property_id)
            .await
            .map(PropertyNode)
    }
    async fn guest(&self, ctx: &Context) -> Option<UserNode> {
        ctx.users()
            .load(self.booking.guest_id)
            .await
            .map(UserNode::new)
    }
    async fn host(&self, ctx: &Context) -> Option<UserNode> {
        ctx.users()
            .load(self.booking.host_id)
            .await
            .map(UserNode::new)
    }
    fn check_in(&self) -> Date {
        self.booking.check_in.into()
    }
    fn check_out(&self) -> Date {
        self.booking.check_out.into()
    }
    fn guests(&self) -> i32 {
        self.booking.guests
    }
    fn status(&self) -> BookingStatusGql {
        self.booking.status.into()
    }
    fn nights(&self) -> i32 {
        self.booking.nights
    }
    fn subtotal(&self) -> GqlResult<i32> {
        int(self.booking.subtotal)
    }
    fn cleaning_fee(&self) -> GqlResult<i32> {
        int(self.booking.cleaning_fee)
    }
    fn service_fee(&self) -> GqlResult<i32> {
        int(self.booking.service_fee)
    }
    fn total(&self) -> GqlResult<i32> {
        int(self.booking.total)
    }
    fn currency(&self) -> String {
        self.booking.currency.to_string()
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.booking.created_at
    }
    fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.booking.expires_at
    }
    fn payment(&self) -> Payment {
        let b = &self.booking;
        Payment {
            provider: b.payment_provider.clone(),
            payment_intent_id: b.payment_intent_id.clone(),
            client_secret: b
                .payment_client_secret
                .clone()
                .filter(|_| self.viewer == b.guest_id),
            status: b.payment_status.as_str().to_owned(),
        }
    }
    fn refund(&self) -> GqlResult<Option<Refund>> {
        self.booking
            .refund_amount
            .map(|amount| {
                Ok(Refund {
                    amount: int(amount)?,
                    currency: self.booking.currency.to_string(),
                })
            })
            .transpose()
    }
}

#[derive(GraphQLObject)]
#[graphql(name = "Block")]
pub struct BlockNode {
    pub id: ID,
    pub start: Date,
    pub end: Date,
    pub reason: Option<String>,
}

impl From<Block> for BlockNode {
    fn from(b: Block) -> Self {
        Self {
            id: id(b.id),
            start: b.start.into(),
            end: b.end.into(),
            reason: b.reason,
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(context = Context)]
pub struct AuthPayload {
    pub user: UserNode,
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i32,
}

impl From<AuthResponse> for AuthPayload {
    fn from(a: AuthResponse) -> Self {
        Self {
            user: UserNode::signing_in(a.user),
            access_token: a.access_token,
            refresh_token: a.refresh_token,
            expires_in: i32::try_from(a.expires_in).unwrap_or(i32::MAX),
        }
    }
}

#[derive(GraphQLObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(GraphQLObject)]
#[graphql(context = Context)]
pub struct PropertyEdge {
    pub cursor: String,
    pub node: PropertyNode,
}

/// A page of properties (Relay connection).
#[derive(GraphQLObject)]
#[graphql(context = Context)]
pub struct PropertyConnection {
    pub edges: Vec<PropertyEdge>,
    pub page_info: PageInfo,
}

#[derive(GraphQLObject)]
#[graphql(context = Context)]
pub struct BookingEdge {
    pub cursor: String,
    pub node: BookingNode,
}

/// A page of bookings (Relay connection).
#[derive(GraphQLObject)]
#[graphql(context = Context)]
pub struct BookingConnection {
    pub edges: Vec<BookingEdge>,
    pub page_info: PageInfo,
}

/// The dates are taken: a normal answer to a booking attempt.
#[derive(GraphQLObject)]
pub struct DatesUnavailable {
    pub message: String,
}

#[derive(GraphQLObject)]
#[graphql(name = "FieldError")]
pub struct FieldErrorNode {
    pub field: String,
    pub message: String,
}

impl From<FieldError> for FieldErrorNode {
    /// The field as GraphQL names it (`check_in` is `checkIn`).
    fn from(e: FieldError) -> Self {
        Self {
            field: camel_case(&e.field),
            message: e.message,
        }
    }
}

fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Some fields are invalid: each one, and why.
#[derive(GraphQLObject)]
pub struct ValidationFailed {
    pub errors: Vec<FieldErrorNode>,
}

/// What a booking attempt comes to: the booking, or one of the refusals a
/// client handles as an answer rather than an error.
#[derive(GraphQLUnion)]
#[graphql(context = Context)]
pub enum CreateBookingResult {
    Booking(Box<BookingNode>),
    DatesUnavailable(DatesUnavailable),
    ValidationFailed(ValidationFailed),
}

impl CreateBookingResult {
    /// A refusal that is an answer, or the error it is.
    pub fn refusal(err: AppError) -> GqlResult<Self> {
        match err {
            AppError::Conflict {
                problem_type: Some(crate::error::DATES_UNAVAILABLE),
                detail,
            } => Ok(Self::DatesUnavailable(DatesUnavailable { message: detail })),
            AppError::Validation(errors) => Ok(Self::ValidationFailed(ValidationFailed {
                errors: errors.into_iter().map(Into::into).collect(),
            })),
            other => Err(other),
        }
    }
}

/// A host's answer to a guest's review.
#[derive(GraphQLObject)]
pub struct ReviewResponse {
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

pub struct ReviewNode(pub Review);

#[graphql_object(name = "Review", context = Context)]
impl ReviewNode {
    fn id(&self) -> ID {
        id(self.0.id)
    }
    fn booking_id(&self) -> ID {
        id(self.0.booking_id)
    }
    fn property_id(&self) -> ID {
        id(self.0.property_id)
    }
    fn author_id(&self) -> ID {
        id(self.0.author_id)
    }
    fn author_name(&self) -> &str {
        &self.0.author_name
    }
    /// `stay` (a guest's review) or `guest` (a host's).
    fn about(&self) -> &str {
        self.0.about.as_str()
    }
    fn rating(&self) -> i32 {
        self.0.rating
    }
    fn comment(&self) -> &str {
        &self.0.comment
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    fn response(&self) -> Option<ReviewResponse> {
        match (&self.0.response_comment, self.0.response_at) {
            (Some(comment), Some(created_at)) => Some(ReviewResponse {
                comment: comment.clone(),
                created_at,
            }),
            _ => None,
        }
    }
}

/// A subscription's push: the merged unavailable ranges of a property.
#[derive(GraphQLObject)]
pub struct AvailabilityUpdate {
    pub property_id: ID,
    pub unavailable: Vec<DateRangeNode>,
}

impl AvailabilityUpdate {
    pub fn new(property_id: Uuid, ranges: Vec<DateRange>) -> Self {
        Self {
            property_id: id(property_id),
            unavailable: merge_ranges(ranges).into_iter().map(Into::into).collect(),
        }
    }
}

/// Something a booking's change told the viewer.
pub struct NotificationNode(pub Notification);

#[graphql_object(name = "Notification", context = Context)]
impl NotificationNode {
    fn id(&self) -> ID {
        id(self.0.id)
    }
    /// `booking_requested`, `booking_confirmed`, `booking_declined`,
    /// `booking_cancelled`, `booking_expired`, `payment_failed`,
    /// `refund_sent`, `payout_sent`, `checkin_reminder`, `review_request`.
    fn kind(&self) -> &str {
        &self.0.kind
    }
    fn booking_id(&self) -> Option<ID> {
        self.0.booking_id.map(id)
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn body(&self) -> &str {
        &self.0.body
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at
    }
}

#[derive(GraphQLObject)]
#[graphql(context = Context)]
pub struct NotificationEdge {
    pub cursor: String,
    pub node: NotificationNode,
}

/// A page of the viewer's notifications, newest first (Relay connection).
#[derive(GraphQLObject)]
#[graphql(context = Context)]
pub struct NotificationConnection {
    pub edges: Vec<NotificationEdge>,
    pub page_info: PageInfo,
}
