//! Cancellation policies a host can choose: the closed set of names. What
//! each one refunds is `refund.rs`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CancellationPolicy {
    #[default]
    Flexible,
    Moderate,
    Strict,
}

impl CancellationPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flexible => "flexible",
            Self::Moderate => "moderate",
            Self::Strict => "strict",
        }
    }
}

impl fmt::Display for CancellationPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cancellation_policy must be one of flexible, moderate, strict")]
pub struct UnknownPolicy;

impl FromStr for CancellationPolicy {
    type Err = UnknownPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "flexible" => Ok(Self::Flexible),
            "moderate" => Ok(Self::Moderate),
            "strict" => Ok(Self::Strict),
            _ => Err(UnknownPolicy),
        }
    }
}

impl TryFrom<String> for CancellationPolicy {
    type Error = UnknownPolicy;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}
