//! Deterministic CBOR (RFC 8949 §4.2.1, "core deterministic encoding").
//!
//! Encoding goes through [`ciborium::Value`]: serde produces the value tree and
//! this module writes it with shortest-form heads, definite lengths, and map
//! entries sorted by the bytewise order of their encoded keys.
//!
//! Decoding first walks the bytes once with [`check_canonical`], a small
//! validator that allocates nothing: shortest heads, definite lengths, map keys
//! in strictly increasing encoded order (so no duplicates), UTF-8 text, no
//! floats or tags, bounded depth. Only input in that one form reaches serde.
//! (An earlier version decoded into a value tree and compared a re-encoding
//! with the input; that tripled the allocations and was the largest part of
//! collector ingest time for big batches.)

use std::ops::Range;

use ciborium::Value;
use serde::{Serialize, de::DeserializeOwned};

use crate::WireError;

/// Deepest nesting accepted, far beyond what a batch needs.
const MAX_DEPTH: usize = 64;

/// Encode `value` as deterministic CBOR.
pub fn to_canonical_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    let tree = Value::serialized(value).map_err(|e| WireError::Malformed(e.to_string()))?;
    let mut out = Vec::with_capacity(1024);
    encode(&tree, &mut out, 0)?;
    Ok(out)
}

/// Decode deterministic CBOR into `T`, rejecting any other encoding of the same data,
/// trailing bytes, floats, tags and duplicate map keys.
pub fn from_canonical_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    check_canonical(bytes)?;
    ciborium::de::from_reader_with_recursion_limit(bytes, MAX_DEPTH)
        .map_err(|e| WireError::Malformed(e.to_string()))
}

/// Accept `bytes` only if they are exactly one data item in deterministic
/// encoding (RFC 8949 §4.2.1) using the types a batch may hold.
pub(crate) fn check_canonical(bytes: &[u8]) -> Result<(), WireError> {
    let mut at = 0;
    item(bytes, &mut at, 0)?;
    if at != bytes.len() {
        return Err(WireError::Malformed(format!(
            "{} trailing bytes after the data item",
            bytes.len() - at
        )));
    }
    Ok(())
}

/// Byte ranges, within `bytes`, of the elements of the array stored under the
/// text key `key` of the top-level map (empty when the key is absent).
///
/// Lets the collector point at one result inside the signed payload instead
/// of keeping a copy of it. Validates as it walks, so it is safe on any input,
/// though callers pass payloads [`check_canonical`] already accepted.
pub fn array_spans(bytes: &[u8], key: &str) -> Result<Vec<Range<usize>>, WireError> {
    let mut at = 0;
    let (major, entries) = read_head(bytes, &mut at)?;
    if major != 5 {
        return Err(WireError::Malformed("top-level item is not a map".into()));
    }
    for _ in 0..entries {
        let key_start = at;
        item(bytes, &mut at, 1)?;
        let is_key = matches!(
            read_head(bytes, &mut key_start.clone()),
            Ok((3, n)) if n == key.len() as u64 && bytes[at - key.len()..at] == *key.as_bytes()
        );
        if !is_key {
            item(bytes, &mut at, 1)?;
            continue;
        }
        let (major, n) = read_head(bytes, &mut at)?;
        if major != 4 {
            return Err(WireError::Malformed(format!("{key} is not an array")));
        }
        if n > (bytes.len() - at) as u64 {
            return Err(truncated());
        }
        let mut spans = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let start = at;
            item(bytes, &mut at, 2)?;
            spans.push(start..at);
        }
        return Ok(spans);
    }
    Ok(Vec::new())
}

fn truncated() -> WireError {
    WireError::Malformed("unexpected end of input".into())
}

/// Read a head at `*at`: (major type, argument). Refuses non-shortest
/// arguments and indefinite lengths.
fn read_head(bytes: &[u8], at: &mut usize) -> Result<(u8, u64), WireError> {
    let first = *bytes.get(*at).ok_or_else(truncated)?;
    *at += 1;
    let (major, info) = (first >> 5, first & 0x1f);
    let (len, min) = match info {
        0..=23 => return Ok((major, u64::from(info))),
        24 => (1, 24),
        25 => (2, 0x100),
        26 => (4, 0x1_0000),
        27 => (8, 0x1_0000_0000),
        31 => return Err(WireError::NotCanonical("indefinite-length item")),
        _ => return Err(WireError::Malformed(format!("reserved head 0x{first:02x}"))),
    };
    if major == 7 {
        // Simple values and floats: the argument is not a length.
        return Err(match info {
            25..=27 => WireError::Forbidden("floating-point value"),
            _ => WireError::Forbidden("unsupported CBOR value"),
        });
    }
    let raw = bytes.get(*at..*at + len).ok_or_else(truncated)?;
    *at += len;
    let n = raw.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
    if n < min {
        return Err(WireError::NotCanonical(
            "integer or length not in shortest form",
        ));
    }
    Ok((major, n))
}

/// The `n` bytes at `*at`, advancing past them.
fn take<'a>(bytes: &'a [u8], at: &mut usize, n: u64) -> Result<&'a [u8], WireError> {
    let n = usize::try_from(n).map_err(|_| truncated())?;
    let end = at.checked_add(n).ok_or_else(truncated)?;
    let out = bytes.get(*at..end).ok_or_else(truncated)?;
    *at = end;
    Ok(out)
}

fn item(bytes: &[u8], at: &mut usize, depth: usize) -> Result<(), WireError> {
    if depth > MAX_DEPTH {
        return Err(WireError::Forbidden("nesting too deep"));
    }
    let (major, n) = read_head(bytes, at)?;
    match major {
        0 | 1 => {}
        2 => {
            take(bytes, at, n)?;
        }
        3 => {
            std::str::from_utf8(take(bytes, at, n)?)
                .map_err(|_| WireError::Malformed("text is not UTF-8".into()))?;
        }
        4 => {
            // Every item takes at least one byte: a huge count cannot make us loop long.
            if n > (bytes.len() - *at) as u64 {
                return Err(truncated());
            }
            for _ in 0..n {
                item(bytes, at, depth + 1)?;
            }
        }
        5 => {
            if n > ((bytes.len() - *at) / 2) as u64 {
                return Err(truncated());
            }
            let mut previous: Option<&[u8]> = None;
            for _ in 0..n {
                let start = *at;
                item(bytes, at, depth + 1)?;
                let key = &bytes[start..*at];
                if let Some(prev) = previous {
                    match prev.cmp(key) {
                        std::cmp::Ordering::Less => {}
                        std::cmp::Ordering::Equal => {
                            return Err(WireError::Forbidden("duplicate map key"));
                        }
                        std::cmp::Ordering::Greater => {
                            return Err(WireError::NotCanonical(
                                "map keys not in bytewise order of their encoding",
                            ));
                        }
                    }
                }
                previous = Some(key);
                item(bytes, at, depth + 1)?;
            }
        }
        6 => return Err(WireError::Forbidden("tagged value")),
        _ => match n {
            20..=22 => {}
            _ => return Err(WireError::Forbidden("unsupported CBOR value")),
        },
    }
    Ok(())
}

fn encode(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), WireError> {
    if depth > MAX_DEPTH {
        return Err(WireError::Forbidden("nesting too deep"));
    }
    match value {
        Value::Integer(i) => {
            let i = i128::from(*i);
            if i >= 0 {
                head(0, i as u64, out);
            } else {
                // CBOR negative integers encode -1 - n; ciborium bounds them to 64 bits.
                head(1, (-1 - i) as u64, out);
            }
        }
        Value::Bytes(b) => {
            head(2, b.len() as u64, out);
            out.extend_from_slice(b);
        }
        Value::Text(s) => {
            head(3, s.len() as u64, out);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => {
            head(4, items.len() as u64, out);
            for item in items {
                encode(item, out, depth + 1)?;
            }
        }
        Value::Map(entries) => {
            let mut encoded = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let mut key = Vec::new();
                encode(k, &mut key, depth + 1)?;
                encoded.push((key, v));
            }
            encoded.sort_by(|a, b| a.0.cmp(&b.0));
            if encoded.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(WireError::Forbidden("duplicate map key"));
            }
            head(5, encoded.len() as u64, out);
            for (key, v) in encoded {
                out.extend_from_slice(&key);
                encode(v, out, depth + 1)?;
            }
        }
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Null => out.push(0xf6),
        Value::Float(_) => return Err(WireError::Forbidden("floating-point value")),
        Value::Tag(..) => return Err(WireError::Forbidden("tagged value")),
        _ => return Err(WireError::Forbidden("unsupported CBOR value")),
    }
    Ok(())
}

/// Write a major type and argument in the shortest form (RFC 8949 §4.2.1).
fn head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn array_spans_point_at_each_element() {
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), vec!["x".to_string()]);
        m.insert(
            "results".to_string(),
            vec!["one".to_string(), "three".to_string()],
        );
        m.insert("zz".to_string(), vec![]);
        let bytes = to_canonical_vec(&m).unwrap();
        let spans = array_spans(&bytes, "results").unwrap();
        let items: Vec<String> = spans
            .iter()
            .map(|s| from_canonical_slice(&bytes[s.clone()]).unwrap())
            .collect();
        assert_eq!(items, ["one", "three"]);
        assert!(array_spans(&bytes, "missing").unwrap().is_empty());
        assert!(array_spans(&bytes[..bytes.len() - 3], "results").is_err());
        assert!(array_spans(&[0x81, 0x01], "results").is_err(), "not a map");
    }

    #[test]
    fn map_keys_sort_by_encoded_bytes() {
        // "b" (0x61 0x62) sorts before "aa" (0x62 ...): shorter text keys first.
        let mut m = BTreeMap::new();
        m.insert("aa".to_string(), 1u8);
        m.insert("b".to_string(), 2u8);
        let bytes = to_canonical_vec(&m).unwrap();
        assert_eq!(bytes, [0xa2, 0x61, b'b', 0x02, 0x62, b'a', b'a', 0x01]);
        let back: BTreeMap<String, u8> = from_canonical_slice(&bytes).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn rejects_unsorted_keys() {
        let bytes = [0xa2, 0x62, b'a', b'a', 0x01, 0x61, b'b', 0x02];
        let err = from_canonical_slice::<BTreeMap<String, u8>>(&bytes).unwrap_err();
        assert!(matches!(err, WireError::NotCanonical(_)), "{err}");
    }

    #[test]
    fn rejects_duplicate_keys() {
        let bytes = [0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x02];
        let err = from_canonical_slice::<BTreeMap<String, u8>>(&bytes).unwrap_err();
        assert!(
            matches!(err, WireError::Forbidden("duplicate map key")),
            "{err}"
        );
    }

    #[test]
    fn rejects_long_form_integer() {
        // 5 written with a one-byte argument instead of inline.
        let err = from_canonical_slice::<u64>(&[0x18, 0x05]).unwrap_err();
        assert!(matches!(err, WireError::NotCanonical(_)), "{err}");
        assert_eq!(from_canonical_slice::<u64>(&[0x05]).unwrap(), 5);
    }

    #[test]
    fn rejects_indefinite_length_text() {
        // (_ "a", "b") instead of "ab".
        let bytes = [0x7f, 0x61, b'a', 0x61, b'b', 0xff];
        let err = from_canonical_slice::<String>(&bytes).unwrap_err();
        assert!(matches!(err, WireError::NotCanonical(_)), "{err}");
    }

    #[test]
    fn rejects_floats_tags_and_trailing_bytes() {
        let half = [0xf9, 0x3c, 0x00]; // 1.0 as a half float
        assert!(matches!(
            from_canonical_slice::<u64>(&half).unwrap_err(),
            WireError::Forbidden(_)
        ));
        let tagged = [0xc1, 0x05]; // epoch time tag
        assert!(matches!(
            from_canonical_slice::<u64>(&tagged).unwrap_err(),
            WireError::Forbidden(_)
        ));
        assert!(matches!(
            from_canonical_slice::<u64>(&[0x05, 0x00]).unwrap_err(),
            WireError::Malformed(_)
        ));
        assert!(matches!(
            to_canonical_vec(&1.5f64).unwrap_err(),
            WireError::Forbidden(_)
        ));
    }

    #[test]
    fn validator_refuses_hostile_shapes() {
        // An array claiming 2^32 items in a 5-byte input.
        let huge = [0x9a, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            from_canonical_slice::<Vec<u8>>(&huge).unwrap_err(),
            WireError::Malformed(_)
        ));
        // Text that is not UTF-8.
        let bad_text = [0x62, 0xc3, 0x28];
        assert!(matches!(
            from_canonical_slice::<String>(&bad_text).unwrap_err(),
            WireError::Malformed(_)
        ));
        // `undefined` and a one-byte simple value.
        for simple in [&[0xf7][..], &[0xf8, 0x20][..]] {
            assert!(matches!(
                from_canonical_slice::<Option<u8>>(simple).unwrap_err(),
                WireError::Forbidden(_)
            ));
        }
        // Nesting beyond the limit.
        let mut deep = vec![0x81; 100];
        deep.push(0x00);
        assert!(matches!(
            check_canonical(&deep).unwrap_err(),
            WireError::Forbidden("nesting too deep")
        ));
        // A length running past the end.
        assert!(matches!(
            from_canonical_slice::<String>(&[0x65, b'a']).unwrap_err(),
            WireError::Malformed(_)
        ));
        // The same value in canonical form is accepted.
        let ok = to_canonical_vec(&vec![Some(1u8), None]).unwrap();
        assert_eq!(
            from_canonical_slice::<Vec<Option<u8>>>(&ok).unwrap(),
            vec![Some(1), None]
        );
    }

    #[test]
    fn integer_heads_are_shortest() {
        for (n, len) in [
            (23u64, 1),
            (24, 2),
            (255, 2),
            (256, 3),
            (65_536, 5),
            (1 << 32, 9),
        ] {
            let bytes = to_canonical_vec(&n).unwrap();
            assert_eq!(bytes.len(), len, "{n}");
            assert_eq!(from_canonical_slice::<u64>(&bytes).unwrap(), n);
        }
        let neg = to_canonical_vec(&-500i64).unwrap();
        assert_eq!(neg, [0x39, 0x01, 0xf3]);
        assert_eq!(from_canonical_slice::<i64>(&neg).unwrap(), -500);
    }
}
