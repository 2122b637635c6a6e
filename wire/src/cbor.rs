//! Deterministic CBOR (RFC 8949 §4.2.1, "core deterministic encoding").
//!
//! Encoding goes through [`ciborium::Value`]: serde produces the value tree and
//! this module writes it with shortest-form heads, definite lengths, and map
//! entries sorted by the bytewise order of their encoded keys.
//!
//! Decoding accepts an input only if re-encoding the decoded value yields the
//! very same bytes. That one comparison rejects every non-deterministic form
//! (long heads, indefinite lengths, unsorted keys) without a hand-written parser.

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
    let mut reader = bytes;
    let tree: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, MAX_DEPTH)
        .map_err(|e| WireError::Malformed(e.to_string()))?;
    if !reader.is_empty() {
        return Err(WireError::Malformed(format!(
            "{} trailing bytes after the data item",
            reader.len()
        )));
    }
    let mut again = Vec::with_capacity(bytes.len());
    encode(&tree, &mut again, 0)?;
    if again != bytes {
        return Err(WireError::NotCanonical(
            "re-encoding the decoded value gives different bytes",
        ));
    }
    tree.deserialized()
        .map_err(|e| WireError::Malformed(e.to_string()))
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
