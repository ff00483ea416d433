//! Notification e-mail (with `SMTP_URL`): each notification is sent once
//! to its user, plain text and HTML from the templates in `templates/`.
//!
//! A periodic job (`notifications.email`, every second) claims unsent
//! notifications with a lease (so concurrent workers never send one
//! twice), sends each, and records it sent. A crash between the send and
//! the record sends it again once the lease lapses: every message carries
//! the notification's id as its `Message-ID`, so the receiving side sees
//! the same message, not a second one.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::message::{Mailbox, MultiPart, header};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Notification;
use crate::jobs::worker::JobHandler;
use crate::jobs::{Job, JobError};
use crate::store::NotificationStore;

/// The job kind that sends notification e-mail.
pub const EMAIL: &str = "notifications.email";
/// How often unsent notifications are looked for.
pub const EMAIL_EVERY: Duration = Duration::from_secs(1);
/// Notifications older than this when e-mail is (re)configured are not sent.
const SEND_WITHIN: chrono::Duration = chrono::Duration::days(1);
/// How long a claimed notification is left to its sender.
const LEASE: chrono::Duration = chrono::Duration::minutes(2);
const BATCH: u32 = 50;

const TEXT: &str = include_str!("../../templates/notification.txt");
const HTML: &str = include_str!("../../templates/notification.html");

/// Fills `{name}`, `{title}` and `{body}` in one pass (a value that holds
/// `{…}` is not read again), escaping each value with `escape`.
fn render(template: &str, values: &[(&str, &str)], escape: fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let key = after.find('}').map(|end| &after[..end]);
        match key.and_then(|k| values.iter().find(|(name, _)| *name == k)) {
            Some((name, value)) => {
                out.push_str(&escape(value));
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The message for one notification to `email`.
pub fn message(
    from: &Mailbox,
    n: &Notification,
    email: &str,
    name: &str,
) -> Result<Message, String> {
    let to = Mailbox::new(
        Some(name.to_owned()),
        email
            .parse()
            .map_err(|e| format!("address {email:?}: {e}"))?,
    );
    let values = [
        ("name", name),
        ("title", n.title.as_str()),
        ("body", n.body.as_str()),
    ];
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&n.title)
        .message_id(Some(format!("<{}@innkeep>", n.id)))
        .header(header::Date::new(n.created_at.into()))
        .multipart(MultiPart::alternative_plain_html(
            render(TEXT, &values, str::to_owned),
            render(HTML, &values, html_escape),
        ))
        .map_err(|e| e.to_string())
}

/// Sends notification e-mail over SMTP.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    store: Arc<dyn NotificationStore>,
}

impl Mailer {
    /// `url`: `smtp://[user:pass@]host[:port]` (STARTTLS when the server
    /// offers it… see lettre's `from_url`: `?tls=required`), or `smtps://`.
    pub fn new(url: &str, from: &str, store: Arc<dyn NotificationStore>) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("SMTP_URL: {e}"))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("INNKEEP_SMTP_FROM {from:?}: {e}"))?;
        Ok(Self {
            transport,
            from,
            store,
        })
    }

    /// Sends what is due; how many went out.
    pub async fn send_due(&self) -> Result<usize, JobError> {
        let now = Utc::now();
        let claimed = self
            .store
            .claim_unsent_emails(now, now - SEND_WITHIN, now + LEASE, BATCH)
            .await
            .map_err(JobError::retry)?;
        let mut sent = 0;
        let mut failure = None;
        for (n, email, name) in claimed {
            let message = match message(&self.from, &n, &email, &name) {
                Ok(m) => m,
                Err(e) => {
                    // An address that cannot be written to: recorded as
                    // done, so it is not tried every second.
                    tracing::warn!(notification_id = %n.id, error = %e, "notification not e-mailed");
                    self.store
                        .mark_emailed(n.id, Utc::now())
                        .await
                        .map_err(JobError::retry)?;
                    continue;
                }
            };
            match self.transport.send(message).await {
                Ok(_) => {
                    self.store
                        .mark_emailed(n.id, Utc::now())
                        .await
                        .map_err(JobError::retry)?;
                    sent += 1;
                }
                // Left claimed: sent again once the lease lapses.
                Err(e) => failure = Some(e.to_string()),
            }
        }
        match failure {
            Some(e) => Err(JobError::Retry(format!("SMTP: {e}"))),
            None => Ok(sent),
        }
    }
}

#[async_trait::async_trait]
impl JobHandler for Mailer {
    async fn run(&self, _: &Job) -> Result<(), JobError> {
        self.send_due().await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_in_one_pass_and_escape_html() {
        let values = [
            ("name", "Ann {body}"),
            ("title", "<b>Hi</b>"),
            ("body", "x & y"),
        ];
        assert_eq!(
            render("{name}|{title}|{body}|{other}", &values, str::to_owned),
            "Ann {body}|<b>Hi</b>|x & y|{other}"
        );
        assert_eq!(
            render("{title} {body}", &values, html_escape),
            "&lt;b&gt;Hi&lt;/b&gt; x &amp; y"
        );
        assert!(TEXT.contains("{body}") && HTML.contains("{body}"));
    }
}
