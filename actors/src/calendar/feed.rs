//! `ChangeFeed`: who wants to hear that a property's calendar changed (live
//! availability for GraphQL subscribers, bookings watched for their status).
//! One `watch` channel per watched property: a notice bumps its version, a
//! subscriber sees the latest version and never a backlog, so a slow
//! subscriber cannot stall the actor that notifies (latest value wins).

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;
use uuid::Uuid;

#[derive(Default)]
pub struct ChangeFeed {
    channels: Mutex<HashMap<Uuid, watch::Sender<u64>>>,
}

impl ChangeFeed {
    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, watch::Sender<u64>>> {
        self.channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts listening to the property's changes: the receiver's value
    /// moves on at every change from now on.
    pub fn subscribe(&self, property_id: Uuid) -> watch::Receiver<u64> {
        let mut channels = self.channels();
        if channels.len() > 1_000 {
            // Channels nobody listens to any more go.
            channels.retain(|_, sender| sender.receiver_count() > 0);
        }
        channels
            .entry(property_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// The property's calendar changed: tell whoever listens. Never blocks.
    pub fn notify(&self, property_id: Uuid) {
        let mut channels = self.channels();
        let Some(sender) = channels.get(&property_id) else {
            return;
        };
        if sender.receiver_count() == 0 {
            channels.remove(&property_id);
            return;
        }
        sender.send_modify(|version| *version = version.wrapping_add(1));
    }

    /// Properties someone listens to.
    pub fn watched(&self) -> usize {
        self.channels()
            .values()
            .filter(|sender| sender.receiver_count() > 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_see_the_latest_change_and_nobody_waits() {
        let feed = ChangeFeed::default();
        let property = Uuid::now_v7();
        feed.notify(property); // nobody listens: nothing kept
        assert_eq!(feed.watched(), 0);
        let mut rx = feed.subscribe(property);
        for _ in 0..1_000 {
            feed.notify(property); // a slow subscriber: no backlog builds up
        }
        assert!(rx.has_changed().unwrap_or(false));
        assert_eq!(*rx.borrow_and_update(), 1_000);
        assert!(!rx.has_changed().unwrap_or(true));
        feed.notify(Uuid::now_v7());
        assert!(
            !rx.has_changed().unwrap_or(true),
            "other properties are not ours"
        );
        drop(rx);
        feed.notify(property);
        assert_eq!(feed.watched(), 0);
    }
}
