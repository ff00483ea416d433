//! Properties: the listing a host publishes (`body`), its search
//! (`search`), its price quote, and its calendar as hosts and guests see it
//! (`calendar`: blocks, availability, the iCalendar feed).

pub mod body;
pub mod calendar;
pub mod http;
pub mod search;
pub mod service;

use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::{CancellationPolicy, Currency, DateRange, Money};

use serde::Serialize;
pub use service::PropertyService;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Property {
    pub id: Uuid,
    pub host_id: Uuid,
    pub title: String,
    pub description: String,
    pub city: String,
    pub country: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Minor units of `currency`.
    pub price_per_night: i64,
    #[sqlx(try_from = "String")]
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    pub cleaning_fee: i64,
    pub max_guests: i32,
    pub bedrooms: i32,
    #[sqlx(json)]
    pub amenities: Vec<String>,
    #[sqlx(try_from = "String")]
    #[schema(value_type = String, example = "flexible")]
    pub cancellation_policy: CancellationPolicy,
    pub instant_book: bool,
    pub min_nights: i32,
    pub max_nights: i32,
    pub listed: bool,
    #[serde(skip)]
    pub rating_sum: i64,
    pub review_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Property {
    /// A new listing's defaults, before the host's body is laid over it.
    pub fn draft(host_id: Uuid, now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            host_id,
            title: String::new(),
            description: String::new(),
            city: String::new(),
            country: String::new(),
            latitude: None,
            longitude: None,
            price_per_night: 0,
            currency: Currency::NONE,
            cleaning_fee: 0,
            max_guests: 1,
            bedrooms: 0,
            amenities: Vec::new(),
            cancellation_policy: CancellationPolicy::Flexible,
            instant_book: false,
            min_nights: 1,
            max_nights: 365,
            listed: true,
            rating_sum: 0,
            review_count: 0,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn nightly_price(&self) -> Money {
        Money::new(self.price_per_night, self.currency)
    }

    pub fn cleaning(&self) -> Money {
        Money::new(self.cleaning_fee, self.currency)
    }

    /// Average rating rounded to 2 decimals; `None` before the first review.
    pub fn rating_avg(&self) -> Option<f64> {
        (self.review_count > 0).then(|| {
            let avg = self.rating_sum as f64 / self.review_count as f64;
            (avg * 100.0).round() / 100.0
        })
    }

    /// The `rating` sort key as the store computes it (average × 100, truncated).
    pub fn rating_key(&self) -> i64 {
        if self.review_count == 0 {
            0
        } else {
            self.rating_sum * 100 / self.review_count
        }
    }
}

/// A property as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PropertyView {
    #[serde(flatten)]
    pub property: Property,
    pub rating_avg: Option<f64>,
}

impl From<Property> for PropertyView {
    fn from(property: Property) -> Self {
        Self {
            rating_avg: property.rating_avg(),
            property,
        }
    }
}

/// Dates a host closed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Block {
    pub id: Uuid,
    #[serde(skip)]
    pub property_id: Uuid,
    pub start: NaiveDate,
    pub end: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
    Rating,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// Where the previous page stopped: its last row's sort key and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub key: i64,
    pub id: Uuid,
}

/// A checked search, as the store runs it.
#[derive(Debug, Clone, Default)]
pub struct PropertyQuery {
    pub city: Option<String>,
    pub country: Option<String>,
    pub guests: Option<i32>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub amenities: Vec<String>,
    pub bbox: Option<BBox>,
    /// Only properties free for every night of this stay.
    pub stay: Option<DateRange>,
    pub sort: Sort,
    pub cursor: Option<Cursor>,
    pub limit: u32,
}
