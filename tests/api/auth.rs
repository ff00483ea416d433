//! Register, login, refresh rotation and reuse detection, logout, profile,
//! the login brute-force limit, and races on e-mail and refresh tokens.

use futures_util::future::join_all;
use serde_json::json;

use crate::both_stores;
use crate::support::{PASSWORD, TestApp};

both_stores!(
    register_login_refresh_logout,
    emails_are_unique_case_insensitively_even_under_a_race,
    repeated_failed_logins_are_rate_limited,
    a_reused_refresh_token_revokes_its_family,
    concurrent_refreshes_with_one_token_rotate_once,
    profile_can_be_read_and_updated,
);

async fn register_login_refresh_logout(app: TestApp) {
    let res = app
        .register_as("  Ana@Example.COM ", "correct horse", "Ana")
        .await;
    let body = res.expect(201);
    assert_eq!(body["user"]["email"], "ana@example.com");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["user"].get("password_hash").is_none());

    let login = app.login_as("ANA@example.com", "correct horse").await;
    let tokens = login.expect(200).clone();
    let access = tokens["access_token"].as_str().unwrap_or_default();
    app.get("/api/v1/users/me", Some(access)).await.expect(200);

    // Wrong password and unknown e-mail: one answer.
    let wrong = app.login_as("ana@example.com", "wrong password").await;
    let unknown = app.login_as("nobody@example.com", "wrong password").await;
    assert_eq!(wrong.expect(401)["detail"], unknown.expect(401)["detail"]);

    // Refresh gives a new pair that works.
    let refreshed = app.refresh(&tokens["refresh_token"]).await;
    let pair = refreshed.expect(200).clone();
    assert_ne!(pair["refresh_token"], tokens["refresh_token"]);
    let access2 = pair["access_token"].as_str().unwrap_or_default();
    app.get("/api/v1/users/me", Some(access2)).await.expect(200);

    // Logout revokes the family: the current refresh token stops working.
    app.post("/api/v1/auth/logout", Some(access2), json!({}))
        .await
        .expect(204);
    app.refresh(&pair["refresh_token"]).await.expect(401);

    // No token, a garbage token, a wrong scheme.
    app.get("/api/v1/users/me", None).await.expect(401);
    app.get("/api/v1/users/me", Some("garbage"))
        .await
        .expect(401);
    let basic = app
        .client
        .get(app.url("/api/v1/users/me"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(basic.status().as_u16(), 401);
}

async fn emails_are_unique_case_insensitively_even_under_a_race(app: TestApp) {
    app.register_as("bo@example.com", "bo's long secret", "Bo")
        .await
        .expect(201);
    app.register_as("BO@Example.com", "bo's long secret", "Bo")
        .await
        .expect(409);

    let attempts = (0..20).map(|i| {
        let email = if i % 2 == 0 {
            "Race@Example.com"
        } else {
            "race@example.COM"
        };
        app.register_as(email, "bo's long secret", "Racer")
    });
    let results = join_all(attempts).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let conflicts = results.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (created, conflicts),
        (1, 19),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
}

async fn repeated_failed_logins_are_rate_limited(app: TestApp) {
    app.register_as("cy@example.com", "right password", "Cy")
        .await
        .expect(201);
    for _ in 0..5 {
        app.login_as("cy@example.com", "wrong password")
            .await
            .expect(401);
    }
    // Locked now, even with the right password.
    let limited = app.login_as("Cy@example.com", "right password").await;
    limited.expect(429);
    let retry_after: u64 = limited
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        retry_after > 0 && retry_after <= 15 * 60,
        "Retry-After {retry_after}"
    );
    // Other accounts are not affected.
    let other = app.register("dee").await;
    app.login_as(&other.email, PASSWORD).await.expect(200);
}

async fn a_reused_refresh_token_revokes_its_family(app: TestApp) {
    let first = app.register("eve").await;
    let old = &first.registered["refresh_token"];
    let second = app.refresh(old).await.expect(200).clone();
    // Replaying the old token is refused and kills the new one as well.
    app.refresh(old).await.expect(401);
    app.refresh(&second["refresh_token"]).await.expect(401);
    app.refresh(&json!("made-up")).await.expect(401);
}

async fn concurrent_refreshes_with_one_token_rotate_once(app: TestApp) {
    let first = app.register("fay").await;
    let token = &first.registered["refresh_token"];
    let results = join_all((0..10).map(|_| app.refresh(token))).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(results.iter().all(|r| r.status == 200 || r.status == 401));
}

async fn profile_can_be_read_and_updated(app: TestApp) {
    let gus = app.register("gus").await;
    let (token, id) = (gus.token, gus.id);
    let me = app
        .get("/api/v1/users/me", Some(&token))
        .await
        .expect(200)
        .clone();
    assert_eq!(me["id"], id.as_str());
    let updated = app
        .patch(
            "/api/v1/users/me",
            Some(&token),
            json!({"name": "  Gus G. ", "bio": "Hosting since 2020"}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(updated["name"], "Gus G.");
    assert_eq!(updated["bio"], "Hosting since 2020");
    let again = app
        .get("/api/v1/users/me", Some(&token))
        .await
        .expect(200)
        .clone();
    assert_eq!(again["bio"], "Hosting since 2020");
    let bad = app
        .patch("/api/v1/users/me", Some(&token), json!({"name": ""}))
        .await;
    assert_eq!(bad.expect(422)["errors"][0]["field"], "name");
    app.patch("/api/v1/users/me", Some(&token), json!({"email": "x@y.z"}))
        .await
        .expect(422);
}
