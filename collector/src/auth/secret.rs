//! Bearer secrets: session ids and API tokens. The database keeps only
//! their SHA-256: a stolen database copy lets nobody in. (A fast hash is
//! enough: the secrets are 192 random bits, not guessable passwords.)

use sha2::{Digest, Sha256};

/// Prefix of API tokens, so they are recognisable in logs and by secret
/// scanners.
pub const TOKEN_PREFIX: &str = "cat1_";

/// A fresh random secret (48 hex characters) and its SHA-256.
pub fn new_secret() -> (String, String) {
    let mut bytes = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret = hex::encode(bytes);
    let hash = digest(&secret);
    (secret, hash)
}

/// A fresh API token (`cat1_…`) and its hash.
pub fn new_token() -> (String, String) {
    let (secret, _) = new_secret();
    let token = format!("{TOKEN_PREFIX}{secret}");
    let hash = digest(&token);
    (token, hash)
}

/// SHA-256 (hex) of a presented secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The CSRF token of a session: derived from the session secret, so the
/// server needs to store nothing more, and only a holder of the cookie (or a
/// page the server rendered for it) knows it.
pub fn csrf_token(session_secret: &str) -> String {
    digest(&format!("citadel-csrf\0{session_secret}"))
}

/// Whether a presented string can be a secret we issued: bounded length,
/// plain ASCII. Checked before hashing or looking anything up.
pub fn plausible(secret: &str) -> bool {
    (16..=128).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic())
}

/// Constant-time comparison of two hex digests.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_and_hashed() {
        let (t, h) = new_token();
        assert!(t.starts_with(TOKEN_PREFIX) && plausible(&t));
        assert_eq!(digest(&t), h);
        assert!(same(&h, &digest(&t)) && !same(&h, &digest("x")));
        assert!(
            !plausible("short") && !plausible(&"a".repeat(200)) && !plausible("with space in it!!")
        );
    }
}
