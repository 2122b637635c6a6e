//! Hostile requests against a real collector over real mTLS: broken and
//! oversized COSE, CBOR bombs, wrong media types, huge headers, slow
//! clients, forged and misused signatures, revoked agents and enrollment
//! token abuse. Each is refused with a 4xx and a machine-readable code (or,
//! for what no HTTP reply can answer, the connection is cut), nothing is
//! stored, and the collector keeps serving: a valid batch is accepted last.
//!
//! The collector runs with small limits (`[limits]` in collector.toml) so
//! that the size, time and rate refusals are reached quickly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use citadel_agent::identity::Identity;
use citadel_e2e::{Agent, Backend, Collector, TestDb};
use citadel_wire::Batch;
use coset::{CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
use ed25519_dalek::{Signer, SigningKey};
use sqlx::Row;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Limits the collector under test runs with.
const MAX_BATCH_BYTES: usize = 256 << 10;
const MAX_ITEMS: usize = 20;
const HEADER_TIMEOUT_SECS: u64 = 2;
const BODY_TIMEOUT_SECS: u64 = 3;
const AGENT_BURST: u32 = 100;
const ENROLLMENTS_PER_MINUTE: u32 = 30;

/// Tables a refused request must leave alone.
const TABLES: [&str; 8] = [
    "batches",
    "batch_payloads",
    "assets",
    "asset_relationships",
    "check_results",
    "integrations",
    "security_checks",
    "agents",
];

struct World {
    collector: Collector,
    pool: sqlx::AnyPool,
    /// The agent that sends most hostile batches.
    a: Identity,
    /// An agent for the rate limit, so that its bucket is its own.
    b: Identity,
    /// An agent that gets revoked.
    c: Identity,
    _db: TestDb,
    _work: tempfile::TempDir,
}

fn set(config: &str, key: &str, value: &str) -> String {
    let mut found = false;
    let out: Vec<String> = config
        .lines()
        .map(|l| {
            if l.split('=').next().map(str::trim) == Some(key) {
                found = true;
                format!("{key} = {value}")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(found, "{key} not in collector.toml:\n{config}");
    out.join("\n") + "\n"
}

async fn world() -> World {
    let work = tempfile::tempdir().unwrap();
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let mut collector = Collector::init(&work.path().join("collector"), &db.url).unwrap();
    let path = collector.dir.join("collector.toml");
    let mut config = std::fs::read_to_string(&path).unwrap();
    for (k, v) in [
        ("max_batch_bytes", MAX_BATCH_BYTES.to_string()),
        ("revocation_refresh_secs", "1".into()),
        ("header_timeout_secs", HEADER_TIMEOUT_SECS.to_string()),
        ("ingest_body_timeout_secs", BODY_TIMEOUT_SECS.to_string()),
        ("api_request_timeout_secs", "5".into()),
        ("max_header_bytes", "16384".into()),
        ("agent_batches_per_minute", "60".into()),
        ("agent_batch_burst", AGENT_BURST.to_string()),
        ("enrollments_per_minute", ENROLLMENTS_PER_MINUTE.to_string()),
        ("max_assets_per_part", MAX_ITEMS.to_string()),
        ("max_results_per_part", MAX_ITEMS.to_string()),
    ] {
        config = set(&config, k, &v);
    }
    std::fs::write(&path, config).unwrap();
    collector.start().unwrap();
    let out = citadel_e2e::run_ok(collector.command().unwrap().args([
        "token", "create", "--json", "--tenant", "acme", "--uses", "3",
    ]))
    .unwrap();
    let token: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let agent = Agent::new(
            &work.path().join(name),
            "http://127.0.0.1:9",
            &["us-east-1"],
        )
        .unwrap();
        let out = agent.enroll(&collector.api_url(), &token).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ids.push(Identity::load(&work.path().join(name).join("state")).unwrap());
    }
    let pool = collector.pool().await.unwrap();
    let c = ids.pop().unwrap();
    let b = ids.pop().unwrap();
    let a = ids.pop().unwrap();
    World {
        collector,
        pool,
        a,
        b,
        c,
        _db: db,
        _work: work,
    }
}

async fn counts(pool: &sqlx::AnyPool) -> Vec<i64> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push(
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t}")))
                .fetch_one(pool)
                .await
                .unwrap()
                .get::<i64, _>(0),
        );
    }
    out
}

fn batch_for(id: &Identity) -> Batch {
    let mut b = Batch::example();
    b.agent_id = id.info.agent_id.clone();
    b.batch_id = uuid::Uuid::now_v7();
    b
}

fn signed(b: &Batch, id: &Identity) -> Vec<u8> {
    citadel_wire::sign(b, &id.key).unwrap()
}

/// A COSE_Sign1 over any payload, with any header values, signed by `key`.
fn cose(payload: Vec<u8>, kid: &str, key: &SigningKey, alg: iana::Algorithm, ct: &str) -> Vec<u8> {
    let protected = HeaderBuilder::new()
        .algorithm(alg)
        .content_type(ct.to_string())
        .key_id(kid.as_bytes().to_vec())
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(b"", |tbs| key.sign(tbs).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .unwrap()
}

/// A batch-shaped COSE over `payload`, signed by the agent.
fn cose_over(payload: Vec<u8>, id: &Identity) -> Vec<u8> {
    cose(
        payload,
        &id.info.agent_id,
        &id.key,
        iana::Algorithm::EdDSA,
        citadel_wire::CONTENT_TYPE,
    )
}

fn cbor(v: &ciborium::Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).unwrap();
    out
}

/// The example batch as a CBOR map value, to be altered.
fn batch_value(id: &Identity) -> ciborium::Value {
    ciborium::from_reader(&signed_payload(&batch_for(id))[..]).unwrap()
}

fn signed_payload(b: &Batch) -> Vec<u8> {
    citadel_wire::to_canonical_vec(b).unwrap()
}

fn map_set(v: &mut ciborium::Value, key: &str, value: ciborium::Value) {
    let ciborium::Value::Map(m) = v else {
        panic!("not a map")
    };
    match m.iter_mut().find(|(k, _)| k.as_text() == Some(key)) {
        Some((_, old)) => *old = value,
        None => m.push((ciborium::Value::Text(key.into()), value)),
    }
}

struct Reply {
    status: u16,
    json: serde_json::Value,
    headers: reqwest::header::HeaderMap,
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: impl Into<reqwest::Body>,
    content_type: Option<&str>,
) -> Reply {
    let mut req = client.post(url).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    Reply {
        status,
        json: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        headers,
    }
}

/// A refusal: the status, a code, a message that does not echo the request.
fn refused(kind: &str, r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{kind}: {}", r.json);
    assert_eq!(r.json["code"], code, "{kind}: {}", r.json);
    let message = r.json["error"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{kind}: no message: {}", r.json);
    assert!(message.chars().count() <= 301, "{kind}: long message");
}

/// A client config with `id`'s certificate (or none), trusting the collector.
fn tls_config(id: &Identity, with_cert: bool, alpn: &[u8]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(id.ca_der.clone()))
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = if with_cert {
        builder
            .with_client_auth_cert(
                vec![rustls::pki_types::CertificateDer::from(id.cert_der.clone())],
                rustls::pki_types::PrivateKeyDer::Pkcs8(
                    rustls::pki_types::PrivatePkcs8KeyDer::from(id.key_pkcs8_der.clone()),
                ),
            )
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    config
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A raw HTTP/1.1-over-mTLS connection to the ingest listener.
async fn raw(w: &World, id: &Identity) -> std::io::Result<Tls> {
    let tcp = tokio::net::TcpStream::connect(w.collector.ingest).await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config(id, true, b"http/1.1")));
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    // TLS 1.3: the server judges the client certificate after the client
    // thinks the handshake is done; a refusal arrives with the first read.
    tls.flush().await?;
    Ok(tls)
}

/// Read until the server closes or `limit` passes; what arrived.
async fn read_all(tls: &mut Tls, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, tls.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&out).into(), false),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn http_status(text: &str) -> Option<u16> {
    text.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_are_refused_and_the_collector_keeps_serving() {
    let w = world().await;
    let a = &w.a;
    let client = citadel_agent::tls::mtls_client(a).unwrap();
    let url = format!("{}/v1/batches", w.collector.ingest_url());
    let before = counts(&w.pool).await;
    let mut kinds = 0;
    let cose_ct = Some("application/cose; cose-type=\"cose-sign1\"");

    // ---- Envelopes: truncated, oversized, bombs, nesting.
    let good = signed(&batch_for(a), a);
    let ingest_cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("empty body", Vec::new(), 400, "bad_envelope"),
        ("not CBOR", b"not cbor at all".to_vec(), 400, "bad_envelope"),
        (
            "COSE truncated to half",
            good[..good.len() / 2].to_vec(),
            400,
            "bad_envelope",
        ),
        (
            "COSE short by one byte",
            good[..good.len() - 1].to_vec(),
            400,
            "bad_envelope",
        ),
        (
            "COSE with trailing bytes",
            [good.clone(), vec![0]].concat(),
            400,
            "bad_envelope",
        ),
        (
            "byte-string length bomb (2^62 bytes claimed)",
            [
                vec![0xd2, 0x84, 0x5b],
                (1u64 << 62).to_be_bytes().to_vec(),
                vec![0],
            ]
            .concat(),
            400,
            "bad_envelope",
        ),
        (
            "array length bomb (2^63 items claimed)",
            [vec![0xd2, 0x9b], (1u64 << 63).to_be_bytes().to_vec()].concat(),
            400,
            "bad_envelope",
        ),
        (
            "map length bomb in the unprotected header",
            [
                vec![0xd2, 0x84, 0x40, 0xbb],
                u64::MAX.to_be_bytes().to_vec(),
            ]
            .concat(),
            400,
            "bad_envelope",
        ),
        (
            "100,000 nested arrays",
            [vec![0x81; 100_000], vec![0x00]].concat(),
            400,
            "bad_envelope",
        ),
        (
            "COSE_Sign (tag 98) instead of COSE_Sign1",
            {
                let mut b = good.clone();
                b[0] = 0xd8;
                b.insert(1, 98);
                b
            },
            400,
            "bad_envelope",
        ),
        (
            "algorithm ES256 instead of EdDSA",
            cose(
                signed_payload(&batch_for(a)),
                &a.info.agent_id,
                &a.key,
                iana::Algorithm::ES256,
                citadel_wire::CONTENT_TYPE,
            ),
            400,
            "bad_envelope",
        ),
        (
            "wrong COSE content type",
            cose(
                signed_payload(&batch_for(a)),
                &a.info.agent_id,
                &a.key,
                iana::Algorithm::EdDSA,
                "application/json",
            ),
            400,
            "bad_envelope",
        ),
        (
            "empty kid",
            cose(
                signed_payload(&batch_for(a)),
                "",
                &a.key,
                iana::Algorithm::EdDSA,
                citadel_wire::CONTENT_TYPE,
            ),
            400,
            "bad_envelope",
        ),
        (
            "detached payload",
            {
                let mut s = coset::CoseSign1::from_tagged_slice(&good).unwrap();
                s.payload = None;
                s.to_tagged_vec().unwrap()
            },
            400,
            "bad_envelope",
        ),
        // ---- Signatures.
        (
            "signed by a stranger's key",
            citadel_wire::sign(&batch_for(a), &SigningKey::from_bytes(&[9; 32])).unwrap(),
            403,
            "bad_signature",
        ),
        (
            "signature bit flipped",
            {
                let mut b = good.clone();
                let n = b.len();
                b[n - 1] ^= 1;
                b
            },
            403,
            "bad_signature",
        ),
        (
            "payload byte flipped",
            {
                let mut s = coset::CoseSign1::from_tagged_slice(&good).unwrap();
                if let Some(p) = s.payload.as_mut() {
                    let n = p.len();
                    p[n / 2] ^= 0x20;
                }
                s.to_tagged_vec().unwrap()
            },
            403,
            "bad_signature",
        ),
        (
            "signed as another agent (kid of agent b)",
            {
                let mut b = batch_for(a);
                b.agent_id = w.b.info.agent_id.clone();
                citadel_wire::sign(&b, &a.key).unwrap()
            },
            403,
            "kid_mismatch",
        ),
        (
            "kid and payload agent differ",
            cose(
                signed_payload(&batch_for(&w.b)),
                &a.info.agent_id,
                &a.key,
                iana::Algorithm::EdDSA,
                citadel_wire::CONTENT_TYPE,
            ),
            400,
            "kid_mismatch",
        ),
        // ---- Valid signatures over invalid payloads.
        (
            "signed garbage payload",
            cose_over(b"\xff\xfe garbage".to_vec(), a),
            400,
            "malformed",
        ),
        (
            "signed integer payload",
            cose_over(cbor(&ciborium::Value::Integer(7.into())), a),
            400,
            "malformed",
        ),
        (
            "signed payload nested 10,000 deep",
            cose_over([vec![0x81; 10_000], vec![0]].concat(), a),
            400,
            "malformed",
        ),
        (
            "signed payload with a float",
            {
                let mut v = batch_value(a);
                map_set(&mut v, "seq", ciborium::Value::Float(1.5));
                cose_over(cbor(&v), a)
            },
            400,
            "malformed",
        ),
        (
            "signed payload with a length bomb inside",
            cose_over(
                [
                    vec![0xa1, 0x67],
                    b"results".to_vec(),
                    vec![0x9b],
                    (1u64 << 60).to_be_bytes().to_vec(),
                ]
                .concat(),
                a,
            ),
            400,
            "malformed",
        ),
        (
            "signed payload in non-canonical order",
            {
                let mut v = batch_value(a);
                if let ciborium::Value::Map(m) = &mut v {
                    m.reverse();
                }
                cose_over(cbor(&v), a)
            },
            400,
            "malformed",
        ),
        (
            "signed payload of an unsupported version",
            {
                let mut b = batch_for(a);
                b.version = 99;
                signed(&b, a)
            },
            400,
            "unsupported_version",
        ),
        (
            "result for an asset not in the batch",
            {
                let mut b = batch_for(a);
                b.results[0].asset = "arn:aws:ec2:us-east-1:1:instance/i-missing".into();
                signed(&b, a)
            },
            400,
            "invalid_batch",
        ),
        (
            "result for an undeclared check",
            {
                let mut b = batch_for(a);
                b.results[0].check_id = "no_such_check".into();
                signed(&b, a)
            },
            400,
            "invalid_batch",
        ),
        (
            "an asset twice",
            {
                let mut b = batch_for(a);
                b.assets.push(b.assets[0].clone());
                signed(&b, a)
            },
            400,
            "invalid_batch",
        ),
        (
            "two results for one check and asset",
            {
                let mut b = batch_for(a);
                b.results.push(b.results[0].clone());
                signed(&b, a)
            },
            400,
            "invalid_batch",
        ),
        (
            "part out of range",
            {
                let mut b = batch_for(a);
                b.part = 3;
                b.parts = 2;
                signed(&b, a)
            },
            400,
            "invalid_batch",
        ),
        (
            "agent version with an escape sequence",
            {
                let mut b = batch_for(a);
                b.agent_version = Some("1.0\u{1b}[31m".into());
                signed(&b, a)
            },
            400,
            "invalid_batch",
        ),
        (
            "integration name of 10,000 characters",
            {
                let mut b = batch_for(a);
                b.integration.name = "n".repeat(10_000);
                signed(&b, a)
            },
            400,
            "invalid_batch",
        ),
        (
            "asset id of 100,000 characters",
            {
                let mut b = batch_for(a);
                b.assets[0].source_id = "x".repeat(100_000);
                signed(&b, a)
            },
            400,
            "invalid_batch",
        ),
        (
            "more assets than a part may hold",
            {
                let mut b = batch_for(a);
                let first = b.assets[0].clone();
                for n in 0..MAX_ITEMS {
                    let mut x = first.clone();
                    x.source_id = format!("{}-{n}", first.source_id);
                    b.assets.push(x);
                }
                signed(&b, a)
            },
            413,
            "too_many_items",
        ),
        (
            "more results than a part may hold",
            {
                // 11 assets (within the limit) × 2 checks = 22 results (over it).
                let mut b = batch_for(a);
                let (asset, result) = (b.assets[0].clone(), b.results[0].clone());
                let mut second = b.checks[0].clone();
                second.id = "second_check".into();
                b.checks.push(second);
                b.assets.clear();
                b.results.clear();
                for n in 0..=MAX_ITEMS / 2 {
                    let mut x = asset.clone();
                    x.source_id = format!("{}-{n}", asset.source_id);
                    for check in [&b.checks[0].id, &b.checks[1].id] {
                        let mut r = result.clone();
                        r.asset = x.source_id.clone();
                        r.check_id = check.clone();
                        b.results.push(r);
                    }
                    b.assets.push(x);
                }
                signed(&b, a)
            },
            413,
            "too_many_items",
        ),
        (
            "oversized COSE (declared length)",
            vec![0u8; MAX_BATCH_BYTES + 1],
            413,
            "too_large",
        ),
    ];
    for (kind, body, status, code) in ingest_cases {
        let r = post(&client, &url, body, cose_ct).await;
        refused(kind, &r, status, code);
        kinds += 1;
    }

    // Oversized without a declared length: chunks past the limit.
    let mut tls = raw(&w, a).await.unwrap();
    let _ = tls
        .write_all(b"POST /v1/batches HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n")
        .await;
    let chunk = [
        format!("{:x}\r\n", 16 << 10).into_bytes(),
        vec![b'z'; 16 << 10],
        b"\r\n".to_vec(),
    ]
    .concat();
    for _ in 0..(MAX_BATCH_BYTES / (16 << 10) + 4) {
        if tls.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let (text, _) = read_all(&mut tls, Duration::from_secs(10)).await;
    assert_eq!(
        http_status(&text),
        Some(413),
        "oversized chunked body: {text}"
    );
    assert!(
        text.contains("\"too_large\""),
        "oversized chunked body: {text}"
    );
    kinds += 1;

    // ---- Media types, routes, methods.
    for (kind, ct) in [
        ("JSON content type", "application/json"),
        ("text content type", "text/plain"),
        ("multipart content type", "multipart/form-data; boundary=x"),
    ] {
        let r = post(&client, &url, good.clone(), Some(ct)).await;
        refused(kind, &r, 415, "unsupported_media_type");
        kinds += 1;
    }
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["code"], "method_not_allowed");
    kinds += 1;
    let r = post(
        &client,
        &format!("{}/v1/../admin", w.collector.ingest_url()),
        good.clone(),
        None,
    )
    .await;
    refused("unknown route", &r, 404, "not_found");
    kinds += 1;

    // ---- Huge headers: refused by the HTTP layer (431), before routing.
    let r = client
        .post(&url)
        .header("x-filler", "a".repeat(64 << 10))
        .body(good.clone())
        .send()
        .await;
    match r {
        Ok(r) => assert!(
            (400..500).contains(&r.status().as_u16()),
            "huge header: {}",
            r.status()
        ),
        Err(e) => assert!(!e.is_timeout(), "huge header: {e}"),
    }
    kinds += 1;
    let mut tls = raw(&w, a).await.unwrap();
    let mut head = String::from("POST /v1/batches HTTP/1.1\r\nhost: x\r\n");
    for n in 0..300 {
        head.push_str(&format!("x-h{n}: {}\r\n", "b".repeat(100)));
    }
    head.push_str("content-length: 0\r\n\r\n");
    let _ = tls.write_all(head.as_bytes()).await;
    let (text, closed) = read_all(&mut tls, Duration::from_secs(10)).await;
    assert!(closed, "many headers: connection left open");
    if let Some(s) = http_status(&text) {
        assert!((400..500).contains(&s), "many headers: {text}");
    }
    kinds += 1;

    // ---- Slow clients.
    // Headers that never finish: the connection is cut after the header timeout.
    let mut tls = raw(&w, a).await.unwrap();
    tls.write_all(b"POST /v1/batches HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (_, closed) = read_all(&mut tls, Duration::from_secs(HEADER_TIMEOUT_SECS * 5)).await;
    assert!(closed, "slow headers: the connection was not cut");
    println!("slow headers cut after {:?}", started.elapsed());
    kinds += 1;
    // A body that stops halfway: 408 with a code after the body timeout.
    let mut tls = raw(&w, a).await.unwrap();
    tls.write_all(
        b"POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/cose\r\ncontent-length: 1000\r\n\r\n0123456789",
    )
    .await
    .unwrap();
    let (text, _) = read_all(&mut tls, Duration::from_secs(BODY_TIMEOUT_SECS * 5)).await;
    assert_eq!(http_status(&text), Some(408), "slow body: {text}");
    assert!(text.contains("\"request_timeout\""), "slow body: {text}");
    kinds += 1;
    // A body cut short by the client: 400 with a code.
    let mut tls = raw(&w, a).await.unwrap();
    tls.write_all(
        b"POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n0123456789",
    )
    .await
    .unwrap();
    let _ = tls.shutdown().await;
    let (text, _) = read_all(&mut tls, Duration::from_secs(10)).await;
    if let Some(s) = http_status(&text) {
        assert_eq!(s, 400, "cut body: {text}");
        assert!(text.contains("\"body_incomplete\""), "cut body: {text}");
    }
    kinds += 1;

    // ---- Identity at the handshake.
    // No client certificate.
    let anonymous = reqwest::Client::builder()
        .use_preconfigured_tls(tls_config(a, false, b"h2"))
        .build()
        .unwrap();
    assert!(
        anonymous
            .post(&url)
            .body(good.clone())
            .send()
            .await
            .is_err()
    );
    kinds += 1;
    // A revoked agent: its next handshake fails (the verifier refreshes the
    // revoked set from the database within a second here).
    let c_client = citadel_agent::tls::mtls_client(&w.c).unwrap();
    let mut own = batch_for(&w.c);
    own.assets[0].source_id.push_str("-c");
    own.results[0].asset.push_str("-c");
    let r = post(&c_client, &url, signed(&own, &w.c), cose_ct).await;
    assert_eq!(r.status, 200, "agent c before revocation: {}", r.json);
    citadel_e2e::run_ok(w.collector.command().unwrap().args([
        "agent",
        "revoke",
        &w.c.info.agent_id,
    ]))
    .unwrap();
    let after_c = counts(&w.pool).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let fresh = citadel_agent::tls::mtls_client(&w.c).unwrap();
        match fresh
            .get(format!("{}/healthz", w.collector.ingest_url()))
            .send()
            .await
        {
            Err(_) => break,
            Ok(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Ok(r) => panic!(
                "revoked agent still completes the handshake: {}",
                r.status()
            ),
        }
    }
    let mut tls = raw(&w, &w.c).await;
    if let Ok(t) = tls.as_mut() {
        let _ = t
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await;
        let (text, closed) = read_all(t, Duration::from_secs(5)).await;
        assert!(
            closed && text.is_empty(),
            "revoked agent got a reply: {text}"
        );
    }
    assert!(
        w.collector
            .log()
            .contains("Handshake of a revoked agent refused."),
        "no log of the refused handshake"
    );
    kinds += 1;

    // ---- Replays and conflicts.
    let first = signed(&batch_for(a), a);
    let r = post(&client, &url, first.clone(), cose_ct).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["status"], "accepted");
    let accepted = counts(&w.pool).await;
    let r = post(&client, &url, first.clone(), cose_ct).await;
    assert_eq!(r.json["status"], "duplicate", "exact replay: {}", r.json);
    assert_eq!(counts(&w.pool).await, accepted, "a replay stored something");
    kinds += 1;
    let mut changed = batch_for(a);
    changed.batch_id = citadel_wire::SignedBatch::parse(&first)
        .unwrap()
        .verify(&a.key.verifying_key())
        .unwrap()
        .batch_id;
    changed.results[0].status = citadel_wire::Status::Pass;
    let r = post(&client, &url, signed(&changed, a), cose_ct).await;
    refused(
        "batch id reused for other content",
        &r,
        409,
        "batch_conflict",
    );
    kinds += 1;
    // Agent b writing agent a's assets.
    let b_client = citadel_agent::tls::mtls_client(&w.b).unwrap();
    let r = post(&b_client, &url, signed(&batch_for(&w.b), &w.b), cose_ct).await;
    refused("another agent's assets", &r, 409, "not_owner");
    kinds += 1;
    assert_eq!(counts(&w.pool).await, accepted, "refusals stored something");

    // ---- Rate limit: agent b's burst, then 429 with Retry-After.
    let mut limited = None;
    for _ in 0..(AGENT_BURST * 3) {
        let r = post(&b_client, &url, b"x".to_vec(), cose_ct).await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        refused("junk from agent b", &r, 400, "bad_envelope");
    }
    let r = limited.expect("agent b was never rate limited");
    refused("rate limit", &r, 429, "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    // Agent a is not limited by agent b's traffic.
    let r = post(
        &client,
        &format!("{}/healthz", w.collector.ingest_url()),
        Vec::new(),
        None,
    )
    .await;
    assert_eq!(r.status, 405);
    kinds += 1;

    // ---- Enrollment token abuse on the API listener.
    kinds += enrollment_abuse(&w).await;

    // Nothing refused was stored: only the two accepted batches (c's, a's)
    // and the two agents enrolled on purpose above.
    let mut expected = accepted.clone();
    expected[7] += 2;
    assert_eq!(counts(&w.pool).await, expected);
    assert_eq!(before[0] + 2, accepted[0]);
    assert_eq!(after_c[0] + 1, accepted[0]);

    // ---- Still serving: a valid batch, the next in a's chain, is accepted.
    let mut last = batch_for(a);
    last.seq += 1;
    last.prev = Some(citadel_wire::sha256_hex(&first));
    let r = post(&client, &url, signed(&last, a), cose_ct).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["status"], "accepted");
    println!("{kinds} kinds of hostile request refused");
    assert!(kinds >= 40, "only {kinds} kinds");
}

async fn enrollment_abuse(w: &World) -> usize {
    let api = reqwest::Client::builder()
        .use_preconfigured_tls(tls_config(&w.a, false, b"h2"))
        .build()
        .unwrap();
    let url = format!("{}/v1/enroll", w.collector.api_url());
    let agents_before = counts(&w.pool).await[7];
    let fp = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&w.a.ca_der));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let csr = rcgen::CertificateParams::new(vec![])
        .unwrap()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap();
    let fresh = w.collector.token("acme").unwrap();
    let used = w.collector.token("acme").unwrap();
    let ok = post(
        &api,
        &url,
        serde_json::json!({"token": used, "csr_pem": csr, "hostname": "h"}).to_string(),
        Some("application/json"),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    let expired = w.collector.token("acme").unwrap();
    let revoked = w.collector.token("acme").unwrap();
    for (tok, col) in [(&expired, "expires_at = 0"), (&revoked, "revoked_at = 1")] {
        let secret = tok.rsplit('_').next().unwrap();
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret.as_bytes()));
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE enrollment_tokens SET {col} WHERE token_hash = $1"
        )))
        .bind(hash)
        .execute(&w.pool)
        .await
        .unwrap();
    }
    let body = |token: &str, csr: &str, host: &str| {
        serde_json::json!({"token": token, "csr_pem": csr, "hostname": host}).to_string()
    };
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "malformed token",
            body("nope", &csr, "h"),
            400,
            "malformed_token",
        ),
        (
            "token of another collector",
            body(&format!("ctk1_{}_abc", "00".repeat(32)), &csr, "h"),
            403,
            "foreign_token",
        ),
        (
            "unknown token secret",
            body(&format!("ctk1_{fp}_{}", "ab".repeat(24)), &csr, "h"),
            403,
            "token_unknown",
        ),
        ("used token", body(&used, &csr, "h"), 403, "token_used"),
        (
            "expired token",
            body(&expired, &csr, "h"),
            403,
            "token_expired",
        ),
        (
            "revoked token",
            body(&revoked, &csr, "h"),
            403,
            "token_revoked",
        ),
        (
            "garbage CSR",
            body(
                &fresh,
                "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                "h",
            ),
            400,
            "bad_csr",
        ),
        (
            "hostname with control characters",
            body(&fresh, &csr, "h\u{1b}[2J"),
            400,
            "invalid_hostname",
        ),
        (
            "hostname of 1,000 characters",
            body(&fresh, &csr, &"h".repeat(1000)),
            400,
            "invalid_hostname",
        ),
        (
            "unknown field",
            serde_json::json!({"token": fresh, "csr_pem": csr, "hostname": "h", "admin": true})
                .to_string(),
            400,
            "malformed",
        ),
        ("not JSON", "{{{{".into(), 400, "malformed"),
        (
            "body over 64 KiB",
            body(&fresh, &"A".repeat(70 << 10), "h"),
            413,
            "too_large",
        ),
    ];
    let mut kinds = 0;
    for (kind, b, status, code) in cases {
        let r = post(&api, &url, b, Some("application/json")).await;
        refused(kind, &r, status, code);
        kinds += 1;
    }
    // The fresh token survived all of that, and is single-use under a race.
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let api = api.clone();
            let (url, b) = (url.clone(), body(&fresh, &csr, "racer"));
            tokio::spawn(async move { post(&api, &url, b, Some("application/json")).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for r in racers {
        statuses.push(r.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 403, 403, 403], "single-use token raced");
    kinds += 1;
    assert_eq!(counts(&w.pool).await[7], agents_before + 2);
    // Flooding enrollment from one address ends in 429.
    let mut limited = None;
    for _ in 0..(ENROLLMENTS_PER_MINUTE * 2) {
        let r = post(
            &api,
            &url,
            body("nope", &csr, "h"),
            Some("application/json"),
        )
        .await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("enrollment was never rate limited");
    refused("enrollment flood", &r, 429, "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
    kinds += 1;
    kinds
}
