//! Small helpers shared by the query modules: reading typed values out of
//! `Any` rows, numbered placeholder lists, and the portable encodings
//! (0/1 booleans, JSON text, unsigned sizes in BIGINT).

use std::collections::BTreeMap;
use std::str::FromStr;

use sqlx::any::AnyRow;
use sqlx::{Any, Decode, Row, Type};

use crate::store::StoreError;

/// A column's value, decoded as `T`.
pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &'static str) -> Result<T, StoreError>
where
    T: Decode<'r, Any> + Type<Any>,
{
    row.try_get(column).map_err(StoreError::query("decoding a row"))
}

/// A text column parsed into a typed value (ids, statuses).
pub(crate) fn parse<T: FromStr>(row: &AnyRow, column: &'static str) -> Result<T, StoreError> {
    let text: String = get(row, column)?;
    text.parse().map_err(|_| StoreError::Corrupt { column, value: text })
}

/// A nullable text column parsed into a typed value.
pub(crate) fn parse_opt<T: FromStr>(row: &AnyRow, column: &'static str) -> Result<Option<T>, StoreError> {
    let text: Option<String> = get(row, column)?;
    text.map(|text| text.parse().map_err(|_| StoreError::Corrupt { column, value: text })).transpose()
}

/// A BIGINT column that holds a count or size, as an unsigned type.
pub(crate) fn unsigned<T: TryFrom<i64>>(row: &AnyRow, column: &'static str) -> Result<T, StoreError> {
    let value: i64 = get(row, column)?;
    T::try_from(value).map_err(|_| StoreError::Corrupt { column, value: value.to_string() })
}

/// A BIGINT 0/1 column as a boolean.
pub(crate) fn flag(row: &AnyRow, column: &'static str) -> Result<bool, StoreError> {
    Ok(get::<i64>(row, column)? != 0)
}

/// A TEXT column holding a JSON object of strings.
pub(crate) fn string_map(row: &AnyRow, column: &'static str) -> Result<BTreeMap<String, String>, StoreError> {
    let text: String = get(row, column)?;
    serde_json::from_str(&text).map_err(|_| StoreError::Corrupt { column, value: text })
}

/// The JSON text stored for a map.
pub(crate) fn map_text(map: &BTreeMap<String, String>) -> String {
    // A map of strings always serialises.
    serde_json::to_string(map).unwrap_or_else(|_| "{}".to_owned())
}

/// An unsigned size as BIGINT. Sizes are validated long before they get
/// near `i64::MAX`; saturating keeps a hostile value from wrapping.
pub(crate) fn big(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn flag_value(value: bool) -> i64 {
    i64::from(value)
}

/// `$first, $first+1, …` for `n` values, for `IN (…)` lists.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_lists_are_numbered_from_first() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 1), "$1");
        assert_eq!(big(u64::MAX), i64::MAX);
    }
}
