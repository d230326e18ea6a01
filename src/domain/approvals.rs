//! Sign-off counts: how many approvals a move may demand, parsed from forms
//! and checked from JSON, for stage moves and protected aliases alike.

use super::FieldError;

/// Most sign-offs a policy may demand. More than this is a typo, and a
/// policy nobody can satisfy would strand every request.
pub const MAX_REQUIRED_APPROVALS: u8 = 10;

pub fn check_count(field: &'static str, value: u8) -> Result<(), FieldError> {
    if value <= MAX_REQUIRED_APPROVALS {
        Ok(())
    } else {
        Err(count_error(field))
    }
}

pub(crate) fn count_error(field: &'static str) -> FieldError {
    FieldError::new(
        field,
        format!("must be a whole number of approvals from 0 to {MAX_REQUIRED_APPROVALS}"),
    )
}

pub fn parse_count(field: &'static str, raw: &str) -> Result<u8, FieldError> {
    // Parse wide first so "300" is reported as out of range, not as junk.
    let value: u32 = raw.trim().parse().map_err(|_| count_error(field))?;
    let value = u8::try_from(value).map_err(|_| count_error(field))?;
    check_count(field, value)?;
    Ok(value)
}
