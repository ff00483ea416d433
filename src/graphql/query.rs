//! `Query`: the reads of api.md's GraphQL section, each one call into the
//! same service REST calls.

use juniper::{GraphQLEnum, GraphQLInputObject, ID, graphql_object};

use super::context::Context;
use super::errors::GqlResult;
use super::scalars::{Date, uuid};
use super::types::{
    Availability, BookingConnection, BookingEdge, BookingNode, BookingStatusGql,
    NotificationConnection, NotificationEdge, NotificationNode, PageInfo, PropertyConnection,
    PropertyEdge, PropertyNode, Quote, UserNode,
};
use crate::error::{AppError, Validator};
use crate::http::page::page_size;
use crate::properties::calendar::AvailabilityParams;
use crate::properties::search::SearchParams;
use crate::properties::service::QuoteParams;
use crate::store::BookingQuery;

pub struct Query;

#[derive(GraphQLEnum, Clone, Copy, Debug)]
pub enum PropertySort {
    Newest,
    PriceAsc,
    PriceDesc,
    Rating,
}

impl PropertySort {
    fn as_param(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::PriceAsc => "price_asc",
            Self::PriceDesc => "price_desc",
            Self::Rating => "rating",
        }
    }
}

/// `minLon, minLat, maxLon, maxLat`.
#[derive(GraphQLInputObject, Clone, Copy, Debug)]
pub struct BBoxInput {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// Search filters, as REST's query string.
#[derive(GraphQLInputObject, Default, Debug)]
pub struct PropertyFilter {
    pub city: Option<String>,
    pub country: Option<String>,
    /// With `checkOut`: only properties free for the whole stay.
    pub check_in: Option<Date>,
    pub check_out: Option<Date>,
    pub guests: Option<i32>,
    pub min_price: Option<i32>,
    pub max_price: Option<i32>,
    /// Every one is required.
    pub amenities: Option<Vec<String>>,
    pub bbox: Option<BBoxInput>,
    pub sort: Option<PropertySort>,
}

#[derive(GraphQLEnum, Clone, Copy, Debug, Default)]
pub enum BookingRole {
    #[default]
    Guest,
    Host,
}

/// GraphQL's names for REST's paging parameters.
fn renamed(err: AppError) -> AppError {
    match err {
        AppError::Validation(mut errors) => {
            for e in &mut errors {
                e.field = match e.field.as_str() {
                    "limit" => "first".to_owned(),
                    "cursor" => "after".to_owned(),
                    other => other.to_owned(),
                };
            }
            AppError::Validation(errors)
        }
        other => other,
    }
}

/// A `first` argument as a page size (1 to 100, default 20).
fn first(first: Option<i32>) -> GqlResult<u32> {
    let mut v = Validator::default();
    let size = page_size(&mut v, first.map(|n| u32::try_from(n).unwrap_or(0)));
    v.finish().map_err(renamed)?;
    Ok(size)
}

/// An `after` argument of a list paged by id: the id of the last edge.
fn after_cursor(after: Option<String>) -> Result<Option<uuid::Uuid>, AppError> {
    after
        .map(|a| {
            a.parse()
                .map_err(|_| AppError::field("after", "is not a cursor from this list"))
        })
        .transpose()
}

#[graphql_object(context = Context)]
impl Query {
    /// The signed-in user.
    async fn me(ctx: &Context) -> GqlResult<Option<UserNode>> {
        let session = ctx.viewer()?;
        ctx.store_call();
        Ok(Some(UserNode::new(
            ctx.services.users.me(session.user_id).await?,
        )))
    }

    /// A listed property; null with `NOT_FOUND` otherwise.
    async fn property(ctx: &Context, id: ID) -> GqlResult<Option<PropertyNode>> {
        ctx.store_call();
        let property = ctx
            .services
            .properties
            .listed(uuid(&id, "property")?)
            .await?;
        Ok(Some(PropertyNode(property)))
    }

    /// Listed properties, filtered and sorted, a page at a time.
    async fn properties(
        ctx: &Context,
        filter: Option<PropertyFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<PropertyConnection> {
        let f = filter.unwrap_or_default();
        let bbox = f
            .bbox
            .map(|b| format!("{},{},{},{}", b.min_lon, b.min_lat, b.max_lon, b.max_lat));
        let params = SearchParams {
            city: f.city,
            country: f.country,
            check_in: f.check_in.map(|d| d.0),
            check_out: f.check_out.map(|d| d.0),
            guests: f.guests,
            min_price: f.min_price.map(i64::from),
            max_price: f.max_price.map(i64::from),
            amenities: f.amenities.map(|a| a.join(",")),
            bbox,
            sort: f.sort.map(|s| s.as_param().to_owned()),
            limit: Some(self::first(first)?),
            cursor: after,
        };
        ctx.store_call();
        let page = ctx
            .services
            .properties
            .search_page(params)
            .await
            .map_err(renamed)?;
        let edges: Vec<PropertyEdge> = page
            .rows
            .into_iter()
            .map(|(cursor, property)| PropertyEdge {
                cursor,
                node: PropertyNode(property),
            })
            .collect();
        Ok(PropertyConnection {
            page_info: PageInfo {
                has_next_page: page.more,
                end_cursor: page.end_cursor,
            },
            edges,
        })
    }

    /// One booking of yours (as guest or host); null with `NOT_FOUND` for
    /// anyone else's.
    async fn booking(ctx: &Context, id: ID) -> GqlResult<Option<BookingNode>> {
        let session = ctx.viewer()?;
        ctx.store_call();
        let booking = ctx
            .services
            .bookings
            .visible(session.user_id, uuid(&id, "booking")?)
            .await?;
        Ok(Some(BookingNode {
            booking,
            viewer: session.user_id,
        }))
    }

    /// Your bookings as guest (default) or host, newest first.
    /// The viewer's notifications, newest first; only unread ones with
    /// `unread: true`.
    async fn notifications(
        ctx: &Context,
        unread: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<NotificationConnection> {
        let session = ctx.viewer()?;
        let before = after_cursor(after)?;
        ctx.store_call();
        let page = ctx
            .services
            .notifications
            .list(
                session.user_id,
                unread.unwrap_or(false),
                before,
                self::first(first)?,
            )
            .await?;
        let edges: Vec<NotificationEdge> = page
            .notifications
            .into_iter()
            .map(|n| NotificationEdge {
                cursor: n.id.to_string(),
                node: NotificationNode(n),
            })
            .collect();
        Ok(NotificationConnection {
            page_info: PageInfo {
                has_next_page: page.next.is_some(),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }

    async fn bookings(
        ctx: &Context,
        #[graphql(name = "as")] role: Option<BookingRole>,
        status: Option<BookingStatusGql>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<BookingConnection> {
        let session = ctx.viewer()?;
        let cursor = after_cursor(after)?;
        let query = BookingQuery {
            user_id: session.user_id,
            as_host: matches!(role.unwrap_or_default(), BookingRole::Host),
            status: status.map(Into::into),
            cursor,
            limit: self::first(first)?,
        };
        ctx.store_call();
        let (rows, next) = ctx.services.bookings.list(query).await?;
        let edges: Vec<BookingEdge> = rows
            .into_iter()
            .map(|booking| BookingEdge {
                cursor: booking.id.to_string(),
                node: BookingNode {
                    booking,
                    viewer: session.user_id,
                },
            })
            .collect();
        Ok(BookingConnection {
            page_info: PageInfo {
                has_next_page: next.is_some(),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }

    /// What a stay would cost, exactly as a booking would charge it.
    async fn quote(
        ctx: &Context,
        property_id: ID,
        check_in: Date,
        check_out: Date,
        guests: Option<i32>,
    ) -> GqlResult<Quote> {
        ctx.store_call();
        let params = QuoteParams {
            check_in: check_in.0,
            check_out: check_out.0,
            guests,
        };
        let quote = ctx
            .services
            .properties
            .quote(uuid(&property_id, "property")?, params)
            .await?;
        Quote::of(quote)
    }

    /// The property's unavailable nights between `from` and `to`.
    async fn availability(
        ctx: &Context,
        property_id: ID,
        from: Option<Date>,
        to: Option<Date>,
    ) -> GqlResult<Availability> {
        ctx.store_call();
        let params = AvailabilityParams {
            from: from.map(|d| d.0),
            to: to.map(|d| d.0),
        };
        let availability = ctx
            .services
            .properties
            .availability(uuid(&property_id, "property")?, params)
            .await?;
        Ok(availability.into())
    }
}
