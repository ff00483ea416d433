//! Notification e-mail against a real SMTP server: aiosmtpd from PyPI
//! (`TEST_AIOSMTPD`: the Python that has it; `.ci/run` installs it), which
//! writes every message it receives into a Maildir. A confirmed booking's
//! two notifications arrive once each, to the right people, in plain text
//! and HTML, and nothing arrives twice however many sender rounds pass.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::{Backend, Options, eventually, spawn_with};

/// An aiosmtpd process on a free loopback port, delivering to a Maildir.
struct Smtp {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Smtp {
    /// `None` (and the story skipped) without `TEST_AIOSMTPD`.
    async fn start() -> Option<Smtp> {
        let Ok(python) = std::env::var("TEST_AIOSMTPD") else {
            crate::support::skips::skip("TEST_AIOSMTPD", "an e-mail run");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let maildir = std::env::temp_dir().join(format!("innkeep-mail-{}", uuid::Uuid::now_v7()));
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting aiosmtpd with {python}: {e}"));
        let smtp = Smtp {
            child,
            port,
            maildir,
        };
        let up = eventually(100, Duration::from_millis(100), async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        assert!(up, "aiosmtpd did not listen on {port}");
        Some(smtp)
    }

    /// Every message received so far.
    fn messages(&self) -> Vec<String> {
        read_dir(&self.maildir.join("new"))
    }
}

fn read_dir(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

#[actix_web::test]
async fn a_confirmed_booking_is_emailed_once_to_guest_and_host_sqlite() {
    confirmed_booking_is_emailed_once(Backend::Sqlite).await;
}

#[actix_web::test]
async fn a_confirmed_booking_is_emailed_once_to_guest_and_host_postgres() {
    confirmed_booking_is_emailed_once(Backend::Postgres).await;
}

async fn confirmed_booking_is_emailed_once(backend: Backend) {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let options = Options {
        smtp_url: Some(format!("smtp://127.0.0.1:{}", smtp.port)),
        ..Options::default()
    };
    let Some(app) = spawn_with(backend, options).await else {
        return;
    };
    let (host, guest, property) = app.listing(json!({"instant_book": true})).await;
    let booking = app.booked(&guest.token, &property, 10..12).await;
    app.wait_for_a_whole_pass("notifications.email").await;
    assert!(smtp.messages().is_empty(), "a hold is not e-mailed");
    app.dev_intent(&booking, "succeed").await.expect(200);
    let arrived = eventually(100, Duration::from_millis(100), async || {
        smtp.messages().len() >= 2
    })
    .await;
    assert!(arrived, "{} messages arrived", smtp.messages().len());
    // More sender rounds (one a second) send nothing again.
    app.wait_for_a_whole_pass("notifications.email").await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    let notices = |token: &str| {
        let app = &app;
        let token = token.to_owned();
        async move {
            app.get("/api/v1/users/me/notifications", Some(&token))
                .await
                .expect(200)["data"][0]
                .clone()
        }
    };
    for (user, notice) in [
        (&guest, notices(&guest.token).await),
        (&host, notices(&host.token).await),
    ] {
        let to_user: Vec<&String> = messages
            .iter()
            .filter(|m| {
                m.lines()
                    .any(|l| l.starts_with("To:") && l.contains(&format!("<{}>", user.email)))
            })
            .collect();
        assert_eq!(to_user.len(), 1, "{}: {messages:#?}", user.email);
        let message = to_user[0];
        let id = notice["id"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("Message-ID: <{id}@innkeep>")),
            "{message}"
        );
        let title = notice["title"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("Subject: {title}")), "{message}");
        assert!(
            message.contains("text/plain") && message.contains("text/html"),
            "{message}"
        );
    }
}
