//! Domain values that are valid by construction: parse once at the edge,
//! then pass the typed value around.

pub mod booking;
pub mod dates;
pub mod money;
pub mod payment;
pub mod policy;
pub mod pricing;
pub mod refund;

pub use booking::{Booking, BookingStatus};
pub use dates::{
    CalendarDate, CalendarDateError, DateRange, StayDates, StayDatesError, merge_ranges,
};
pub use money::{Currency, CurrencyError, Money, round_half_up_percent};
pub use payment::PaymentStatus;
pub use policy::CancellationPolicy;
pub use pricing::{PriceBreakdown, PricingError, price_stay};
pub use refund::{Canceller, refund_amount};
