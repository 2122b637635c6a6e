#!/usr/bin/env python3
"""Give a parity agent a local signing identity, without a collector.

Usage: identity.py STATE_DIR

`citadel-agent scan` loads the identity that `enroll` leaves in the state
directory (agent.key, agent.crt, ca.crt, identity.json; see agent/src/identity.rs)
even with --no-push, because every batch is signed. The parity run never pushes,
so instead of starting a collector just to enroll, this writes a fresh Ed25519
key and a self-signed certificate for it in the same layout. The scan then does
its real work: discovery, every check, signing and spooling.
"""

import datetime
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[2])
    state = sys.argv[1]
    os.makedirs(state, exist_ok=True)

    key = Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "citadel-parity-agent")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, None)  # Ed25519 signs without a separate hash
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)

    # The agent insists on a private key only its owner can read.
    fd = os.open(os.path.join(state, "agent.key"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    for fname in ("agent.crt", "ca.crt"):
        with open(os.path.join(state, fname), "wb") as f:
            f.write(cert_pem)
    with open(os.path.join(state, "identity.json"), "w") as f:
        # Nothing listens on port 9: a push by mistake fails instead of leaking.
        json.dump({"agent_id": "agt-parity", "tenant": "parity", "ingest_url": "https://127.0.0.1:9"}, f)


if __name__ == "__main__":
    main()
