//! The outbound guard's rule (`[security] blocked_networks`): networks the service
//! must never call, so that a webhook URL cannot make it reach internal hosts.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use url::{Host, Url};

/// A set of blocked networks; empty blocks nothing. Cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockedNetworks(Arc<[IpNet]>);

impl BlockedNetworks {
    /// Parses CIDRs (`10.0.0.0/8`, `fc00::/7`) or single addresses; the error
    /// gives the bad entry's index and what is wrong with it.
    pub fn parse(entries: &[String]) -> Result<Self, (usize, String)> {
        entries
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let raw = raw.trim();
                raw.parse::<IpNet>()
                    .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| (i, format!("{raw:?} is not a CIDR such as 10.0.0.0/8")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|nets| Self(nets.into()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` lies in a blocked network. An IPv4 address written as IPv6
    /// (`::ffff:127.0.0.1`) is judged as the IPv4 address it is.
    pub fn blocks(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The blocked address a URL names literally as its host, if any. Host names
    /// are judged later, on the addresses they resolve to.
    pub fn literal_in(&self, url: &str) -> Option<IpAddr> {
        if self.is_empty() {
            return None; // nothing to find: skip parsing the URL again
        }
        let ip = match Url::parse(url).ok()?.host()? {
            Host::Ipv4(ip) => IpAddr::V4(ip),
            Host::Ipv6(ip) => IpAddr::V6(ip),
            Host::Domain(_) => return None,
        };
        self.blocks(ip).then_some(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onprem() -> BlockedNetworks {
        let list: Vec<String> = [
            "127.0.0.0/8",
            "10.0.0.0/8",
            "::1/128",
            "fc00::/7",
            "169.254.169.254",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        BlockedNetworks::parse(&list).expect("valid")
    }

    #[test]
    fn addresses_in_a_blocked_network_are_blocked() {
        let guard = onprem();
        for (ip, blocked) in [
            ("127.0.0.1", true),
            ("127.255.0.9", true),
            ("10.1.2.3", true),
            ("169.254.169.254", true),
            ("169.254.169.253", false),
            ("::1", true),
            ("fd12::1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:8.8.8.8", false),
            ("8.8.8.8", false),
            ("2001:db8::1", false),
        ] {
            assert_eq!(guard.blocks(ip.parse().expect("ip")), blocked, "{ip}");
        }
        assert!(!BlockedNetworks::default().blocks("127.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn only_literal_hosts_are_judged_from_the_url() {
        let guard = onprem();
        assert_eq!(
            guard.literal_in("https://127.0.0.1:8443/hook"),
            Some("127.0.0.1".parse().expect("ip"))
        );
        assert_eq!(
            guard.literal_in("https://[::1]/hook"),
            Some("::1".parse().expect("ip"))
        );
        assert_eq!(guard.literal_in("https://localhost/hook"), None);
        assert_eq!(guard.literal_in("https://8.8.8.8/hook"), None);
    }

    #[test]
    fn a_bad_entry_is_named_by_its_index() {
        let list = vec!["10.0.0.0/8".to_owned(), "10.0.0.0/33".to_owned()];
        let (index, why) = BlockedNetworks::parse(&list).expect_err("invalid");
        assert_eq!(index, 1, "{why}");
        assert!(why.contains("10.0.0.0/33"), "{why}");
    }
}
