//! The property service: listing, reading (cached), editing, unlisting,
//! search, quotes, host blocks and availability. Shared by REST and GraphQL.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Days;
use innkeep_actors::domain::{DateRange, PriceBreakdown, StayDates, merge_ranges, price_stay};
use innkeep_actors::ports::{CalendarOp, NewBlock, OpOutcome};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::input::{
    AvailabilityParams, BlockInput, PropertyInput, QuoteParams, SearchParams, encode_cursor,
};
use super::{Block, Property, PropertyView, Sort};
use crate::error::{AppError, AppResult, Validator};
use crate::state::AppState;

const CACHE_TTL: Duration = Duration::from_secs(300);

fn cache_key(id: Uuid) -> String {
    format!("property:{id}")
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PropertyPage {
    pub data: Vec<PropertyView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Quote {
    pub nights: u32,
    pub subtotal: i64,
    pub cleaning_fee: i64,
    pub service_fee: i64,
    pub total: i64,
    #[schema(value_type = String, example = "EUR")]
    pub currency: innkeep_actors::domain::Currency,
}

impl From<PriceBreakdown> for Quote {
    fn from(p: PriceBreakdown) -> Self {
        Self {
            nights: p.nights,
            subtotal: p.subtotal,
            cleaning_fee: p.cleaning_fee,
            service_fee: p.service_fee,
            total: p.total,
            currency: p.currency,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Availability {
    pub property_id: Uuid,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    /// Half-open `[start, end)` ranges, sorted and merged, clipped to `[from, to)`.
    #[schema(value_type = Vec<super::http::RangeDoc>)]
    pub unavailable: Vec<DateRange>,
}

pub async fn create(
    state: &AppState,
    host_id: Uuid,
    input: PropertyInput,
) -> AppResult<PropertyView> {
    let property = input.into_property(None, host_id, state.clock.now())?;
    state.store.insert_property(&property).await?;
    Ok(property.into())
}

/// A listed property; unknown and unlisted ones are both 404.
pub async fn listed(state: &AppState, id: Uuid) -> AppResult<Property> {
    let property = match state.properties.get(&id) {
        Some(hit) => hit,
        None => {
            let Some(loaded) = state.store.property(id).await? else {
                return Err(AppError::NotFound("property"));
            };
            let loaded = Arc::new(loaded);
            state.properties.insert(id, loaded.clone());
            loaded
        }
    };
    if property.listed {
        Ok(Property::clone(&property))
    } else {
        Err(AppError::NotFound("property"))
    }
}

/// Drops every cached copy of the property, here and in other processes.
async fn forget(state: &AppState, id: Uuid) {
    state.properties.invalidate(&id);
    state.cache.delete(&cache_key(id)).await;
    if let Err(e) = state.store.announce_property_change(id).await {
        // Other processes still drop it within PROPERTY_TTL.
        tracing::warn!(property_id = %id, error = %e, "announcing a property change failed");
    }
}

pub async fn get(state: &AppState, id: Uuid) -> AppResult<PropertyView> {
    Ok(listed(state, id).await?.into())
}

/// The property's JSON as served, from the cache when it is there. The hot
/// read path of the API: no store round trip on a hit.
pub async fn get_json(state: &AppState, id: Uuid) -> AppResult<Vec<u8>> {
    let key = cache_key(id);
    if let Some(hit) = state.cache.get(&key).await {
        return Ok(hit);
    }
    let view = get(state, id).await?;
    let json = serde_json::to_vec(&view).map_err(anyhow::Error::from)?;
    state.cache.set(&key, json.clone(), CACHE_TTL).await;
    Ok(json)
}

/// The property, if `user` hosts it: 404 if unknown or unlisted, 403 if not theirs.
async fn hosted_by(state: &AppState, user: Uuid, id: Uuid) -> AppResult<Property> {
    let property = listed(state, id).await?;
    if property.host_id != user {
        return Err(AppError::Forbidden(
            "only the host can change this property",
        ));
    }
    Ok(property)
}

pub async fn update(
    state: &AppState,
    user: Uuid,
    id: Uuid,
    input: PropertyInput,
) -> AppResult<PropertyView> {
    let current = hosted_by(state, user, id).await?;
    let updated = input.into_property(Some(&current), user, state.clock.now())?;
    state.store.update_property(&updated).await?;
    forget(state, id).await;
    Ok(updated.into())
}

pub async fn unlist(state: &AppState, user: Uuid, id: Uuid) -> AppResult<()> {
    hosted_by(state, user, id).await?;
    state
        .store
        .unlist_property(id, state.clock.today(), state.clock.now())
        .await?;
    forget(state, id).await;
    Ok(())
}

pub async fn search(state: &AppState, params: SearchParams) -> AppResult<PropertyPage> {
    let query = params.into_query()?;
    let mut rows = state.store.search_properties(&query).await?;
    let more = rows.len() > query.limit as usize;
    rows.truncate(query.limit as usize);
    let next_cursor = rows.last().filter(|_| more).map(|last| {
        let key = match query.sort {
            Sort::Newest => 0,
            Sort::PriceAsc | Sort::PriceDesc => last.price_per_night,
            Sort::Rating => last.rating_key(),
        };
        encode_cursor(query.sort, key, last.id)
    });
    Ok(PropertyPage {
        data: rows.into_iter().map(PropertyView::from).collect(),
        next_cursor,
    })
}

/// The price of a stay, checked against the property's rules exactly as a
/// booking will be.
pub fn price(property: &Property, stay: &StayDates, guests: i32) -> AppResult<PriceBreakdown> {
    let mut v = Validator::default();
    if guests < 1 || guests > property.max_guests {
        v.fail(
            "guests",
            format!("must be between 1 and {}", property.max_guests),
        );
    }
    let nights = i64::from(stay.nights());
    if nights < i64::from(property.min_nights) || nights > i64::from(property.max_nights) {
        v.fail(
            "check_out",
            format!(
                "stays here are {} to {} nights",
                property.min_nights, property.max_nights
            ),
        );
    }
    v.finish()?;
    price_stay(
        stay.nights(),
        property.price_per_night,
        property.cleaning_fee,
        property.currency,
    )
    .map_err(|e| AppError::field("check_out", e))
}

pub async fn quote(state: &AppState, id: Uuid, params: QuoteParams) -> AppResult<Quote> {
    let property = listed(state, id).await?;
    let stay = StayDates::parse(params.check_in, params.check_out, state.clock.today())
        .map_err(|e| AppError::field("check_in", e))?;
    Ok(price(&property, &stay, params.guests.unwrap_or(1))?.into())
}

pub async fn add_block(
    state: &AppState,
    user: Uuid,
    id: Uuid,
    input: BlockInput,
) -> AppResult<Block> {
    hosted_by(state, user, id).await?;
    let mut v = Validator::default();
    let range = v.check(
        "end",
        DateRange::new(input.start, input.end).ok_or("must be after start"),
    );
    if input.end <= state.clock.today() {
        v.fail("end", "a block must end after today");
    }
    if range.is_some_and(|r| r.nights() > 3 * 366) {
        v.fail("end", "a block is at most 3 years long");
    }
    let reason = input
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        v.fail("reason", "must be at most 500 characters");
    }
    v.finish()?;
    let block = Block {
        id: Uuid::now_v7(),
        property_id: id,
        start: input.start,
        end: input.end,
        reason,
    };
    let op = CalendarOp::InsertBlock(NewBlock {
        id: block.id,
        property_id: id,
        start: block.start,
        end: block.end,
        reason: block.reason.clone(),
    });
    match state.calendars.apply(id, op).await? {
        OpOutcome::Applied(_) => Ok(block),
        _ => Err(AppError::dates_unavailable(
            "those dates overlap a booking or block",
        )),
    }
}

pub async fn remove_block(state: &AppState, user: Uuid, id: Uuid, block_id: Uuid) -> AppResult<()> {
    hosted_by(state, user, id).await?;
    match state
        .calendars
        .apply(id, CalendarOp::RemoveBlock { block_id })
        .await?
    {
        OpOutcome::Applied(_) => Ok(()),
        _ => Err(AppError::NotFound("block")),
    }
}

pub async fn availability(
    state: &AppState,
    id: Uuid,
    params: AvailabilityParams,
) -> AppResult<Availability> {
    listed(state, id).await?;
    let from = params.from.unwrap_or_else(|| state.clock.today());
    let to = params.to.unwrap_or(from + Days::days(90));
    let window =
        DateRange::new(from, to).ok_or_else(|| AppError::field("to", "must be after from"))?;
    if window.nights() > 3 * 366 {
        return Err(AppError::field("to", "at most 3 years after from"));
    }
    let ranges = state.calendars.unavailable(id, window).await?;
    let unavailable = merge_ranges(ranges)
        .into_iter()
        .filter_map(|r| DateRange::new(r.start.max(from), r.end.min(to)))
        .collect();
    Ok(Availability {
        property_id: id,
        from,
        to,
        unavailable,
    })
}
