//! The collector's certificate authority.
//!
//! `init` creates a CA (ECDSA P-256) and a server certificate signed by it.
//! Enrollment issues each agent a one-year client certificate for the Ed25519
//! key in its CSR, with the agent id in a URI SAN (`urn:citadel:agent:<id>`).
//! At ingest the same certificate tells us which agent is talking.
//!
//! Files in the data directory:
//! ```text
//! ca.crt      CA certificate (its SHA-256 is embedded in every enrollment token)
//! ca.key      CA private key, PKCS#8 PEM, mode 0600
//! server.crt  TLS server certificate (localhost, 127.0.0.1 and `--san` names)
//! server.key  its key, mode 0600
//! ```

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// Prefix of the URI SAN that carries the agent id.
pub const AGENT_URI_PREFIX: &str = "urn:citadel:agent:";

/// How long an agent certificate is valid.
pub const AGENT_CERT_DAYS: i64 = 365;

/// A PKI operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The CSR could not be parsed or its signature is wrong.
    #[error("invalid certificate signing request: {0}")]
    Csr(String),
    /// The CSR's key is not Ed25519.
    #[error("the agent key must be Ed25519 (the same key signs batches)")]
    KeyType,
    /// A client certificate lacks what ingest needs.
    #[error("client certificate: {0}")]
    ClientCert(String),
    /// Certificate generation failed.
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// Reading or writing key files failed.
    #[error("{0}")]
    Io(String),
}

/// The CA, loaded for signing.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    /// CA certificate, PEM.
    pub ca_pem: String,
    /// CA certificate, DER.
    pub ca_der: Vec<u8>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("ca_sha256", &hex::encode(self.fingerprint()))
            .finish()
    }
}

/// An agent certificate just issued.
#[derive(Debug)]
pub struct IssuedAgent {
    /// Certificate, PEM.
    pub certificate_pem: String,
    /// The agent's raw Ed25519 public key (32 bytes).
    pub public_key: Vec<u8>,
}

/// Who is on the other end of an mTLS connection, from its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAgent {
    /// Agent id from the URI SAN.
    pub agent_id: String,
    /// Raw Ed25519 public key from the certificate.
    pub public_key: Vec<u8>,
}

fn write_secret(path: &Path, text: &str) -> Result<(), PkiError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| PkiError::Io(format!("{}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| PkiError::Io(format!("{}: {e}", path.display())))
}

fn write_public(path: &Path, text: &str) -> Result<(), PkiError> {
    std::fs::write(path, text).map_err(|e| PkiError::Io(format!("{}: {e}", path.display())))
}

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|e| PkiError::Io(format!("{}: {e}", path.display())))
}

/// Create the CA and the server certificate in `dir`. Refuses to overwrite keys.
pub fn create(dir: &Path, extra_sans: &[String]) -> Result<(), PkiError> {
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut ca = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Citadel");
    dn.push(DnType::CommonName, "Citadel collector CA");
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    ca.not_before = now - Duration::hours(1);
    ca.not_after = now + Duration::days(3650);
    let ca_cert = ca.self_signed(&ca_key)?;

    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    names.extend(extra_sans.iter().cloned());
    names.dedup();
    let server_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut server = CertificateParams::new(names)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "Citadel collector");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.not_before = now - Duration::hours(1);
    server.not_after = now + Duration::days(825);
    let issuer = Issuer::new(ca, &ca_key);
    let server_cert = server.signed_by(&server_key, &issuer)?;

    write_secret(&dir.join("ca.key"), &ca_key.serialize_pem())?;
    write_secret(&dir.join("server.key"), &server_key.serialize_pem())?;
    write_public(&dir.join("ca.crt"), &ca_cert.pem())?;
    write_public(&dir.join("server.crt"), &server_cert.pem())?;
    Ok(())
}

impl Authority {
    /// Load the CA from `dir`.
    pub fn load(dir: &Path) -> Result<Self, PkiError> {
        let ca_pem = read(&dir.join("ca.crt"))?;
        let key = KeyPair::from_pem(&read(&dir.join("ca.key"))?)?;
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, key)?;
        let ca_der = pem_der(&ca_pem)
            .ok_or_else(|| PkiError::Io("ca.crt holds no certificate".to_string()))?;
        Ok(Self {
            issuer,
            ca_pem,
            ca_der,
        })
    }

    /// SHA-256 of the CA certificate (DER): what enrollment tokens pin.
    pub fn fingerprint(&self) -> [u8; 32] {
        Sha256::digest(&self.ca_der).into()
    }

    /// Issue a client certificate for the Ed25519 key in `csr_pem`. The CSR's
    /// own subject and extensions are ignored: the collector decides them.
    pub fn issue_agent(
        &self,
        csr_pem: &str,
        agent_id: &str,
        name: &str,
    ) -> Result<IssuedAgent, PkiError> {
        let csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| PkiError::Csr(e.to_string()))?;
        if csr.public_key.algorithm() != &rcgen::PKCS_ED25519 {
            return Err(PkiError::KeyType);
        }
        let public_key = rcgen::PublicKeyData::der_bytes(&csr.public_key).to_vec();
        if public_key.len() != 32 {
            return Err(PkiError::KeyType);
        }
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Citadel agents");
        dn.push(DnType::CommonName, agent_id);
        dn.push(DnType::OrganizationalUnitName, name);
        params.distinguished_name = dn;
        let uri = format!("{AGENT_URI_PREFIX}{agent_id}");
        params.subject_alt_names = vec![SanType::URI(uri.try_into()?)];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::minutes(5);
        params.not_after = now + Duration::days(AGENT_CERT_DAYS);
        let mut serial = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut serial);
        serial[0] &= 0x7f;
        params.serial_number = Some(serial.to_vec().into());
        let cert = params.signed_by(&csr.public_key, &self.issuer)?;
        Ok(IssuedAgent {
            certificate_pem: cert.pem(),
            public_key,
        })
    }
}

/// The first certificate in a PEM text, as DER.
pub fn pem_der(pem: &str) -> Option<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .ok()
        .map(|c| c.to_vec())
}

/// When a PEM certificate expires (Unix ms), if it parses.
pub fn certificate_not_after(pem: &str) -> Option<i64> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use x509_parser::prelude::*;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    let (_, cert) = X509Certificate::from_der(&der).ok()?;
    Some(cert.validity().not_after.timestamp() * 1000)
}

/// Read the agent identity out of a client certificate (already validated
/// against the CA by the TLS layer).
pub fn peer_agent(cert_der: &[u8]) -> Result<PeerAgent, PkiError> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(cert_der)
        .map_err(|e| PkiError::ClientCert(format!("unparseable: {e}")))?;
    let spki = cert.public_key();
    if spki.algorithm.algorithm != x509_parser::oid_registry::OID_SIG_ED25519 {
        return Err(PkiError::ClientCert("key is not Ed25519".into()));
    }
    let public_key = spki.subject_public_key.data.to_vec();
    let san = cert
        .subject_alternative_name()
        .map_err(|e| PkiError::ClientCert(format!("bad subjectAltName: {e}")))?
        .ok_or_else(|| PkiError::ClientCert("no subjectAltName".into()))?;
    let agent_id = san
        .value
        .general_names
        .iter()
        .find_map(|n| match n {
            GeneralName::URI(uri) => uri.strip_prefix(AGENT_URI_PREFIX),
            _ => None,
        })
        .ok_or_else(|| PkiError::ClientCert("no agent id URI in subjectAltName".into()))?;
    Ok(PeerAgent {
        agent_id: agent_id.to_string(),
        public_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr_for(key: &KeyPair) -> String {
        let params = CertificateParams::new(vec![]).unwrap();
        params.serialize_request(key).unwrap().pem().unwrap()
    }

    #[test]
    fn issues_agent_certificates_readable_at_ingest() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), &["collector.example".into()]).unwrap();
        let ca = Authority::load(dir.path()).unwrap();
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let issued = ca.issue_agent(&csr_for(&key), "agt-1", "host-a").unwrap();
        assert_eq!(issued.public_key, key.public_key_raw());
        let peer = peer_agent(&pem_der(&issued.certificate_pem).unwrap()).unwrap();
        assert_eq!(
            peer,
            PeerAgent {
                agent_id: "agt-1".into(),
                public_key: issued.public_key
            }
        );
        // Keys are not overwritten by a second init.
        assert!(create(dir.path(), &[]).is_err());
    }

    #[test]
    fn refuses_non_ed25519_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), &[]).unwrap();
        let ca = Authority::load(dir.path()).unwrap();
        let p256 = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        assert!(matches!(
            ca.issue_agent(&csr_for(&p256), "agt-1", "h"),
            Err(PkiError::KeyType)
        ));
        assert!(matches!(
            ca.issue_agent("not a csr", "agt-1", "h"),
            Err(PkiError::Csr(_))
        ));
    }
}
