//! The chain and the parts of a scan, through the real ingest pipeline on
//! both databases.

use citadel_wire::{Batch, InventoryList};
use sqlx::Row;

use super::ChainRefusal;
use crate::ingest::IngestError;
use crate::store::testing::{Fixture, on_both_databases};
use crate::store::{IngestOutcome, StoreError};

on_both_databases!(
    replays_and_forks_are_refused_and_gaps_recorded,
    assets_go_inactive_once_every_part_arrived,
    only_complete_lists_deactivate,
);

async fn batches(fx: &Fixture) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM batches")
        .fetch_one(fx.store().pool())
        .await
        .unwrap()
        .get(0)
}

fn refusal(r: Result<IngestOutcome, IngestError>) -> ChainRefusal {
    match r {
        Err(IngestError::Store(StoreError::Chain(c))) => c,
        other => panic!("expected a chain refusal, got {other:?}"),
    }
}

async fn replays_and_forks_are_refused_and_gaps_recorded(mut fx: Fixture) {
    let b1 = fx.batch(1);
    fx.push(&b1).await.unwrap();
    let b2 = fx.batch(1);
    let h1 = b2.prev.clone();
    assert!(h1.is_some(), "the fixture chains its batches");
    fx.push(&b2).await.unwrap();
    assert_eq!(batches(&fx).await, 2);

    // The same batch again: an idempotent duplicate.
    assert!(matches!(
        fx.push(&b2).await.unwrap(),
        IngestOutcome::Duplicate(_)
    ));
    // The same id with other bytes.
    let mut changed = b2.clone();
    changed.finished_at += 1;
    let e = fx.push(&changed).await.unwrap_err();
    assert_eq!((e.http_status(), e.code()), (409, "batch_conflict"));

    // An old number under a new batch id.
    let mut replay = fx.batch(1);
    replay.seq = 1;
    let e = fx.push(&replay).await.unwrap_err();
    assert_eq!((e.http_status(), e.code()), (409, "chain_replay"));
    assert_eq!(refusal(Err(e)), ChainRefusal::Replay { seq: 1, head: 2 });
    // Another batch 2 on the same parent: a fork.
    let mut fork = fx.batch(1);
    fork.seq = 2;
    fork.prev = h1.clone();
    let e = fx.push(&fork).await.unwrap_err();
    assert_eq!((e.http_status(), e.code()), (409, "chain_fork"));
    // The next number naming another parent than the head.
    let mut fork = fx.batch(1);
    fork.seq = 3;
    fork.prev = h1;
    assert_eq!(fx.push(&fork).await.unwrap_err().code(), "chain_fork");
    let mut fork = fx.batch(1);
    fork.seq = 3;
    fork.prev = None;
    assert_eq!(fx.push(&fork).await.unwrap_err().code(), "chain_fork");
    assert_eq!(batches(&fx).await, 2, "refusals store nothing");

    // Numbers 3 and 4 never arrive: accepted, and the gap is kept.
    let mut after_gap = fx.batch(1);
    after_gap.seq = 5;
    after_gap.prev = Some("00".repeat(32));
    fx.push(&after_gap).await.unwrap();
    let mut next = fx.batch(1);
    next.seq = 6;
    fx.push(&next).await.unwrap();
    let gaps = fx.store().chain_gaps(&fx.peer.agent_id).await.unwrap();
    assert_eq!((gaps.count, gaps.missing, gaps.last), (1, 2, Some([3, 4])));
    let agents = fx.store().agents(&fx.admin()).await.unwrap();
    assert_eq!(
        (
            agents[0].last_seq,
            agents[0].chain_gaps,
            agents[0].missing_batches
        ),
        (Some(6), 1, 2)
    );
    // A batch from inside the gap, late: a replay.
    let mut late = fx.batch(1);
    late.seq = 4;
    assert_eq!(fx.push(&late).await.unwrap_err().code(), "chain_replay");
    assert_eq!(batches(&fx).await, 4);
    // The head's hash is the stored batch's.
    let head: String = sqlx::query("SELECT last_sha256 FROM agents WHERE id = $1")
        .bind(&fx.peer.agent_id)
        .fetch_one(fx.store().pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        head,
        citadel_wire::sha256_hex(&citadel_wire::sign(&next, &fx.key).unwrap())
    );
}

async fn active(fx: &Fixture) -> Vec<(String, bool)> {
    sqlx::query(
        "SELECT external_id, CASE WHEN is_active THEN 1 ELSE 0 END FROM assets ORDER BY external_id",
    )
    .fetch_all(fx.store().pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get::<i64, _>(1) == 1))
    .collect()
}

/// `batch` split into `parts` parts of its scan, assets and results dealt
/// out by asset, the first part holding the checks.
fn split(batch: &Batch, parts: u32) -> Vec<Batch> {
    (0..parts)
        .map(|p| {
            let mut b = batch.clone();
            b.batch_id = uuid::Uuid::now_v7();
            b.part = p;
            b.parts = parts;
            b.complete = false;
            b.assets = batch
                .assets
                .iter()
                .enumerate()
                .filter(|(n, _)| *n as u32 % parts == p)
                .map(|(_, a)| a.clone())
                .collect();
            let ids: Vec<&str> = b.assets.iter().map(|a| a.source_id.as_str()).collect();
            b.results.retain(|r| ids.contains(&r.asset.as_str()));
            b
        })
        .collect()
}

async fn assets_go_inactive_once_every_part_arrived(mut fx: Fixture) {
    fx.scan(4).await;
    // The rescan sees volumes 0–2 only, in three parts that arrive 2, 0, 1.
    let mut rescan = fx.batch(3);
    rescan.complete_lists = vec![InventoryList {
        kind: "ec2:volume".into(),
        region: "us-east-1".into(),
    }];
    let parts = split(&rescan, 3);
    let mut summaries = Vec::new();
    for (seq, n) in (rescan.seq..).zip([2, 0, 1]) {
        let mut part = parts[n].clone();
        part.seq = seq;
        part.prev = fx.prev();
        match fx.push(&part).await.unwrap() {
            IngestOutcome::Accepted(s) => summaries.push(s.assets_deactivated),
            other => panic!("{other:?}"),
        }
        if summaries.len() < 3 {
            let now = active(&fx).await;
            assert!(now.iter().all(|(_, a)| *a), "after {n}: {now:?}");
        }
    }
    assert_eq!(summaries, [0, 0, 1]);
    assert_eq!(
        active(&fx).await,
        [
            ("vol-000".into(), true),
            ("vol-001".into(), true),
            ("vol-002".into(), true),
            ("vol-003".into(), false),
        ]
    );
}

async fn only_complete_lists_deactivate(mut fx: Fixture) {
    // Volumes in two regions and an instance; the rescan sees none of
    // them, but only the us-east-1 volume list was read in full.
    let mut first = fx.batch(3);
    first.assets[1].region = "eu-west-1".into();
    first.assets[2].kind = "ec2:instance".into();
    fx.push(&first).await.unwrap();
    let mut rescan = fx.batch(1);
    rescan.assets[0].source_id = "arn:aws:ec2:us-east-1:123456789012:volume/vol-new".into();
    rescan.assets[0].id = "vol-new".into();
    for r in &mut rescan.results {
        r.asset = rescan.assets[0].source_id.clone();
    }
    rescan.complete = false;
    rescan.complete_lists = vec![InventoryList {
        kind: "ec2:volume".into(),
        region: "us-east-1".into(),
    }];
    let IngestOutcome::Accepted(s) = fx.push(&rescan).await.unwrap() else {
        panic!("not accepted")
    };
    assert_eq!(s.assets_deactivated, 1);
    assert_eq!(
        active(&fx).await,
        [
            ("vol-000".into(), false),
            ("vol-001".into(), true),
            ("vol-002".into(), true),
            ("vol-new".into(), true),
        ]
    );
    // A batch with no list and not complete deactivates nothing.
    let mut partial = fx.batch(1);
    partial.complete = false;
    let IngestOutcome::Accepted(s) = fx.push(&partial).await.unwrap() else {
        panic!("not accepted")
    };
    assert_eq!(s.assets_deactivated, 0);
}
