//! The 25-digit base-36 text form of a 128-bit value that every Wrenn id
//! uses after its prefix: lowercase ASCII letters and digits only, so ids
//! are DNS-label and URL safe.

pub(crate) const DIGITS: usize = 25;
const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Writes `prefix` then the 25 digits of `value`.
pub(crate) fn write(f: &mut std::fmt::Formatter<'_>, prefix: &str, value: u128) -> std::fmt::Result {
    let mut digits = [b'0'; DIGITS];
    let mut rest = value;
    for slot in digits.iter_mut().rev() {
        *slot = ALPHABET[(rest % 36) as usize];
        rest /= 36;
    }
    f.write_str(prefix)?;
    // The alphabet is ASCII, so the digits are valid UTF-8.
    f.write_str(std::str::from_utf8(&digits).map_err(|_| std::fmt::Error)?)
}

/// Parses exactly 25 lowercase base-36 digits; `None` on any other input,
/// including 25-digit values above `u128::MAX`.
pub(crate) fn parse(digits: &str) -> Option<u128> {
    if digits.len() != DIGITS {
        return None;
    }
    let mut value: u128 = 0;
    for byte in digits.bytes() {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'z' => byte - b'a' + 10,
            _ => return None,
        };
        value = value.checked_mul(36)?.checked_add(u128::from(digit))?;
    }
    Some(value)
}
