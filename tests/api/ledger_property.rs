//! Property test: random sequences of book / pay / fail / webhook
//! (repeated, out of order) / cancel by guest or host / accept / decline /
//! hold expiry / gateway faults, run against the real server and store
//! (dev gateway). Whatever the sequence, `innkeep ledger verify` must pass:
//! every transaction balances and each booking's net money matches its
//! state. Proptest shrinks a failing sequence to a short one.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, User, days, event, intent, spawn};

#[derive(Debug, Clone)]
enum Step {
    /// Book stay `slot` (each slot its own nights), `ahead` days out.
    Book {
        slot: usize,
        ahead: i64,
    },
    /// The dev gateway's card holder pays, or fails to.
    Pay {
        slot: usize,
        succeed: bool,
    },
    /// A Stripe event for the slot's intent, maybe delivered twice.
    Webhook {
        slot: usize,
        kind: usize,
        twice: bool,
    },
    Cancel {
        slot: usize,
        by_host: bool,
    },
    Decide {
        slot: usize,
        accept: bool,
    },
    /// Time moves past every unpaid hold.
    Lapse,
    /// The next `n` gateway calls time out.
    Faults {
        n: u32,
    },
}

const SLOTS: usize = 2;
const KINDS: [&str; 4] = [
    "payment_intent.succeeded",
    "payment_intent.amount_capturable_updated",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
];

fn step() -> impl Strategy<Value = Step> {
    let slot = 0..SLOTS;
    prop_oneof![
        3 => (slot.clone(), prop::sample::select(vec![3i64, 6, 12, 40]))
            .prop_map(|(slot, ahead)| Step::Book { slot, ahead }),
        3 => (slot.clone(), any::<bool>()).prop_map(|(slot, succeed)| Step::Pay { slot, succeed }),
        2 => (slot.clone(), 0..KINDS.len(), any::<bool>())
            .prop_map(|(slot, kind, twice)| Step::Webhook { slot, kind, twice }),
        2 => (slot.clone(), any::<bool>()).prop_map(|(slot, by_host)| Step::Cancel { slot, by_host }),
        1 => (slot, any::<bool>()).prop_map(|(slot, accept)| Step::Decide { slot, accept }),
        1 => Just(Step::Lapse),
        1 => (1u32..3).prop_map(|n| Step::Faults { n }),
    ]
}

#[derive(Debug, Clone)]
struct Story {
    policy: &'static str,
    instant_book: bool,
    steps: Vec<Step>,
}

fn story() -> impl Strategy<Value = Story> {
    (
        prop::sample::select(vec!["flexible", "moderate", "strict"]),
        any::<bool>(),
        prop::collection::vec(step(), 1..16),
    )
        .prop_map(|(policy, instant_book, steps)| Story {
            policy,
            instant_book,
            steps,
        })
}

struct World {
    host: User,
    guest: User,
    property: String,
    bookings: [Option<Value>; SLOTS],
    clock: chrono::DateTime<chrono::Utc>,
    events: usize,
}

impl World {
    /// The slot's booking, or else any booking made so far: steps on an
    /// empty slot still exercise something.
    fn pick(&self, slot: usize) -> Option<Value> {
        self.bookings[slot]
            .clone()
            .or_else(|| self.bookings.iter().flatten().next().cloned())
    }

    async fn relogin(&mut self, app: &TestApp) {
        app.sign_in_again(&mut self.host).await;
        app.sign_in_again(&mut self.guest).await;
    }
}

async fn play(app: &TestApp, story: &Story) {
    let (host, guest, property) = app
        .listing(json!({"cancellation_policy": story.policy, "instant_book": story.instant_book}))
        .await;
    let mut world = World {
        host,
        guest,
        property,
        bookings: Default::default(),
        clock: chrono::Utc::now(),
        events: 0,
    };
    for step in &story.steps {
        apply(app, &mut world, step).await;
    }
}

async fn apply(app: &TestApp, w: &mut World, step: &Step) {
    match *step {
        Step::Book { slot, ahead } => {
            let from = ahead + 3 * slot as i64;
            let res = app
                .book(&w.guest.token, &w.property, &days(from), &days(from + 2))
                .await;
            // Taken slots answer 409; anything else must be a booking.
            if res.status.as_u16() == 201 {
                w.bookings[slot] = Some(res.body.clone());
            } else {
                res.expect(409);
            }
        }
        Step::Pay { slot, succeed } => {
            if let Some(b) = &w.pick(slot) {
                let outcome = if succeed { "succeed" } else { "fail" };
                let res = app.dev_intent(b, outcome).await;
                assert!(
                    matches!(res.status.as_u16(), 200 | 409),
                    "pay: {}",
                    res.text
                );
            }
        }
        Step::Webhook { slot, kind, twice } => {
            if let Some(b) = &w.pick(slot) {
                w.events += 1;
                let body = event(
                    &format!("evt_prop_{}", w.events),
                    KINDS[kind],
                    json!({"id": intent(b), "object": "payment_intent"}),
                );
                // Signed on the server's clock, which `Lapse` moves.
                for _ in 0..if twice { 2 } else { 1 } {
                    app.deliver_signed_at(&body, w.clock).await.expect(200);
                }
            }
        }
        Step::Cancel { slot, by_host } => {
            if let Some(b) = &w.pick(slot) {
                let by = if by_host { &w.host } else { &w.guest };
                let res = app.booking_action(&by.token, b, "cancel").await;
                assert!(
                    matches!(res.status.as_u16(), 200 | 409),
                    "cancel: {}",
                    res.text
                );
            }
        }
        Step::Decide { slot, accept } => {
            if let Some(b) = &w.pick(slot) {
                let what = if accept { "accept" } else { "decline" };
                let res = app.booking_action(&w.host.token, b, what).await;
                // 503: the capture met an injected fault; the host may retry.
                assert!(
                    matches!(res.status.as_u16(), 200 | 409 | 503),
                    "{what}: {}",
                    res.text
                );
            }
        }
        Step::Lapse => {
            w.clock += chrono::Duration::minutes(16);
            app.set_clock(w.clock).await;
            w.relogin(app).await;
            // Let the 1 s sweep expire what lapsed.
            tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
        }
        Step::Faults { n } => {
            app.gateway_faults(n).await;
        }
    }
}

fn check(backend: Backend, cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&story(), |story| {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            actix_web::rt::System::new().block_on(async {
                let Some(app) = spawn(backend).await else {
                    return;
                };
                play(&app, &story).await;
                app.assert_ledger_clean().await;
            })
        }));
        outcome.map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            TestCaseError::fail(message)
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn sqlite_ledger_balances_whatever_happens() {
    check(Backend::Sqlite, 32);
}

#[test]
fn postgres_ledger_balances_whatever_happens() {
    if std::env::var_os("TEST_POSTGRES_URL").is_none() {
        crate::support::skips::skip("TEST_POSTGRES_URL", "the PostgreSQL ledger property");
        return;
    }
    check(Backend::Postgres, 12);
}
