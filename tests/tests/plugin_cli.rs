//! The plugin author's workflow through the real `citadel-agent` binary:
//! scaffold, build, fixture tests, keys, signing, verification, inspection,
//! and the IAM policy an agent derives from its installed packs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use citadel_e2e::{bin, bin_dir};

fn agent(args: &[&str], cwd: &Path) -> Output {
    Command::new(bin("citadel-agent").unwrap())
        .args(args)
        .current_dir(cwd)
        // A target directory of its own: the outer `cargo test` holds the lock on ours.
        .env(
            "CARGO_TARGET_DIR",
            bin_dir().parent().unwrap().join("plugin-scaffold"),
        )
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sdk_path() -> PathBuf {
    citadel_e2e::manifest_dir().join("../plugins/sdk")
}

#[test]
fn scaffold_build_test_sign_inspect() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let sdk = sdk_path();
    let out = agent(
        &[
            "plugin",
            "new",
            "demo-pack",
            "--sdk-path",
            sdk.to_str().unwrap(),
        ],
        w,
    );
    assert!(out.status.success(), "{}", text(&out));
    let pack = w.join("demo-pack");
    assert!(pack.join("fixtures/volumes.json").exists());

    // Build and run the fixtures through the sandbox.
    let out = agent(&["plugin", "test", "demo-pack"], w);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("ok    volumes.json (2 findings)"),
        "{}",
        text(&out)
    );
    let wasm = text(&out)
        .lines()
        .find_map(|l| {
            l.split_once(".wasm (")
                .map(|(p, _)| PathBuf::from(format!("{p}.wasm")))
        })
        .expect("build printed the component path");
    assert!(wasm.exists());
    // Work on a copy: the build directory is shared between runs.
    let built = wasm;
    let wasm = w.join("demo_pack.wasm");
    std::fs::copy(&built, &wasm).unwrap();

    // A wrong expectation is reported and fails the command.
    let fixture = pack.join("fixtures/volumes.json");
    let original = std::fs::read_to_string(&fixture).unwrap();
    std::fs::write(
        &fixture,
        original.replace("\"status\": \"fail\"", "\"status\": \"pass\""),
    )
    .unwrap();
    let out = agent(
        &[
            "plugin",
            "test",
            "demo-pack",
            "--component",
            wasm.to_str().unwrap(),
        ],
        w,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("missing"), "{}", text(&out));
    assert!(text(&out).contains("unexpected"), "{}", text(&out));
    std::fs::write(&fixture, original).unwrap();

    // Keys and signatures.
    let out = agent(&["plugin", "keygen", "--out", "acme", "--name", "acme"], w);
    assert!(out.status.success(), "{}", text(&out));
    let public = std::fs::read_to_string(w.join("acme.pub"))
        .unwrap()
        .trim()
        .to_string();
    assert!(public.starts_with("cpk1_"));
    let out = agent(&["plugin", "keygen", "--out", "acme", "--name", "acme"], w);
    assert!(!out.status.success(), "keygen must not overwrite a key");

    let out = agent(
        &["plugin", "verify", wasm.to_str().unwrap(), "--key", &public],
        w,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("unsigned"), "{}", text(&out));

    let out = agent(
        &[
            "plugin",
            "sign",
            wasm.to_str().unwrap(),
            "--key",
            "acme.key",
            "--publisher",
            "acme",
        ],
        w,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = agent(
        &["plugin", "verify", wasm.to_str().unwrap(), "--key", &public],
        w,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).starts_with("OK:"), "{}", text(&out));
    let stranger = format!("cpk1_{}", "11".repeat(32));
    let out = agent(
        &[
            "plugin",
            "verify",
            wasm.to_str().unwrap(),
            "--key",
            &stranger,
        ],
        w,
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a trusted publisher"),
        "{}",
        text(&out)
    );

    // Inspect shows identity, capabilities and what IAM they need.
    let out = agent(&["plugin", "inspect", "--json", wasm.to_str().unwrap()], w);
    assert!(out.status.success(), "{}", text(&out));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["name"], "demo-pack");
    assert_eq!(info["checks"][0]["id"], "demo_pack_volume_has_owner_tag");
    assert_eq!(info["reads"], serde_json::json!(["ec2:volume"]));
    assert_eq!(
        info["iam_policy"]["Statement"][0]["Action"],
        serde_json::json!(["ec2:DescribeVolumes"])
    );
    assert_eq!(
        info["sha256"],
        citadel_wire::sha256_hex(&std::fs::read(&wasm).unwrap())
    );
    assert_eq!(info["signature"]["key"], public.as_str());

    // An agent that trusts the publisher loads the pack; its IAM policy covers what it reads.
    let plugins = w.join("agent/plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(&wasm, plugins.join("demo_pack.wasm")).unwrap();
    std::fs::copy(
        format!("{}.sig", wasm.display()),
        plugins.join("demo_pack.wasm.sig"),
    )
    .unwrap();
    std::fs::write(
        w.join("agent/agent.toml"),
        format!(
            "plugins_dir = \"plugins\"\n[[integration]]\nname = \"x\"\nregions = [\"us-east-1\"]\n\
             [[trusted_publisher]]\nname = \"acme\"\nkey = \"{public}\"\n"
        ),
    )
    .unwrap();
    // `prepare` verifies and compiles the pack into the cache ahead of the first scan.
    let cache = w.join("agent/state/plugin-cache");
    let artifacts = || -> Vec<String> {
        std::fs::read_dir(&cache)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".cwasm"))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(artifacts().is_empty());
    let out = agent(&["--config", "agent/agent.toml", "prepare"], w);
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("demo-pack 0.1.0 (1 checks, signed by acme)"),
        "{said}"
    );
    assert!(said.contains("1 check pack(s) with 1 checks"), "{said}");
    let sha = citadel_wire::sha256_hex(&std::fs::read(&wasm).unwrap());
    assert!(
        matches!(&artifacts()[..], [one] if one.starts_with(&sha)),
        "{:?}",
        artifacts()
    );
    let out = agent(&["--config", "agent/agent.toml", "iam-policy"], w);
    assert!(out.status.success(), "{}", text(&out));
    let policy: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        policy["Statement"][0]["Action"],
        serde_json::json!(["ec2:DescribeVolumes"])
    );
    assert_eq!(policy["Statement"][0]["Effect"], "Allow");

    // Untrusted: the same agent without the publisher refuses the pack.
    std::fs::write(
        w.join("agent/agent.toml"),
        "plugins_dir = \"plugins\"\n[[integration]]\nname = \"x\"\nregions = [\"us-east-1\"]\n",
    )
    .unwrap();
    let out = agent(&["--config", "agent/agent.toml", "prepare"], w);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("not a trusted publisher"),
        "{}",
        text(&out)
    );
    let out = agent(&["--config", "agent/agent.toml", "iam-policy"], w);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a trusted publisher"),
        "{}",
        text(&out)
    );
}

/// A new author has no SDK checkout: `plugin new` without `--sdk-path` gives
/// the pack its own copy of the SDK, and `cargo test` in it passes, offline,
/// from the crates already in the local cache.
#[test]
fn scaffold_without_sdk_path_builds_and_tests() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let out = agent(&["plugin", "new", "solo-pack"], w);
    assert!(out.status.success(), "{}", text(&out));
    let pack = w.join("solo-pack");
    let manifest = std::fs::read_to_string(pack.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("citadel-plugin-sdk = { path = \"citadel-plugin-sdk\" }"),
        "{manifest}"
    );
    assert!(pack.join("citadel-plugin-sdk/wit/check-pack.wit").exists());

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--offline"])
        .current_dir(&pack)
        .env(
            "CARGO_TARGET_DIR",
            bin_dir().parent().unwrap().join("plugin-scaffold"),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("test result: ok"), "{}", text(&out));
}
