//! The search query string (`GET /properties`) and how it becomes a
//! checked `PropertyQuery`, with its opaque keyset cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use innkeep_actors::domain::{CalendarDate, DateRange};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::body::{MAX_GUESTS, amenity_list, in_range};
use super::{BBox, Cursor, PropertyQuery, Sort};
use crate::error::{AppResult, Validator};
use crate::http::page::page_size;
use crate::schema;

/// `GET /properties` query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Case-insensitive exact match.
    pub city: Option<String>,
    pub country: Option<String>,
    /// With `check_out`: only properties free for the whole stay.
    #[param(value_type = Option<String>, format = Date)]
    pub check_in: Option<CalendarDate>,
    #[param(value_type = Option<String>, format = Date)]
    pub check_out: Option<CalendarDate>,
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
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

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
                DateRange::new(a.date(), b.date()).ok_or("must be after check_in"),
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
        let limit = page_size(&mut v, self.limit);
        // Checked as a stored place is (no control characters: PostgreSQL
        // refuses a NUL in text), then trimmed; blank is no filter.
        let mut place = |field: &str, raw: Option<String>| {
            raw.and_then(|raw| {
                v.check(
                    field,
                    schema::text(&raw, schema::PLACE_MAX_CHARS, false, false),
                )
            })
            .filter(|place| !place.is_empty())
        };
        let city = place("city", self.city);
        let country = place("country", self.country);
        v.finish()?;
        Ok(PropertyQuery {
            city,
            country,
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
}
