//! `citadel-collector bench`: ingest throughput on synthetic signed batches,
//! end to end through the pipeline (COSE verify, CBOR decode, validation,
//! storage, mapping), without the network in between.

use std::collections::BTreeMap;
use std::time::Instant;

use citadel_wire::{Asset, Batch, CheckInfo, CheckResult, Integration, Severity, Status};
use ed25519_dalek::SigningKey;

use crate::catalog::Catalog;
use crate::ingest;
use crate::pki::PeerAgent;
use crate::store::{IngestOutcome, Store};

/// A synthetic complete scan: `assets` volumes × `checks` checks.
pub fn synthetic_batch(agent_id: &str, seq: u64, assets: usize, checks: usize) -> Batch {
    let frameworks = [
        ("soc2", vec!["cc_6_1", "cc_6_6", "cc_7_2", "pi_1_5"]),
        ("iso27001_2022", vec!["A.8.9", "A.8.20", "A.8.24", "A.5.15"]),
        ("pci_4.0", vec!["1.2.8.17", "3.5.1.20", "8.3.2.34"]),
    ];
    let check_infos: Vec<CheckInfo> = (0..checks)
        .map(|i| {
            let mut requirements = BTreeMap::new();
            for (fw, ids) in &frameworks {
                requirements.insert(fw.to_string(), vec![ids[i % ids.len()].to_string()]);
            }
            CheckInfo {
                id: format!("bench_check_{i:03}"),
                plugin: "bench".into(),
                title: format!("Benchmark check {i}"),
                description: "Synthetic.".into(),
                severity: Severity::Medium,
                service: "ec2".into(),
                resource_type: "AwsEc2Volume".into(),
                remediation: "None.".into(),
                requirements,
            }
        })
        .collect();
    let asset_list: Vec<Asset> = (0..assets)
        .map(|n| {
            let id = format!("vol-{n:017x}");
            Asset {
                source: "aws".into(),
                source_id: format!("arn:aws:ec2:us-east-1:123456789012:volume/{id}"),
                raw: format!(
                    r#"{{"VolumeId":"{id}","Encrypted":{},"Size":8}}"#,
                    n % 2 == 0
                ),
                id,
                kind: "ec2:volume".into(),
                name: None,
                region: "us-east-1".into(),
                account: "123456789012".into(),
                tags: BTreeMap::new(),
            }
        })
        .collect();
    let mut results = Vec::with_capacity(assets * checks);
    for (ci, c) in check_infos.iter().enumerate() {
        for (ai, a) in asset_list.iter().enumerate() {
            let pass = !(ai + ci + seq as usize).is_multiple_of(3);
            results.push(CheckResult {
                check_id: c.id.clone(),
                asset: a.source_id.clone(),
                status: if pass { Status::Pass } else { Status::Fail },
                status_extended: format!("Volume {} checked by {}.", a.id, c.id),
                severity: Severity::Medium,
                observed_at: 1_767_225_600_000 + seq as i64,
            });
        }
    }
    Batch {
        version: citadel_wire::FORMAT_VERSION,
        batch_id: uuid::Uuid::now_v7(),
        agent_id: agent_id.into(),
        agent_version: None,
        seq,
        prev: None,
        scan_id: uuid::Uuid::now_v7(),
        part: 0,
        parts: 1,
        integration: Integration {
            name: "bench".into(),
            provider: "aws".into(),
            account: "123456789012".into(),
            regions: vec!["us-east-1".into()],
        },
        started_at: 1_767_225_600_000,
        finished_at: 1_767_225_660_000,
        complete: true,
        complete_lists: Vec::new(),
        plugins: Vec::new(),
        checks: check_infos,
        assets: asset_list,
        relationships: Vec::new(),
        results,
        incidents: Vec::new(),
    }
}

/// Enroll an agent signing with `key` in tenant `tenant` (created if
/// needed), as enrollment would but without the network or a certificate:
/// returns the tenant id and the identity ingest checks batches against.
pub async fn enroll(
    store: &Store,
    tenant: &str,
    key: &SigningKey,
) -> anyhow::Result<(i64, PeerAgent)> {
    let (tenant_id, _) = store.ensure_tenant(tenant).await?;
    let secret = format!("{:x}", uuid::Uuid::now_v7().as_u128());
    store.insert_token(tenant_id, &secret, i64::MAX, 1).await?;
    let agent_id = format!("agt-bench-{}", uuid::Uuid::now_v7());
    let public_key = key.verifying_key().as_bytes().to_vec();
    let pk = public_key.clone();
    store
        .enroll_agent(&secret, &agent_id, "bench", || {
            Ok::<_, std::convert::Infallible>(("-".to_string(), pk))
        })
        .await?
        .map_err(|_| anyhow::anyhow!("bench enrollment failed"))?;
    Ok((
        tenant_id,
        PeerAgent {
            agent_id,
            public_key,
        },
    ))
}

/// Run the benchmark against the database at `url` (a fresh one).
pub async fn run(url: &str, sizes: &[(usize, usize)]) -> anyhow::Result<()> {
    let store = Store::open(url).await?;
    let catalog = Catalog::bundled()?;
    store.import_catalog(&catalog, "bundled", &[]).await?;
    let key = SigningKey::from_bytes(&[42; 32]);
    println!(
        "Ingest benchmark on {:?} (verify + decode + validate + store + map)",
        store.backend()
    );
    for (n, &(assets, checks)) in sizes.iter().enumerate() {
        let tenant = format!("bench-{n}-{}", uuid::Uuid::now_v7().simple());
        let (_, peer) = enroll(&store, &tenant, &key).await?;
        let agent_id = peer.agent_id.clone();
        let mut prev = None;
        for (label, seq) in [("first scan", 1u64), ("rescan", 2u64)] {
            let mut batch = synthetic_batch(&agent_id, seq, assets, checks);
            batch.prev = prev.take();
            let results = batch.results.len();
            let bytes = axum::body::Bytes::from(citadel_wire::sign(&batch, &key)?);
            prev = Some(citadel_wire::sha256_hex(&bytes));
            drop(batch);
            let started = Instant::now();
            // The benchmark measures sizes past the default per-part limits.
            let unbounded = ingest::PartLimits {
                max_assets: usize::MAX,
                max_results: usize::MAX,
            };
            let (_, outcome) =
                ingest::ingest(&store, &catalog, &peer, bytes.clone(), &unbounded).await?;
            let took = started.elapsed().as_secs_f64();
            let IngestOutcome::Accepted(summary) = outcome else {
                anyhow::bail!("batch not accepted")
            };
            // The collector checkpoints in the background after each commit;
            // here that finishes before the next batch starts, and is shown
            // on its own rather than inside the next batch's time.
            let checkpoint = Instant::now();
            store.checkpoint().await?;
            let checkpoint = checkpoint.elapsed().as_secs_f64();
            println!(
                "  {assets:>6} assets × {checks:>3} checks = {results:>8} results, {label:<10} {:>8.2} s  {:>9.0} results/s  ({:.2} µs/result, {} MiB signed, {} controls, {} evidence revisions; then {:.2} s of checkpoint)",
                took,
                results as f64 / took,
                took * 1e6 / results as f64,
                bytes.len() >> 20,
                summary.controls,
                summary.evidence_revisions,
                checkpoint,
            );
        }
    }
    store.close().await;
    Ok(())
}
