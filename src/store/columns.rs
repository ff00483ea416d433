//! Column lists and helpers the SQL of both backends shares.

/// Column list of `properties` in the order of `Property`'s fields.
pub const PROPERTY_COLUMNS: &str = "id, host_id, title, description, city, country, \
     latitude, longitude, price_per_night, currency, cleaning_fee, max_guests, bedrooms, \
     amenities, cancellation_policy, instant_book, min_nights, max_nights, listed, \
     rating_sum, review_count, created_at, updated_at";

pub const USER_COLUMNS: &str = "id, email, name, bio, created_at";

/// Column list of `bookings` in the order of `Booking`'s fields.
pub const BOOKING_COLUMNS: &str = "id, property_id, guest_id, host_id, check_in, check_out, \
     guests, status, nights, subtotal, cleaning_fee, service_fee, total, host_payout, currency, \
     instant_book, cancellation_policy, created_at, updated_at, expires_at, payment_provider, \
     payment_intent_id, payment_client_secret, payment_status, refund_amount";

/// Integer average rating × 100, the `rating` sort key (0 when unrated).
pub const RATING_KEY: &str =
    "(CASE WHEN p.review_count = 0 THEN 0 ELSE (p.rating_sum * 100) / p.review_count END)";

pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

/// The i-th of up to three values for an `IN ($a, $b, $c)`, repeating the
/// first when there are fewer (an empty list binds "", which matches no row).
pub fn nth_of_three<'a>(values: &[&'a str], i: usize) -> &'a str {
    values.get(i).or(values.first()).copied().unwrap_or("")
}
