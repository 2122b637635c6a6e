//! Hostile components against the real plugin host: each attack is contained,
//! reported as an error with a clear reason, and leaves other packs' results
//! unchanged. Uses the `citadel-test-hostile` fixture pack and the shipped
//! ec2-network pack, both built for wasm32-wasip2 by `./x test`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use citadel_agent::plugin_host::{
    HostOptions, HostResource, InventoryView, LimitOverrides, Limits, PluginError, PluginHost,
    Publisher, TrustError, trust,
};
use citadel_e2e::{PACK_FILE, plugins_build_dir};
use ed25519_dalek::SigningKey;

const HOSTILE_FILE: &str = "citadel_test_hostile.wasm";

fn resource(kind: &str, id: &str, document: serde_json::Value) -> HostResource {
    let ty = kind.split_once(':').unwrap().1;
    HostResource {
        uid: format!("arn:aws:ec2:us-east-1:123456789012:{ty}/{id}"),
        id: id.into(),
        kind: kind.into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        name: None,
        tags: Vec::new(),
        document: document.to_string(),
    }
}

fn inventory(config: &[(&str, &str)]) -> Arc<InventoryView> {
    let resources = vec![
        resource("ec2:vpc", "vpc-1", serde_json::json!({"VpcId": "vpc-1"})),
        resource(
            "ec2:volume",
            "vol-plain",
            serde_json::json!({"VolumeId": "vol-plain", "Encrypted": false}),
        ),
        resource(
            "ec2:volume",
            "vol-secret",
            serde_json::json!({"VolumeId": "vol-secret", "Encrypted": true}),
        ),
        resource(
            "ec2:instance",
            "i-1",
            serde_json::json!({"InstanceId": "i-1", "State": {"Name": "running"}, "PublicIpAddress": "54.1.2.3"}),
        ),
    ];
    let config = config
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(InventoryView::from_resources(resources, config))
}

/// A plugins directory holding copies of the named built components.
fn plugins_dir(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let src = plugins_build_dir().join(f);
        assert!(
            src.exists(),
            "{} missing: run ./x test (it builds the wasm fixtures)",
            src.display()
        );
        std::fs::copy(&src, dir.path().join(f)).unwrap();
    }
    dir
}

/// The check id both the hostile pack and the ec2-network pack declare.
const CLAIMED: &str = "ec2_ebs_volume_encryption";

/// The ec2-network pack owns the check both packs declare.
fn owners(pack: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(CLAIMED.to_string(), pack.to_string())])
}

fn host(dir: &Path, limits: Limits) -> PluginHost {
    host_with(
        dir,
        HostOptions {
            default_limits: limits,
            ..Default::default()
        },
    )
}

fn host_with(dir: &Path, options: HostOptions) -> PluginHost {
    let mut host = PluginHost::new(HostOptions {
        allow_unsigned: true,
        cache_dir: Some(dir.join("cache")),
        owners: owners("citadel-pack-ec2-network"),
        ..options
    })
    .unwrap();
    let failures = host.load_dir(dir).unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    host
}

fn quick() -> Limits {
    LimitOverrides {
        timeout_ms: Some(300),
        ..Default::default()
    }
    .apply(Limits::default())
    .unwrap()
}

/// Evaluate one hostile check, then prove the ec2-network pack in the same
/// host still gives its normal verdicts.
fn attack(check_id: &str, limits: Limits, config: &[(&str, &str)]) -> (PluginError, Duration) {
    let dir = plugins_dir(&[HOSTILE_FILE, PACK_FILE]);
    let host = host(dir.path(), limits);
    let view = inventory(config);
    let hostile = host
        .plugins()
        .iter()
        .find(|p| p.name == "citadel-test-hostile")
        .unwrap();
    let check = hostile.checks.iter().find(|c| c.id == check_id).unwrap();
    let started = Instant::now();
    let err = host
        .evaluate(hostile, check, &view)
        .expect_err("the attack must fail");
    let took = started.elapsed();

    let good = host
        .plugins()
        .iter()
        .find(|p| p.name == "citadel-pack-ec2-network")
        .unwrap();
    let ebs = good
        .checks
        .iter()
        .find(|c| c.id == "ec2_ebs_volume_encryption")
        .unwrap();
    let mut verdicts: Vec<(String, String)> = host
        .evaluate(good, ebs, &view)
        .unwrap()
        .into_iter()
        .map(|f| (f.resource_uid, format!("{:?}", f.status)))
        .collect();
    verdicts.sort();
    assert_eq!(
        verdicts,
        vec![
            (
                "arn:aws:ec2:us-east-1:123456789012:volume/vol-plain".into(),
                "Fail".into()
            ),
            (
                "arn:aws:ec2:us-east-1:123456789012:volume/vol-secret".into(),
                "Pass".into()
            ),
        ]
    );
    // The hostile pack's well-behaved check still works after the attack.
    let fine = hostile
        .checks
        .iter()
        .find(|c| c.id == "well_behaved")
        .unwrap();
    assert_eq!(host.evaluate(hostile, fine, &view).unwrap().len(), 1);
    (err, took)
}

#[test]
fn infinite_loop_is_stopped_at_the_deadline() {
    let (err, took) = attack("hostile_loop", quick(), &[]);
    assert!(
        matches!(err, PluginError::Timeout(d) if d == Duration::from_millis(300)),
        "{err}"
    );
    assert!(err.to_string().starts_with("timeout"), "{err}");
    assert!(took < Duration::from_secs(5), "stopped after {took:?}");
}

#[test]
fn fuel_budget_stops_busy_work_deterministically() {
    let limits = LimitOverrides {
        fuel: Some(5_000_000),
        timeout_ms: Some(60_000),
        ..Default::default()
    }
    .apply(Limits::default())
    .unwrap();
    let (err, _) = attack("hostile_loop", limits, &[]);
    assert!(matches!(err, PluginError::Fuel(5_000_000)), "{err}");
}

#[test]
fn memory_bomb_is_capped() {
    let (err, _) = attack("hostile_memory", quick(), &[]);
    assert!(matches!(err, PluginError::OutOfMemory(64)), "{err}");
    assert!(err.to_string().starts_with("memory"), "{err}");
}

#[test]
fn deep_recursion_is_a_trap_not_a_crash() {
    let (err, _) = attack("hostile_recursion", quick(), &[]);
    assert!(err.to_string().contains("stack overflow"), "{err}");
}

#[test]
fn panic_is_a_trap_with_its_message() {
    let (err, _) = attack("hostile_panic", quick(), &[]);
    let text = err.to_string();
    assert!(text.starts_with("trap:"), "{text}");
    assert!(
        text.contains("the hostile pack panics on purpose"),
        "{text}"
    );
}

#[test]
fn giant_output_is_rejected() {
    let (err, _) = attack("hostile_giant_output", quick(), &[]);
    assert!(matches!(err, PluginError::Output(_)), "{err}");
    let limits = LimitOverrides {
        max_findings: Some(1000),
        timeout_ms: Some(5000),
        ..Default::default()
    }
    .apply(Limits::default())
    .unwrap();
    let (err, _) = attack("hostile_many_findings", limits, &[]);
    assert!(
        err.to_string().contains("exceed the limit of 1000"),
        "{err}"
    );
}

#[test]
fn findings_about_unseen_resources_are_rejected() {
    let (err, _) = attack("hostile_foreign_resource", quick(), &[]);
    assert!(err.to_string().contains("unknown resource"), "{err}");
}

#[test]
fn no_filesystem() {
    let (err, _) = attack("hostile_file", quick(), &[]);
    let text = err.to_string();
    assert!(text.contains("cannot read /etc/passwd"), "{text}");
    assert!(!text.contains("root:"), "{text}");
}

#[test]
fn no_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let (err, _) = attack("hostile_socket", quick(), &[("hostile_port", &port)]);
    assert!(err.to_string().contains("cannot connect"), "{err}");
    assert!(listener.accept().is_err(), "the plugin reached a socket");
}

#[test]
fn no_environment_or_arguments() {
    // SAFETY of the test: the variable is set in this process only; the plugin must not see it.
    let dir = plugins_dir(&[HOSTILE_FILE]);
    let host = host(dir.path(), quick());
    let view = inventory(&[]);
    let plugin = &host.plugins()[0];
    let check = plugin
        .checks
        .iter()
        .find(|c| c.id == "hostile_env")
        .unwrap();
    let findings = host.evaluate(plugin, check, &view).unwrap();
    assert_eq!(findings[0].status_extended, "env=[] args=[]");
}

#[test]
fn wrong_world_and_garbage_are_refused_and_others_still_load() {
    let dir = plugins_dir(&[PACK_FILE]);
    std::fs::write(dir.path().join("a-empty-component.wasm"), "(component)").unwrap();
    std::fs::write(
        dir.path().join("b-core-module.wasm"),
        "(module (func (export \"evaluate\")))",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("c-garbage.wasm"),
        b"\0asm\x0d\0\x01\0garbage",
    )
    .unwrap();
    let mut host = PluginHost::new(HostOptions {
        allow_unsigned: true,
        ..Default::default()
    })
    .unwrap();
    let failures = host.load_dir(dir.path()).unwrap();
    assert_eq!(failures.len(), 3, "{failures:?}");
    for f in &failures {
        assert!(matches!(f.error, PluginError::Load { .. }), "{}", f.error);
    }
    assert_eq!(host.plugins().len(), 1);
    assert_eq!(host.plugins()[0].name, "citadel-pack-ec2-network");
}

fn signed_dir(key: &SigningKey) -> (tempfile::TempDir, PathBuf) {
    let dir = plugins_dir(&[PACK_FILE]);
    let path = dir.path().join(PACK_FILE);
    let sig = trust::sign(&std::fs::read(&path).unwrap(), key, "acme");
    std::fs::write(trust::sig_path(&path), serde_json::to_string(&sig).unwrap()).unwrap();
    (dir, path)
}

fn strict(key: &SigningKey) -> PluginHost {
    PluginHost::new(HostOptions {
        trusted: vec![Publisher {
            name: "acme".into(),
            key: key.verifying_key(),
        }],
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn signed_plugins_load_with_provenance() {
    let key = SigningKey::from_bytes(&[5; 32]);
    let (_dir, path) = signed_dir(&key);
    let mut host = strict(&key);
    let plugin = host.load(&path).unwrap();
    let signer = plugin.signer.as_ref().unwrap();
    assert_eq!(signer.publisher, "acme");
    assert_eq!(signer.key, trust::key_id(&key.verifying_key()));
    assert_eq!(
        plugin.sha256,
        citadel_wire::sha256_hex(&std::fs::read(&path).unwrap())
    );
}

#[test]
fn one_changed_byte_is_refused() {
    let key = SigningKey::from_bytes(&[5; 32]);
    let (_dir, path) = signed_dir(&key);
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let err = strict(&key).load(&path).expect_err("refused");
    assert!(
        matches!(
            err,
            PluginError::Untrusted {
                error: TrustError::DigestMismatch { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn unsigned_and_untrusted_plugins_are_refused_unless_allowed() {
    let dir = plugins_dir(&[PACK_FILE]);
    let path = dir.path().join(PACK_FILE);
    let key = SigningKey::from_bytes(&[5; 32]);
    let err = strict(&key).load(&path).expect_err("unsigned is refused");
    assert!(
        matches!(
            err,
            PluginError::Untrusted {
                error: TrustError::Unsigned(_),
                ..
            }
        ),
        "{err}"
    );

    let stranger = SigningKey::from_bytes(&[6; 32]);
    let (_dir2, signed) = signed_dir(&stranger);
    let err = strict(&key)
        .load(&signed)
        .expect_err("untrusted is refused");
    assert!(
        matches!(
            err,
            PluginError::Untrusted {
                error: TrustError::Untrusted(_),
                ..
            }
        ),
        "{err}"
    );

    // Development mode loads unsigned packs, but never a pack whose signature is bad.
    let mut dev = PluginHost::new(HostOptions {
        allow_unsigned: true,
        ..Default::default()
    })
    .unwrap();
    assert!(dev.load(&path).unwrap().signer.is_none());
    let mut dev = PluginHost::new(HostOptions {
        allow_unsigned: true,
        ..Default::default()
    })
    .unwrap();
    assert!(dev.load(&signed).is_err());
}

#[test]
fn compiled_cache_is_reused_and_tampering_is_ignored() {
    let dir = plugins_dir(&[PACK_FILE]);
    let cache = dir.path().join("cache");
    let options = HostOptions {
        allow_unsigned: true,
        cache_dir: Some(cache.clone()),
        ..Default::default()
    };
    let view = inventory(&[]);
    let run = |host: &mut PluginHost| {
        host.load(&dir.path().join(PACK_FILE)).unwrap();
        let p = &host.plugins()[0];
        let c = p
            .checks
            .iter()
            .find(|c| c.id == "ec2_instance_public_ip")
            .unwrap();
        host.evaluate(p, c, &view).unwrap().len()
    };
    assert_eq!(run(&mut PluginHost::new(options.clone()).unwrap()), 1);
    let artifacts: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(artifacts.len(), 1);
    let key_mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(cache.join("cache.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(key_mode, 0o600);

    // Same host directory again: loads from the cache and behaves the same.
    assert_eq!(run(&mut PluginHost::new(options.clone()).unwrap()), 1);

    // An artifact modified on disk is ignored (recompiled), not executed.
    let mut bytes = std::fs::read(&artifacts[0]).unwrap();
    let n = bytes.len() / 3;
    bytes[n] ^= 0xff;
    std::fs::write(&artifacts[0], &bytes).unwrap();
    assert_eq!(run(&mut PluginHost::new(options.clone()).unwrap()), 1);
    assert_ne!(
        std::fs::read(&artifacts[0]).unwrap(),
        bytes,
        "the cache was rewritten"
    );
}

#[test]
fn pack_limits_are_resolved_by_name() {
    let dir = plugins_dir(&[HOSTILE_FILE, PACK_FILE]);
    let mut pack_limits = BTreeMap::new();
    pack_limits.insert("citadel-test-hostile".to_string(), quick());
    let mut host = PluginHost::new(HostOptions {
        allow_unsigned: true,
        pack_limits,
        owners: owners("citadel-pack-ec2-network"),
        ..Default::default()
    })
    .unwrap();
    assert!(host.load_dir(dir.path()).unwrap().is_empty());
    let by_name: BTreeMap<&str, Limits> = host
        .plugins()
        .iter()
        .map(|p| (p.name.as_str(), p.limits))
        .collect();
    assert_eq!(
        by_name["citadel-test-hostile"].timeout,
        Duration::from_millis(300)
    );
    assert_eq!(by_name["citadel-pack-ec2-network"], Limits::default());
}

/// A pack newer than the agent: a check that reads a kind this agent cannot
/// discover is not run (its verdicts would rest on data never fetched); each
/// scanned region gets an `error` result naming the kind, and the other checks
/// of the pack still run.
#[test]
fn check_reading_an_undiscoverable_kind_gets_an_error_per_region() {
    use citadel_agent::discovery::{Inventory, Resource};
    let dir = plugins_dir(&[HOSTILE_FILE]);
    let mut host = host(dir.path(), quick());
    let inventory = Inventory {
        account: "123456789012".into(),
        resources: vec![Resource {
            uid: "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1".into(),
            id: "vpc-1".into(),
            kind: "ec2:vpc",
            region: "us-east-1".into(),
            account: "123456789012".into(),
            name: None,
            tags: BTreeMap::new(),
            document: serde_json::json!({"VpcId": "vpc-1"}).to_string(),
        }],
        relationships: Vec::new(),
        errors: Vec::new(),
        complete_lists: Default::default(),
    };
    let regions = ["us-east-1".to_string(), "eu-west-1".to_string()];
    // Only the two quick checks: the others attack the sandbox on purpose.
    host.retain_checks(|id| id == "hostile_future_kind" || id == "well_behaved");
    let (results, _, errors) =
        citadel_agent::scan::evaluate_all(&host, &inventory, BTreeMap::new(), &regions);

    let future: Vec<_> = results
        .iter()
        .filter(|r| r.check_id == "hostile_future_kind")
        .collect();
    let uids: Vec<&str> = future.iter().map(|r| r.asset.as_str()).collect();
    assert_eq!(
        uids,
        [
            "arn:aws:ec2:eu-west-1:123456789012:account",
            "arn:aws:ec2:us-east-1:123456789012:account"
        ],
        "{future:?}"
    );
    for r in &future {
        assert_eq!(r.status, citadel_wire::Status::Error);
        assert!(
            r.status_extended
                .contains("cannot discover ec2:quantum-widget"),
            "{}",
            r.status_extended
        );
    }
    assert!(
        errors
            .iter()
            .any(|e| e.contains("hostile_future_kind") && e.contains("upgrade the agent")),
        "{errors:?}"
    );
    let fine: Vec<_> = results
        .iter()
        .filter(|r| r.check_id == "well_behaved")
        .collect();
    assert_eq!(fine.len(), 1, "{results:?}");
    assert_eq!(fine[0].status, citadel_wire::Status::Pass);
}

/// A plugin blocked in a host call (`std::thread::sleep` is a WASI
/// monotonic-clock poll) is stopped at its deadline, not after 30 s.
#[test]
fn sleeping_in_a_host_call_is_stopped_at_the_deadline() {
    let (err, took) = attack("hostile_sleep", quick(), &[]);
    println!("hostile_sleep (30 s) under a 300 ms limit stopped after {took:?}");
    assert!(
        matches!(err, PluginError::Timeout(d) if d == Duration::from_millis(300)),
        "{err}"
    );
    assert!(took < Duration::from_secs(10), "stopped after {took:?}");
}

/// Output is bounded in host memory before it is copied: a pack whose
/// findings together exceed `max_output_mib` is refused, with no findings kept.
#[test]
fn output_over_the_host_memory_budget_is_refused_before_copying() {
    let limits = LimitOverrides {
        max_output_mib: Some(1),
        timeout_ms: Some(5000),
        ..Default::default()
    }
    .apply(Limits::default())
    .unwrap();
    // 200 000 findings: far under max_findings, far over 1 MiB once copied.
    let (err, _) = attack("hostile_many_findings", limits, &[]);
    assert!(matches!(err, PluginError::Output(_)), "{err}");
    assert!(
        err.to_string()
            .contains("output larger than the limit of 1048576 bytes"),
        "{err}"
    );
    // A single string over max_text_bytes is refused by its length, uncopied.
    let (err, _) = attack("hostile_giant_output", quick(), &[]);
    assert!(err.to_string().contains("longer than the limit"), "{err}");
}

/// 20 000 log lines of 1 MiB each: the host keeps a bounded prefix of a
/// bounded number of them and copies nothing past the limits, so the check
/// finishes well within a deadline that copying 20 GB would blow.
#[test]
fn log_floods_are_bounded_without_copying() {
    let dir = plugins_dir(&[HOSTILE_FILE]);
    let limits = LimitOverrides {
        timeout_ms: Some(3000),
        ..Default::default()
    }
    .apply(Limits::default())
    .unwrap();
    let host = host(dir.path(), limits);
    let plugin = &host.plugins()[0];
    let check = plugin
        .checks
        .iter()
        .find(|c| c.id == "hostile_log_flood")
        .unwrap();
    let started = Instant::now();
    let findings = host.evaluate(plugin, check, &inventory(&[])).unwrap();
    println!(
        "20 000 × 1 MiB log lines handled in {:?}",
        started.elapsed()
    );
    assert_eq!(findings[0].status_extended, "flooded");
}

fn user_data_inventory() -> Arc<InventoryView> {
    let mut resources = vec![resource(
        "ec2:vpc",
        "vpc-1",
        serde_json::json!({"VpcId": "vpc-1"}),
    )];
    let mut secret = resource(
        "ec2:instance",
        "i-1",
        serde_json::json!({"UserData": "export AWS_SECRET_ACCESS_KEY=hunter2"}),
    );
    secret.kind = "ec2:instance-user-data".into();
    resources.push(secret);
    Arc::new(InventoryView::from_resources(resources, BTreeMap::new()))
}

/// Instance user data may hold secrets: a pack the operator did not list in
/// `read_secrets` never sees it (the check is refused, and the kind is not
/// even discovered for it); a listed pack does.
#[test]
fn user_data_goes_only_to_allowed_packs() {
    let dir = plugins_dir(&[HOSTILE_FILE, PACK_FILE]);
    let view = user_data_inventory();
    let run = |host: &PluginHost| {
        let plugin = host
            .plugins()
            .iter()
            .find(|p| p.name == "citadel-test-hostile")
            .unwrap();
        let check = plugin
            .checks
            .iter()
            .find(|c| c.id == "hostile_user_data")
            .unwrap();
        host.evaluate(plugin, check, &view)
    };

    let denied = host_with(dir.path(), HostOptions::default());
    let err = run(&denied).expect_err("not allowed");
    assert!(matches!(err, PluginError::Denied(_)), "{err}");
    assert!(err.to_string().contains("read_secrets"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(
        !denied.required_kinds().contains("ec2:instance-user-data"),
        "user data would be discovered for a pack that may not read it"
    );

    let allowed = host_with(
        dir.path(),
        HostOptions {
            read_secrets: ["citadel-test-hostile".to_string()].into(),
            ..Default::default()
        },
    );
    let findings = run(&allowed).unwrap();
    assert!(
        findings[0].status_extended.contains("hunter2"),
        "{findings:?}"
    );
    assert!(allowed.required_kinds().contains("ec2:instance-user-data"));
}

fn runner_of(host: &PluginHost, check: &str) -> Vec<String> {
    host.plugins()
        .iter()
        .filter(|p| p.checks.iter().any(|c| c.id == check))
        .map(|p| p.name.clone())
        .collect()
}

/// Two packs declare one check id. Without an owner in the configuration
/// neither runs it (reported, the packs' other checks still load), whatever
/// the file names; with one, that pack runs it, whatever the file names.
#[test]
fn the_configured_owner_runs_a_check_two_packs_declare() {
    // Both load orders: the hostile pack's file sorts first, then last.
    for hostile_file in ["a-hostile.wasm", "z-hostile.wasm"] {
        let dir = plugins_dir(&[PACK_FILE]);
        std::fs::copy(
            plugins_build_dir().join(HOSTILE_FILE),
            dir.path().join(hostile_file),
        )
        .unwrap();
        let load = |owners: BTreeMap<String, String>| {
            let mut host = PluginHost::new(HostOptions {
                allow_unsigned: true,
                owners,
                ..Default::default()
            })
            .unwrap();
            let failures = host.load_dir(dir.path()).unwrap();
            (host, failures)
        };

        let (host, failures) = load(BTreeMap::new());
        assert_eq!(host.plugins().len(), 2, "{hostile_file}: {failures:?}");
        assert!(runner_of(&host, CLAIMED).is_empty(), "{hostile_file}");
        let [failure] = &failures[..] else {
            panic!("{hostile_file}: {failures:?}")
        };
        assert!(
            matches!(&failure.error, PluginError::Contested { check, packs }
                if check == CLAIMED && packs.len() == 2),
            "{}",
            failure.error
        );
        assert!(failure.error.to_string().contains("[plugins] owners"));
        // Every other check of both packs still runs.
        assert!(!runner_of(&host, "ec2_instance_public_ip").is_empty());
        assert!(!runner_of(&host, "well_behaved").is_empty());

        for owner in ["citadel-test-hostile", "citadel-pack-ec2-network"] {
            let (host, failures) = load(owners(owner));
            assert!(failures.is_empty(), "{hostile_file}: {failures:?}");
            assert_eq!(runner_of(&host, CLAIMED), [owner], "{hostile_file}");
            let plugin = host.plugins().iter().find(|p| p.name == owner).unwrap();
            let check = plugin.checks.iter().find(|c| c.id == CLAIMED).unwrap();
            let findings = host.evaluate(plugin, check, &inventory(&[])).unwrap();
            let hostile_claim = findings
                .iter()
                .any(|f| f.status_extended == "the hostile pack's claim");
            assert_eq!(hostile_claim, owner == "citadel-test-hostile");
        }
    }
}
