//! Lossless JSON for PostgreSQL values, decoded from the binary wire format.
//!
//! Every type DSQL can store has a native decoding here; anything else returns `None`, and the caller asks the
//! server for the type's own text form instead, so no type is ever an error.
//! Choices: integers are numbers, except int8 beyond ±2^53 (JSON's exact range), which are strings; numeric is an
//! exact string; floats are numbers, with NaN/Infinity as strings; bytea is PostgreSQL's hex form `\x…`; dates and
//! times are ISO 8601; intervals are ISO 8601 durations (`P1Y2M3DT4H5M6.5S`); json/jsonb are nested JSON; bit and
//! varbit are strings of 0 and 1 (their text form, eight characters per stored byte).
//!
//! A value too large to come back whole is decoded straight into the start of its text and a cut marker
//! ([`decode_cut`]), so memory holds the stored value and the part shown, never its whole decoded form.

use chrono::{Duration as ChronoDuration, NaiveDate, NaiveDateTime};
use serde_json::{Number, Value};
use tokio_postgres::types::{Kind, Type};

const MAX_SAFE_INT: i64 = (1 << 53) - 1;

/// Decode one value. `None` (outer) means this type has no native decoding: use the server's text form.
pub fn decode(ty: &Type, raw: Option<&[u8]>) -> Option<Value> {
    let Some(raw) = raw else { return Some(Value::Null) };
    decode_value(ty, raw)
}

/// Whether values of `ty` are decoded natively (arrays included when their element type is).
pub fn is_native(ty: &Type) -> bool {
    match ty.kind() {
        Kind::Array(elem) => is_native(elem),
        Kind::Domain(base) => is_native(base),
        Kind::Enum(_) => true,
        _ => matches!(
            *ty,
            Type::BOOL
                | Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::OID
                | Type::FLOAT4
                | Type::FLOAT8
                | Type::NUMERIC
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
                | Type::UNKNOWN
                | Type::CHAR
                | Type::BYTEA
                | Type::UUID
                | Type::JSON
                | Type::JSONB
                | Type::DATE
                | Type::TIME
                | Type::TIMETZ
                | Type::TIMESTAMP
                | Type::TIMESTAMPTZ
                | Type::INTERVAL
                | Type::BIT
                | Type::VARBIT
                | Type::VOID
        ),
    }
}

fn decode_value(ty: &Type, raw: &[u8]) -> Option<Value> {
    match ty.kind() {
        Kind::Array(elem) => return decode_array(elem, raw),
        Kind::Domain(base) => return decode_value(base, raw),
        Kind::Enum(_) => return text(raw),
        _ => {}
    }
    Some(match *ty {
        Type::BOOL => Value::Bool(*raw.first()? != 0),
        Type::INT2 => Value::from(i16::from_be_bytes(raw.try_into().ok()?)),
        Type::INT4 => Value::from(i32::from_be_bytes(raw.try_into().ok()?)),
        Type::OID => Value::from(u32::from_be_bytes(raw.try_into().ok()?)),
        Type::INT8 => {
            let v = i64::from_be_bytes(raw.try_into().ok()?);
            if (-MAX_SAFE_INT..=MAX_SAFE_INT).contains(&v) { Value::from(v) } else { Value::String(v.to_string()) }
        }
        Type::FLOAT4 => {
            let v = f32::from_be_bytes(raw.try_into().ok()?);
            // Print the shortest f32 form and read it back as f64, so 0.1::real stays 0.1, not 0.10000000149.
            float(v.is_nan(), v.is_infinite(), v.is_sign_negative(), || v.to_string().parse::<f64>().ok())
        }
        Type::FLOAT8 => {
            let v = f64::from_be_bytes(raw.try_into().ok()?);
            float(v.is_nan(), v.is_infinite(), v.is_sign_negative(), || Some(v))
        }
        Type::NUMERIC => Value::String(numeric(raw)?),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => text(raw)?,
        Type::CHAR => match raw {
            [b] if b.is_ascii() => Value::String((*b as char).to_string()),
            _ => return None,
        },
        Type::BYTEA => Value::String(format!("\\x{}", hex(raw))),
        Type::UUID => Value::String(uuid::Uuid::from_slice(raw).ok()?.hyphenated().to_string()),
        Type::JSON => serde_json::from_slice(raw).ok()?,
        Type::JSONB => match raw.split_first() {
            Some((1, body)) => serde_json::from_slice(body).ok()?,
            _ => return None,
        },
        Type::DATE => Value::String(date(i32::from_be_bytes(raw.try_into().ok()?))?),
        Type::TIMESTAMP => Value::String(timestamp(i64::from_be_bytes(raw.try_into().ok()?), "")?),
        Type::TIMESTAMPTZ => Value::String(timestamp(i64::from_be_bytes(raw.try_into().ok()?), "Z")?),
        Type::TIME => Value::String(time_of_day(i64::from_be_bytes(raw.try_into().ok()?))?),
        Type::TIMETZ => {
            if raw.len() != 12 {
                return None;
            }
            let micros = i64::from_be_bytes(raw[..8].try_into().ok()?);
            // PostgreSQL stores the zone as seconds *west* of UTC.
            let west = i32::from_be_bytes(raw[8..].try_into().ok()?);
            Value::String(format!("{}{}", time_of_day(micros)?, utc_offset(-west)))
        }
        Type::INTERVAL => {
            if raw.len() != 16 {
                return None;
            }
            let micros = i64::from_be_bytes(raw[..8].try_into().ok()?);
            let days = i32::from_be_bytes(raw[8..12].try_into().ok()?);
            let months = i32::from_be_bytes(raw[12..].try_into().ok()?);
            Value::String(interval(months, days, micros))
        }
        Type::BIT | Type::VARBIT => Value::String(bits(raw, usize::MAX)?.0),
        Type::VOID => Value::Null,
        _ => return None,
    })
}

/// Binary bit/varbit: the bit count, then the bits, high bit first. The first `keep` of them as `0`/`1`, and
/// how many there are.
fn bits(raw: &[u8], keep: usize) -> Option<(String, usize)> {
    let count = usize::try_from(i32::from_be_bytes(raw.get(..4)?.try_into().ok()?)).ok()?;
    let data = &raw[4..];
    if data.len() != count.div_ceil(8) {
        return None;
    }
    let shown = count.min(keep);
    let text = (0..shown).map(|i| if data[i / 8] & (0x80 >> (i % 8)) != 0 { '1' } else { '0' }).collect();
    Some((text, count))
}

/// The marker that ends a value that was cut; the truncation note (tools::truncation_note) quotes its shape.
pub fn cut_marker(shown: usize, full: usize) -> String {
    format!("…[cut: {shown} of {full} bytes shown]")
}

/// A value too large to come back whole, as a string: the start of its text form (about `keep` bytes, the whole
/// value's JSON text for arrays and json) and [`cut_marker`]. Built from the stored bytes without decoding the rest.
/// `None` for types this crate does not decode (the server converts those; they are cut afterwards).
pub fn decode_cut(ty: &Type, raw: &[u8], keep: usize) -> Option<Value> {
    let (mut text, full) = match ty.kind() {
        Kind::Domain(base) => return decode_cut(base, raw, keep),
        Kind::Array(elem) if is_native(elem) => array_prefix(elem, raw, keep)?,
        Kind::Enum(_) => utf8_prefix(raw, keep)?,
        Kind::Simple => match *ty {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
                utf8_prefix(raw, keep)?
            }
            Type::JSONB => utf8_prefix(raw.strip_prefix(&[1])?, keep)?,
            Type::BYTEA => {
                let n = keep.saturating_sub(2) / 2;
                (format!("\\x{}", hex(&raw[..n.min(raw.len())])), 2 + 2 * raw.len())
            }
            Type::BIT | Type::VARBIT => bits(raw, keep)?,
            _ => return None,
        },
        _ => return None,
    };
    let shown = text.len();
    text.push_str(&cut_marker(shown, full));
    Some(Value::String(text))
}

/// The first `keep` bytes of UTF-8 text (on a character boundary) and its length.
fn utf8_prefix(raw: &[u8], keep: usize) -> Option<(String, usize)> {
    let mut end = keep.min(raw.len());
    let text = match std::str::from_utf8(&raw[..end]) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            end = e.valid_up_to();
            std::str::from_utf8(&raw[..end]).ok()?
        }
        Err(_) => return None,
    };
    Some((text.to_string(), raw.len()))
}

/// The JSON text of an array's first elements (flattened when it has several dimensions), up to about `keep`
/// bytes, and the length of the whole array's JSON text, counted element by element without keeping it.
fn array_prefix(elem: &Type, raw: &[u8], keep: usize) -> Option<(String, usize)> {
    let mut r = Reader(raw);
    let ndim = r.i32()?;
    let _flags = r.i32()?;
    let _oid = r.i32()?;
    let mut total = 1usize;
    for _ in 0..ndim {
        total = total.checked_mul(usize::try_from(r.i32()?).ok()?)?;
        let _lower = r.i32()?;
    }
    if ndim == 0 {
        total = 0;
    }
    let mut text = String::from("[");
    let mut full = 2usize;
    for i in 0..total {
        let len = r.i32()?;
        let value = if len < 0 { Value::Null } else { decode_value(elem, r.take(len as usize)?)? };
        let json = serde_json::to_string(&value).ok()?;
        full += json.len() + usize::from(i > 0);
        if text.len() + json.len() < keep {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&json);
        }
    }
    Some((text, full))
}

fn text(raw: &[u8]) -> Option<Value> {
    std::str::from_utf8(raw).ok().map(|s| Value::String(s.to_string()))
}

fn float(nan: bool, inf: bool, negative: bool, finite: impl FnOnce() -> Option<f64>) -> Value {
    if nan {
        Value::String("NaN".into())
    } else if inf {
        Value::String(if negative { "-Infinity" } else { "Infinity" }.into())
    } else {
        finite().and_then(Number::from_f64).map(Value::Number).unwrap_or(Value::Null)
    }
}

fn hex(raw: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(raw.len() * 2);
    for b in raw {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Binary numeric: ndigits, weight, sign, dscale, then base-10000 digits.
fn numeric(raw: &[u8]) -> Option<String> {
    if raw.len() < 8 {
        return None;
    }
    let word = |i: usize| u16::from_be_bytes([raw[i], raw[i + 1]]);
    let ndigits = word(0) as usize;
    let weight = word(2) as i16 as i32;
    let sign = word(4);
    let dscale = word(6) as usize;
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        0x0000 | 0x4000 => {}
        _ => return None,
    }
    if raw.len() != 8 + 2 * ndigits {
        return None;
    }
    let digits: Vec<u16> = (0..ndigits).map(|i| word(8 + 2 * i)).collect();
    if digits.iter().any(|d| *d > 9999) {
        return None;
    }
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    // Integer part: groups with index 0..=weight.
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight as usize {
            let d = digits.get(i).copied().unwrap_or(0);
            if i == 0 {
                out.push_str(&d.to_string());
            } else {
                out.push_str(&format!("{d:04}"));
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut frac = String::new();
        let mut group = weight + 1;
        while frac.len() < dscale {
            let d = if group < 0 { 0 } else { digits.get(group as usize).copied().unwrap_or(0) };
            frac.push_str(&format!("{d:04}"));
            group += 1;
        }
        frac.truncate(dscale);
        out.push_str(&frac);
    }
    Some(out)
}

fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date").and_hms_opt(0, 0, 0).expect("valid time")
}

fn date(days: i32) -> Option<String> {
    match days {
        i32::MAX => Some("infinity".into()),
        i32::MIN => Some("-infinity".into()),
        _ => {
            let d = epoch().date().checked_add_signed(ChronoDuration::days(days as i64))?;
            Some(d.format("%Y-%m-%d").to_string())
        }
    }
}

fn timestamp(micros: i64, suffix: &str) -> Option<String> {
    match micros {
        i64::MAX => Some("infinity".into()),
        i64::MIN => Some("-infinity".into()),
        _ => {
            let t = epoch().checked_add_signed(ChronoDuration::microseconds(micros))?;
            let frac = fraction(t.and_utc().timestamp_subsec_micros() as i64);
            Some(format!("{}{frac}{suffix}", t.format("%Y-%m-%dT%H:%M:%S")))
        }
    }
}

fn time_of_day(micros: i64) -> Option<String> {
    if !(0..=86_400_000_000).contains(&micros) {
        return None;
    }
    let secs = micros / 1_000_000;
    Some(format!("{:02}:{:02}:{:02}{}", secs / 3600, secs / 60 % 60, secs % 60, fraction(micros % 1_000_000)))
}

/// `.5`, `.123456`, or nothing for whole seconds (PostgreSQL's own trimming).
fn fraction(micros: i64) -> String {
    if micros == 0 {
        return String::new();
    }
    let s = format!(".{:06}", micros.abs());
    s.trim_end_matches('0').to_string()
}

fn utc_offset(east_secs: i32) -> String {
    let sign = if east_secs < 0 { '-' } else { '+' };
    let a = east_secs.abs();
    if a % 60 != 0 {
        format!("{sign}{:02}:{:02}:{:02}", a / 3600, a / 60 % 60, a % 60)
    } else {
        format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
    }
}

/// ISO 8601 duration the way PostgreSQL's `intervalstyle = iso_8601` prints it: each field carries its own sign.
fn interval(months: i32, days: i32, micros: i64) -> String {
    if months == 0 && days == 0 && micros == 0 {
        return "PT0S".into();
    }
    let mut s = String::from("P");
    let (years, months) = (months / 12, months % 12);
    for (v, unit) in [(years as i64, 'Y'), (months as i64, 'M'), (days as i64, 'D')] {
        if v != 0 {
            s.push_str(&format!("{v}{unit}"));
        }
    }
    if micros != 0 {
        s.push('T');
        let hours = micros / 3_600_000_000;
        let minutes = micros / 60_000_000 % 60;
        let rest = micros % 60_000_000;
        if hours != 0 {
            s.push_str(&format!("{hours}H"));
        }
        if minutes != 0 {
            s.push_str(&format!("{minutes}M"));
        }
        if rest != 0 {
            let sign = if rest < 0 { "-" } else { "" };
            s.push_str(&format!("{sign}{}{}S", rest.abs() / 1_000_000, fraction(rest.abs() % 1_000_000)));
        }
    }
    s
}

/// Binary array: ndim, flags, element oid, (length, lower bound) per dimension, then the elements.
fn decode_array(elem: &Type, raw: &[u8]) -> Option<Value> {
    let mut r = Reader(raw);
    let ndim = r.i32()?;
    let _flags = r.i32()?;
    let _oid = r.i32()?;
    if ndim == 0 {
        return Some(Value::Array(vec![]));
    }
    if !(1..=6).contains(&ndim) {
        return None;
    }
    let mut dims = Vec::with_capacity(ndim as usize);
    for _ in 0..ndim {
        let len = r.i32()?;
        let _lower = r.i32()?;
        dims.push(usize::try_from(len).ok()?);
    }
    let total: usize = dims.iter().product();
    let mut items = Vec::with_capacity(total.min(1 << 16));
    for _ in 0..total {
        let len = r.i32()?;
        if len < 0 {
            items.push(Value::Null);
        } else {
            items.push(decode_value(elem, r.take(len as usize)?)?);
        }
    }
    if !r.0.is_empty() {
        return None;
    }
    Some(nest(&dims, &mut items.into_iter()))
}

fn nest(dims: &[usize], items: &mut impl Iterator<Item = Value>) -> Value {
    match dims {
        [] => Value::Null,
        [n] => Value::Array(items.take(*n).collect()),
        [n, rest @ ..] => Value::Array((0..*n).map(|_| nest(rest, items)).collect()),
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(digits.len() as u16).to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&sign.to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numeric_is_exact() {
        assert_eq!(numeric(&numeric_bytes(0, 0, 2, &[1, 5000])).unwrap(), "1.50");
        assert_eq!(numeric(&numeric_bytes(1, 0x4000, 0, &[12, 3456])).unwrap(), "-123456");
        assert_eq!(numeric(&numeric_bytes(-1, 0, 5, &[1230])).unwrap(), "0.12300");
        assert_eq!(numeric(&numeric_bytes(-2, 0, 6, &[1200])).unwrap(), "0.000012");
        assert_eq!(numeric(&numeric_bytes(0, 0xC000, 0, &[])).unwrap(), "NaN");
        assert_eq!(numeric(&numeric_bytes(2, 0, 0, &[1])).unwrap(), "100000000");
        assert_eq!(numeric(&numeric_bytes(0, 0, 0, &[])).unwrap(), "0");
    }

    #[test]
    fn intervals_print_as_iso_8601_durations() {
        assert_eq!(interval(14, 3, 4 * 3_600_000_000 + 5 * 60_000_000 + 6_500_000), "P1Y2M3DT4H5M6.5S");
        assert_eq!(interval(0, 0, 0), "PT0S");
        assert_eq!(interval(-1, 0, -90_000_000), "P-1MT-1M-30S");
    }

    #[test]
    fn large_int8_becomes_a_string() {
        assert_eq!(
            decode(&Type::INT8, Some(&(1i64 << 60).to_be_bytes())),
            Some(Value::String((1i64 << 60).to_string()))
        );
        assert_eq!(decode(&Type::INT8, Some(&42i64.to_be_bytes())), Some(Value::from(42)));
    }

    #[test]
    fn bits_print_like_postgresql_and_huge_values_are_cut_from_their_stored_form() {
        // B'10110' is 5 bits stored in one byte, high bit first.
        let varbit = [0, 0, 0, 5, 0b1011_0000];
        assert_eq!(decode(&Type::VARBIT, Some(&varbit)), Some(Value::String("10110".into())));
        assert_eq!(decode_cut(&Type::VARBIT, &varbit, 3), Some(Value::String("101…[cut: 3 of 5 bytes shown]".into())));
        let text = "é".repeat(10);
        assert_eq!(
            decode_cut(&Type::TEXT, text.as_bytes(), 5),
            Some(Value::String("éé…[cut: 4 of 20 bytes shown]".into()))
        );
        assert_eq!(
            decode_cut(&Type::BYTEA, &[0xab; 100], 8),
            Some(Value::String("\\xababab…[cut: 8 of 202 bytes shown]".into()))
        );
        // int4[] {1,2,3}: one dimension of 3 from 1, then (length, value) per element.
        let mut array = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 3, 0, 0, 0, 1];
        for v in [1i32, 2, 3] {
            array.extend_from_slice(&4i32.to_be_bytes());
            array.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(
            decode_cut(&Type::INT4_ARRAY, &array, 5),
            Some(Value::String("[1,2…[cut: 4 of 7 bytes shown]".into()))
        );
        assert_eq!(decode_cut(&Type::INET, &[0; 8], 4), None);
    }

    #[test]
    fn malformed_bytes_fall_back_instead_of_failing() {
        assert_eq!(decode(&Type::INT4, Some(&[1, 2])), None);
        assert_eq!(decode(&Type::INT4_ARRAY, Some(&[0, 0, 0, 9])), None);
        assert!(!is_native(&Type::INET));
    }
}
