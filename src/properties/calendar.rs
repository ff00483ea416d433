//! A property's calendar as hosts and guests see it: the host's blocks,
//! availability (answered from the calendar actor's memory) and the
//! iCalendar feed of unavailable nights.

use chrono::{Duration as Days, NaiveDate};
use innkeep_actors::domain::{CalendarDate, DateRange, merge_ranges};
use innkeep_actors::ports::{CalendarOp, NewBlock, OpOutcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Block, PropertyService};
use crate::error::{AppError, AppResult, Validator};

/// A half-open date range `[start, end)` (the OpenAPI shape of `DateRange`).
#[derive(ToSchema)]
pub struct RangeDoc {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Availability {
    pub property_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Half-open `[start, end)` ranges, sorted and merged, clipped to `[from, to)`.
    #[schema(value_type = Vec<RangeDoc>)]
    pub unavailable: Vec<DateRange>,
}

/// `GET /properties/{id}/availability` query string.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityParams {
    /// Default today.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<CalendarDate>,
    /// Exclusive; default `from` + 90 days; at most 3 years after `from`.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<CalendarDate>,
}

/// `POST /properties/{id}/blocks` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockInput {
    #[schema(value_type = String, format = Date)]
    pub start: CalendarDate,
    /// Exclusive.
    #[schema(value_type = String, format = Date)]
    pub end: CalendarDate,
    pub reason: Option<String>,
}

/// The longest block or availability window, in nights.
const MAX_WINDOW_NIGHTS: i64 = 3 * 366;

impl PropertyService {
    pub async fn add_block(&self, user: Uuid, id: Uuid, input: BlockInput) -> AppResult<Block> {
        self.hosted_by(user, id).await?;
        let mut v = Validator::default();
        let (start, end) = (input.start.date(), input.end.date());
        let range = v.check(
            "end",
            DateRange::new(start, end).ok_or("must be after start"),
        );
        if end <= self.clock.today() {
            v.fail("end", "a block must end after today");
        }
        if range.is_some_and(|r| r.nights() > MAX_WINDOW_NIGHTS) {
            v.fail("end", "a block is at most 3 years long");
        }
        let reason = input
            .reason
            .as_deref()
            .and_then(|r| {
                v.check(
                    "reason",
                    crate::schema::text(r, crate::schema::REASON_MAX_CHARS, false, true),
                )
            })
            .filter(|r| !r.is_empty());
        v.finish()?;
        let block = Block {
            id: Uuid::now_v7(),
            property_id: id,
            start,
            end,
            reason,
        };
        let op = CalendarOp::InsertBlock(NewBlock {
            id: block.id,
            property_id: id,
            start: block.start,
            end: block.end,
            reason: block.reason.clone(),
        });
        match self.calendars.apply(id, op).await? {
            OpOutcome::Applied(_) => Ok(block),
            _ => Err(AppError::dates_unavailable(
                "those dates overlap a booking or block",
            )),
        }
    }

    pub async fn remove_block(&self, user: Uuid, id: Uuid, block_id: Uuid) -> AppResult<()> {
        self.hosted_by(user, id).await?;
        match self
            .calendars
            .apply(id, CalendarOp::RemoveBlock { block_id })
            .await?
        {
            OpOutcome::Applied(_) => Ok(()),
            _ => Err(AppError::NotFound("block")),
        }
    }

    pub async fn availability(
        &self,
        id: Uuid,
        params: AvailabilityParams,
    ) -> AppResult<Availability> {
        self.listed_shared(id).await?;
        let from = params
            .from
            .map_or_else(|| self.clock.today(), CalendarDate::date);
        let to = match params.to {
            Some(to) => to.date(),
            None => from
                .checked_add_signed(Days::days(90))
                .ok_or_else(|| AppError::field("from", "is too far ahead"))?,
        };
        let window =
            DateRange::new(from, to).ok_or_else(|| AppError::field("to", "must be after from"))?;
        if window.nights() > MAX_WINDOW_NIGHTS {
            return Err(AppError::field("to", "at most 3 years after from"));
        }
        let ranges = self.calendars.unavailable(id, window).await?;
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

    /// The unavailable ranges of the next year as an iCalendar feed.
    pub async fn calendar_ics(&self, id: Uuid) -> AppResult<String> {
        let today = self.clock.today();
        let year_on = today
            .checked_add_signed(Days::days(366))
            .ok_or_else(|| AppError::field("today", "is too far ahead"))?;
        let params = AvailabilityParams {
            from: Some(CalendarDate::new(today).map_err(|e| AppError::field("today", e))?),
            to: Some(CalendarDate::new(year_on).map_err(|e| AppError::field("today", e))?),
        };
        let avail = self.availability(id, params).await?;
        let stamp = self.clock.now().format("%Y%m%dT%H%M%SZ");
        let mut ics = String::from(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//innkeep//calendar//EN\r\nCALSCALE:GREGORIAN\r\n",
        );
        for range in &avail.unavailable {
            ics.push_str(&format!(
                "BEGIN:VEVENT\r\nUID:{id}-{start}@innkeep\r\nDTSTAMP:{stamp}\r\nDTSTART;VALUE=DATE:{start}\r\nDTEND;VALUE=DATE:{end}\r\nSUMMARY:Unavailable\r\nEND:VEVENT\r\n",
                id = avail.property_id,
                start = range.start.format("%Y%m%d"),
                end = range.end.format("%Y%m%d"),
            ));
        }
        ics.push_str("END:VCALENDAR\r\n");
        Ok(ics)
    }
}
