//! A listing as stored, what a search asks for (`PropertyQuery`, `BBox`,
//! `Sort`), the grid cells map searches walk, and a stay's price quote.

use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::{CancellationPolicy, Currency, DateRange, Money};

use serde::Serialize;
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

/// Cells per degree of the search grid (migration 0009): a cell
/// is a tenth of a degree square, about a city quarter.
const GRID_PER_DEGREE: f64 = 10.0;
/// Longitude columns of the grid, 0 to 3,600 inclusive.
const GRID_COLUMNS: i32 = 3_601;
/// A box read cell by cell covers at most this many cells.
const GRID_MAX_CELLS: usize = 16;

impl BBox {
    /// The grid cells a box covers, when reading it cell by cell in price
    /// order is the better plan: a box of at most `GRID_MAX_CELLS` cells and
    /// at least a quarter of one (a smaller box holds so few listings that
    /// reading them all and sorting is cheaper than walking a cell for it).
    ///
    /// A listing's cell is `geo_cell(latitude, longitude)`, the same
    /// arithmetic as the SQL, and both are monotonic in each
    /// coordinate, so every listing inside the box lies in one of these
    /// cells.
    pub fn grid_cells(&self) -> Option<Vec<i32>> {
        let cell_side = 1.0 / GRID_PER_DEGREE;
        let area = (self.max_lon - self.min_lon) * (self.max_lat - self.min_lat);
        if area < cell_side * cell_side / 4.0 {
            return None;
        }
        let (lat0, lat1) = (grid_row(self.min_lat), grid_row(self.max_lat));
        let (lon0, lon1) = (grid_column(self.min_lon), grid_column(self.max_lon));
        let count = (lat1 - lat0 + 1) * (lon1 - lon0 + 1);
        if count > GRID_MAX_CELLS as i32 {
            return None;
        }
        Some(
            (lat0..=lat1)
                .flat_map(|row| (lon0..=lon1).map(move |column| row * GRID_COLUMNS + column))
                .collect(),
        )
    }
}

/// The grid cell of a point: what migration 0009 computes in SQL
/// (PostgreSQL's `geo_cell` column, SQLite's indexed expression:
/// `CAST((latitude + 90) * 10 AS INTEGER) * 3601 + ...`; the sums are never
/// negative, so the cast is the floor).
pub fn geo_cell(latitude: f64, longitude: f64) -> i32 {
    grid_row(latitude) * GRID_COLUMNS + grid_column(longitude)
}

// Latitude and longitude are checked (±90, ±180) before they get here, so
// rows are 0..=1,800 and columns 0..=3,600.
fn grid_row(latitude: f64) -> i32 {
    ((latitude + 90.0) * GRID_PER_DEGREE).floor() as i32
}

fn grid_column(longitude: f64) -> i32 {
    ((longitude + 180.0) * GRID_PER_DEGREE).floor() as i32
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

#[cfg(test)]
mod tests {
    use super::{BBox, geo_cell};

    fn bbox(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> BBox {
        BBox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        }
    }

    #[test]
    fn every_point_of_a_box_lies_in_one_of_its_cells() {
        let boxes = [
            bbox(2.32, 48.83, 2.38, 48.89),
            bbox(-74.04, 40.68, -73.98, 40.74),
            bbox(151.18, -33.9, 151.24, -33.84),
            bbox(-180.0, -90.0, -179.8, -89.8),
            bbox(179.9, 89.9, 180.0, 90.0),
            bbox(39.9, 29.95, 40.1, 30.1),
        ];
        for b in boxes {
            let cells = b
                .grid_cells()
                .unwrap_or_else(|| panic!("{b:?} is read by cell"));
            let steps = 40;
            for i in 0..=steps {
                for j in 0..=steps {
                    let lat = b.min_lat + (b.max_lat - b.min_lat) * f64::from(i) / f64::from(steps);
                    let lon = b.min_lon + (b.max_lon - b.min_lon) * f64::from(j) / f64::from(steps);
                    let (lat, lon) = (lat.min(b.max_lat), lon.min(b.max_lon));
                    assert!(cells.contains(&geo_cell(lat, lon)), "{b:?} {lat} {lon}");
                }
            }
            for corner in [(b.min_lat, b.min_lon), (b.max_lat, b.max_lon)] {
                assert!(cells.contains(&geo_cell(corner.0, corner.1)));
            }
        }
    }

    #[test]
    fn tiny_and_huge_boxes_are_not_read_by_cell() {
        assert_eq!(bbox(2.35, 48.86, 2.36, 48.87).grid_cells(), None);
        assert_eq!(bbox(-10.0, 35.0, 30.0, 60.0).grid_cells(), None);
        let cells = |b: BBox| b.grid_cells().map(|c| c.len());
        assert_eq!(cells(bbox(2.32, 48.82, 2.38, 48.88)), Some(1));
        assert_eq!(cells(bbox(2.35, 48.85, 2.45, 48.95)), Some(4));
        // Cells of one row are neighbours; rows are 3,601 apart.
        assert_eq!(geo_cell(0.05, 0.15) - geo_cell(0.05, 0.05), 1);
        assert_eq!(geo_cell(0.15, 0.05) - geo_cell(0.05, 0.05), 3_601);
    }
}
