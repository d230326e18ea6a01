//! Who is really calling: the TCP peer, unless the peer is one of our own
//! proxies (`REGISTRY_TRUSTED_PROXIES`), in which case the right-most
//! `X-Forwarded-For` hop that is not a trusted proxy. Each proxy appends the
//! address it received the request from, so entries to the left of the
//! first untrusted hop were written by the client and prove nothing.

use std::net::IpAddr;

use ipnet::IpNet;

/// The networks whose hosts are our load balancers and proxies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs or single addresses
    /// (`10.0.0.0/8, 192.168.1.7, fd00::/8`). Empty means none.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        return Err(format!(
                            "REGISTRY_TRUSTED_PROXIES: {item:?} is neither a CIDR (10.0.0.0/8) \
                             nor an IP address"
                        ))
                    }
                },
            };
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = canonical(*ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` carrying these
    /// `X-Forwarded-For` header values (in order).
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(&peer) {
            return peer;
        }
        let hops = forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty());
        let mut client = peer;
        for hop in hops.rev() {
            let Some(ip) = parse_hop(hop) else {
                // Garbage is the client's own writing: the last trusted hop
                // is the best we know.
                break;
            };
            client = ip;
            if !self.contains(&ip) {
                break;
            }
        }
        client
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sock) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(sock.ip()));
    }
    None
}

/// IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is the IPv4 address it maps.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_cidrs_and_addresses_and_refuses_junk() {
        let t = TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,").unwrap();
        assert!(t.contains(&ip("10.1.2.3")));
        assert!(t.contains(&ip("192.168.1.7")));
        assert!(!t.contains(&ip("192.168.1.8")));
        assert!(t.contains(&ip("fd00::1")));
        assert!(t.contains(&ip("::ffff:10.9.9.9")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in ["10.0.0.0/33", "example.com", "10.0.0.1/8/2", "*"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(t.client(ip("203.0.113.5"), &["1.1.1.1"]), ip("203.0.113.5"));
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.2"), &["1.1.1.1"]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The client forged the left-most entry; our proxies appended the rest.
        let xff = ["6.6.6.6, 198.51.100.7, 10.0.0.3"];
        assert_eq!(t.client(ip("10.0.0.2"), &xff), ip("198.51.100.7"));
        // Several headers count as one list, in order.
        assert_eq!(
            t.client(ip("10.0.0.2"), &["6.6.6.6", "198.51.100.7:5555"]),
            ip("198.51.100.7")
        );
        // No header: the proxy itself.
        assert_eq!(t.client(ip("10.0.0.2"), &[]), ip("10.0.0.2"));
        // All trusted: the left-most.
        assert_eq!(t.client(ip("10.0.0.2"), &["10.0.0.9"]), ip("10.0.0.9"));
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            t.client(ip("10.0.0.2"), &["1.1.1.1, nonsense, 10.0.0.4"]),
            ip("10.0.0.4")
        );
        assert_eq!(
            t.client(ip("10.0.0.2"), &["[2001:db8::9]:443"]),
            ip("2001:db8::9")
        );
    }
}
