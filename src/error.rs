//! The service layer's one error type. REST maps it to problem+json in
//! `http::problem`, GraphQL to its own errors; internal causes are logged
//! there and never sent to clients.

use innkeep_actors::CalendarError;

use crate::store::StoreError;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl ToString) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

/// Problem types beyond the plain HTTP status.
pub const DATES_UNAVAILABLE: &str = "https://innkeep.dev/problems/dates-unavailable";
pub const TOO_MANY_HOLDS: &str = "https://innkeep.dev/problems/too-many-holds";

/// `Retry-After` of a 503.
pub const UNAVAILABLE_RETRY_SECS: u64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{detail}")]
    Conflict {
        problem_type: Option<&'static str>,
        detail: String,
    },
    #[error("too many attempts, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("you already hold {max} unpaid bookings; pay or cancel one first")]
    TooManyHolds { max: u32, retry_after_secs: u64 },
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("this method is not allowed here; allowed: {allow}")]
    MethodNotAllowed { allow: String },
    #[error("the body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("{0} is not implemented yet")]
    NotImplemented(&'static str),
    #[error("{0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// The client's doing (a 4xx): an answer worth keeping for a replay,
    /// unlike a failure of ours.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            Self::NotImplemented(_) | Self::Unavailable(_) | Self::Internal(_)
        )
    }

    /// When to try again, for the refusals that say (429, and 503: a
    /// dependency is away or we are busy; it is worth a retry soon).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs }
            | Self::TooManyHolds {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_SECS),
            _ => None,
        }
    }

    pub fn field(field: &str, message: impl ToString) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict {
            problem_type: None,
            detail: detail.into(),
        }
    }

    pub fn dates_unavailable(detail: impl Into<String>) -> Self {
        Self::Conflict {
            problem_type: Some(DATES_UNAVAILABLE),
            detail: detail.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Overlap => {
                Self::dates_unavailable("those dates overlap a booking or block")
            }
            StoreError::Conflict(what) => Self::conflict(what),
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                Self::Unavailable("the database is unavailable; retry shortly")
            }
            StoreError::Other(e) => Self::Internal(e),
        }
    }
}

impl From<CalendarError> for AppError {
    fn from(err: CalendarError) -> Self {
        match err {
            CalendarError::Stopped => Self::Unavailable("the calendar is busy, retry shortly"),
            CalendarError::Unavailable(cause) => {
                tracing::warn!(%cause, "calendar store unavailable");
                Self::Unavailable("the database is unavailable; retry shortly")
            }
            CalendarError::Store(e) => Self::Internal(anyhow::anyhow!("calendar store: {e}")),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Collects field errors so one answer lists every bad field, not the first.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    /// The value, or `None` with the error recorded against `field`.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.fail(field, e)).ok()
    }

    pub fn fail(&mut self, field: &str, message: impl std::fmt::Display) {
        self.errors.push(FieldError::new(field, message));
    }

    /// `Err(Validation)` when any check failed.
    pub fn finish(self) -> AppResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }
}
