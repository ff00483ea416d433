//! What clients send about properties (bodies and query strings), and how it
//! becomes checked values: a `Property`, a `PropertyQuery`, a stay.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::{CancellationPolicy, Currency, DateRange};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{BBox, Cursor, Property, PropertyQuery, Sort};
use crate::error::{AppResult, Validator};

pub const MAX_PRICE: i64 = 100_000_000;
pub const MAX_GUESTS: i32 = 50;
pub const MAX_AMENITIES: usize = 50;

/// A property body. On create, title, city, country, price_per_night,
/// currency and max_guests are required; on PATCH every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub price_per_night: Option<i64>,
    pub currency: Option<String>,
    pub cleaning_fee: Option<i64>,
    pub max_guests: Option<i32>,
    pub bedrooms: Option<i32>,
    pub amenities: Option<Vec<String>>,
    /// `flexible` (default), `moderate` or `strict`.
    pub cancellation_policy: Option<String>,
    pub instant_book: Option<bool>,
    pub min_nights: Option<i32>,
    pub max_nights: Option<i32>,
}

fn text(max: usize, required: bool) -> impl Fn(String) -> Result<String, String> {
    move |raw| {
        let t = raw.trim();
        if required && t.is_empty() {
            return Err("must not be empty".into());
        }
        if t.chars().count() > max {
            return Err(format!("must be at most {max} characters"));
        }
        if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err("must not contain control characters".into());
        }
        Ok(t.to_owned())
    }
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    min: T,
    max: T,
) -> impl Fn(T) -> Result<T, String> {
    move |x| {
        if x < min || x > max {
            Err(format!("must be between {min} and {max}"))
        } else {
            Ok(x)
        }
    }
}

fn coordinate(limit: f64) -> impl Fn(f64) -> Result<f64, String> {
    move |x| {
        if x.is_finite() && x.abs() <= limit {
            Ok(x)
        } else {
            Err(format!("must be between -{limit} and {limit}"))
        }
    }
}

fn amenity_list(raw: Vec<String>) -> Result<Vec<String>, String> {
    if raw.len() > MAX_AMENITIES {
        return Err(format!("at most {MAX_AMENITIES} amenities"));
    }
    let mut list = Vec::with_capacity(raw.len());
    for item in raw {
        let a = item.trim().to_lowercase();
        if a.is_empty()
            || a.chars().count() > 50
            || a.contains(',')
            || a.chars().any(char::is_control)
        {
            return Err("each amenity is 1 to 50 characters, without commas".into());
        }
        if !list.contains(&a) {
            list.push(a);
        }
    }
    Ok(list)
}

/// The value given, else the current one (PATCH), else the default, else
/// "is required".
fn pick<I, T>(
    v: &mut Validator,
    field: &str,
    given: Option<I>,
    current: Option<T>,
    default: Option<T>,
    parse: impl FnOnce(I) -> Result<T, String>,
) -> Option<T> {
    match given {
        Some(raw) => v.check(field, parse(raw)),
        None => current.or(default).or_else(|| {
            v.fail(field, "is required");
            None
        }),
    }
}

impl PropertyInput {
    /// A full property from this input laid over `current` (PATCH) or over
    /// the defaults (create).
    pub fn into_property(
        self,
        current: Option<&Property>,
        host_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<Property> {
        let v = &mut Validator::default();
        let c = current;
        let title = pick(
            v,
            "title",
            self.title,
            c.map(|p| p.title.clone()),
            None,
            text(200, true),
        );
        let description = pick(
            v,
            "description",
            self.description,
            c.map(|p| p.description.clone()),
            Some(String::new()),
            text(5000, false),
        );
        let city = pick(
            v,
            "city",
            self.city,
            c.map(|p| p.city.clone()),
            None,
            text(100, true),
        );
        let country = pick(
            v,
            "country",
            self.country,
            c.map(|p| p.country.clone()),
            None,
            text(100, true),
        );
        let price = pick(
            v,
            "price_per_night",
            self.price_per_night,
            c.map(|p| p.price_per_night),
            None,
            in_range(1, MAX_PRICE),
        );
        let currency = pick(
            v,
            "currency",
            self.currency,
            c.map(|p| p.currency),
            None,
            |s| Currency::parse(&s).map_err(|e| e.to_string()),
        );
        let cleaning_fee = pick(
            v,
            "cleaning_fee",
            self.cleaning_fee,
            c.map(|p| p.cleaning_fee),
            Some(0),
            in_range(0, MAX_PRICE),
        );
        let max_guests = pick(
            v,
            "max_guests",
            self.max_guests,
            c.map(|p| p.max_guests),
            None,
            in_range(1, MAX_GUESTS),
        );
        let bedrooms = pick(
            v,
            "bedrooms",
            self.bedrooms,
            c.map(|p| p.bedrooms),
            Some(0),
            in_range(0, 50),
        );
        let amenities = pick(
            v,
            "amenities",
            self.amenities,
            c.map(|p| p.amenities.clone()),
            Some(Vec::new()),
            amenity_list,
        );
        let policy = pick(
            v,
            "cancellation_policy",
            self.cancellation_policy,
            c.map(|p| p.cancellation_policy),
            Some(CancellationPolicy::Flexible),
            |s| s.parse::<CancellationPolicy>().map_err(|e| e.to_string()),
        );
        let instant_book = pick(
            v,
            "instant_book",
            self.instant_book,
            c.map(|p| p.instant_book),
            Some(false),
            Ok,
        );
        let min_nights = pick(
            v,
            "min_nights",
            self.min_nights,
            c.map(|p| p.min_nights),
            Some(1),
            in_range(1, 365),
        );
        let max_nights = pick(
            v,
            "max_nights",
            self.max_nights,
            c.map(|p| p.max_nights),
            Some(365),
            in_range(1, 365),
        );
        let latitude = match self.latitude {
            Some(x) => v.check("latitude", coordinate(90.0)(x)).map(Some),
            None => Some(c.and_then(|p| p.latitude)),
        };
        let longitude = match self.longitude {
            Some(x) => v.check("longitude", coordinate(180.0)(x)).map(Some),
            None => Some(c.and_then(|p| p.longitude)),
        };
        if let (Some(min), Some(max)) = (min_nights, max_nights)
            && min > max
        {
            v.fail("max_nights", "must be at least min_nights");
        }
        if let (Some(lat), Some(lon)) = (latitude, longitude)
            && lat.is_some() != lon.is_some()
        {
            v.fail("longitude", "latitude and longitude go together");
        }
        std::mem::take(v).finish()?;
        let (
            Some(title),
            Some(description),
            Some(city),
            Some(country),
            Some(price_per_night),
            Some(currency),
            Some(cleaning_fee),
            Some(max_guests),
            Some(bedrooms),
            Some(amenities),
            Some(cancellation_policy),
            Some(instant_book),
            Some(min_nights),
            Some(max_nights),
            Some(latitude),
            Some(longitude),
        ) = (
            title,
            description,
            city,
            country,
            price,
            currency,
            cleaning_fee,
            max_guests,
            bedrooms,
            amenities,
            policy,
            instant_book,
            min_nights,
            max_nights,
            latitude,
            longitude,
        )
        else {
            // Every None above recorded an error, so finish() returned already.
            return Err(crate::error::AppError::field("body", "invalid property"));
        };
        Ok(Property {
            id: c.map_or_else(Uuid::now_v7, |p| p.id),
            host_id: c.map_or(host_id, |p| p.host_id),
            title,
            description,
            city,
            country,
            latitude,
            longitude,
            price_per_night,
            currency,
            cleaning_fee,
            max_guests,
            bedrooms,
            amenities,
            cancellation_policy,
            instant_book,
            min_nights,
            max_nights,
            listed: c.is_none_or(|p| p.listed),
            rating_sum: c.map_or(0, |p| p.rating_sum),
            review_count: c.map_or(0, |p| p.review_count),
            created_at: c.map_or(now, |p| p.created_at),
            updated_at: now,
        })
    }
}

/// `GET /properties` query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Case-insensitive exact match.
    pub city: Option<String>,
    pub country: Option<String>,
    /// With `check_out`: only properties free for the whole stay.
    pub check_in: Option<NaiveDate>,
    pub check_out: Option<NaiveDate>,
    pub guests: Option<i32>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// Comma-separated; every one is required.
    pub amenities: Option<String>,
    /// `min_lon,min_lat,max_lon,max_lat`.
    pub bbox: Option<String>,
    /// `newest` (default), `price_asc`, `price_desc`, `rating`.
    pub sort: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

impl SearchParams {
    pub fn into_query(self) -> AppResult<PropertyQuery> {
        let mut v = Validator::default();
        let sort = match self.sort.as_deref().unwrap_or("newest") {
            "newest" => Sort::Newest,
            "price_asc" => Sort::PriceAsc,
            "price_desc" => Sort::PriceDesc,
            "rating" => Sort::Rating,
            _ => {
                v.fail(
                    "sort",
                    "must be one of newest, price_asc, price_desc, rating",
                );
                Sort::Newest
            }
        };
        let stay = match (self.check_in, self.check_out) {
            (None, None) => None,
            (Some(a), Some(b)) => v.check(
                "check_out",
                DateRange::new(a, b).ok_or("must be after check_in"),
            ),
            _ => {
                v.fail("check_out", "check_in and check_out go together");
                None
            }
        };
        if let Some(g) = self.guests {
            v.check("guests", in_range(1, MAX_GUESTS)(g));
        }
        for (field, price) in [("min_price", self.min_price), ("max_price", self.max_price)] {
            if let Some(p) = price {
                v.check(field, in_range(0, i64::MAX)(p));
            }
        }
        if let (Some(min), Some(max)) = (self.min_price, self.max_price)
            && min > max
        {
            v.fail("max_price", "must be at least min_price");
        }
        let amenities = match self.amenities {
            Some(list) => v
                .check(
                    "amenities",
                    amenity_list(list.split(',').map(str::to_owned).collect()),
                )
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let bbox = self.bbox.and_then(|b| v.check("bbox", parse_bbox(&b)));
        let cursor = self
            .cursor
            .and_then(|c| v.check("cursor", decode_cursor(&c, sort)));
        let limit = match self.limit {
            Some(0) => {
                v.fail("limit", "must be between 1 and 100");
                DEFAULT_LIMIT
            }
            Some(n) => n.min(MAX_LIMIT),
            None => DEFAULT_LIMIT,
        };
        v.finish()?;
        Ok(PropertyQuery {
            city: self
                .city
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
            country: self
                .country
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
            guests: self.guests,
            min_price: self.min_price,
            max_price: self.max_price,
            amenities,
            bbox,
            stay,
            sort,
            cursor,
            limit,
        })
    }
}

fn parse_bbox(raw: &str) -> Result<BBox, &'static str> {
    const MSG: &str = "must be min_lon,min_lat,max_lon,max_lat";
    let parts: Vec<f64> = raw
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| MSG)?;
    let [min_lon, min_lat, max_lon, max_lat] = parts[..] else {
        return Err(MSG);
    };
    let lon_ok = |x: f64| x.is_finite() && x.abs() <= 180.0;
    let lat_ok = |x: f64| x.is_finite() && x.abs() <= 90.0;
    if !(lon_ok(min_lon) && lon_ok(max_lon) && lat_ok(min_lat) && lat_ok(max_lat))
        || min_lon > max_lon
        || min_lat > max_lat
    {
        return Err(MSG);
    }
    Ok(BBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    })
}

fn sort_tag(sort: Sort) -> &'static str {
    match sort {
        Sort::Newest => "n",
        Sort::PriceAsc => "pa",
        Sort::PriceDesc => "pd",
        Sort::Rating => "r",
    }
}

/// An opaque cursor: the sort it belongs to, the sort key and the id.
pub fn encode_cursor(sort: Sort, key: i64, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{key}:{id}", sort_tag(sort)))
}

fn decode_cursor(raw: &str, sort: Sort) -> Result<Cursor, &'static str> {
    const MSG: &str = "is not a cursor from this search";
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| MSG)?;
    let text = String::from_utf8(bytes).map_err(|_| MSG)?;
    let mut parts = text.splitn(3, ':');
    let (Some(tag), Some(key), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(MSG);
    };
    if tag != sort_tag(sort) {
        return Err(MSG);
    }
    Ok(Cursor {
        key: key.parse().map_err(|_| MSG)?,
        id: id.parse().map_err(|_| MSG)?,
    })
}

/// `GET /properties/{id}/quote` query string.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuoteParams {
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    /// Default 1.
    pub guests: Option<i32>,
}

/// `GET /properties/{id}/availability` query string.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityParams {
    /// Default today.
    pub from: Option<NaiveDate>,
    /// Exclusive; default `from` + 90 days; at most 3 years after `from`.
    pub to: Option<NaiveDate>,
}

/// `POST /properties/{id}/blocks` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockInput {
    pub start: NaiveDate,
    /// Exclusive.
    pub end: NaiveDate,
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_sort() {
        let id = Uuid::now_v7();
        let c = encode_cursor(Sort::PriceAsc, 12_000, id);
        assert_eq!(
            decode_cursor(&c, Sort::PriceAsc),
            Ok(Cursor { key: 12_000, id })
        );
        assert!(decode_cursor(&c, Sort::Newest).is_err());
        assert!(decode_cursor("garbage!", Sort::Newest).is_err());
    }

    #[test]
    fn bbox_is_checked() {
        assert!(parse_bbox("2.2,48.8,2.4,48.9").is_ok());
        assert!(parse_bbox("2.4,48.8,2.2,48.9").is_err());
        assert!(parse_bbox("2.2,48.8,2.4").is_err());
        assert!(parse_bbox("a,b,c,d").is_err());
        assert!(parse_bbox("2.2,48.8,2.4,NaN").is_err());
    }

    #[test]
    fn create_requires_the_core_fields_and_reports_them_all() {
        let err = PropertyInput::default().into_property(None, Uuid::now_v7(), Utc::now());
        let Err(crate::error::AppError::Validation(fields)) = err else {
            panic!("expected validation errors");
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            [
                "title",
                "city",
                "country",
                "price_per_night",
                "currency",
                "max_guests"
            ]
        );
    }
}
