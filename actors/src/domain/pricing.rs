//! The price rules of a stay. A quote and a booking both come from
//! `price_stay`, so what a guest is quoted is what they are charged.
//!
//! `subtotal = nights × price_per_night`,
//! `service_fee = round_half_up(subtotal × 12 %)` (guest pays, platform keeps),
//! `total = subtotal + cleaning_fee + service_fee`,
//! `host_fee = round_half_up(subtotal × 3 %)` (withheld from the host),
//! `host_payout = subtotal + cleaning_fee − host_fee`.

use serde::Serialize;

use super::money::{Currency, round_half_up_percent};

pub const SERVICE_FEE_PERCENT: i64 = 12;
pub const HOST_FEE_PERCENT: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PriceBreakdown {
    pub nights: u32,
    pub subtotal: i64,
    pub cleaning_fee: i64,
    pub service_fee: i64,
    pub total: i64,
    pub host_fee: i64,
    pub host_payout: i64,
    pub currency: Currency,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PricingError {
    #[error("the stay's price is too large to charge")]
    Overflow,
    #[error("prices cannot be negative")]
    Negative,
}

pub fn price_stay(
    nights: u32,
    price_per_night: i64,
    cleaning_fee: i64,
    currency: Currency,
) -> Result<PriceBreakdown, PricingError> {
    if price_per_night < 0 || cleaning_fee < 0 {
        return Err(PricingError::Negative);
    }
    let subtotal = i64::from(nights)
        .checked_mul(price_per_night)
        .ok_or(PricingError::Overflow)?;
    let service_fee =
        round_half_up_percent(subtotal, SERVICE_FEE_PERCENT).ok_or(PricingError::Overflow)?;
    let host_fee =
        round_half_up_percent(subtotal, HOST_FEE_PERCENT).ok_or(PricingError::Overflow)?;
    let with_cleaning = subtotal
        .checked_add(cleaning_fee)
        .ok_or(PricingError::Overflow)?;
    let total = with_cleaning
        .checked_add(service_fee)
        .ok_or(PricingError::Overflow)?;
    Ok(PriceBreakdown {
        nights,
        subtotal,
        cleaning_fee,
        service_fee,
        total,
        host_fee,
        host_payout: with_cleaning - host_fee,
        currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn three_nights_priced_by_the_rules() {
        let p = price_stay(3, 10_050, 2_500, eur()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.subtotal, 30_150);
        assert_eq!(p.service_fee, 3_618); // 3 618.0
        assert_eq!(p.total, 30_150 + 2_500 + 3_618);
        assert_eq!(p.host_fee, 905); // 904.5 rounds half up
        assert_eq!(p.host_payout, 30_150 + 2_500 - 905);
    }

    #[test]
    fn overflow_and_negative_are_errors() {
        assert_eq!(
            price_stay(2, i64::MAX, 0, eur()),
            Err(PricingError::Overflow)
        );
        assert_eq!(price_stay(2, -1, 0, eur()), Err(PricingError::Negative));
    }
}
