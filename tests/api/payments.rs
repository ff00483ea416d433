//! Money over HTTP: the ledger behind captures, refunds and a host's
//! balance; Stripe's signed webhooks (forged, stale, malformed, repeated,
//! late); and `innkeep ledger verify` clean after every story.

use futures_util::future::join_all;
use serde_json::json;

use crate::both_stores;
use crate::support::{Options, TestApp, WEBHOOK_SECRET, day_at, event, intent, sign, spawn_sqlite};

both_stores!(
    capture_and_late_cancellation_move_the_host_balance,
    request_to_book_captures_on_accept_only,
    webhooks_are_verified_and_applied_once,
    a_payment_after_the_hold_lapsed_is_given_back,
    the_ledger_is_append_only,
    a_refund_that_times_out_is_retried_until_sent_once,
    hosts_are_paid_24_hours_after_check_in,
    unanswered_requests_expire_after_a_day,
    a_capture_retried_after_the_host_left_still_confirms,
);

async fn capture_and_late_cancellation_move_the_host_balance(app: TestApp) {
    let (host, guest, property) = app
        .listing(json!({"cancellation_policy": "moderate"}))
        .await;
    assert_eq!(
        app.balance(&host.token).await,
        json!({"currency": "EUR", "pending": 0, "available": 0, "paid_out": 0})
    );

    // Three nights in three days: inside moderate's five-day window.
    let booking = app.booked(&guest.token, &property, 3..6).await;
    assert_eq!(app.transactions().await, 0);
    app.dev_pay(&booking).await;
    // The host is owed subtotal + cleaning − 3 % host fee: 30_150 + 2_500 − 905.
    assert_eq!(app.balance(&host.token).await["pending"], 31_745);
    assert_eq!(app.balance(&guest.token).await["pending"], 0);
    app.assert_ledger_clean().await;

    let cancelled = app.cancel(&guest.token, &booking).await;
    // 50 % of subtotal + cleaning; the service fee is kept.
    assert_eq!(
        cancelled["refund"],
        json!({"amount": 16_325, "currency": "EUR"})
    );
    // The host gives back half its share (15_872.5, rounded up): 15_872 left.
    assert_eq!(app.balance(&host.token).await["pending"], 15_872);
    // capture, refund owed, refund sent: one transaction each.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM ledger_transactions WHERE booking_id IS NOT NULL")
            .await,
        3
    );
    app.assert_ledger_clean().await;
}

async fn request_to_book_captures_on_accept_only(app: TestApp) {
    let (host, guest, property) = app.listing(json!({"instant_book": false})).await;
    let accepted = app.booked(&guest.token, &property, 20..23).await;
    let declined = app.booked(&guest.token, &property, 30..33).await;
    for b in [&accepted, &declined] {
        assert_eq!(app.dev_pay(b).await["booking"]["status"], "awaiting_host");
    }
    // An authorisation is not money yet.
    assert_eq!(app.transactions().await, 0);
    assert_eq!(app.balance(&host.token).await["pending"], 0);

    app.accept(&host.token, &accepted).await.expect(200);
    app.decline(&host.token, &declined).await.expect(200);
    assert_eq!(app.transactions_of("capture").await, 1);
    assert_eq!(app.transactions().await, 1);
    assert_eq!(app.balance(&host.token).await["pending"], 31_745);
    app.assert_ledger_clean().await;
}

async fn webhooks_are_verified_and_applied_once(app: TestApp) {
    let (host, guest, property) = app
        .listing(json!({"cancellation_policy": "flexible"}))
        .await;
    let booking = app.booked(&guest.token, &property, 40..43).await;
    let succeeded = event(
        "evt_succeeded_1",
        "payment_intent.succeeded",
        json!({"id": intent(&booking), "object": "payment_intent", "amount": booking["total"], "status": "succeeded"}),
    );
    let now = chrono::Utc::now().timestamp();

    // Every bad delivery is a 400 problem and changes nothing.
    let forged = sign(&succeeded, "whsec_someone_else", now);
    let stale = sign(&succeeded, WEBHOOK_SECRET, now - 301);
    let other_body = sign(b"{}", WEBHOOK_SECRET, now);
    for signature in [
        Some(forged),
        Some(stale),
        Some(other_body),
        Some(String::new()),
        Some("t=abc,v1=00".into()),
        None,
    ] {
        app.deliver(&succeeded, signature).await.expect(400);
    }
    let malformed = b"{\"id\": \"evt_x\", \"type\": ".to_vec();
    app.deliver_signed(&malformed).await.expect(400);
    let no_object = event("evt_no_object", "payment_intent.succeeded", json!({}));
    app.deliver_signed(&no_object).await.expect(400);
    assert_eq!(
        app.booking(&guest.token, &booking).await["status"],
        "pending_payment"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_events").await, 0);

    // A type innkeep does not handle is acknowledged and ignored.
    let unknown = event(
        "evt_unknown",
        "customer.created",
        json!({"id": "cus_1", "object": "customer"}),
    );
    app.deliver_signed(&unknown).await.expect(200);
    assert_eq!(
        app.booking(&guest.token, &booking).await["status"],
        "pending_payment"
    );

    // Twenty deliveries of one event at once: one state change, one posting.
    let answers = join_all((0..20).map(|_| app.deliver_signed(&succeeded))).await;
    for a in &answers {
        a.expect(200);
    }
    assert_eq!(
        app.booking(&guest.token, &booking).await["status"],
        "confirmed"
    );
    assert_eq!(app.transactions().await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_events WHERE id = 'evt_succeeded_1'")
            .await,
        1
    );
    let again = app.deliver_signed(&succeeded).await;
    assert_eq!(again.expect(200)["duplicate"], true);

    // Cancelled a month ahead: a full refund, sent by the gateway; Stripe's
    // charge.refunded confirming it (twice, under two event ids) posts nothing more.
    let cancelled = app.cancel(&guest.token, &booking).await;
    assert_eq!(cancelled["refund"]["amount"], booking["total"]);
    for evt in ["evt_refunded_1", "evt_refunded_2"] {
        let refunded = event(
            evt,
            "charge.refunded",
            json!({"id": "ch_1", "object": "charge", "payment_intent": intent(&booking),
                   "amount": booking["total"], "amount_refunded": booking["total"], "refunded": true}),
        );
        app.deliver_signed(&refunded).await.expect(200);
    }
    assert_eq!(app.transactions_of("refund_sent").await, 1);
    assert_eq!(app.transactions().await, 3);
    assert_eq!(app.balance(&host.token).await["pending"], 0);
    // `succeeded` again under a new event id, after all that: old news.
    let again = event(
        "evt_succeeded_2",
        "payment_intent.succeeded",
        json!({"id": intent(&booking), "object": "payment_intent", "status": "succeeded"}),
    );
    app.deliver_signed(&again).await.expect(200);
    let after = app.booking(&guest.token, &booking).await;
    assert_eq!(after["status"], "cancelled");
    assert_eq!(after["payment"]["status"], "refunded");
    assert_eq!(app.transactions().await, 3);

    // payment_failed on another hold releases its dates.
    let failing = app.booked(&guest.token, &property, 50..52).await;
    let failed = event(
        "evt_failed_1",
        "payment_intent.payment_failed",
        json!({"id": intent(&failing), "object": "payment_intent"}),
    );
    app.deliver_signed(&failed).await.expect(200);
    assert_eq!(
        app.booking(&guest.token, &failing).await["status"],
        "payment_failed"
    );
    assert_eq!(app.unavailable(&property, 0, 90).await, json!([]));
    app.assert_ledger_clean().await;
}

async fn a_payment_after_the_hold_lapsed_is_given_back(app: TestApp) {
    let (mut host, mut guest, property) = app.listing(json!({})).await;
    let booking = app.booked(&guest.token, &property, 10..13).await;
    let later = chrono::Utc::now() + chrono::Duration::minutes(16);
    app.set_clock(later).await;
    // The access tokens (15 min) lapsed with the jump: sign in again.
    app.sign_in_again(&mut guest).await;
    app.sign_in_again(&mut host).await;
    app.wait_for_status(&guest.token, &booking, "expired").await;
    app.wait_for_payment_status(&guest.token, &booking, "canceled")
        .await;

    // The card holder's payment reached the processor just before our cancel
    // did, and Stripe's `succeeded` arrives after the expiry (signed on the
    // moved clock). The dev gateway's record stands for the processor's.
    app.sql(&format!(
        "UPDATE dev_payment_intents SET status = 'succeeded' WHERE id = '{}'",
        intent(&booking)
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let succeeded = event(
        "evt_late_1",
        "payment_intent.succeeded",
        json!({"id": intent(&booking), "object": "payment_intent", "status": "succeeded"}),
    );
    app.deliver_signed_at(&succeeded, later).await.expect(200);
    let after = app.booking(&guest.token, &booking).await;
    assert_eq!(after["status"], "expired");
    assert_eq!(after["payment"]["status"], "refunded");
    // The money came and went, and the ledger says so.
    assert_eq!(app.transactions().await, 3);
    assert_eq!(app.balance(&host.token).await["pending"], 0);
    app.assert_ledger_clean().await;
}

async fn the_ledger_is_append_only(app: TestApp) {
    let (host, guest, property) = app.listing(json!({})).await;
    app.paid_booking(&guest.token, &property, 10..13).await;
    for statement in [
        "UPDATE ledger_entries SET amount = amount + 1",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_transactions SET kind = 'payout'",
        "DELETE FROM ledger_transactions",
    ] {
        let refused = app.sql(statement).await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("append-only")),
            "{statement}: {refused:?}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM ledger_entries").await, 3);
    assert_eq!(app.balance(&host.token).await["pending"], 31_745);
    app.assert_ledger_clean().await;
}

#[actix_web::test]
async fn webhooks_answer_503_until_a_secret_is_configured() {
    let app = spawn_sqlite(Options {
        webhook_secret: None,
        ..Options::default()
    })
    .await;
    let body = event("evt_1", "payment_intent.succeeded", json!({"id": "pi_1"}));
    app.deliver_signed(&body).await.expect(503);
}

async fn a_refund_that_times_out_is_retried_until_sent_once(app: TestApp) {
    let (_, guest, property) = app
        .listing(json!({"cancellation_policy": "flexible"}))
        .await;
    let booking = app.paid_booking(&guest.token, &property, 30..33).await;

    // The provider times out on the next two calls.
    app.gateway_faults(2).await;
    let cancelled = app.cancel(&guest.token, &booking).await;
    // Cancelled at once, dates free; the refund is owed, not yet sent.
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["refund"]["amount"], booking["total"]);
    assert_eq!(cancelled["payment"]["status"], "succeeded");
    assert_eq!(app.unavailable(&property, 0, 60).await, json!([]));
    assert_eq!(app.transactions_of("refund_sent").await, 0);
    app.assert_ledger_clean().await;

    // The PaymentsActor retries (1 s, then 2 s) until the gateway answers.
    let refunded = app
        .wait_for_payment_status(&guest.token, &booking, "refunded")
        .await;
    assert_eq!(refunded["status"], "cancelled");
    let intent_id = intent(&booking);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM dev_refunds WHERE intent_id = '{intent_id}'"
        ))
        .await,
        1,
        "refunded once"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT CAST(amount_refunded AS BIGINT) FROM dev_payment_intents WHERE id = '{intent_id}'"
        ))
        .await,
        booking["total"].as_i64().unwrap_or_default()
    );
    assert_eq!(
        app.job_attempts("refund").await,
        3,
        "two timeouts, then the refund"
    );
    assert_eq!(app.transactions_of("refund_sent").await, 1);
    app.assert_ledger_clean().await;
}

async fn hosts_are_paid_24_hours_after_check_in(app: TestApp) {
    let (mut host, mut guest, kept) = app
        .listing(json!({"cancellation_policy": "moderate"}))
        .await;
    let halved = app
        .list_property(&host, json!({"cancellation_policy": "moderate"}))
        .await;
    app.paid_booking(&guest.token, &kept, 2..5).await;
    let cancelled = app.paid_booking(&guest.token, &halved, 2..5).await;
    // Two days ahead, moderate: half the stay back, the host keeps half its share.
    app.cancel(&guest.token, &cancelled).await;
    assert_eq!(
        app.balance(&host.token).await,
        json!({"currency": "EUR", "pending": 31_745 + 15_872, "available": 0, "paid_out": 0})
    );

    // Check-in is 15:00 UTC on day 2; an hour before the 24 h are up,
    // nothing is paid.
    let day_after_check_in = |hour| day_at(2 + 1, hour);
    app.set_clock(day_after_check_in(14)).await;
    app.sign_in_again(&mut host).await;
    app.sign_in_again(&mut guest).await;
    app.wait_for_a_whole_pass("bookings.sweep").await;
    assert_eq!(app.balance(&host.token).await["paid_out"], 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'payment.payout'")
            .await,
        0
    );

    // An hour after: both payouts go out, once each.
    app.set_clock(day_after_check_in(16)).await;
    app.sign_in_again(&mut host).await;
    let paid = app
        .wait_for_balance(&host.token, "paid_out", 31_745 + 15_872)
        .await;
    assert_eq!(
        paid,
        json!({"currency": "EUR", "pending": 0, "available": 0, "paid_out": 31_745 + 15_872})
    );
    app.wait_for_a_whole_pass("bookings.sweep").await;
    assert_eq!(app.transactions_of("payout").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'payment.payout' AND status = 'done'")
            .await,
        2
    );
    app.assert_ledger_clean().await;
}

async fn unanswered_requests_expire_after_a_day(app: TestApp) {
    let (mut host, mut guest, property) = app.listing(json!({"instant_book": false})).await;
    let request = app.booked(&guest.token, &property, 20..23).await;
    let paid_at = chrono::Utc::now();
    let authorised = app.dev_pay(&request).await;
    assert_eq!(authorised["booking"]["status"], "awaiting_host");
    let deadline = authorised["booking"]["expires_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .unwrap_or_else(|| panic!("awaiting_host without expires_at: {authorised}"));
    assert!(
        (deadline.to_utc() - (paid_at + chrono::Duration::hours(24)))
            .num_seconds()
            .abs()
            < 60
    );

    // An hour before the day is up, the host could still answer.
    app.set_clock(paid_at + chrono::Duration::hours(23)).await;
    app.sign_in_again(&mut guest).await;
    app.wait_for_a_whole_pass("bookings.sweep").await;
    assert_eq!(
        app.booking(&guest.token, &request).await["status"],
        "awaiting_host"
    );

    // After it: expired, authorisation released, dates free, too late to accept.
    app.set_clock(paid_at + chrono::Duration::hours(25)).await;
    app.sign_in_again(&mut guest).await;
    app.sign_in_again(&mut host).await;
    let expired = app.wait_for_status(&guest.token, &request, "expired").await;
    app.wait_for_payment_status(&guest.token, &request, "canceled")
        .await;
    assert!(expired["refund"].is_null(), "nothing was captured");
    assert_eq!(app.unavailable(&property, 0, 60).await, json!([]));
    app.accept(&host.token, &request).await.expect(409);
    assert_eq!(app.transactions().await, 0);
    app.assert_ledger_clean().await;
}

async fn a_capture_retried_after_the_host_left_still_confirms(app: TestApp) {
    let (host, guest, property) = app.listing(json!({"instant_book": false})).await;
    let request = app.paid_booking(&guest.token, &property, 20..23).await;
    // The capture times out; the host is told to retry and walks away.
    app.gateway_faults(1).await;
    app.accept(&host.token, &request).await.expect(503);
    assert_eq!(
        app.booking(&guest.token, &request).await["status"],
        "awaiting_host"
    );
    // The outbox retries the capture; the sweep sees it went through and
    // confirms the booking, capture posted once.
    let confirmed = app
        .wait_for_status(&guest.token, &request, "confirmed")
        .await;
    assert_eq!(confirmed["payment"]["status"], "succeeded");
    assert_eq!(app.job_attempts("capture").await, 2);
    assert_eq!(app.transactions_of("capture").await, 1);
    assert_eq!(app.balance(&host.token).await["pending"], 31_745);
    // Accepting now is too late, and harmless.
    app.accept(&host.token, &request).await.expect(409);
    app.assert_ledger_clean().await;
}
