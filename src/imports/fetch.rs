//! Fetching a host's calendar feed without letting the URL reach what it
//! must not: only `http` and `https`; no private, link-local, shared,
//! multicast or metadata address, checked on the addresses a name resolves
//! to (so a name cannot point inside) and on every redirect (at most 3);
//! loopback only in dev mode; 10 s and 1 MiB at most.
//!
//! An IPv6 address that carries an IPv4 address inside is judged by that
//! address too: IPv4-mapped (`::ffff:a.b.c.d`, as the IPv4 address it
//! is), 6to4 (`2002::/16`), NAT64's well-known prefix (`64:ff9b::/96`) and
//! Teredo (`2001::/32`, server and client); IPv4-compatible (`::/96`) and
//! NAT64's local-use prefix (`64:ff9b:1::/48`) are refused outright.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use url::{Host, Url};

/// The largest feed read.
pub const MAX_BYTES: usize = 1024 * 1024;
pub const TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_REDIRECTS: usize = 3;

/// Whether a feed may be fetched from `ip` (`loopback`: in dev mode).
pub fn allowed(ip: IpAddr, loopback: bool) -> bool {
    // An IPv4-mapped IPv6 address is judged as the IPv4 address it is.
    match ip.to_canonical() {
        IpAddr::V4(v4) => allowed_v4(v4, loopback),
        IpAddr::V6(v6) => allowed_v6(v6, loopback),
    }
}

fn allowed_v4(ip: Ipv4Addr, loopback: bool) -> bool {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        return loopback;
    }
    !(ip.is_unspecified()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata lives here
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // 100.64/10, shared (carrier NAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // 192.0.0/24, protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn allowed_v6(ip: Ipv6Addr, loopback: bool) -> bool {
    if ip.is_loopback() {
        return loopback;
    }
    let [first, second, ..] = ip.segments();
    let refused = ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7 (fd00:ec2::254 is a metadata address)
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || first == 0x2001 && second == 0x0db8; // documentation
    !refused && transition_allowed(ip)
}

/// Whether an IPv6 transition form is allowed by the IPv4 address it
/// carries (true for an address of no such form). A loopback address
/// inside is refused even in dev mode: what reaches it is a relay or a
/// translator, never this machine's loopback, and a feed served here is
/// reached by `127.0.0.1`, `::1` or `localhost`.
fn transition_allowed(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let v4 = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    let judged = |v4: Ipv4Addr| allowed_v4(v4, false);
    match s {
        // NAT64, well-known prefix: the translator connects to the last
        // 32 bits (an IPv6-only network reaches IPv4 feeds this way).
        [0x0064, 0xff9b, 0, 0, 0, 0, high, low] => judged(v4(high, low)),
        // NAT64's local-use prefix (its operator chooses where the IPv4
        // address goes, RFC 6052 allows several places) and the rest of
        // 64:ff9b::/32: refused outright.
        [0x0064, 0xff9b, ..] => false,
        // The rest of ::/8, reserved: IPv4-compatible (::a.b.c.d,
        // deprecated, which some stacks still send to the IPv4 address)
        // and IPv4-translated (::ffff:0:a.b.c.d). Nothing public lives
        // there (IPv4-mapped was judged as IPv4 before).
        [first, ..] if first < 0x0100 => false,
        // 6to4: packets are tunnelled to the IPv4 address in bits 16..48.
        [0x2002, high, low, ..] => judged(v4(high, low)),
        // Teredo: the server's IPv4 address in bits 32..64, the client's
        // in the last 32 bits, inverted; a packet goes to both.
        [0x2001, 0, sh, sl, _, _, ch, cl] => judged(v4(sh, sl)) && judged(v4(!ch, !cl)),
        _ => true,
    }
}

/// Where feeds may be fetched from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// Loopback addresses too (dev mode only).
    pub loopback: bool,
    /// Nothing but loopback, and no name but `localhost` resolved: for
    /// test and fuzzing runs, which must never reach the outside.
    pub loopback_only: bool,
}

impl Reach {
    /// Whether `ip` may be connected to. Only `127/8`, `::1` and their
    /// IPv4-mapped forms are loopback: a transition form carrying
    /// `127.0.0.1` leaves the machine (and `allowed` refuses it anyway).
    fn ip(self, ip: IpAddr) -> bool {
        allowed(ip, self.loopback) && (!self.loopback_only || ip.to_canonical().is_loopback())
    }
}

/// Whether `raw` is what a feed URL must look like to be taken at all:
/// `http://` or `https://` first (any case). The rest is checked when it
/// is fetched, and a URL that fails there is a `failed` import.
pub fn looks_like_http(raw: &str) -> bool {
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Checks a feed URL: a scheme of `http` or `https`, a host, and a host
/// that is not an address refused.
pub fn check_url(raw: &str, reach: Reach) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    check_parsed(&url, reach)?;
    Ok(url)
}

fn check_parsed(url: &Url, reach: Reach) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("only http and https feeds, not {}", url.scheme()));
    }
    let ip = match url.host() {
        None => return Err("the URL has no host".into()),
        Some(Host::Domain(name)) => {
            let local = name.eq_ignore_ascii_case("localhost");
            if local && !reach.loopback {
                return Err("the address localhost is not allowed".into());
            }
            if !local && reach.loopback_only {
                return Err(format!(
                    "{name} is not allowed: this server fetches from loopback only"
                ));
            }
            return Ok(());
        }
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
    };
    if reach.ip(ip) {
        Ok(())
    } else {
        Err(format!("the address {ip} is not allowed"))
    }
}

/// Resolves names, keeping only the addresses `allowed`.
struct Filtered {
    reach: Reach,
}

impl Resolve for Filtered {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.reach;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found.into_iter().filter(|a| reach.ip(a.ip())).collect();
            if kept.is_empty() {
                return Err(format!("{host} resolves to no address that is allowed").into());
            }
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client for feeds.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    reach: Reach,
}

impl Fetcher {
    pub fn new(reach: Reach) -> anyhow::Result<Self> {
        // The process's crypto provider for rustls (as the Stripe client).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let policy = redirect::Policy::custom(move |attempt| {
            // `previous` holds every URL asked so far, the first included.
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error("more than 3 redirects");
            }
            match check_parsed(attempt.url(), reach) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(Filtered { reach }))
            .redirect(policy)
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .no_proxy()
            .user_agent("innkeep-calendar-import/1")
            .build()?;
        Ok(Self { client, reach })
    }

    /// The feed's text, or why it could not be had.
    pub async fn fetch(&self, url: &str) -> Result<String, String> {
        let url = check_url(url, self.reach)?;
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        if !response.status().is_success() {
            return Err(format!("the feed answered {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BYTES as u64)
        {
            return Err("the feed is larger than 1 MiB".into());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err("the feed is larger than 1 MiB".into());
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| "the feed is not UTF-8 text".into())
    }
}

/// A fetch error with its causes (reqwest's own message alone hides why a
/// redirect or a connection was refused).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn only_public_addresses_are_fetched() {
        for refused in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "ff02::1",
        ] {
            assert!(!allowed(ip(refused), true), "{refused} was allowed");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "172.32.0.1",
        ] {
            assert!(allowed(ip(public), false), "{public} was refused");
        }
        // Loopback: only in dev mode.
        for lo in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert!(!allowed(ip(lo), false), "{lo}");
            assert!(allowed(ip(lo), true), "{lo}");
        }
    }

    /// IPv6 forms carrying an IPv4 address, by what is inside: `{}` is
    /// replaced by the address's two 16-bit halves (`hhhh:llll`), `{!}` by
    /// them inverted (Teredo's client).
    const CARRIERS: [&str; 9] = [
        "::{}",                           // IPv4-compatible
        "::ffff:0:{}",                    // IPv4-translated
        "2002:{}::",                      // 6to4
        "2002:{}:1:2:3:4:5",              // 6to4, a host inside
        "64:ff9b::{}",                    // NAT64, well-known prefix
        "64:ff9b:1::{}",                  // NAT64, local-use prefix
        "64:ff9b:1:{}::",                 // NAT64, local-use, the address higher up
        "2001:0:{}:8000:63bf:f7f7:f7f7",  // Teredo server (client 8.8.8.8)
        "2001:0:4136:e378:8000:63bf:{!}", // Teredo client (server public)
    ];

    fn carried(form: &str, v4: Ipv4Addr) -> IpAddr {
        let n = u32::from(v4);
        let halves = |n: u32| format!("{:x}:{:x}", n >> 16, n & 0xffff);
        ip(&form.replace("{}", &halves(n)).replace("{!}", &halves(!n)))
    }

    #[test]
    fn ipv6_forms_carrying_a_refused_ipv4_address_are_refused() {
        for v4 in [
            "127.0.0.1",
            "127.9.9.9",
            "10.0.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
        ] {
            let v4: Ipv4Addr = v4.parse().unwrap_or_else(|e| panic!("{v4}: {e}"));
            for form in CARRIERS {
                let carrier = carried(form, v4);
                // Even in dev mode: a loopback address inside is not loopback.
                assert!(!allowed(carrier, true), "{carrier} ({form}, {v4})");
                assert!(!allowed(carrier, false), "{carrier} ({form}, {v4})");
                let url = format!("http://[{carrier}]/a.ics");
                for reach in [OPEN, DEV, FENCED] {
                    assert!(check_url(&url, reach).is_err(), "{url} {reach:?}");
                }
            }
        }
        // The two, and more written with a dotted quad inside.
        for url in [
            "http://[2002:7f00:1::]/",
            "http://[::127.0.0.1]/",
            "http://[::ffff:0:127.0.0.1]/",
            "http://[64:ff9b::127.0.0.1]/",
            "http://[64:ff9b::169.254.169.254]/",
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", // Teredo client 127.0.0.1
        ] {
            for reach in [OPEN, DEV, FENCED] {
                assert!(check_url(url, reach).is_err(), "{url} {reach:?}");
            }
        }
    }

    #[test]
    fn ipv6_forms_carrying_a_public_ipv4_address_are_judged_by_it() {
        let public = Ipv4Addr::new(8, 8, 8, 8);
        // 6to4, NAT64's well-known prefix and Teredo reach the address inside.
        for form in [
            "2002:{}::",
            "2002:{}:1:2:3:4:5",
            "64:ff9b::{}",
            "2001:0:{}:8000:63bf:f7f7:f7f7",
            "2001:0:4136:e378:8000:63bf:{!}",
        ] {
            let carrier = carried(form, public);
            assert!(allowed(carrier, false), "{carrier} ({form})");
            let url = format!("http://[{carrier}]/a.ics");
            assert!(check_url(&url, OPEN).is_ok(), "{url}");
            // Not loopback: never fetched from by a fenced server.
            assert!(check_url(&url, FENCED).is_err(), "{url}");
        }
        // The others, whatever is inside.
        for form in ["::{}", "::ffff:0:{}", "64:ff9b:1::{}", "64:ff9b:1:{}::"] {
            let carrier = carried(form, public);
            assert!(!allowed(carrier, true), "{carrier} ({form})");
        }
        assert!(!allowed(ip("64:ff9b:2::808:808"), false));
        // A Teredo address is refused if either address inside is.
        assert!(!allowed(ip("2001:0:a00:1:8000:63bf:f7f7:f7f7"), false));
        // Ordinary global addresses stay allowed.
        for global in [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450::1",
        ] {
            assert!(allowed(ip(global), false), "{global}");
        }
    }

    const OPEN: Reach = Reach {
        loopback: false,
        loopback_only: false,
    };

    const DEV: Reach = Reach {
        loopback: true,
        loopback_only: false,
    };

    const FENCED: Reach = Reach {
        loopback: true,
        loopback_only: true,
    };

    #[test]
    fn urls_need_http_and_an_allowed_host() {
        assert!(check_url("https://calendar.example.com/a.ics", OPEN).is_ok());
        assert!(check_url("http://calendar.example.com/a.ics", OPEN).is_ok());
        for bad in [
            "file:///etc/passwd",
            "ftp://example.com/a.ics",
            "gopher://example.com/",
            "javascript:alert(1)",
            "http://169.254.169.254/latest/meta-data",
            "http://[fd00:ec2::254]/",
            "http://10.0.0.1/a.ics",
            "http://0x7f000001/",
            "http://127.0.0.1:8080/a.ics",
            "http://localhost/a.ics",
            "not a url",
            "http://",
        ] {
            assert!(check_url(bad, OPEN).is_err(), "{bad} was accepted");
        }
        assert!(check_url("http://127.0.0.1:8080/a.ics", DEV).is_ok());
        // Loopback only: no other name is even looked up.
        assert!(check_url("http://127.0.0.1:8080/a.ics", FENCED).is_ok());
        assert!(check_url("http://localhost:8080/a.ics", FENCED).is_ok());
        assert!(check_url("http://[::1]:8080/a.ics", FENCED).is_ok());
        assert!(check_url("https://calendar.example.com/a.ics", FENCED).is_err());
        assert!(check_url("http://8.8.8.8/a.ics", FENCED).is_err());
    }

    #[test]
    fn only_http_urls_are_taken_at_all() {
        assert!(looks_like_http("http://x"));
        assert!(looks_like_http("HTTPS://x"));
        assert!(!looks_like_http("file:///etc/passwd"));
        assert!(!looks_like_http(" http://x"));
        assert!(!looks_like_http(""));
        assert!(!looks_like_http("ftp://x"));
    }
}
