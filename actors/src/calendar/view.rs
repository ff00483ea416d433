//! `CalendarView`: what a calendar's readers may see without a message to
//! its actor. The actor republishes its memory's unavailable ranges after
//! every change (copy on write; calendars are small); availability reads
//! and refusals of overlapping bookings are answered from it, while every
//! accepted change still goes through the actor. Not ready while the actor
//! loads or reloads: readers ask the actor then.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::domain::DateRange;

#[derive(Default)]
pub struct CalendarView {
    ranges: RwLock<Arc<Vec<DateRange>>>,
    ready: AtomicBool,
    /// Read since the actor last looked: keeps a calendar that only serves
    /// reads from passivating.
    touched: AtomicBool,
}

impl CalendarView {
    fn snapshot(&self) -> Option<Arc<Vec<DateRange>>> {
        if !self.ready.load(Ordering::Acquire) {
            return None;
        }
        self.touched.store(true, Ordering::Relaxed);
        let ranges = self
            .ranges
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(ranges.clone())
    }

    /// The unavailable ranges intersecting `window`, in order; `None` when
    /// the view is not ready.
    pub fn unavailable(&self, window: DateRange) -> Option<Vec<DateRange>> {
        let ranges = self.snapshot()?;
        let first = ranges.partition_point(|r| r.end <= window.start);
        Some(
            ranges[first..]
                .iter()
                .take_while(|r| r.start < window.end)
                .copied()
                .collect(),
        )
    }

    /// Whether `range` overlaps a range of the calendar; `None` when the
    /// view is not ready.
    pub fn overlaps(&self, range: DateRange) -> Option<bool> {
        let ranges = self.snapshot()?;
        let first = ranges.partition_point(|r| r.end <= range.start);
        Some(ranges.get(first).is_some_and(|r| r.start < range.end))
    }

    /// Shows `ranges` (sorted, disjoint) to readers.
    pub(super) fn publish(&self, ranges: Vec<DateRange>) {
        *self
            .ranges
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(ranges);
        self.ready.store(true, Ordering::Release);
    }

    /// Until the next publish, readers ask the actor.
    pub(super) fn hide(&self) {
        self.ready.store(false, Ordering::Release);
    }

    /// Whether a reader used the view since the last call.
    pub(super) fn take_touched(&self) -> bool {
        self.touched.swap(false, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn range(from: u32, to: u32) -> DateRange {
        let day = |d: u32| NaiveDate::from_ymd_opt(2030, 1, d).unwrap_or(NaiveDate::MIN);
        DateRange {
            start: day(from),
            end: day(to),
        }
    }

    #[test]
    fn a_view_answers_only_once_published_and_not_while_hidden() {
        let view = CalendarView::default();
        assert_eq!(view.overlaps(range(1, 2)), None);
        view.publish(vec![range(3, 5), range(8, 10)]);
        assert_eq!(
            view.overlaps(range(1, 3)),
            Some(false),
            "check-out on check-in day"
        );
        assert_eq!(view.overlaps(range(4, 6)), Some(true));
        assert_eq!(view.overlaps(range(5, 8)), Some(false));
        assert_eq!(view.overlaps(range(7, 9)), Some(true));
        assert_eq!(view.overlaps(range(1, 20)), Some(true));
        assert_eq!(view.overlaps(range(10, 12)), Some(false));
        assert_eq!(
            view.unavailable(range(4, 9)),
            Some(vec![range(3, 5), range(8, 10)])
        );
        assert_eq!(view.unavailable(range(5, 8)), Some(vec![]));
        view.hide();
        assert_eq!(view.unavailable(range(1, 20)), None);
        assert!(view.take_touched(), "reads mark the calendar used");
        assert!(!view.take_touched());
    }
}
