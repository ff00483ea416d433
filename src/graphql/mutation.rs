//! `Mutation`: every REST write, through the same service calls (the same
//! validation, limits, idempotency store and privacy).

use juniper::{GraphQLInputObject, ID, graphql_object};

use super::context::Context;
use super::errors::GqlResult;
use super::scalars::{Date, uuid};
use super::types::{
    AuthPayload, BlockNode, BookingNode, CreateBookingResult, PropertyNode, ReviewNode, UserNode,
};
use crate::auth::service::{LoginInput, RefreshInput, RegisterInput};
use crate::bookings::{BookingView, CreateBooking};
use crate::error::AppError;
use crate::http::problem::stored_problem;
use crate::idempotency::{Answer, Stored};
use crate::notifications::ReadInput;
use crate::properties::body::PropertyInput;
use crate::properties::calendar::BlockInput;
use crate::reviews::ReviewInput;
use crate::users::service::UpdateMe;

pub struct Mutation;

#[derive(GraphQLInputObject)]
#[graphql(name = "RegisterInput")]
pub struct RegisterInputGql {
    pub email: String,
    pub password: String,
    pub name: String,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "LoginInput")]
pub struct LoginInputGql {
    pub email: String,
    pub password: String,
}

#[derive(GraphQLInputObject)]
pub struct UpdateMeInput {
    pub name: Option<String>,
    pub bio: Option<String>,
}

/// REST's property body, in camelCase. On create, title, city, country,
/// pricePerNight, currency and maxGuests are required.
#[derive(GraphQLInputObject, Default)]
#[graphql(name = "PropertyInput")]
pub struct PropertyInputGql {
    pub title: Option<String>,
    pub description: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub price_per_night: Option<i32>,
    pub currency: Option<String>,
    pub cleaning_fee: Option<i32>,
    pub max_guests: Option<i32>,
    pub bedrooms: Option<i32>,
    pub amenities: Option<Vec<String>>,
    /// `flexible` (default), `moderate` or `strict`.
    pub cancellation_policy: Option<String>,
    pub instant_book: Option<bool>,
    pub min_nights: Option<i32>,
    pub max_nights: Option<i32>,
}

impl From<PropertyInputGql> for PropertyInput {
    fn from(p: PropertyInputGql) -> Self {
        Self {
            title: p.title,
            description: p.description,
            city: p.city,
            country: p.country,
            latitude: p.latitude,
            longitude: p.longitude,
            price_per_night: p.price_per_night.map(i64::from),
            currency: p.currency,
            cleaning_fee: p.cleaning_fee.map(i64::from),
            max_guests: p.max_guests,
            bedrooms: p.bedrooms,
            amenities: p.amenities,
            cancellation_policy: p.cancellation_policy,
            instant_book: p.instant_book,
            min_nights: p.min_nights,
            max_nights: p.max_nights,
        }
    }
}

#[derive(GraphQLInputObject)]
#[graphql(name = "BlockInput")]
pub struct BlockInputGql {
    pub start: Date,
    /// Exclusive.
    pub end: Date,
    pub reason: Option<String>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "ReviewInput")]
pub struct ReviewInputGql {
    /// 1 to 5.
    pub rating: i32,
    /// At most 2,000 characters.
    pub comment: String,
}

#[derive(GraphQLInputObject)]
pub struct CreateBookingInput {
    pub property_id: ID,
    pub check_in: Date,
    /// Exclusive: the guest leaves that morning.
    pub check_out: Date,
    pub guests: i32,
}

/// A booking attempt's answer as kept for an idempotency key (the REST
/// representation, so that a key means the same on both APIs) turned back
/// into this API's result.
async fn replayed(
    ctx: &Context,
    viewer: uuid::Uuid,
    stored: Stored,
) -> GqlResult<CreateBookingResult> {
    let body: serde_json::Value =
        serde_json::from_slice(&stored.body).map_err(|e| AppError::Internal(e.into()))?;
    if stored.status == 201 {
        let id = body["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("stored booking without id")))?;
        let booking = ctx.services.bookings.visible(viewer, id).await?;
        return Ok(CreateBookingResult::Booking(Box::new(BookingNode {
            booking,
            viewer,
        })));
    }
    let detail = body["detail"].as_str().unwrap_or("refused").to_owned();
    let refusal = match (stored.status, body["type"].as_str()) {
        (409, Some(crate::error::DATES_UNAVAILABLE)) => AppError::dates_unavailable(detail),
        (422, _) => {
            AppError::Validation(serde_json::from_value(body["errors"].clone()).unwrap_or_default())
        }
        (404, _) => AppError::NotFound("property"),
        (403, _) => AppError::Forbidden("hosts cannot book their own property"),
        (409, _) => AppError::conflict(detail),
        _ => AppError::BadRequest(detail),
    };
    CreateBookingResult::refusal(refusal)
}

#[graphql_object(context = Context)]
impl Mutation {
    async fn register(ctx: &Context, input: RegisterInputGql) -> GqlResult<AuthPayload> {
        let input = RegisterInput {
            email: input.email,
            password: input.password,
            name: input.name,
        };
        Ok(ctx.services.auth.register(input, ctx.client).await?.into())
    }

    async fn login(ctx: &Context, input: LoginInputGql) -> GqlResult<AuthPayload> {
        let input = LoginInput {
            email: input.email,
            password: input.password,
        };
        Ok(ctx.services.auth.login(input, ctx.client).await?.into())
    }

    /// A new token pair; the refresh token presented is used up.
    async fn refresh(ctx: &Context, refresh_token: String) -> GqlResult<AuthPayload> {
        let input = RefreshInput { refresh_token };
        Ok(ctx.services.auth.refresh(input).await?.into())
    }

    /// Revokes this login's refresh tokens.
    async fn logout(ctx: &Context) -> GqlResult<bool> {
        ctx.services.auth.logout(ctx.viewer()?).await?;
        Ok(true)
    }

    async fn update_me(ctx: &Context, input: UpdateMeInput) -> GqlResult<UserNode> {
        let session = ctx.viewer()?;
        let input = UpdateMe {
            name: input.name,
            bio: input.bio,
        };
        let user = ctx.services.users.update_me(session.user_id, input).await?;
        Ok(UserNode::new(user))
    }

    /// Lists a property; you become its host.
    async fn create_property(ctx: &Context, input: PropertyInputGql) -> GqlResult<PropertyNode> {
        let session = ctx.viewer()?;
        let view = ctx
            .services
            .properties
            .create(session.user_id, input.into())
            .await?;
        Ok(PropertyNode(view.property))
    }

    async fn update_property(
        ctx: &Context,
        id: ID,
        input: PropertyInputGql,
    ) -> GqlResult<PropertyNode> {
        let session = ctx.viewer()?;
        let view = ctx
            .services
            .properties
            .update(session.user_id, uuid(&id, "property")?, input.into())
            .await?;
        Ok(PropertyNode(view.property))
    }

    async fn unlist_property(ctx: &Context, id: ID) -> GqlResult<bool> {
        let session = ctx.viewer()?;
        ctx.services
            .properties
            .unlist(session.user_id, uuid(&id, "property")?)
            .await?;
        Ok(true)
    }

    async fn add_block(
        ctx: &Context,
        property_id: ID,
        input: BlockInputGql,
    ) -> GqlResult<BlockNode> {
        let session = ctx.viewer()?;
        let input = BlockInput {
            start: input.start.0,
            end: input.end.0,
            reason: input.reason,
        };
        let block = ctx
            .services
            .properties
            .add_block(session.user_id, uuid(&property_id, "property")?, input)
            .await?;
        Ok(block.into())
    }

    async fn remove_block(ctx: &Context, property_id: ID, block_id: ID) -> GqlResult<bool> {
        let session = ctx.viewer()?;
        ctx.services
            .properties
            .remove_block(
                session.user_id,
                uuid(&property_id, "property")?,
                uuid(&block_id, "block")?,
            )
            .await?;
        Ok(true)
    }

    /// Holds the dates and starts the payment. Taken dates and invalid
    /// fields are answers (`DatesUnavailable`, `ValidationFailed`), not
    /// errors. `idempotencyKey` works as REST's `Idempotency-Key`, in the
    /// same store: a retry with the same key and input gets the first
    /// answer.
    async fn create_booking(
        ctx: &Context,
        input: CreateBookingInput,
        idempotency_key: Option<String>,
    ) -> GqlResult<CreateBookingResult> {
        let session = ctx.viewer()?;
        let viewer = session.user_id;
        let input = CreateBooking {
            property_id: uuid(&input.property_id, "property")?,
            check_in: input.check_in.0,
            check_out: input.check_out.0,
            guests: input.guests,
        };
        let key = idempotency_key
            .map(|k| crate::idempotency::parse_key(&k))
            .transpose()
            .map_err(|_| {
                AppError::field("idempotencyKey", "must be 1 to 255 printable characters")
            })?;
        let fingerprint = serde_json::to_vec(&("POST /bookings", &input))
            .map_err(|e| AppError::Internal(e.into()))?;
        let bookings = &ctx.services.bookings;
        let created = std::sync::Mutex::new(None);
        let answer = ctx
            .services
            .idempotency
            .once(viewer, key, &fingerprint, stored_problem, || async {
                let booking = bookings.create(viewer, input).await?;
                let stored = Stored::json(201, &BookingView::of(&booking, viewer));
                *created.lock().unwrap_or_else(|p| p.into_inner()) = Some(booking);
                stored
            })
            .await;
        let created = created.into_inner().unwrap_or_else(|p| p.into_inner());
        match (answer, created) {
            (Ok(Answer::Fresh(_)), Some(booking)) => {
                Ok(CreateBookingResult::Booking(Box::new(BookingNode {
                    booking,
                    viewer,
                })))
            }
            (Ok(Answer::Fresh(stored) | Answer::Replayed(stored)), _) => {
                replayed(ctx, viewer, stored).await
            }
            (Err(err), _) => CreateBookingResult::refusal(err),
        }
    }

    /// Reviews a completed stay (its guest) or guest (its host), within 14
    /// days of check-out, once each.
    async fn create_review(
        ctx: &Context,
        booking_id: ID,
        input: ReviewInputGql,
    ) -> GqlResult<ReviewNode> {
        let session = ctx.viewer()?;
        let input = ReviewInput {
            rating: input.rating,
            comment: input.comment,
        };
        let review = ctx
            .services
            .reviews
            .create(session.user_id, uuid(&booking_id, "booking")?, input)
            .await?;
        Ok(ReviewNode(review))
    }

    /// Marks the viewer's notifications read: these `ids` (at most 100;
    /// others' are ignored) or, with `all: true`, every one. Answers how
    /// many were unread.
    async fn mark_notifications_read(
        ctx: &Context,
        ids: Option<Vec<ID>>,
        all: Option<bool>,
    ) -> GqlResult<i32> {
        let session = ctx.viewer()?;
        let ids = match ids {
            Some(ids) => Some(
                ids.iter()
                    .map(|i| uuid(i, "notification"))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let marked = ctx
            .services
            .notifications
            .mark_read(session.user_id, ReadInput { ids, all })
            .await?;
        Ok(i32::try_from(marked).unwrap_or(i32::MAX))
    }

    async fn cancel_booking(ctx: &Context, id: ID) -> GqlResult<BookingNode> {
        let session = ctx.viewer()?;
        let booking = ctx
            .services
            .bookings
            .cancel(session.user_id, uuid(&id, "booking")?)
            .await?;
        Ok(BookingNode {
            booking,
            viewer: session.user_id,
        })
    }

    /// The host accepts a request to book: the payment is captured.
    async fn accept_booking(ctx: &Context, id: ID) -> GqlResult<BookingNode> {
        let session = ctx.viewer()?;
        let booking = ctx
            .services
            .bookings
            .accept(session.user_id, uuid(&id, "booking")?)
            .await?;
        Ok(BookingNode {
            booking,
            viewer: session.user_id,
        })
    }

    /// The host declines a request to book: the authorisation is released.
    async fn decline_booking(ctx: &Context, id: ID) -> GqlResult<BookingNode> {
        let session = ctx.viewer()?;
        let booking = ctx
            .services
            .bookings
            .decline(session.user_id, uuid(&id, "booking")?)
            .await?;
        Ok(BookingNode {
            booking,
            viewer: session.user_id,
        })
    }
}
