//! The plugin author's workflow: `citadel-agent plugin new|build|test|keygen|sign|verify|inspect|bench`.
//!
//! Everything here runs the same host as a scan (same sandbox, same checks of
//! the output), so a pack that passes `plugin test` behaves the same in an agent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::discovery;
use crate::plugin_host::{
    HostOptions, HostResource, InventoryView, Limits, PluginHost, Publisher, trust,
};

/// Account used when a fixture gives none (moto's default).
const FIXTURE_ACCOUNT: &str = "123456789012";
/// Region used when a fixture gives none.
const FIXTURE_REGION: &str = "us-east-1";

// ---------------------------------------------------------------- new

/// Where `plugin new` puts its copy of the SDK, inside the new pack.
const SDK_DIR: &str = "citadel-plugin-sdk";

/// The SDK's sources and the ABI, built into the agent so `plugin new` can
/// give a pack a working SDK without any registry: the SDK is not published.
/// (`sdk_sources_are_all_embedded` keeps this list complete.)
const SDK_FILES: &[(&str, &str)] = &[
    ("src/lib.rs", include_str!("../../plugins/sdk/src/lib.rs")),
    ("src/aws.rs", include_str!("../../plugins/sdk/src/aws.rs")),
    (
        "src/aws/ec2.rs",
        include_str!("../../plugins/sdk/src/aws/ec2.rs"),
    ),
    (
        "src/aws/ip.rs",
        include_str!("../../plugins/sdk/src/aws/ip.rs"),
    ),
    (
        "src/aws/routes.rs",
        include_str!("../../plugins/sdk/src/aws/routes.rs"),
    ),
    (
        "src/aws/vpc.rs",
        include_str!("../../plugins/sdk/src/aws/vpc.rs"),
    ),
    (
        "src/guest.rs",
        include_str!("../../plugins/sdk/src/guest.rs"),
    ),
    (
        "src/model.rs",
        include_str!("../../plugins/sdk/src/model.rs"),
    ),
    (
        "src/testing.rs",
        include_str!("../../plugins/sdk/src/testing.rs"),
    ),
    (
        "wit/check-pack.wit",
        include_str!("../../wit/check-pack.wit"),
    ),
];

/// The versions the SDK was built and tested with: a starting `Cargo.lock`
/// for new packs (cargo drops the entries they do not use), so their first
/// build resolves offline from crates already in the local cache.
const LOCKFILE: &str = include_str!("../../Cargo.lock");

/// Write the embedded SDK into `dir`.
fn write_sdk(dir: &Path) -> anyhow::Result<()> {
    for (path, text) in SDK_FILES {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // In the repository the WIT lives two levels up; here, next to the SDK.
        let text = if *path == "src/guest.rs" {
            text.replace("path: \"../../wit\"", "path: \"wit\"")
        } else {
            text.to_string()
        };
        std::fs::write(target, text)?;
    }
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            include_str!("plugin_dev/template/sdk-Cargo.toml.in"),
            version = env!("CARGO_PKG_VERSION")
        ),
    )?;
    Ok(())
}

/// Scaffold a pack crate named `name` in `dir`. Without `sdk_path` the pack
/// gets its own copy of the SDK (in `citadel-plugin-sdk/`, a path dependency).
pub fn new_pack(name: &str, dir: &Path, sdk_path: Option<&Path>) -> anyhow::Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        bail!("pack name {name:?} must be lowercase letters, digits and '-'");
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} already exists and is not empty", dir.display());
    }
    let sdk = match sdk_path {
        Some(p) => {
            let p =
                std::fs::canonicalize(p).with_context(|| format!("SDK path {}", p.display()))?;
            format!("{{ path = {:?} }}", p.display().to_string())
        }
        None => {
            write_sdk(&dir.join(SDK_DIR))?;
            std::fs::write(dir.join("Cargo.lock"), LOCKFILE)?;
            format!("{{ path = {SDK_DIR:?} }}")
        }
    };
    let check_id = format!("{}_volume_has_owner_tag", name.replace('-', "_"));
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::create_dir_all(dir.join("fixtures"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            include_str!("plugin_dev/template/Cargo.toml.in"),
            name = name,
            sdk = sdk
        ),
    )?;
    std::fs::write(
        dir.join("src/lib.rs"),
        include_str!("plugin_dev/template/lib.rs.in").replace("{check_id}", &check_id),
    )?;
    std::fs::write(
        dir.join("fixtures/volumes.json"),
        include_str!("plugin_dev/template/volumes.json.in").replace("{check_id}", &check_id),
    )?;
    std::fs::write(dir.join(".gitignore"), "/target\n*.key\n")?;
    println!("Created pack {name} in {}", dir.display());
    println!("  cargo test                      # unit tests, natively");
    println!("  citadel-agent plugin build      # the component (wasm32-wasip2)");
    println!("  citadel-agent plugin test       # the component against fixtures/*.json");
    Ok(())
}

// ---------------------------------------------------------------- build

/// Build the pack in `dir` as a component; returns its path.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .current_dir(dir)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format",
            "json-render-diagnostics",
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {cargo}"))?;
    if !out.status.success() {
        bail!("cargo build failed (is the target installed? `rustup target add wasm32-wasip2`)");
    }
    let mut wasm = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact" {
            let manifest = msg["manifest_path"].as_str().unwrap_or_default();
            let ours = Path::new(manifest)
                .parent()
                .and_then(|p| std::fs::canonicalize(p).ok())
                == std::fs::canonicalize(dir).ok();
            for f in msg["filenames"].as_array().into_iter().flatten() {
                if let Some(f) = f.as_str().filter(|f| f.ends_with(".wasm") && ours) {
                    wasm = Some(PathBuf::from(f));
                }
            }
        }
    }
    let wasm = wasm.context("cargo produced no .wasm for this crate (is it a cdylib?)")?;
    let bytes = std::fs::read(&wasm)?;
    // A signature left from an earlier build no longer matches: remove it.
    let sig = trust::sig_path(&wasm);
    if let Ok(Some(old)) = trust::read_sig(&wasm)
        && old.sha256 != citadel_wire::sha256_hex(&bytes)
    {
        std::fs::remove_file(&sig)?;
        println!("removed the stale signature {}", sig.display());
    }
    println!(
        "{} ({} bytes, sha256 {})",
        wasm.display(),
        bytes.len(),
        citadel_wire::sha256_hex(&bytes)
    );
    Ok(wasm)
}

// ---------------------------------------------------------------- test

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    resources: Vec<FixtureResource>,
    /// Only compare these checks (default: every check of the pack).
    #[serde(default)]
    checks: Option<Vec<String>>,
    #[serde(default)]
    expect: Vec<Expected>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureResource {
    kind: String,
    id: String,
    uid: Option<String>,
    region: Option<String>,
    account: Option<String>,
    name: Option<String>,
    #[serde(default)]
    tags: Vec<(String, String)>,
    document: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    check_id: String,
    /// Resource uid (ARN) or short id.
    resource: String,
    status: String,
    /// Exact status text, when given.
    status_extended: Option<String>,
}

/// `kind` "ec2:security-group", id "sg-1" → the ARN the agent would build.
fn fixture_arn(kind: &str, region: &str, account: &str, id: &str) -> String {
    let ty = kind.split_once(':').map(|(_, t)| t).unwrap_or(kind);
    format!("arn:aws:ec2:{region}:{account}:{ty}/{id}")
}

fn load_fixture(path: &Path) -> anyhow::Result<(FixtureFile, Vec<HostResource>)> {
    let text = std::fs::read_to_string(path)?;
    let mut f: FixtureFile =
        serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
    let resources = std::mem::take(&mut f.resources)
        .into_iter()
        .map(|r| {
            let region = r.region.unwrap_or_else(|| FIXTURE_REGION.into());
            let account = r.account.unwrap_or_else(|| FIXTURE_ACCOUNT.into());
            HostResource {
                uid: r
                    .uid
                    .unwrap_or_else(|| fixture_arn(&r.kind, &region, &account, &r.id)),
                id: r.id,
                kind: r.kind,
                region,
                account,
                name: r.name,
                tags: r.tags,
                document: r.document.to_string(),
            }
        })
        .collect();
    Ok((f, resources))
}

/// Run `component` against every `fixtures/*.json` under `dir`; returns the
/// number of mismatches (printed).
pub fn test(component: &Path, fixtures: &Path) -> anyhow::Result<usize> {
    let mut host = PluginHost::new(HostOptions::default())?;
    let plugin_index = {
        host.load_unchecked(component)?;
        host.plugins().len() - 1
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures)
        .with_context(|| format!("fixtures directory {}", fixtures.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no fixtures (*.json) in {}", fixtures.display());
    }
    let mut mismatches = 0;
    for file in files {
        let (fixture, resources) = load_fixture(&file)?;
        let by_id: BTreeMap<String, String> = resources
            .iter()
            .map(|r| (r.id.clone(), r.uid.clone()))
            .collect();
        let view = Arc::new(InventoryView::from_resources(
            resources,
            fixture.config.clone(),
        ));
        let plugin = &host.plugins()[plugin_index];
        let mut got = BTreeSet::new();
        let mut texts = BTreeMap::new();
        for check in &plugin.checks {
            if fixture
                .checks
                .as_ref()
                .is_some_and(|c| !c.contains(&check.id))
            {
                continue;
            }
            match host.evaluate(plugin, check, &view) {
                Ok(findings) => {
                    for f in findings {
                        let status = crate::batch::status(f.status).as_str().to_string();
                        texts.insert(
                            (f.check_id.clone(), f.resource_uid.clone()),
                            f.status_extended.clone(),
                        );
                        got.insert((f.check_id, f.resource_uid, status));
                    }
                }
                Err(e) => {
                    got.insert((check.id.clone(), String::new(), format!("error: {e}")));
                }
            }
        }
        let mut want = BTreeSet::new();
        let mut problems = Vec::new();
        for e in &fixture.expect {
            let uid = by_id
                .get(&e.resource)
                .cloned()
                .unwrap_or_else(|| e.resource.clone());
            if let Some(text) = &e.status_extended {
                match texts.get(&(e.check_id.clone(), uid.clone())) {
                    Some(t) if t == text => {}
                    Some(t) => problems.push(format!(
                        "  {} {}: text {t:?}, expected {text:?}",
                        e.check_id, e.resource
                    )),
                    None => {}
                }
            }
            want.insert((e.check_id.clone(), uid, e.status.to_lowercase()));
        }
        for missing in want.difference(&got) {
            problems.push(format!(
                "  missing   {} {} {}",
                missing.0, missing.1, missing.2
            ));
        }
        for extra in got.difference(&want) {
            problems.push(format!("  unexpected {} {} {}", extra.0, extra.1, extra.2));
        }
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        if problems.is_empty() {
            println!("ok    {name} ({} findings)", got.len());
        } else {
            println!("FAIL  {name}");
            for p in &problems {
                println!("{p}");
            }
            mismatches += problems.len();
        }
    }
    Ok(mismatches)
}

// ---------------------------------------------------------------- keys and signatures

/// Create a publisher key pair: `<out>.key` (PKCS#8, 0600) and `<out>.pub`.
pub fn keygen(out: &Path, name: &str) -> anyhow::Result<()> {
    let key_path = out.with_extension("key");
    let pub_path = out.with_extension("pub");
    if key_path.exists() {
        bail!("{} exists; refusing to overwrite a key", key_path.display());
    }
    let (pem, id) = trust::generate_key()?;
    crate::fsutil::write_atomic(&key_path, pem.as_bytes())?;
    std::fs::write(&pub_path, format!("{id}\n"))?;
    println!("Private key: {} (keep it secret)", key_path.display());
    println!("Public key:  {id}");
    println!("\nAgents that should trust this publisher add to agent.toml:\n");
    println!("[[trusted_publisher]]\nname = {name:?}\nkey = \"{id}\"");
    Ok(())
}

/// Sign `component` with the key in `key_path`; writes `<component>.sig`.
pub fn sign(component: &Path, key_path: &Path, publisher: &str) -> anyhow::Result<()> {
    let key = trust::load_key(
        &std::fs::read_to_string(key_path).with_context(|| key_path.display().to_string())?,
    )?;
    let bytes = std::fs::read(component).with_context(|| component.display().to_string())?;
    let sig = trust::sign(&bytes, &key, publisher);
    let path = trust::sig_path(component);
    std::fs::write(&path, serde_json::to_string_pretty(&sig)? + "\n")?;
    println!(
        "Signed {} (sha256 {}) as {publisher} {}",
        component.display(),
        sig.sha256,
        sig.key
    );
    println!("Signature: {}", path.display());
    Ok(())
}

/// Verify `component` against `trusted`; prints the outcome.
pub fn verify(component: &Path, trusted: &[Publisher]) -> anyhow::Result<bool> {
    let bytes = std::fs::read(component).with_context(|| component.display().to_string())?;
    let outcome = match trust::read_sig(component) {
        Ok(Some(sig)) => trust::verify(&bytes, &sig, trusted),
        Ok(None) => Err(trust::TrustError::Unsigned(
            trust::sig_path(component).display().to_string(),
        )),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(signer) => {
            println!(
                "OK: {} is signed by {} ({})",
                component.display(),
                signer.publisher,
                signer.key
            );
            Ok(true)
        }
        Err(e) => {
            println!("REFUSED: {}: {e}", component.display());
            Ok(false)
        }
    }
}

// ---------------------------------------------------------------- inspect

/// Describe a component: identity, signature, checks, capabilities.
pub fn inspect(component: &Path, trusted: &[Publisher], json: bool) -> anyhow::Result<()> {
    let bytes = std::fs::read(component).with_context(|| component.display().to_string())?;
    let signature = match trust::read_sig(component) {
        Ok(Some(sig)) => match trust::verify(&bytes, &sig, trusted) {
            Ok(s) => {
                serde_json::json!({"status": "trusted", "publisher": s.publisher, "key": s.key})
            }
            Err(trust::TrustError::Untrusted(key)) => {
                serde_json::json!({"status": "valid signature, publisher not in the trust list", "publisher": sig.publisher, "key": key})
            }
            Err(e) => serde_json::json!({"status": format!("invalid: {e}")}),
        },
        Ok(None) => serde_json::json!({"status": "unsigned"}),
        Err(e) => serde_json::json!({"status": format!("invalid: {e}")}),
    };
    // Show what the component declares whatever its signature says.
    let mut host = PluginHost::new(HostOptions::default())?;
    let plugin = host.load_unchecked(component)?;
    let kinds: BTreeSet<String> = plugin
        .checks
        .iter()
        .flat_map(|c| c.reads.iter().cloned())
        .collect();
    let (policy, unknown) = discovery::iam_policy(&kinds);
    let checks: Vec<serde_json::Value> = plugin
        .checks
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id, "title": c.title, "severity": crate::batch::severity(c.severity).as_str(),
                "reads": c.reads, "frameworks": c.requirements.iter().map(|(f, _)| f).collect::<Vec<_>>(),
            })
        })
        .collect();
    let out = serde_json::json!({
        "file": component.display().to_string(),
        "bytes": bytes.len(),
        "sha256": plugin.sha256,
        "name": plugin.name,
        "version": plugin.version,
        "signature": signature,
        "reads": kinds,
        "unknown_kinds": unknown,
        "iam_policy": policy,
        "checks": checks,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} {}  ({})",
        plugin.name,
        plugin.version,
        component.display()
    );
    println!("  sha256     {}", plugin.sha256);
    println!("  size       {} bytes", bytes.len());
    println!(
        "  signature  {}",
        out["signature"]["status"].as_str().unwrap_or("")
    );
    if let Some(k) = out["signature"]["key"].as_str() {
        println!(
            "             {} {}",
            out["signature"]["publisher"].as_str().unwrap_or(""),
            k
        );
    }
    println!(
        "  reads      {}",
        kinds.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    for u in &unknown {
        println!("  WARNING    kind {u} is not served by this agent's discovery");
    }
    println!("  IAM        {}", policy["Statement"][0]["Action"]);
    println!("  checks     {}", plugin.checks.len());
    for c in &plugin.checks {
        println!(
            "    {:<14} {}  [{}]",
            crate::batch::severity(c.severity).as_str(),
            c.id,
            c.reads.join(", ")
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- bench

/// A synthetic AWS document of `kind`, number `n`.
fn synthetic(kind: &str, n: usize) -> Option<HostResource> {
    let vpc = format!("vpc-{:08x}", n % 10);
    let sg = format!("sg-{:08x}", n % 100);
    let (id, doc) = match kind {
        "ec2:instance" => {
            let id = format!("i-{n:017x}");
            let public =
                (n.is_multiple_of(3)).then(|| format!("54.0.{}.{}", (n / 256) % 256, n % 256));
            (
                id.clone(),
                serde_json::json!({"InstanceId": id, "State": {"Name": "running"},
                "PublicIpAddress": public, "SubnetId": format!("subnet-{:08x}", n % 20), "VpcId": vpc,
                "SecurityGroups": [{"GroupId": sg, "GroupName": "g"}]}),
            )
        }
        "ec2:security-group" => {
            let id = format!("sg-{n:08x}");
            let cidr = if n.is_multiple_of(4) {
                "0.0.0.0/0"
            } else {
                "10.0.0.0/8"
            };
            (
                id.clone(),
                serde_json::json!({"GroupId": id, "GroupName": format!("group-{n}"), "VpcId": vpc,
                "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}]}),
            )
        }
        "ec2:volume" => {
            let id = format!("vol-{n:017x}");
            (
                id.clone(),
                serde_json::json!({"VolumeId": id, "Encrypted": n.is_multiple_of(2), "State": "in-use", "Size": 8}),
            )
        }
        "ec2:network-interface" => {
            let id = format!("eni-{n:017x}");
            (
                id.clone(),
                serde_json::json!({"NetworkInterfaceId": id, "VpcId": vpc,
                "Groups": [{"GroupId": format!("sg-{:08x}", n % 100)}], "InterfaceType": "interface"}),
            )
        }
        "ec2:vpc" => {
            let id = format!("vpc-{n:08x}");
            (
                id.clone(),
                serde_json::json!({"VpcId": id, "IsDefault": n == 0, "CidrBlock": "10.0.0.0/16"}),
            )
        }
        "ec2:subnet" => {
            let id = format!("subnet-{n:08x}");
            (
                id.clone(),
                serde_json::json!({"SubnetId": id, "VpcId": vpc, "MapPublicIpOnLaunch": n.is_multiple_of(2)}),
            )
        }
        _ => return None,
    };
    Some(HostResource {
        uid: fixture_arn(kind, FIXTURE_REGION, FIXTURE_ACCOUNT, &id),
        id,
        kind: kind.to_string(),
        region: FIXTURE_REGION.into(),
        account: FIXTURE_ACCOUNT.into(),
        name: None,
        tags: Vec::new(),
        document: doc.to_string(),
    })
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Measure a pack: cold and cached start, per-evaluation overhead, throughput.
pub fn bench(component: &Path, resources: usize, iterations: usize) -> anyhow::Result<()> {
    let cache_dir = tempfile::tempdir()?;
    let options = HostOptions {
        allow_unsigned: true,
        cache_dir: Some(cache_dir.path().to_path_buf()),
        default_limits: Limits {
            memory_bytes: 4 << 30,
            timeout: Duration::from_secs(3600),
            fuel: u64::MAX,
            ..Limits::default()
        },
        ..Default::default()
    };
    println!("Benchmark of {}", component.display());

    let t = Instant::now();
    let mut host = PluginHost::new(options.clone())?;
    host.load_unchecked(component)?;
    println!(
        "  cold start, compile and cache     {:>10.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    drop(host);

    let mut samples = Vec::new();
    for _ in 0..5 {
        let mut host = PluginHost::new(options.clone())?;
        let t = Instant::now();
        host.load_unchecked(component)?;
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "  cold start from cache (median/5)  {:>10.1} ms",
        samples[2].as_secs_f64() * 1e3
    );

    let mut host = PluginHost::new(options)?;
    host.load_unchecked(component)?;
    let plugin = &host.plugins()[0];
    let empty = Arc::new(InventoryView::from_resources(Vec::new(), BTreeMap::new()));
    let check = &plugin.checks[0];
    for _ in 0..20 {
        let _ = host.evaluate(plugin, check, &empty);
    }
    let t = Instant::now();
    for _ in 0..iterations {
        let _ = host.evaluate(plugin, check, &empty);
    }
    let per = t.elapsed() / iterations.max(1) as u32;
    println!(
        "  per evaluation, empty inventory   {:>10.1} µs  ({iterations} runs of {})",
        micros(per),
        check.id
    );

    let kinds: BTreeSet<String> = plugin
        .checks
        .iter()
        .flat_map(|c| c.reads.iter().cloned())
        .collect();
    let per_kind = resources / kinds.len().max(1);
    let mut list = Vec::new();
    for kind in &kinds {
        list.extend((0..per_kind).filter_map(|n| synthetic(kind, n)));
    }
    let total = list.len();
    let view = Arc::new(InventoryView::from_resources(list, BTreeMap::new()));
    let t = Instant::now();
    let mut findings = 0usize;
    let mut errors = Vec::new();
    for check in &plugin.checks {
        match host.evaluate(plugin, check, &view) {
            Ok(f) => findings += f.len(),
            Err(e) => errors.push(format!("{}: {e}", check.id)),
        }
    }
    let took = t.elapsed();
    println!(
        "  {total} resources × {} checks         {:>10.1} ms  ({findings} findings, {:.0} resource-checks/s)",
        plugin.checks.len(),
        took.as_secs_f64() * 1e3,
        (total * plugin.checks.len()) as f64 / took.as_secs_f64()
    );
    for e in errors {
        println!("  ERROR {e}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files_under(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    /// A file added to the SDK must be added to `SDK_FILES`, or new packs
    /// would get an SDK that does not build.
    #[test]
    fn sdk_sources_are_all_embedded() {
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk");
        let mut on_disk = Vec::new();
        files_under(&sdk, &sdk.join("src"), &mut on_disk);
        on_disk.push("wit/check-pack.wit".into());
        on_disk.sort();
        let mut embedded: Vec<String> = SDK_FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn the_embedded_sdk_finds_its_wit() {
        let dir = tempfile::tempdir().unwrap();
        write_sdk(dir.path()).unwrap();
        let guest = std::fs::read_to_string(dir.path().join("src/guest.rs")).unwrap();
        assert!(guest.contains("path: \"wit\""), "{guest}");
        assert!(dir.path().join("wit/check-pack.wit").exists());
        let manifest = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
        let manifest: toml::Value = toml::from_str(&manifest).unwrap();
        assert_eq!(
            manifest["package"]["name"].as_str(),
            Some("citadel-plugin-sdk")
        );
    }
}
