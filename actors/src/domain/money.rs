//! Money is an `i64` count of minor units plus an ISO 4217 currency code.
//! Floats never touch money.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A three-letter ISO 4217 code, stored upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("currency must be a three-letter ISO 4217 code such as EUR or USD")]
pub struct CurrencyError;

impl Currency {
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        let bytes = code.trim().as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Ok(Self([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(CurrencyError),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.as_str().to_owned()
    }
}

/// `round_half_up(amount × percent / 100)` in exact integer arithmetic.
/// Amounts are non-negative minor units; `None` on overflow.
pub fn round_half_up_percent(amount: i64, percent: i64) -> Option<i64> {
    let scaled = i128::from(amount).checked_mul(i128::from(percent))?;
    let rounded = if scaled >= 0 {
        (scaled + 50) / 100
    } else {
        -((-scaled + 50) / 100)
    };
    i64::try_from(rounded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_is_normalised_and_checked() {
        assert_eq!(
            Currency::parse("eur").map(|c| c.to_string()),
            Ok("EUR".into())
        );
        assert_eq!(Currency::parse("EURO"), Err(CurrencyError));
        assert_eq!(Currency::parse("E1R"), Err(CurrencyError));
        assert_eq!(Currency::parse(""), Err(CurrencyError));
    }

    #[test]
    fn rounding_is_half_up() {
        // 12 % of 1_234 = 148.08 -> 148; of 1_250 = 150; of 1_246 = 149.52 -> 150
        assert_eq!(round_half_up_percent(1_234, 12), Some(148));
        assert_eq!(round_half_up_percent(1_246, 12), Some(150));
        // exactly half rounds up: 3 % of 50 = 1.5 -> 2
        assert_eq!(round_half_up_percent(50, 3), Some(2));
        assert_eq!(round_half_up_percent(49, 3), Some(1));
        assert_eq!(round_half_up_percent(0, 12), Some(0));
        assert_eq!(round_half_up_percent(i64::MAX, 100), Some(i64::MAX));
        assert_eq!(round_half_up_percent(i64::MAX, 101), None);
    }
}
