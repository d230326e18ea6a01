//! Instants from outside (query strings, forms): RFC 3339 with an offset, a
//! browser's `datetime-local` value or a bare date (both read as UTC), or
//! milliseconds since the Unix epoch. Stored and compared as UTC milliseconds.

use time::{
    format_description::well_known::Rfc3339, macros::format_description, Date, OffsetDateTime,
    PrimitiveDateTime,
};

/// UTC milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(pub i64);

impl Instant {
    pub fn millis(self) -> i64 {
        self.0
    }

    /// RFC 3339 in UTC with milliseconds: `2026-03-14T09:30:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .ok()
            .and_then(|t| t.format(&format).ok())
            .unwrap_or_default()
    }
}

impl std::str::FromStr for Instant {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("is empty".into());
        }
        if raw.len() > 40 {
            return Err("is too long for a date-time".into());
        }
        if raw.bytes().all(|b| b.is_ascii_digit()) {
            return raw
                .parse::<i64>()
                .map(Instant)
                .map_err(|_| "is out of range".into());
        }
        let utc = if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
            t
        } else if let Ok(t) = PrimitiveDateTime::parse(
            raw,
            format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        )
        .or_else(|_| {
            PrimitiveDateTime::parse(
                raw,
                format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
            )
        }) {
            t.assume_utc()
        } else if let Ok(d) = Date::parse(raw, format_description!("[year]-[month]-[day]")) {
            d.midnight().assume_utc()
        } else {
            return Err(
                "must be a date-time such as 2026-03-14T09:30:00Z, 2026-03-14T09:30 (UTC) or 2026-03-14"
                    .into(),
            );
        };
        i64::try_from(utc.unix_timestamp_nanos() / 1_000_000)
            .map(Instant)
            .map_err(|_| "is out of range".into())
    }
}

#[cfg(test)]
mod tests {
    use super::Instant;

    fn ms(raw: &str) -> Result<i64, String> {
        raw.parse::<Instant>().map(Instant::millis)
    }

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(ms("2026-03-14T00:00:00Z"), Ok(1_773_446_400_000));
        assert_eq!(ms("2026-03-14"), Ok(1_773_446_400_000));
        assert_eq!(ms("2026-03-14T00:00"), Ok(1_773_446_400_000));
        assert_eq!(ms("2026-03-14T00:00:01"), Ok(1_773_446_401_000));
        assert_eq!(ms("2026-03-14T01:00:00+01:00"), Ok(1_773_446_400_000));
        assert_eq!(ms("2026-03-14T00:00:00.250Z"), Ok(1_773_446_400_250));
        assert_eq!(ms("1773446400000"), Ok(1_773_446_400_000));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "14/03/2026",
            "2026-03-14 00:00",
            "99999999999999999999999",
            "-5",
            "2026-03-14T00:00:00Z; DROP TABLE audit_events",
        ] {
            assert!(ms(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn formats_back_in_utc() {
        assert_eq!(
            Instant(1_773_446_400_250).to_rfc3339(),
            "2026-03-14T00:00:00.250Z"
        );
        let round = Instant(1_773_446_400_250).to_rfc3339().parse::<Instant>();
        assert_eq!(round, Ok(Instant(1_773_446_400_250)));
    }
}
