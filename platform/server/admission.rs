//! Admission of new participant connections per client address: a token bucket per IP
//! so that one machine cannot open sessions fast enough to fill an experiment, while a
//! lab full of participants behind one address still gets in. Behind a reverse proxy
//! the client address comes from the proxy's header ([`super::client_addr`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use warp::http::HeaderMap;

use super::client_addr::{Cidr, ForwardedHeader, client_ip};

/// Entries kept before idle (full) buckets are forgotten.
const MAX_TRACKED: usize = 10_000;

/// New-connection limits per client address.
#[derive(Debug, Clone)]
pub struct AdmissionOptions {
    /// Connections one address may open at once.
    pub burst: f64,
    /// Sustained new connections per second and address.
    pub per_sec: f64,
    /// Peers whose forwarding header names the client (reverse proxies).
    pub trusted_proxies: Vec<Cidr>,
    /// The header trusted proxies set.
    pub header: ForwardedHeader,
}

impl Default for AdmissionOptions {
    fn default() -> Self {
        Self { burst: 60.0, per_sec: 1.0, trusted_proxies: Vec::new(), header: ForwardedHeader::default() }
    }
}

/// Token buckets by address.
pub struct Admission {
    opts: AdmissionOptions,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Admission {
    pub fn new(opts: AdmissionOptions) -> Self {
        Self { opts, buckets: Mutex::new(HashMap::new()) }
    }

    /// Whether the client behind a request from `peer` with `headers` may open one
    /// more connection now (the peer, or the client a trusted proxy names).
    pub fn admit(&self, peer: SocketAddr, headers: &HeaderMap) -> bool {
        self.admit_ip(client_ip(peer, headers, &self.opts.trusted_proxies, self.opts.header))
    }

    /// Whether `ip` may open one more connection now.
    fn admit_ip(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_TRACKED {
            let (burst, rate) = (self.opts.burst, self.opts.per_sec);
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.opts.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.opts.per_sec).min(self.opts.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_gets_its_burst_then_waits_and_others_are_unaffected() {
        let a = Admission::new(AdmissionOptions { burst: 3.0, per_sec: 0.001, ..AdmissionOptions::default() });
        let (x, y): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!((0..3).all(|_| a.admit_ip(x)));
        assert!(!a.admit_ip(x));
        assert!(a.admit_ip(y));
    }
}
