//! Money is an `i64` count of minor units plus an ISO 4217 currency code.
//! Floats never touch money.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A three-letter ISO 4217 code, stored upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("currency must be an ISO 4217 code of a currency in circulation, such as EUR or USD")]
pub struct CurrencyError;

/// ISO 4217's codes of the currencies in circulation (list one, 2025), not
/// its funds, precious metals and testing codes: what a night can be priced in.
/// Public so the OpenAPI document can list them.
pub const ISO_4217: &[&[u8; 3]] = &[
    b"AED", b"AFN", b"ALL", b"AMD", b"AOA", b"ARS", b"AUD", b"AWG", b"AZN", b"BAM", b"BBD", b"BDT",
    b"BGN", b"BHD", b"BIF", b"BMD", b"BND", b"BOB", b"BRL", b"BSD", b"BTN", b"BWP", b"BYN", b"BZD",
    b"CAD", b"CDF", b"CHF", b"CLP", b"CNY", b"COP", b"CRC", b"CUP", b"CVE", b"CZK", b"DJF", b"DKK",
    b"DOP", b"DZD", b"EGP", b"ERN", b"ETB", b"EUR", b"FJD", b"FKP", b"GBP", b"GEL", b"GHS", b"GIP",
    b"GMD", b"GNF", b"GTQ", b"GYD", b"HKD", b"HNL", b"HTG", b"HUF", b"IDR", b"ILS", b"INR", b"IQD",
    b"IRR", b"ISK", b"JMD", b"JOD", b"JPY", b"KES", b"KGS", b"KHR", b"KMF", b"KPW", b"KRW", b"KWD",
    b"KYD", b"KZT", b"LAK", b"LBP", b"LKR", b"LRD", b"LSL", b"LYD", b"MAD", b"MDL", b"MGA", b"MKD",
    b"MMK", b"MNT", b"MOP", b"MRU", b"MUR", b"MVR", b"MWK", b"MXN", b"MYR", b"MZN", b"NAD", b"NGN",
    b"NIO", b"NOK", b"NPR", b"NZD", b"OMR", b"PAB", b"PEN", b"PGK", b"PHP", b"PKR", b"PLN", b"PYG",
    b"QAR", b"RON", b"RSD", b"RUB", b"RWF", b"SAR", b"SBD", b"SCR", b"SDG", b"SEK", b"SGD", b"SHP",
    b"SLE", b"SOS", b"SRD", b"SSP", b"STN", b"SVC", b"SYP", b"SZL", b"THB", b"TJS", b"TMT", b"TND",
    b"TOP", b"TRY", b"TTD", b"TWD", b"TZS", b"UAH", b"UGX", b"USD", b"UYU", b"UZS", b"VED", b"VES",
    b"VND", b"VUV", b"WST", b"XAF", b"XCD", b"XCG", b"XOF", b"XPF", b"YER", b"ZAR", b"ZMW", b"ZWG",
];

impl Currency {
    /// ISO 4217's code for "no currency": a placeholder never charged in.
    pub const NONE: Currency = Currency(*b"XXX");

    /// An ISO 4217 code of a currency in circulation, any case.
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        let bytes = code.trim().as_bytes();
        let upper = match bytes {
            [a, b, c] => [
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ],
            _ => return Err(CurrencyError),
        };
        if ISO_4217.contains(&&upper) {
            Ok(Self(upper))
        } else {
            Err(CurrencyError)
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

/// An amount of money: minor units of one currency. Arithmetic is checked
/// and refuses to mix currencies, so a sum is either right or absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Money {
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    pub fn is_negative(self) -> bool {
        self.amount < 0
    }

    /// `None` on overflow or if the currencies differ.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| self.amount.checked_add(other.amount))
            .flatten()
            .map(|amount| Money::new(amount, self.currency))
    }

    /// `None` on overflow or if the currencies differ.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| self.amount.checked_sub(other.amount))
            .flatten()
            .map(|amount| Money::new(amount, self.currency))
    }

    pub fn checked_mul(self, factor: i64) -> Option<Money> {
        self.amount
            .checked_mul(factor)
            .map(|amount| Money::new(amount, self.currency))
    }

    /// `round_half_up(self × percent / 100)`.
    pub fn percent(self, percent: i64) -> Option<Money> {
        round_half_up_percent(self.amount, percent).map(|amount| Money::new(amount, self.currency))
    }
}

impl Money {
    /// As people write it: "1,234.50 EUR", "1,500 JPY" (currencies
    /// without minor units have no decimals).
    pub fn human(self) -> String {
        const ZERO_DECIMAL: [&str; 16] = [
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
            "VUV", "XAF", "XOF", "XPF",
        ];
        let code = self.currency.to_string();
        let amount = self.amount;
        let (units, cents) = if ZERO_DECIMAL.contains(&code.as_str()) {
            (amount, None)
        } else {
            (amount / 100, Some(amount.rem_euclid(100)))
        };
        let digits = units.unsigned_abs().to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if amount < 0 { "-" } else { "" };
        match cents {
            Some(c) => format!("{sign}{grouped}.{c:02} {code}"),
            None => format!("{sign}{grouped} {code}"),
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
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
    fn amounts_read_as_people_write_them() {
        let eur = Currency::parse("EUR").unwrap_or_else(|e| panic!("{e:?}"));
        let jpy = Currency::parse("JPY").unwrap_or_else(|e| panic!("{e:?}"));
        let human = |amount, currency| Money::new(amount, currency).human();
        assert_eq!(human(123_450, eur), "1,234.50 EUR");
        assert_eq!(human(5, eur), "0.05 EUR");
        assert_eq!(human(100_000_000, eur), "1,000,000.00 EUR");
        assert_eq!(human(1_500, jpy), "1,500 JPY");
    }

    #[test]
    fn currency_is_normalised_and_checked() {
        assert_eq!(
            Currency::parse("eur").map(|c| c.to_string()),
            Ok("EUR".into())
        );
        assert_eq!(Currency::parse("EURO"), Err(CurrencyError));
        // Three letters are not enough: the code must be ISO 4217's.
        for not_a_currency in ["ABC", "EUX", "XXX", "XAU", "xts"] {
            assert_eq!(
                Currency::parse(not_a_currency),
                Err(CurrencyError),
                "{not_a_currency}"
            );
        }
        assert_eq!(
            Currency::parse(" jpy ").map(|c| c.to_string()),
            Ok("JPY".into())
        );
        assert_eq!(Currency::parse("E1R"), Err(CurrencyError));
        assert_eq!(Currency::parse(""), Err(CurrencyError));
    }

    #[test]
    fn money_never_mixes_currencies_or_overflows() {
        let eur = |a| Money::new(a, Currency::parse("EUR").unwrap_or_else(|_| unreachable!()));
        let usd = Money::new(1, Currency::parse("USD").unwrap_or_else(|_| unreachable!()));
        assert_eq!(eur(2).checked_add(eur(3)), Some(eur(5)));
        assert_eq!(eur(2).checked_sub(eur(3)), Some(eur(-1)));
        assert_eq!(eur(2).checked_add(usd), None);
        assert_eq!(eur(i64::MAX).checked_add(eur(1)), None);
        assert_eq!(eur(i64::MAX).checked_mul(2), None);
        assert_eq!(eur(1_246).percent(12), Some(eur(150)));
        assert_eq!(eur(7).to_string(), "7 EUR");
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
