//! Password hashing: argon2id, stored as PHC strings.
//!
//! Parameters follow OWASP's argon2id recommendation (19 MiB, 2 passes, one
//! lane): memory first, because it is what makes guessing on GPUs expensive.
//! About 30 ms per hash on the 2-core development machine, paid once per
//! login. Logins of unknown accounts verify against a fixed hash, so response
//! time does not tell which addresses have accounts.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted.
pub const MIN_LEN: usize = 12;
/// Longest password accepted (bytes): bounds the hashing work per request.
pub const MAX_LEN: usize = 1024;

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("passwords must be {MIN_LEN}–{MAX_LEN} bytes long")]
    Length,
    /// Hashing failed (never expected; the parameters are constants).
    #[error("password hashing failed")]
    Hash,
}

fn hasher() -> Argon2<'static> {
    // 19 MiB, t = 2, p = 1 (OWASP, "argon2id … m=19456 (19 MiB), t=2, p=1").
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash `password` with a fresh salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check(password)?;
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hash)
}

/// Whether `password` is acceptable as a new password.
pub fn check(password: &str) -> Result<(), PasswordError> {
    if password.len() < MIN_LEN || password.len() > MAX_LEN {
        return Err(PasswordError::Length);
    }
    Ok(())
}

/// Whether `password` matches `stored` (a PHC string). Unparsable hashes
/// never match.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_LEN {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Spend the time of one verification for an account that does not exist.
pub fn verify_nobody(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("not a password of anyone").unwrap_or_default());
    let _ = verify(password, stored);
}

/// A random password for `user create` when none is given: 20 characters
/// from a 56-symbol alphabet without look-alikes (about 116 bits).
pub fn generate() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterx", &a));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_eq!(hash("short"), Err(PasswordError::Length));
        assert_eq!(generate().len(), 20);
    }
}
