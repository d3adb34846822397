//! The real client address of a public request (issue 13 §8): the TCP peer, unless that peer is a
//! proxy the operator trusts (`KEEL_TRUSTED_PROXIES`, none by default), in which case the address
//! the proxies recorded in `Forwarded` (RFC 7239) or, without it, `X-Forwarded-For`, read from
//! the right and skipping the trusted hops (the rightmost untrusted address is the first one no
//! trusted proxy could have been lied to about). Client-sent `Forwarded`/`X-Forwarded-For` are
//! never passed on (`upstream::is_caller_only`); keel sends the one address it decided on as
//! `x-forwarded-for`, so auth can throttle logins per client address.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::{HeaderMap, HeaderValue, FORWARDED, X_FORWARDED_FOR};

/// An address or a network (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

/// The proxies whose `Forwarded`/`X-Forwarded-For` keel believes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Net>);

// === impl TrustedProxies ===

impl TrustedProxies {
    /// From a comma-separated list of addresses and CIDR networks; the error names the entry.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || format!("trusted_proxies: {entry:?} is not an IP address or a CIDR network");
            let (addr, prefix) = match entry.split_once('/') {
                Some((a, p)) => {
                    (a.parse::<IpAddr>().map_err(|_| bad())?, Some(p.parse::<u8>().map_err(|_| bad())?))
                }
                None => (entry.parse::<IpAddr>().map_err(|_| bad())?, None),
            };
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = prefix.unwrap_or(max);
            if prefix > max {
                return Err(bad());
            }
            nets.push(Net { addr, prefix });
        }
        Ok(Self(nets))
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| within(ip, canonical(n.addr), n.prefix))
    }

    /// The client address of a request that came from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let chain =
            if headers.contains_key(FORWARDED) { forwarded_for(headers) } else { x_forwarded_for(headers) };
        // From the right: each hop is trusted to have recorded the one before it truthfully.
        let mut client = peer;
        for hop in chain.iter().rev() {
            match hop {
                Some(ip) if self.contains(*ip) => client = *ip,
                Some(ip) => return *ip,
                // `unknown`, an obfuscated name or garbage: nothing further left is believable.
                None => return client,
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn within(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let (ip, net, bits) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = bits - u32::from(prefix);
    shift >= bits || (ip >> shift) == (net >> shift)
}

/// The `for=` values of every `Forwarded` header, in order; `None` for one that is no address.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut out = Vec::new();
    for value in headers.get_all(FORWARDED) {
        let Ok(text) = value.to_str() else {
            out.push(None);
            continue;
        };
        for element in text.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
            });
            if let Some(node) = node {
                out.push(node_addr(node));
            }
        }
    }
    out
}

/// The entries of every `X-Forwarded-For` header, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut out = Vec::new();
    for value in headers.get_all(X_FORWARDED_FOR) {
        match value.to_str() {
            Ok(text) => out.extend(text.split(',').map(|e| node_addr(e.trim()))),
            Err(_) => out.push(None),
        }
    }
    out
}

/// An RFC 7239 node (`192.0.2.43`, `"192.0.2.43:47011"`, `"[2001:db8::17]:4711"`) or a plain
/// `X-Forwarded-For` entry, as an address.
fn node_addr(node: &str) -> Option<IpAddr> {
    let node = node.trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = node.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    let inner = node.strip_prefix('[')?.split(']').next()?;
    inner.parse().ok()
}

/// The `x-forwarded-for` keel sends: `ip` in its usual text form (always a valid value). IPv4
/// is written digit by digit: it is on every public request's path, where `Display`'s
/// formatting machinery cost more than the rest of the header (docs/benchmarks.md, "CPU per
/// request, counted").
pub fn header_value(ip: IpAddr) -> Option<HeaderValue> {
    let v4 = match ip {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) => return HeaderValue::from_str(&v6.to_string()).ok(),
    };
    let mut text = [0u8; 15];
    let mut len = 0;
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text[len] = b'.';
            len += 1;
        }
        for (place, shown) in [(100, octet >= 100), (10, octet >= 10), (1, true)] {
            if shown {
                text[len] = b'0' + octet / place % 10;
                len += 1;
            }
        }
    }
    HeaderValue::from_bytes(&text[..len]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for a in [
            "0.0.0.0",
            "127.0.0.1",
            "9.10.99.100",
            "255.255.255.255",
            "10.200.3.45",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            assert_eq!(header_value(ip(a)).unwrap(), a);
        }
        for n in (0..=u32::MAX).step_by(16_777_259) {
            let a = IpAddr::V4(n.into());
            assert_eq!(header_value(a).unwrap(), a.to_string());
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.parse().unwrap(), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let none = TrustedProxies::default();
        let h = headers(&[("x-forwarded-for", "6.6.6.6"), ("forwarded", "for=6.6.6.6")]);
        assert_eq!(none.client(ip("127.0.0.1"), &h), ip("127.0.0.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let t = TrustedProxies::parse("127.0.0.0/8, 10.1.2.3, ::1").unwrap();
        let peer = ip("127.0.0.1");
        let xff = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9"), ("x-forwarded-for", "10.1.2.3")]);
        assert_eq!(t.client(peer, &xff), ip("203.0.113.9"), "the client's own claim (6.6.6.6) is skipped");
        let fwd = headers(&[("forwarded", r#"for="[2001:db8::1]:4711";proto=https, for=10.1.2.3"#)]);
        assert_eq!(t.client(peer, &fwd), ip("2001:db8::1"));
        // Forwarded wins over X-Forwarded-For when both are there.
        let both = headers(&[("forwarded", "for=192.0.2.60"), ("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(t.client(peer, &both), ip("192.0.2.60"));
        // Unknown or garbage stops the walk at the last trusted hop; nothing recorded: the peer.
        assert_eq!(t.client(peer, &headers(&[("forwarded", "for=unknown, for=10.1.2.3")])), ip("10.1.2.3"));
        assert_eq!(t.client(peer, &headers(&[])), peer);
        assert_eq!(t.client(ip("::ffff:127.0.0.1"), &xff), ip("203.0.113.9"), "v4-mapped peers match");
        assert_eq!(t.client(ip("::1"), &headers(&[("x-forwarded-for", "192.0.2.1:5000")])), ip("192.0.2.1"));
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in ["nope", "10.0.0.0/33", "::1/129", "10.0.0.0/x"] {
            let e = TrustedProxies::parse(bad).unwrap_err();
            assert!(e.contains(bad.split('/').next().unwrap()), "{e}");
        }
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
        assert!(TrustedProxies::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
    }
}
