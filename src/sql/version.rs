//! `--dsql-version YYYY-MM-DD`: which DSQL release the rules describe. DSQL changes by date (the catalog's
//! feature timeline), so a version is a date: rules DSQL lifted on or before it are not applied, so a user whose
//! cluster (or target) still behaves as on that date can reproduce it. The default is the newest behaviour known.

use std::fmt;
use std::str::FromStr;

/// The newest DSQL change the rule catalog knows (partial indexes, 2026-09-15).
pub const NEWEST_KNOWN: &str = "2026-09-15";
/// The oldest behaviour the catalog describes: general availability (May 2025). Preview-era behaviour is not modelled.
pub const OLDEST_KNOWN: &str = "2025-05-01";

/// A DSQL behaviour date, always a valid `YYYY-MM-DD` on or after `OLDEST_KNOWN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DsqlVersion([u8; 10]);

impl DsqlVersion {
    /// The newest behaviour known (the default).
    pub fn newest() -> Self {
        Self::from_str(NEWEST_KNOWN).unwrap_or_else(|_| unreachable!("NEWEST_KNOWN is a valid date"))
    }

    /// The date as `YYYY-MM-DD` (ISO dates compare correctly as strings).
    pub fn date(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_else(|_| unreachable!("validated ASCII"))
    }

    /// Whether this is older than the newest behaviour known (some lifted rules apply).
    pub fn is_pinned(&self) -> bool {
        self.date() < NEWEST_KNOWN
    }
}

impl Default for DsqlVersion {
    fn default() -> Self {
        Self::newest()
    }
}

impl FromStr for DsqlVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "'{s}' is not a DSQL version: give a date as YYYY-MM-DD (for example {NEWEST_KNOWN}, the newest behaviour known)"
            )
        };
        let date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())?;
        let iso = date.format("%Y-%m-%d").to_string();
        if iso != s {
            return Err(bad());
        }
        if iso.as_str() < OLDEST_KNOWN {
            return Err(format!(
                "--dsql-version {iso} is before DSQL's general availability (May 2025); the rules describe {OLDEST_KNOWN} onwards"
            ));
        }
        let mut bytes = [0u8; 10];
        bytes.copy_from_slice(iso.as_bytes());
        Ok(DsqlVersion(bytes))
    }
}

impl fmt::Display for DsqlVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.date())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates_dates() {
        assert_eq!(DsqlVersion::from_str("2026-08-25").unwrap().date(), "2026-08-25");
        assert_eq!(DsqlVersion::default().date(), NEWEST_KNOWN);
        assert!(!DsqlVersion::default().is_pinned());
        assert!(DsqlVersion::from_str("2026-02-12").unwrap().is_pinned());
        // A later date than any known change is accepted: it behaves as the newest.
        assert!(!DsqlVersion::from_str("2027-01-01").unwrap().is_pinned());
        for bad in ["2026-13-01", "2026-02-30", "20260801", "2026-8-1", "latest", ""] {
            let e = DsqlVersion::from_str(bad).unwrap_err();
            assert!(e.contains("YYYY-MM-DD"), "{bad}: {e}");
        }
        let e = DsqlVersion::from_str("2024-12-03").unwrap_err();
        assert!(e.contains("general availability"), "{e}");
    }
}
