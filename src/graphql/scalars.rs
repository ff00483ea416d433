//! Scalars: `Date` (`YYYY-MM-DD`, years 1900 to 9999, the same bound as
//! REST) and the conversions of ids and money.

use innkeep_actors::domain::CalendarDate;
use juniper::{GraphQLScalar, ID, ScalarValue};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// A calendar date, `YYYY-MM-DD`, in the years 1900 to 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, GraphQLScalar)]
#[graphql(
    name = "Date",
    with = date_scalar,
    to_output_with = ScalarValue::from_displayable,
    parse_token(String),
    description = "A calendar date, YYYY-MM-DD, in the years 1900 to 9999"
)]
pub struct Date(pub CalendarDate);

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

mod date_scalar {
    use super::Date;

    pub(super) fn from_input(s: &str) -> Result<Date, Box<str>> {
        s.parse().map(Date).map_err(|e| format!("Date {e}").into())
    }
}

impl From<chrono::NaiveDate> for Date {
    /// A date the server made (stored dates are always in range).
    fn from(date: chrono::NaiveDate) -> Self {
        Self(CalendarDate::saturating(date))
    }
}

/// An id argument: one that is not a UUID names nothing (as a REST path).
pub fn uuid(id: &ID, what: &'static str) -> AppResult<Uuid> {
    id.parse::<Uuid>().map_err(|_| AppError::NotFound(what))
}

pub fn id(uuid: Uuid) -> ID {
    ID::new(uuid.to_string())
}

/// Money and counts as GraphQL `Int` (32 bits): minor units.
pub fn int(value: i64) -> AppResult<i32> {
    i32::try_from(value)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("{value} does not fit a GraphQL Int")))
}
