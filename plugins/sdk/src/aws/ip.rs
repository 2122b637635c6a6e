//! Python's `ipaddress.ip_network(cidr).is_global`, which Prowler uses to call
//! a CIDR public (Python 3.12.4+ tables, as in Prowler's image).
//!
//! A network is private when its network and broadcast addresses both lie in
//! one of the private blocks and neither lies in an exception; IPv4 networks
//! inside 100.64.0.0/10 (shared address space) are not global either.

use std::net::{Ipv4Addr, Ipv6Addr};

const V4_PRIVATE: &[(&str, u8)] = &[
    ("0.0.0.0", 8),
    ("10.0.0.0", 8),
    ("127.0.0.0", 8),
    ("169.254.0.0", 16),
    ("172.16.0.0", 12),
    ("192.0.0.0", 24),
    ("192.0.0.170", 31),
    ("192.0.2.0", 24),
    ("192.168.0.0", 16),
    ("198.18.0.0", 15),
    ("198.51.100.0", 24),
    ("203.0.113.0", 24),
    ("240.0.0.0", 4),
    ("255.255.255.255", 32),
];
const V4_EXCEPTIONS: &[(&str, u8)] = &[("192.0.0.9", 32), ("192.0.0.10", 32)];
const V6_PRIVATE: &[(&str, u8)] = &[
    ("::1", 128),
    ("::", 128),
    ("::ffff:0:0", 96),
    ("64:ff9b:1::", 48),
    ("100::", 64),
    ("2001::", 23),
    ("2001:db8::", 32),
    ("2002::", 16),
    ("fc00::", 7),
    ("fe80::", 10),
];
const V6_EXCEPTIONS: &[(&str, u8)] = &[
    ("2001:1::1", 128),
    ("2001:1::2", 128),
    ("2001:3::", 32),
    ("2001:4:112::", 48),
    ("2001:20::", 28),
    ("2001:30::", 28),
];

fn v4_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

fn v6_mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

fn in_v4(addr: u32, blocks: &[(&str, u8)]) -> impl Iterator<Item = bool> {
    blocks.iter().map(move |(net, len)| {
        let net: u32 = net.parse::<Ipv4Addr>().expect("constant").into();
        addr & v4_mask(*len) == net
    })
}

fn in_v6(addr: u128, blocks: &[(&str, u8)]) -> impl Iterator<Item = bool> {
    blocks.iter().map(move |(net, len)| {
        let net: u128 = net.parse::<Ipv6Addr>().expect("constant").into();
        addr & v6_mask(*len) == net
    })
}

/// Whether `cidr` is a global (public) network. `None` when it does not parse
/// (Python would raise; Prowler then treats the rule as not public).
pub fn is_global(cidr: &str) -> Option<bool> {
    let (addr, len) = cidr.split_once('/').unwrap_or((cidr, ""));
    if let Ok(a) = addr.parse::<Ipv4Addr>() {
        let len: u8 = if len.is_empty() {
            32
        } else {
            len.parse().ok().filter(|l| *l <= 32)?
        };
        let net = u32::from(a) & v4_mask(len);
        let broadcast = net | !v4_mask(len);
        let both = |blocks: &[(&str, u8)]| {
            in_v4(net, blocks)
                .zip(in_v4(broadcast, blocks))
                .any(|(n, b)| n && b)
        };
        let touches_exception = in_v4(net, V4_EXCEPTIONS)
            .chain(in_v4(broadcast, V4_EXCEPTIONS))
            .any(|x| x);
        let private = both(V4_PRIVATE) && !touches_exception;
        let shared = both(&[("100.64.0.0", 10)]);
        return Some(!private && !shared);
    }
    let a: Ipv6Addr = addr.parse().ok()?;
    let len: u8 = if len.is_empty() {
        128
    } else {
        len.parse().ok().filter(|l| *l <= 128)?
    };
    let net = u128::from(a) & v6_mask(len);
    let last = net | !v6_mask(len);
    let private = in_v6(net, V6_PRIVATE)
        .zip(in_v6(last, V6_PRIVATE))
        .any(|(n, b)| n && b)
        && !in_v6(net, V6_EXCEPTIONS)
            .chain(in_v6(last, V6_EXCEPTIONS))
            .any(|x| x);
    Some(!private)
}

#[cfg(test)]
mod tests {
    use super::is_global;

    #[test]
    fn matches_python_ipaddress() {
        for (cidr, global) in [
            ("0.0.0.0/0", true),
            ("0.0.0.0/1", true),
            ("1.2.3.4/32", true),
            ("8.8.8.0/24", true),
            ("10.0.0.0/8", false),
            ("10.1.2.3/32", false),
            ("172.16.0.0/12", false),
            ("172.32.0.0/16", true),
            ("192.168.1.0/24", false),
            ("100.64.0.0/10", false),
            ("100.64.1.0/24", false),
            ("100.128.0.0/16", true),
            ("169.254.169.254/32", false),
            ("224.0.0.0/4", true),
            ("192.0.0.9/32", true),
            ("203.0.113.7/32", false),
            ("::/0", true),
            ("2600:1f18::/32", true),
            ("fd00::/8", false),
            ("fe80::/64", false),
            ("2001:db8::/48", false),
            // An exception since Python 3.12.4 (Prowler's image); 3.11 says false.
            ("2001:3::/32", true),
        ] {
            assert_eq!(is_global(cidr), Some(global), "{cidr}");
        }
        assert_eq!(is_global("not-a-cidr"), None);
    }
}
