//! The property body clients send (`POST` and `PATCH /properties`) and how
//! it becomes a checked `Property`: every field parsed once, every bad
//! field reported in one answer.

use chrono::{DateTime, Utc};
use innkeep_actors::domain::{CancellationPolicy, Currency};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Property;
use crate::error::{AppResult, Validator};

use crate::schema::{self, AMENITY_MAX_CHARS};
pub use crate::schema::{MAX_AMENITIES, MAX_GUESTS, MAX_PRICE};

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

/// One line of text (title, city, country): see `schema::text`.
pub(super) fn line(max: usize) -> impl Fn(String) -> Result<String, String> {
    move |raw| schema::text(&raw, max, true, false)
}

pub(super) fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
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

fn coordinate(limit: f64) -> impl Fn(f64) -> Result<Option<f64>, String> {
    move |x| {
        if x.is_finite() && x.abs() <= limit {
            Ok(Some(x))
        } else {
            Err(format!("must be between -{limit} and {limit}"))
        }
    }
}

pub(super) fn amenity_list(raw: Vec<String>) -> Result<Vec<String>, String> {
    if raw.len() > MAX_AMENITIES {
        return Err(format!("at most {MAX_AMENITIES} amenities"));
    }
    let mut list = Vec::with_capacity(raw.len());
    for item in raw {
        // Checked as sent (the document's pattern and maxLength), then
        // trimmed and lower-cased.
        if item.chars().count() > AMENITY_MAX_CHARS
            || item.contains(',')
            || item.chars().any(char::is_control)
            || item.trim().is_empty()
        {
            return Err(format!(
                "each amenity is 1 to {AMENITY_MAX_CHARS} characters, without commas"
            ));
        }
        let a = item.trim().to_lowercase();
        if !list.contains(&a) {
            list.push(a);
        }
    }
    Ok(list)
}

/// Parses `given` into `slot` if it was sent, recording a bad value
/// against `field`.
fn set<I, T>(
    v: &mut Validator,
    field: &str,
    given: Option<I>,
    parse: impl FnOnce(I) -> Result<T, String>,
    slot: &mut T,
) {
    if let Some(parsed) = given.and_then(|raw| v.check(field, parse(raw))) {
        *slot = parsed;
    }
}

impl PropertyInput {
    /// A full property from this input laid over `current` (PATCH) or over
    /// the defaults of a new listing (create).
    pub fn into_property(
        self,
        current: Option<&Property>,
        host_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<Property> {
        let v = &mut Validator::default();
        if current.is_none() {
            let required = [
                ("title", self.title.is_some()),
                ("city", self.city.is_some()),
                ("country", self.country.is_some()),
                ("price_per_night", self.price_per_night.is_some()),
                ("currency", self.currency.is_some()),
                ("max_guests", self.max_guests.is_some()),
            ];
            for (field, given) in required {
                if !given {
                    v.fail(field, "is required");
                }
            }
        }
        let mut p = match current {
            Some(current) => current.clone(),
            None => Property::draft(host_id, now),
        };
        set(
            v,
            "title",
            self.title,
            line(schema::TITLE_MAX_CHARS),
            &mut p.title,
        );
        set(
            v,
            "description",
            self.description,
            |raw| schema::text(&raw, schema::DESCRIPTION_MAX_CHARS, false, true),
            &mut p.description,
        );
        set(
            v,
            "city",
            self.city,
            line(schema::PLACE_MAX_CHARS),
            &mut p.city,
        );
        set(
            v,
            "country",
            self.country,
            line(schema::PLACE_MAX_CHARS),
            &mut p.country,
        );
        set(
            v,
            "price_per_night",
            self.price_per_night,
            in_range(1, MAX_PRICE),
            &mut p.price_per_night,
        );
        set(
            v,
            "currency",
            self.currency,
            |s| Currency::parse(&s).map_err(|e| e.to_string()),
            &mut p.currency,
        );
        set(
            v,
            "cleaning_fee",
            self.cleaning_fee,
            in_range(0, MAX_PRICE),
            &mut p.cleaning_fee,
        );
        set(
            v,
            "max_guests",
            self.max_guests,
            in_range(1, MAX_GUESTS),
            &mut p.max_guests,
        );
        set(
            v,
            "bedrooms",
            self.bedrooms,
            in_range(0, schema::MAX_BEDROOMS),
            &mut p.bedrooms,
        );
        set(
            v,
            "amenities",
            self.amenities,
            amenity_list,
            &mut p.amenities,
        );
        set(
            v,
            "cancellation_policy",
            self.cancellation_policy,
            |s| s.parse::<CancellationPolicy>().map_err(|e| e.to_string()),
            &mut p.cancellation_policy,
        );
        set(
            v,
            "instant_book",
            self.instant_book,
            Ok,
            &mut p.instant_book,
        );
        set(
            v,
            "min_nights",
            self.min_nights,
            in_range(schema::MIN_NIGHTS, schema::MAX_NIGHTS),
            &mut p.min_nights,
        );
        set(
            v,
            "max_nights",
            self.max_nights,
            in_range(schema::MIN_NIGHTS, schema::MAX_NIGHTS),
            &mut p.max_nights,
        );
        set(
            v,
            "latitude",
            self.latitude,
            coordinate(90.0),
            &mut p.latitude,
        );
        set(
            v,
            "longitude",
            self.longitude,
            coordinate(180.0),
            &mut p.longitude,
        );
        if p.min_nights > p.max_nights {
            v.fail("max_nights", "must be at least min_nights");
        }
        if p.latitude.is_some() != p.longitude.is_some() {
            v.fail("longitude", "latitude and longitude go together");
        }
        std::mem::take(v).finish()?;
        p.updated_at = now;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_patch_keeps_what_it_does_not_send() {
        let now = Utc::now();
        let created = PropertyInput {
            title: Some(" Loft ".into()),
            city: Some("Lisbon".into()),
            country: Some("Portugal".into()),
            price_per_night: Some(10_000),
            currency: Some("eur".into()),
            max_guests: Some(2),
            latitude: Some(38.7),
            longitude: Some(-9.1),
            ..PropertyInput::default()
        }
        .into_property(None, Uuid::now_v7(), now)
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(created.title, "Loft");
        assert_eq!(created.currency.as_str(), "EUR");
        assert_eq!((created.min_nights, created.max_nights), (1, 365));
        let patched = PropertyInput {
            price_per_night: Some(12_000),
            ..PropertyInput::default()
        }
        .into_property(Some(&created), Uuid::nil(), now)
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(patched.price_per_night, 12_000);
        assert_eq!(patched.host_id, created.host_id);
        assert_eq!(patched.latitude, Some(38.7));
        let bad = PropertyInput {
            latitude: Some(91.0),
            min_nights: Some(10),
            max_nights: Some(5),
            ..PropertyInput::default()
        }
        .into_property(Some(&created), Uuid::nil(), now);
        let Err(crate::error::AppError::Validation(fields)) = bad else {
            panic!("expected validation errors");
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["latitude", "max_nights"]);
    }
}
