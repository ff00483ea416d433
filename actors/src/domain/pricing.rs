//! The price rules of a stay. A quote and a booking both come from
//! `price_stay`, so what a guest is quoted is what they are charged.
//!
//! `subtotal = nights × price_per_night`,
//! `service_fee = round_half_up(subtotal × 12 %)` (guest pays, platform keeps),
//! `total = subtotal + cleaning_fee + service_fee`,
//! `host_fee = round_half_up(subtotal × 3 %)` (withheld from the host),
//! `host_payout = subtotal + cleaning_fee − host_fee`.

use serde::Serialize;

use super::money::{Currency, Money};

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

#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum PricingError {
    #[error("the stay's price is too large to charge")]
    Overflow,
    #[error("prices cannot be negative")]
    Negative,
    #[error("the nightly price and the cleaning fee must be in one currency")]
    MixedCurrencies,
}

pub fn price_stay(
    nights: u32,
    price_per_night: Money,
    cleaning_fee: Money,
) -> Result<PriceBreakdown, PricingError> {
    if price_per_night.is_negative() || cleaning_fee.is_negative() {
        return Err(PricingError::Negative);
    }
    if price_per_night.currency != cleaning_fee.currency {
        return Err(PricingError::MixedCurrencies);
    }
    let overflow = PricingError::Overflow;
    let subtotal = price_per_night
        .checked_mul(i64::from(nights))
        .ok_or(overflow)?;
    let service_fee = subtotal.percent(SERVICE_FEE_PERCENT).ok_or(overflow)?;
    let host_fee = subtotal.percent(HOST_FEE_PERCENT).ok_or(overflow)?;
    let with_cleaning = subtotal.checked_add(cleaning_fee).ok_or(overflow)?;
    let total = with_cleaning.checked_add(service_fee).ok_or(overflow)?;
    let host_payout = with_cleaning.checked_sub(host_fee).ok_or(overflow)?;
    Ok(PriceBreakdown {
        nights,
        subtotal: subtotal.amount,
        cleaning_fee: cleaning_fee.amount,
        service_fee: service_fee.amount,
        total: total.amount,
        host_fee: host_fee.amount,
        host_payout: host_payout.amount,
        currency: price_per_night.currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(
            amount,
            Currency::parse("EUR").unwrap_or_else(|_| unreachable!()),
        )
    }

    #[test]
    fn three_nights_priced_by_the_rules() {
        let p = price_stay(3, eur(10_050), eur(2_500)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.subtotal, 30_150);
        assert_eq!(p.service_fee, 3_618); // 3 618.0
        assert_eq!(p.total, 30_150 + 2_500 + 3_618);
        assert_eq!(p.host_fee, 905); // 904.5 rounds half up
        assert_eq!(p.host_payout, 30_150 + 2_500 - 905);
    }

    #[test]
    fn overflow_and_negative_are_errors() {
        assert_eq!(
            price_stay(2, eur(i64::MAX), eur(0)),
            Err(PricingError::Overflow)
        );
        assert_eq!(price_stay(2, eur(-1), eur(0)), Err(PricingError::Negative));
        let usd = Money::new(0, Currency::parse("USD").unwrap_or_else(|_| unreachable!()));
        assert_eq!(
            price_stay(2, eur(1), usd),
            Err(PricingError::MixedCurrencies)
        );
    }
}
