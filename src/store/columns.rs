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

/// Pushes a booking's values, in `BOOKING_COLUMNS` order, onto one row of
/// a multi-row INSERT (`QueryBuilder::push_values`'s row).
macro_rules! push_booking {
    ($row:ident, $booking:expr) => {{
        let b = $booking;
        $row.push_bind(b.id)
            .push_bind(b.property_id)
            .push_bind(b.guest_id)
            .push_bind(b.host_id)
            .push_bind(b.check_in)
            .push_bind(b.check_out)
            .push_bind(b.guests)
            .push_bind(b.status.as_str())
            .push_bind(b.nights)
            .push_bind(b.subtotal)
            .push_bind(b.cleaning_fee)
            .push_bind(b.service_fee)
            .push_bind(b.total)
            .push_bind(b.host_payout)
            .push_bind(b.currency.as_str())
            .push_bind(b.instant_book)
            .push_bind(b.cancellation_policy.as_str())
            .push_bind(b.created_at)
            .push_bind(b.updated_at)
            .push_bind(b.expires_at)
            .push_bind(b.payment_provider.as_str())
            .push_bind(b.payment_intent_id.as_deref())
            .push_bind(b.payment_client_secret.as_deref())
            .push_bind(b.payment_status.as_str())
            .push_bind(b.refund_amount);
    }};
}
pub(crate) use push_booking;

/// Column list of `dev_payment_intents` in the order of `DevIntent`'s fields.
pub const DEV_INTENT_COLUMNS: &str = "id, idempotency_key, booking_id, amount, currency, \
     capture_method, status, amount_refunded, created_at";

/// Pushes a dev intent's values, in `DEV_INTENT_COLUMNS` order, onto one row
/// of a multi-row INSERT.
macro_rules! push_dev_intent {
    ($row:ident, $intent:expr) => {{
        let intent = $intent;
        $row.push_bind(intent.id.clone())
            .push_bind(intent.idempotency_key.clone())
            .push_bind(intent.booking_id)
            .push_bind(intent.amount)
            .push_bind(intent.currency.clone())
            .push_bind(intent.capture_method.clone())
            .push_bind(intent.status.as_str())
            .push_bind(intent.amount_refunded)
            .push_bind(intent.created_at);
    }};
}
pub(crate) use push_dev_intent;

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
