//! Where a booking's payment stands: the payment intent's status as the
//! gateway names it (Stripe's names; the dev gateway uses the same), plus
//! `pending` before an intent exists and the two refund states.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// No payment intent recorded yet.
    Pending,
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    /// Authorised, waiting for capture (request to book).
    RequiresCapture,
    /// Captured.
    Succeeded,
    /// Released or never paid.
    Canceled,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 10] = [
        Self::Pending,
        Self::RequiresPaymentMethod,
        Self::RequiresConfirmation,
        Self::RequiresAction,
        Self::Processing,
        Self::RequiresCapture,
        Self::Succeeded,
        Self::Canceled,
        Self::PartiallyRefunded,
        Self::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::RequiresPaymentMethod => "requires_payment_method",
            Self::RequiresConfirmation => "requires_confirmation",
            Self::RequiresAction => "requires_action",
            Self::Processing => "processing",
            Self::RequiresCapture => "requires_capture",
            Self::Succeeded => "succeeded",
            Self::Canceled => "canceled",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Refunded => "refunded",
        }
    }

    /// Money was captured (and may have gone back since, in part or whole).
    pub fn was_captured(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::PartiallyRefunded | Self::Refunded
        )
    }

    /// The guest can still pay (or confirm) this intent.
    pub fn awaits_payment(self) -> bool {
        matches!(
            self,
            Self::RequiresPaymentMethod | Self::RequiresConfirmation | Self::RequiresAction
        )
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown payment status")]
pub struct UnknownPaymentStatus;

impl FromStr for PaymentStatus {
    type Err = UnknownPaymentStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or(UnknownPaymentStatus)
    }
}

impl TryFrom<String> for PaymentStatus {
    type Error = UnknownPaymentStatus;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are Stripe's PaymentIntent statuses (and ours: pending,
    /// partially_refunded, refunded), as written in the database and in
    /// the API: spelled out here, not derived from the code under test.
    #[test]
    fn names_are_the_stored_and_wire_names() {
        let names = [
            "pending",
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
            "processing",
            "requires_capture",
            "succeeded",
            "canceled",
            "partially_refunded",
            "refunded",
        ];
        assert_eq!(PaymentStatus::ALL.map(PaymentStatus::as_str), names);
        for (status, name) in PaymentStatus::ALL.into_iter().zip(names) {
            assert_eq!(name.parse::<PaymentStatus>().ok(), Some(status));
            assert_eq!(status.to_string(), name);
        }
        for unknown in ["paid", "", "Succeeded", "succeeded "] {
            assert!(unknown.parse::<PaymentStatus>().is_err(), "{unknown:?}");
        }
    }
}
