//! A TCP proxy a test owns, to take a dependency away from the server under
//! test and give it back, without touching the PostgreSQL or Redis that
//! other tests share: the server is pointed at the proxy, and `cut` drops
//! every connection through it and refuses new ones until `restore`.
//! Loopback only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct TcpProxy {
    pub port: u16,
    cut: Arc<AtomicBool>,
    /// Bumped by `cut`: every open connection watches it and closes.
    generation: watch::Sender<u64>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards to `target` (loopback).
    pub async fn start(target: SocketAddr) -> Self {
        assert!(target.ip().is_loopback(), "tests talk to loopback only");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("proxy bind: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("proxy addr: {e}"))
            .port();
        let cut = Arc::new(AtomicBool::new(false));
        let (generation, _) = watch::channel(0u64);
        let proxy = Self {
            port,
            cut: cut.clone(),
            generation: generation.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if cut.load(Ordering::SeqCst) {
                    drop(inbound); // refused: closed at once
                    continue;
                }
                let mut closed = generation.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = closed.changed() => {}
                    }
                });
            }
        });
        proxy
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// The loopback address and port a service URL names (`default_port` when
/// it names none); panics for anything but loopback.
pub fn loopback_target(url: &str, default_port: u16) -> SocketAddr {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().unwrap_or(default_port)),
        None => (host_port, default_port),
    };
    let ip = match host {
        "localhost" | "" => std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        other => other
            .trim_matches(['[', ']'])
            .parse()
            .unwrap_or_else(|e| panic!("{url}: not an IP ({e})")),
    };
    let target = SocketAddr::new(ip, port);
    assert!(
        target.ip().is_loopback(),
        "tests talk to loopback only: {url}"
    );
    target
}
