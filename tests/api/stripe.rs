//! innkeep on the Stripe gateway (async-stripe) against the fake Stripe:
//! instant book and request to book end to end through signed webhooks,
//! refunds, captures and payouts as Stripe API calls, and Stripe failing
//! (500s, answers that come too late) without anything charged, refunded
//! or paid twice. `ledger verify` is clean after each.

use std::time::Duration;

use serde_json::json;

use crate::both_stores;
use crate::fake_stripe::{FakeStripe, Fault};
use crate::support::{TestApp, day_at, days, intent, printed_jobs};

both_stores!(
    fake_stripe:
    instant_book_through_stripe,
    request_to_book_through_stripe,
    stripe_failures_are_retried_and_nothing_moves_twice,
    a_refund_stripe_refuses_is_dead_until_an_operator_replays_it,
    hosts_are_paid_by_stripe_transfers,
    each_policy_refunds_by_its_deadlines,
    an_intent_created_but_never_recorded_is_found_and_released,
    a_capture_we_never_recorded_is_confirmed_or_returned_by_the_webhook,
    an_acceptance_waits_for_a_capture_the_outbox_is_running,
);

async fn instant_book_through_stripe(app: TestApp, stripe: FakeStripe) {
    let (host, guest, property) = app
        .listing(json!({"cancellation_policy": "flexible"}))
        .await;
    let booking = app.booked(&guest.token, &property, 30..33).await;
    assert_eq!(booking["payment"]["provider"], "stripe");
    let pi = intent(&booking);
    assert!(pi.starts_with("pi_fake"), "{pi}");
    assert_eq!(
        booking["payment"]["client_secret"],
        format!("{pi}_secret_fake")
    );
    // The intent Stripe holds is the booking's charge, tagged with it.
    let at_stripe = stripe.intent(&pi);
    assert_eq!(at_stripe["amount"], booking["total"]);
    assert_eq!(at_stripe["currency"], "eur");
    assert_eq!(at_stripe["capture_method"], "automatic");
    assert_eq!(at_stripe["metadata"]["booking_id"], booking["id"]);
    // Dev endpoints do not drive a Stripe intent.
    app.dev_intent(&booking, "succeed").await.expect(404);

    let paid = stripe.pay(&pi);
    app.notify("payment_intent.succeeded", paid).await;
    assert_eq!(
        app.booking(&guest.token, &booking).await["status"],
        "confirmed"
    );
    assert_eq!(app.balance(&host.token).await["pending"], 31_745);

    let cancelled = app.cancel(&guest.token, &booking).await;
    assert_eq!(cancelled["payment"]["status"], "refunded");
    let refunds = stripe.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["payment_intent"], pi.as_str());
    assert_eq!(refunds[0]["amount"], booking["total"]);
    assert_eq!(app.balance(&host.token).await["pending"], 0);
    app.assert_ledger_clean().await;
}

async fn request_to_book_through_stripe(app: TestApp, stripe: FakeStripe) {
    let (host, guest, property) = app.listing(json!({"instant_book": false})).await;
    let accepted = app.booked(&guest.token, &property, 10..13).await;
    let declined = app.booked(&guest.token, &property, 20..23).await;
    let refused = app.booked(&guest.token, &property, 30..33).await;
    assert_eq!(
        stripe.intent(&intent(&accepted))["capture_method"],
        "manual"
    );

    for b in [&accepted, &declined] {
        let authorised = stripe.pay(&intent(b));
        app.notify("payment_intent.amount_capturable_updated", authorised)
            .await;
        assert_eq!(
            app.booking(&guest.token, b).await["status"],
            "awaiting_host"
        );
    }
    let card_declined = stripe.decline(&intent(&refused));
    app.notify("payment_intent.payment_failed", card_declined)
        .await;
    assert_eq!(
        app.booking(&guest.token, &refused).await["status"],
        "payment_failed"
    );

    let confirmed = app.accept(&host.token, &accepted).await.expect(200).clone();
    assert_eq!(confirmed["status"], "confirmed");
    let captured = stripe.intent(&intent(&accepted));
    assert_eq!(captured["status"], "succeeded");
    assert_eq!(captured["amount_received"], accepted["total"]);

    let gone = app
        .decline(&host.token, &declined)
        .await
        .expect(200)
        .clone();
    assert_eq!(gone["status"], "declined");
    assert_eq!(gone["payment"]["status"], "canceled");
    assert_eq!(stripe.intent(&intent(&declined))["status"], "canceled");
    assert_eq!(
        app.unavailable(&property, 0, 60).await,
        json!([{"start": days(10), "end": days(13)}])
    );
    app.assert_ledger_clean().await;
}

async fn stripe_failures_are_retried_and_nothing_moves_twice(app: TestApp, stripe: FakeStripe) {
    let (host, guest, flexible) = app
        .listing(json!({"cancellation_policy": "flexible"}))
        .await;
    let booking = app.booked(&guest.token, &flexible, 30..33).await;
    let pi = intent(&booking);
    app.notify("payment_intent.succeeded", stripe.pay(&pi))
        .await;

    // Stripe answers 500, then does the refund but answers too late.
    stripe.fail_next(&[Fault::ServerError, Fault::Timeout]);
    let posts_before = stripe.posts();
    let cancelled = app.cancel(&guest.token, &booking).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["payment"]["status"], "succeeded",
        "refund owed, not yet sent"
    );
    app.wait_for_payment_status(&guest.token, &booking, "refunded")
        .await;
    // Three attempts under one idempotency key: one refund at Stripe.
    let refunds = stripe.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"], booking["total"]);
    assert_eq!(stripe.posts() - posts_before, 3, "three POST /v1/refunds");
    assert_eq!(app.job_attempts("refund").await, 3);

    // A capture that fails is the host's to retry; it captures once.
    let request = app
        .list_property(&host, json!({"instant_book": false}))
        .await;
    let asked = app.booked(&guest.token, &request, 40..42).await;
    app.notify(
        "payment_intent.amount_capturable_updated",
        stripe.pay(&intent(&asked)),
    )
    .await;
    stripe.fail_next(&[Fault::ServerError]);
    app.accept(&host.token, &asked).await.expect(503);
    assert_eq!(
        app.booking(&guest.token, &asked).await["status"],
        "awaiting_host"
    );
    app.accept(&host.token, &asked).await.expect(200);
    assert_eq!(
        stripe.intent(&intent(&asked))["amount_received"],
        asked["total"]
    );
    app.accept(&host.token, &asked).await.expect(409);
    app.assert_ledger_clean().await;
}

async fn a_refund_stripe_refuses_is_dead_until_an_operator_replays_it(
    app: TestApp,
    stripe: FakeStripe,
) {
    let (_host, guest, flexible) = app
        .listing(json!({"cancellation_policy": "flexible"}))
        .await;
    let booking = app.booked(&guest.token, &flexible, 30..33).await;
    app.notify("payment_intent.succeeded", stripe.pay(&intent(&booking)))
        .await;

    // Stripe refuses the refund for good: the job is dead at once, with
    // Stripe's reason, and nothing has moved.
    stripe.fail_next(&[Fault::Refused]);
    let cancelled = app.cancel(&guest.token, &booking).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["payment"]["status"], "succeeded", "refund owed");
    let dead = printed_jobs(&app.command(&["jobs", "dead"]).await);
    assert_eq!(dead.len(), 1, "{dead:?}");
    let job = &dead[0];
    assert_eq!(job["kind"], "payment.refund");
    assert_eq!(job["booking_id"], booking["id"]);
    assert_eq!(job["attempts"], 1);
    assert!(
        job["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("400") && e.contains("refused")),
        "{job}"
    );
    assert!(stripe.refunds().is_empty());
    assert_eq!(app.transactions_of("refund_sent").await, 0);
    app.assert_ledger_clean().await;
    // It stays dead: no worker takes it (workers claim between passes).
    app.wait_for_a_whole_pass("bookings.sweep").await;
    assert!(stripe.refunds().is_empty());

    // The operator replays it: the workers send the refund, once.
    let id = job["id"].as_str().unwrap_or_default();
    app.command(&["jobs", "retry", id]).await;
    app.wait_for_payment_status(&guest.token, &booking, "refunded")
        .await;
    let refunds = stripe.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"], booking["total"]);
    let done = printed_jobs(&app.command(&["jobs", "list", "--status", "done"]).await);
    let replayed = done
        .iter()
        .find(|j| j["id"] == job["id"])
        .unwrap_or_else(|| panic!("the replayed refund is not done: {done:?}"));
    assert_eq!(replayed["result"], refunds[0]["id"]);
    assert_eq!(app.transactions_of("refund_sent").await, 1);
    app.assert_ledger_clean().await;
}

async fn hosts_are_paid_by_stripe_transfers(app: TestApp, stripe: FakeStripe) {
    let (mut host, guest, property) = app.listing(json!({})).await;
    let booking = app.booked(&guest.token, &property, 2..5).await;
    app.notify("payment_intent.succeeded", stripe.pay(&intent(&booking)))
        .await;
    assert!(stripe.transfers().is_empty());

    // Check-in is 15:00 UTC on day 2; a day and an hour later, the host is paid.
    app.set_clock(day_at(2 + 1, 16)).await;
    app.sign_in_again(&mut host).await;
    let paid = app.wait_for_balance(&host.token, "paid_out", 31_745).await;
    assert_eq!(paid["paid_out"], 31_745, "{paid}");
    let transfers = stripe.transfers();
    assert_eq!(transfers.len(), 1, "{transfers:?}");
    assert_eq!(transfers[0]["amount"], 31_745);
    assert_eq!(transfers[0]["currency"], "eur");
    let host_simple = host.id.replace('-', "");
    assert_eq!(transfers[0]["destination"], format!("acct_{host_simple}"));
    app.assert_ledger_clean().await;
}

async fn each_policy_refunds_by_its_deadlines(app: TestApp, stripe: FakeStripe) {
    let host = app.register("host").await;
    let mut guest = app.register("guest").await;
    let booked_at = chrono::Utc::now();
    // Check-in is 15:00 UTC on the check-in day, 20 days out.
    let check_in = day_at(20, 15);
    let minute = chrono::Duration::minutes(1);
    // The deadlines: strict refunds in full for 48 h after booking (check-in
    // being 14 days or more away), half until 7 days before check-in;
    // moderate in full until 5 days before, flexible until 24 h before.
    let strict_grace = booked_at + chrono::Duration::hours(48);
    let strict_week = check_in - chrono::Duration::days(7);
    let moderate = check_in - chrono::Duration::days(5);
    let flexible = check_in - chrono::Duration::hours(24);
    let (full, half, none) = (36_268, 16_325, 0);
    // (policy, when the guest cancels, refund expected), in time order.
    let cases = [
        ("strict", strict_grace - minute, full),
        ("strict", strict_grace + minute, half),
        ("strict", strict_week - minute, half),
        ("strict", strict_week + minute, none),
        ("moderate", moderate - minute, full),
        ("moderate", moderate + minute, half),
        ("flexible", flexible - minute, full),
        ("flexible", flexible + minute, none),
    ];
    let mut bookings = Vec::new();
    for (policy, _, _) in &cases {
        let property = app
            .list_property(&host, json!({"cancellation_policy": policy}))
            .await;
        let booking = app.booked(&guest.token, &property, 20..23).await;
        assert_eq!(booking["total"], full);
        app.notify("payment_intent.succeeded", stripe.pay(&intent(&booking)))
            .await;
        bookings.push(booking);
    }
    for ((policy, at, expected), booking) in cases.iter().zip(&bookings) {
        app.set_clock(*at).await;
        app.sign_in_again(&mut guest).await;
        let cancelled = app.cancel(&guest.token, booking).await;
        assert_eq!(
            cancelled["refund"]["amount"], *expected,
            "{policy} cancelled at {at}: {cancelled}"
        );
        let refunded: i64 = stripe
            .refunds()
            .iter()
            .filter(|r| r["payment_intent"] == intent(booking).as_str())
            .filter_map(|r| r["amount"].as_i64())
            .sum();
        assert_eq!(
            refunded, *expected,
            "{policy} at {at}: Stripe refunded {refunded}"
        );
    }
    assert_eq!(stripe.refunds().len(), 6);
    app.assert_ledger_clean().await;
}

/// The state a crash between Stripe's answer and our UPDATE leaves: the
/// hold is committed, the intent exists at Stripe, the booking lacks it.
async fn lose_intent(app: &TestApp, pi: &str) {
    let lost = app
        .sql(&format!(
            "UPDATE bookings SET payment_intent_id = NULL, payment_client_secret = NULL, \
             payment_status = 'pending' WHERE payment_intent_id = '{pi}'"
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lost, 1);
}

async fn an_intent_created_but_never_recorded_is_found_and_released(
    app: TestApp,
    stripe: FakeStripe,
) {
    let (_, mut guest, property) = app.listing(json!({})).await;

    // Lapsed before anyone noticed: expiry finds the intent and releases it.
    let lapsed = app.booked(&guest.token, &property, 10..12).await;
    let pi = intent(&lapsed);
    lose_intent(&app, &pi).await;
    let mut clock = chrono::Utc::now() + chrono::Duration::minutes(16);
    app.set_clock(clock).await;
    app.sign_in_again(&mut guest).await;
    let expired = app.wait_for_status(&guest.token, &lapsed, "expired").await;
    assert_eq!(
        intent(&expired),
        pi,
        "the same intent, found by its idempotency key"
    );
    app.wait_for_payment_status(&guest.token, &lapsed, "canceled")
        .await;
    assert_eq!(stripe.intent(&pi)["status"], "canceled");

    // Still held: the sweep finds the intent and records it, and the guest
    // pays it. Nothing lost, nothing made twice.
    let held = app.booked(&guest.token, &property, 20..22).await;
    let pi = intent(&held);
    lose_intent(&app, &pi).await;
    clock += chrono::Duration::minutes(1);
    app.set_clock(clock).await;
    let recovered = app
        .wait_for_booking(&guest.token, &held, "a recorded intent", |b| {
            b["payment"]["payment_intent_id"].is_string()
        })
        .await;
    assert_eq!(intent(&recovered), pi);
    assert_eq!(
        recovered["payment"]["client_secret"],
        format!("{pi}_secret_fake")
    );
    app.notify_at("payment_intent.succeeded", stripe.pay(&pi), clock)
        .await;
    assert_eq!(
        app.booking(&guest.token, &held).await["status"],
        "confirmed"
    );
    assert_eq!(stripe.intent_count(), 2, "one intent per booking");
    app.assert_ledger_clean().await;
}

async fn a_capture_we_never_recorded_is_confirmed_or_returned_by_the_webhook(
    app: TestApp,
    stripe: FakeStripe,
) {
    let (host, guest, property) = app.listing(json!({"instant_book": false})).await;
    let accepted = app.booked(&guest.token, &property, 10..13).await;
    let withdrawn = app.booked(&guest.token, &property, 20..23).await;
    for b in [&accepted, &withdrawn] {
        app.notify(
            "payment_intent.amount_capturable_updated",
            stripe.pay(&intent(b)),
        )
        .await;
    }

    // The host accepted and Stripe captured, but innkeep stopped before it
    // recorded the acceptance: Stripe's `succeeded` completes it.
    let captured = stripe.capture_unheard(&intent(&accepted));
    app.notify("payment_intent.succeeded", captured).await;
    let confirmed = app.booking(&guest.token, &accepted).await;
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(app.balance(&host.token).await["pending"], 31_745);

    // Captured likewise, but the guest withdrew the request before the
    // webhook came: the money goes back in full.
    let captured = stripe.capture_unheard(&intent(&withdrawn));
    app.cancel(&guest.token, &withdrawn).await;
    app.notify("payment_intent.succeeded", captured).await;
    app.wait_for_payment_status(&guest.token, &withdrawn, "refunded")
        .await;
    let refunds = stripe.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["payment_intent"], intent(&withdrawn).as_str());
    assert_eq!(refunds[0]["amount"], withdrawn["total"]);
    assert_eq!(app.balance(&host.token).await["pending"], 31_745);
    app.assert_ledger_clean().await;
}

/// The outbox's own retry of a capture is running when the host accepts
/// again: the acceptance waits for that attempt (and runs the next one)
/// instead of answering 503.
async fn an_acceptance_waits_for_a_capture_the_outbox_is_running(app: TestApp, stripe: FakeStripe) {
    let (host, guest, property) = app.listing(json!({"instant_book": false})).await;
    let request = app.booked(&guest.token, &property, 10..13).await;
    let authorised = stripe.pay(&intent(&request));
    app.notify("payment_intent.amount_capturable_updated", authorised)
        .await;
    // The first capture fails at once; the outbox's retry is answered late.
    stripe.fail_next(&[Fault::ServerError, Fault::Timeout]);
    let posts = stripe.posts();
    app.accept(&host.token, &request).await.expect(503);
    let retry_running = crate::support::eventually(100, Duration::from_millis(50), async || {
        stripe.posts() == posts + 2
    })
    .await;
    assert!(retry_running, "the outbox never retried the capture");
    // Accepting while that attempt runs: the answer waits for it.
    let confirmed = app.accept(&host.token, &request).await.expect(200).clone();
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(stripe.intent(&intent(&request))["status"], "succeeded");
    app.assert_ledger_clean().await;
}
