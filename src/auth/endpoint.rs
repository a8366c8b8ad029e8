//! Parses the cluster endpoint and region: the DNS name that TLS verifies and the token signs, plus an optional port.

/// PostgreSQL's and DSQL's port.
pub const DEFAULT_PORT: u16 = 5432;

/// Longest token lifetime DSQL accepts (one week).
pub const MAX_EXPIRES_IN_SECS: u64 = 604_800;

/// A validated `host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The DNS name: what TLS verifies and the token signs.
    pub host: String,
    /// The port connected to ([`DEFAULT_PORT`] unless given).
    pub port: u16,
}

/// Accepts `name` or `name:port` (tunnels, tests). Rejects URLs and anything that is not a DNS name, because the name
/// ends up in the signed token and in TLS verification, where a typo only shows up as an opaque failure later.
pub fn parse_endpoint(raw: &str) -> Result<Endpoint, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(
            "the cluster endpoint is empty: pass --cluster_endpoint <id>.dsql.<region>.on.aws (or set CLUSTER)"
                .to_string(),
        );
    }
    if s.contains("://") || s.contains('/') || s.contains('@') {
        return Err(format!(
            "the cluster endpoint {s:?} must be a bare host name like <id>.dsql.<region>.on.aws, \
             without a scheme, user or path"
        ));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => {
            let port =
                p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                    format!("the port in the cluster endpoint {s:?} is not a number between 1 and 65535")
                })?;
            (h, port)
        }
        None => (s, DEFAULT_PORT),
    };
    if !is_dns_name(host) {
        return Err(format!(
            "the cluster endpoint {host:?} is not a valid host name (letters, digits, '-' and '.' only), \
             expected <id>.dsql.<region>.on.aws"
        ));
    }
    Ok(Endpoint { host: host.to_string(), port })
}

fn is_dns_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Checks the region's shape and, for standard cluster names (`<id>.dsql.<region>.on.aws`), that it is the cluster's
/// region: a mismatch signs for the wrong region and DSQL then rejects the token with a bare authentication failure.
pub fn check_region(region: &str, host: &str) -> Result<(), String> {
    let r = region.trim();
    if r.is_empty() {
        return Err("the AWS region is empty: pass --region (or set AWS_REGION), e.g. us-east-1".to_string());
    }
    if !r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(format!(
            "the AWS region {r:?} is not a region name (lowercase letters, digits and '-', e.g. us-east-1)"
        ));
    }
    if let Some(host_region) = region_in_endpoint(host)
        && host_region != r
    {
        return Err(format!(
            "the cluster endpoint {host} is in region {host_region}, but the region is {r}: \
             pass --region {host_region}"
        ));
    }
    Ok(())
}

/// The region a standard cluster name carries: `<id>.dsql.<region>.on.aws[:port]` → `<region>` (lowercase); `None`
/// for any other name (VPC endpoints, tunnels, addresses), which then needs the region given.
pub fn region_in_endpoint(endpoint: &str) -> Option<String> {
    let host = endpoint.trim().rsplit_once(':').map_or(endpoint.trim(), |(host, _port)| host).to_ascii_lowercase();
    let (_, region) = host.strip_suffix(".on.aws")?.rsplit_once(".dsql.")?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_string())
}

/// Validates a token lifetime in seconds.
pub fn check_expires_in(secs: u64) -> Result<(), String> {
    if secs == 0 || secs > MAX_EXPIRES_IN_SECS {
        return Err(format!(
            "the token lifetime {secs} s is out of range: use 1..={MAX_EXPIRES_IN_SECS} seconds (default 900)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_name_gets_default_port() {
        let e = parse_endpoint(" abc.dsql.us-east-1.on.aws ").unwrap();
        assert_eq!(e.host, "abc.dsql.us-east-1.on.aws");
        assert_eq!(e.port, 5432);
    }

    #[test]
    fn explicit_port_is_split_off() {
        let e = parse_endpoint("abc.dsql.us-east-1.on.aws:15432").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("abc.dsql.us-east-1.on.aws", 15432));
    }

    #[test]
    fn urls_and_junk_are_refused_with_the_expected_shape() {
        for bad in [
            "",
            "postgres://abc.dsql.us-east-1.on.aws",
            "abc.dsql.us-east-1.on.aws/postgres",
            "abc..on.aws",
            "a b.on.aws",
            "abc.on.aws:0",
            "abc.on.aws:x",
            "-abc.on.aws",
        ] {
            let err = parse_endpoint(bad).unwrap_err();
            assert!(err.contains("endpoint"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn region_must_match_a_standard_cluster_name() {
        assert!(check_region("us-east-1", "abc.dsql.us-east-1.on.aws").is_ok());
        assert!(check_region("eu-west-1", "vpce-1.example.internal").is_ok());
        let err = check_region("us-west-2", "abc.dsql.us-east-1.on.aws").unwrap_err();
        assert!(err.contains("pass --region us-east-1"), "{err}");
        assert!(check_region("", "x").is_err());
        assert!(check_region("US East", "x").is_err());
    }

    #[test]
    fn region_is_read_from_standard_cluster_names_only() {
        assert_eq!(region_in_endpoint("x.dsql.ap-northeast-1.on.aws").as_deref(), Some("ap-northeast-1"));
        assert_eq!(region_in_endpoint("X.DSQL.US-EAST-1.ON.AWS:15432").as_deref(), Some("us-east-1"));
        for other in ["localhost", "10.0.0.1", "vpce-1.example.internal", "x.dsql..on.aws", "x.dsql.a.b.on.aws"] {
            assert_eq!(region_in_endpoint(other), None, "{other}");
        }
    }

    #[test]
    fn expiry_range_is_one_second_to_one_week() {
        assert!(check_expires_in(1).is_ok());
        assert!(check_expires_in(604_800).is_ok());
        assert!(check_expires_in(0).is_err());
        assert!(check_expires_in(604_801).is_err());
    }
}
