//! Who the client is behind a reverse proxy. The TCP peer is the client unless it is
//! one of the configured trusted proxies (`serve --trusted-proxy CIDR`); then the
//! client is read from the header the proxy sets (`X-Forwarded-For`, or RFC 7239
//! `Forwarded`), walking the chain from the right: each trusted proxy appends the
//! address it saw, so the first address from the right that is not a trusted proxy is
//! the client. Whatever a client writes into the header itself stands further left
//! and is never reached. A proxy that sent no usable header counts as the client.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use warp::http::HeaderMap;

/// An address block, `10.0.0.0/8`, `::1/128` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let net: IpAddr = addr.trim().parse().map_err(|_| format!("`{s}` is not an address or address/prefix"))?;
        let net = canonical(net);
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be a number from 0 to {max}"))?,
        };
        Ok(Self { net, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

/// Which header a trusted proxy sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, ...` (nginx, Caddy, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for=proxy1`.
    Forwarded,
}

/// The client's address for a request from `peer` with `headers`.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[Cidr], header: ForwardedHeader) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    if !trusted.iter().any(|c| c.contains(peer_ip)) {
        return peer_ip;
    }
    let chain: Vec<Option<IpAddr>> = match header {
        ForwardedHeader::XForwardedFor => values(headers, "x-forwarded-for").map(parse_node).collect(),
        ForwardedHeader::Forwarded => values(headers, "forwarded").map(forwarded_for).collect(),
    };
    for hop in chain.iter().rev() {
        match hop {
            Some(ip) if trusted.iter().any(|c| c.contains(*ip)) => continue,
            Some(ip) => return *ip,
            None => break, // unreadable: nothing left of it can be trusted
        }
    }
    peer_ip
}

/// The comma-separated elements of every `name` header, in order.
fn values<'h>(headers: &'h HeaderMap, name: &str) -> impl Iterator<Item = &'h str> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim)
}

/// The `for=` node of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim().eq_ignore_ascii_case("for").then(|| parse_node(value.trim().trim_matches('"')))?
    })
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`,
/// `[2001:db8::1]:5678`. `unknown` and obfuscated identifiers are not addresses.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok()).map(canonical);
    }
    node.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    fn headers(name: &'static str, values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name, HeaderValue::from_static(v));
        }
        h
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    #[test]
    fn blocks_contain_what_they_should() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains("10.1.200.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.0.9".parse().unwrap()), "IPv4-mapped");
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()) && !one.contains("127.0.0.2".parse().unwrap()));
        assert!("::/0".parse::<Cidr>().unwrap().contains("2001:db8::1".parse().unwrap()));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().unwrap_err().contains("0 to 32"));
        assert!("proxy.local".parse::<Cidr>().is_err());
    }

    #[test]
    fn only_a_trusted_peer_is_believed_and_only_from_the_right() {
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        let trusted = cidrs(&["127.0.0.1/32", "10.0.0.0/8"]);
        let xff = ForwardedHeader::XForwardedFor;
        // What a client writes itself stands left of what the proxy appends.
        let spoofed = headers("x-forwarded-for", &["6.6.6.6, 198.51.100.7"]);
        assert_eq!(client_ip(peer, &spoofed, &trusted, xff), "198.51.100.7".parse::<IpAddr>().unwrap());
        // A peer that is not a trusted proxy is the client, whatever it sends.
        assert_eq!(client_ip(stranger, &spoofed, &trusted, xff), stranger.ip());
        // A chain of trusted proxies is walked; several header lines count in order.
        let chain = headers("x-forwarded-for", &["198.51.100.7", "10.2.3.4"]);
        assert_eq!(client_ip(peer, &chain, &trusted, xff), "198.51.100.7".parse::<IpAddr>().unwrap());
        // No header, or garbage where the proxy writes: the proxy is the client.
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted, xff), peer.ip());
        let garbage = headers("x-forwarded-for", &["198.51.100.7, not-an-ip"]);
        assert_eq!(client_ip(peer, &garbage, &trusted, xff), peer.ip());
        // The other header is not read.
        assert_eq!(client_ip(peer, &spoofed, &trusted, ForwardedHeader::Forwarded), peer.ip());
    }

    #[test]
    fn rfc_7239_forwarded_nodes_are_read() {
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let trusted = cidrs(&["127.0.0.1"]);
        let fwd = ForwardedHeader::Forwarded;
        let h = headers("forwarded", &[r#"for=192.0.2.60;proto=https, For="[2001:db8:cafe::17]:4711""#]);
        assert_eq!(client_ip(peer, &h, &trusted, fwd), "2001:db8:cafe::17".parse::<IpAddr>().unwrap());
        let unknown = headers("forwarded", &["for=unknown"]);
        assert_eq!(client_ip(peer, &unknown, &trusted, fwd), peer.ip());
        let with_port = headers("forwarded", &["for=\"198.51.100.7:1234\";by=203.0.113.43"]);
        assert_eq!(client_ip(peer, &with_port, &trusted, fwd), "198.51.100.7".parse::<IpAddr>().unwrap());
    }
}
