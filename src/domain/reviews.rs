//! A review as stored and as written, and whom it is about.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What a review is about: the guest's stay (written by the guest) or the
/// guest (written by the host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum About {
    Stay,
    Guest,
}

impl About {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stay => "stay",
            Self::Guest => "guest",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stay" => Some(Self::Stay),
            "guest" => Some(Self::Guest),
            _ => None,
        }
    }
}

impl TryFrom<String> for About {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or(value)
    }
}

/// A review as stored, with its author's name.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Review {
    pub id: Uuid,
    pub booking_id: Uuid,
    pub property_id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    pub subject_id: Uuid,
    #[sqlx(try_from = "String")]
    pub about: About,
    pub rating: i32,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    pub response_comment: Option<String>,
    pub response_at: Option<DateTime<Utc>>,
}

/// A review to write.
#[derive(Debug, Clone)]
pub struct NewReview {
    pub id: Uuid,
    pub booking_id: Uuid,
    pub property_id: Uuid,
    pub author_id: Uuid,
    pub subject_id: Uuid,
    pub about: About,
    pub rating: i32,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /bookings/{id}/reviews` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// 1 to 5.
    pub rating: i32,
    /// At most 2,000 characters.
    pub comment: String,
}

/// `POST /reviews/{id}/response` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseInput {
    /// At most 2,000 characters.
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResponseView {
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

/// A review as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: Uuid,
    pub booking_id: Uuid,
    pub property_id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    /// `stay` (a guest's review) or `guest` (a host's).
    pub about: About,
    pub rating: i32,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    pub response: Option<ResponseView>,
}

impl From<Review> for ReviewView {
    fn from(r: Review) -> Self {
        let response = match (r.response_comment, r.response_at) {
            (Some(comment), Some(created_at)) => Some(ResponseView {
                comment,
                created_at,
            }),
            _ => None,
        };
        Self {
            id: r.id,
            booking_id: r.booking_id,
            property_id: r.property_id,
            author_id: r.author_id,
            author_name: r.author_name,
            about: r.about,
            rating: r.rating,
            comment: r.comment,
            created_at: r.created_at,
            response,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewPage {
    pub data: Vec<ReviewView>,
    pub next_cursor: Option<String>,
}
