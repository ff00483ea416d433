//! Health, readiness, metrics, the OpenAPI document and its offline docs
//! page, features not built yet (501), and the dev-only clock.

use serde_json::json;

use crate::support::{Options, days, spawn_sqlite};

#[actix_web::test]
async fn health_readiness_metrics_and_docs() {
    let app = spawn_sqlite(Options::default()).await;
    assert_eq!(app.get("/healthz", None).await.expect(200)["status"], "ok");
    let ready = app.get("/readyz", None).await.expect(200).clone();
    assert_eq!(ready["store"], "sqlite");
    assert_eq!(ready["payments"], "dev");
    let expected_cache = if std::env::var("TEST_REDIS_URL").is_ok() {
        "redis"
    } else {
        "in-process"
    };
    assert_eq!(ready["cache"], expected_cache);

    app.get("/api/v1/properties", None).await.expect(200);
    let metrics = app.get("/metrics", None).await.text;
    assert!(
        metrics.contains(
            r#"innkeep_http_requests_total{method="GET",route="/api/v1/properties",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("innkeep_http_request_duration_seconds_bucket"));

    // The calendar committer's totals: a booking is at least one change.
    let committed = |metrics: &str, count: &str| -> i64 {
        let line = format!("innkeep_calendar_commits{{count=\"{count}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {line} in {metrics}"))
    };
    let before = committed(&app.get("/metrics", None).await.text, "changes");
    let (_, guest, property) = app.listing(json!({})).await;
    app.booked(&guest.token, &property, 10..12).await;
    let metrics = app.get("/metrics", None).await.text;
    assert!(committed(&metrics, "changes") > before, "{metrics}");
    assert!(committed(&metrics, "transactions") >= 1, "{metrics}");
    assert_eq!(committed(&metrics, "split"), 0, "{metrics}");

    // Paths of one route, whatever their ids, count under its pattern.
    let (_, _, other) = app.listing(json!({})).await;
    for id in [&property, &other, &property] {
        app.get(&format!("/api/v1/properties/{id}/availability"), None)
            .await
            .expect(200);
    }
    let metrics = app.get("/metrics", None).await.text;
    assert!(
        metrics.contains(
            r#"innkeep_http_requests_total{method="GET",route="/api/v1/properties/{id}/availability",status="200"} 3"#
        ),
        "{metrics}"
    );

    let doc = app.get("/openapi.json", None).await.expect(200).clone();
    for path in [
        "/api/v1/auth/register",
        "/api/v1/properties",
        "/api/v1/properties/{id}/quote",
        "/healthz",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(
        doc["info"]["description"]
            .as_str()
            .unwrap_or("")
            .contains("DEV gateway")
    );

    // The docs page and everything it loads come from this server.
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status, 200);
    let html = page.text;
    assert!(html.contains("swagger"), "{html}");
    for cdn in ["unpkg.com", "jsdelivr", "cdnjs", "esm.sh"] {
        assert!(!html.contains(cdn), "docs page loads {cdn}");
    }
    let init = app.get("/docs/swagger-initializer.js", None).await;
    assert_eq!(init.status, 200);
    let init = init.text;
    assert!(init.contains("/openapi.json"), "{init}");
    let bundle = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(bundle.status, 200);
}

#[actix_web::test]
async fn the_dev_clock_moves_time_only_in_dev_mode() {
    let app = spawn_sqlite(Options::default()).await;
    let timer = app.register("timer").await;
    let id = app.list_property(&timer, json!({})).await;
    let quote = format!(
        "/api/v1/properties/{id}/quote?check_in={}&check_out={}",
        days(10),
        days(12)
    );
    app.get(&quote, None).await.expect(200);
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    app.set_clock(later).await;
    // Ten days from the real today is in the past for the server now.
    app.get(&quote, None).await.expect(422);

    let prod = spawn_sqlite(Options {
        dev: false,
        ..Options::default()
    })
    .await;
    prod.put_clock(later).await.expect(404);
}
