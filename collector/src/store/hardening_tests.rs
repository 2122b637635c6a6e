//! Enrollment token use counts under concurrency, and which agent may write
//! an asset, on both databases.

use std::convert::Infallible;

use axum::body::Bytes;
use ed25519_dalek::SigningKey;
use sqlx::Row;

use super::EnrollFailure;
use super::testing::{Fixture, catalog, on_both_databases};
use crate::ingest::{self, IngestError};
use crate::pki::PeerAgent;
use crate::store::{StoreError, TokenProblem};

async fn agents(f: &Fixture) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM agents")
        .fetch_one(&f.store().pool)
        .await
        .unwrap()
        .get(0)
}

/// `n` enrollments with `hash` at once; how many got through.
async fn enroll_concurrently(f: &Fixture, hash: &str, n: usize) -> usize {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = f.store().clone();
            let hash = hash.to_string();
            tokio::spawn(async move {
                let id = format!("agt-race-{hash}-{i}");
                store
                    .enroll_agent(&hash, &id, "racer", || {
                        Ok::<_, Infallible>(("-".to_string(), vec![i as u8; 32]))
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(EnrollFailure::Token(TokenProblem::Used)) => {}
            Err(other) => panic!("unexpected refusal: {other:?}"),
        }
    }
    ok
}

async fn tokens_are_redeemed_at_most_their_use_count(f: Fixture) {
    let before = agents(&f).await;
    f.store()
        .insert_token(f.tenant_id, "once", i64::MAX, 1)
        .await
        .unwrap();
    assert_eq!(enroll_concurrently(&f, "once", 6).await, 1);
    assert_eq!(agents(&f).await, before + 1);

    f.store()
        .insert_token(f.tenant_id, "thrice", i64::MAX, 3)
        .await
        .unwrap();
    assert_eq!(enroll_concurrently(&f, "thrice", 6).await, 3);
    assert_eq!(agents(&f).await, before + 4);
    let (uses, max): (i64, i64) = {
        let r = sqlx::query("SELECT uses, max_uses FROM enrollment_tokens WHERE token_hash = $1")
            .bind("thrice")
            .fetch_one(&f.store().pool)
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((uses, max), (3, 3));
}

/// A second agent of the same tenant, enrolled with its own token.
async fn second_agent(f: &Fixture) -> (SigningKey, PeerAgent) {
    let key = SigningKey::from_bytes(&[8; 32]);
    let public_key = key.verifying_key().as_bytes().to_vec();
    f.store()
        .insert_token(f.tenant_id, "second", i64::MAX, 1)
        .await
        .unwrap();
    let pk = public_key.clone();
    f.store()
        .enroll_agent("second", "agt-second", "other-host", || {
            Ok::<_, Infallible>(("-".to_string(), pk))
        })
        .await
        .unwrap()
        .map_err(|_| "enrollment failed")
        .unwrap();
    (
        key,
        PeerAgent {
            agent_id: "agt-second".into(),
            public_key,
        },
    )
}

async fn count(f: &Fixture, table: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&f.store().pool)
        .await
        .unwrap()
        .get(0)
}

async fn agents_write_only_their_own_assets(mut f: Fixture) {
    f.scan(2).await;
    let (key, peer) = second_agent(&f).await;
    let mut theirs = f.batch(2);
    theirs.agent_id = peer.agent_id.clone();
    theirs.integration.name = "other".into();
    theirs.batch_id = uuid::Uuid::now_v7();
    let bytes = Bytes::from(citadel_wire::sign(&theirs, &key).unwrap());
    let tables = ["batches", "assets", "check_results", "integrations"];
    let mut before = Vec::new();
    for t in tables {
        before.push(count(&f, t).await);
    }
    let status_before: Vec<String> = sqlx::query("SELECT status FROM check_results ORDER BY id")
        .fetch_all(&f.store().pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let err = ingest::ingest(
        f.store(),
        catalog(),
        &peer,
        bytes.clone(),
        &Default::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, IngestError::Store(StoreError::NotOwner(_))),
        "{err}"
    );
    assert_eq!((err.http_status(), err.code()), (409, "not_owner"));
    for (t, n) in tables.iter().zip(&before) {
        assert_eq!(count(&f, t).await, *n, "{t}");
    }
    let status_after: Vec<String> = sqlx::query("SELECT status FROM check_results ORDER BY id")
        .fetch_all(&f.store().pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(status_before, status_after);

    // Once the first agent is revoked, the second takes its assets over.
    assert!(f.store().revoke_agent(&f.peer.agent_id).await.unwrap());
    assert_eq!(
        f.store().revoked_agent_ids().await.unwrap(),
        vec![f.peer.agent_id.clone()]
    );
    ingest::ingest(f.store(), catalog(), &peer, bytes, &Default::default())
        .await
        .unwrap();
    let owner: String = sqlx::query(
        "SELECT i.agent_id FROM assets a JOIN integrations i ON i.id = a.integration_id
         ORDER BY a.id LIMIT 1",
    )
    .fetch_one(&f.store().pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(owner, "agt-second");
}

on_both_databases!(
    tokens_are_redeemed_at_most_their_use_count,
    agents_write_only_their_own_assets
);
