//! The files customers deploy into their account: the read-only IAM policy and
//! the CloudFormation template for the agent's cross-account role.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn deploy_dir() -> PathBuf {
    citadel_e2e::manifest_dir().join("../deploy/aws")
}

/// Every action discovery can call.
fn discovery_actions() -> BTreeSet<String> {
    citadel_agent::discovery::KINDS
        .iter()
        .flat_map(|(_, actions)| actions.iter().map(|a| a.to_string()))
        .collect()
}

fn cfn_lint(path: &std::path::Path) -> std::process::Output {
    let python = std::env::var("CITADEL_PYTHON").unwrap_or_else(|_| "python3".into());
    Command::new(python)
        .args(["-c", "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())", "--"])
        .arg(path)
        .output()
        .expect("cfn-lint (pip install cfn-lint)")
}

#[test]
fn iam_policy_grants_exactly_what_discovery_calls() {
    let text = std::fs::read_to_string(deploy_dir().join("iam-policy.json")).unwrap();
    let policy: serde_json::Value = serde_json::from_str(&text).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Resource"], "*");
    let actions: BTreeSet<String> = statement["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, discovery_actions());
    assert!(
        actions
            .iter()
            .all(|a| a.starts_with("ec2:Describe") || a.starts_with("ec2:Get")),
        "read-only: {actions:?}"
    );
}

#[test]
fn cloudformation_template_passes_cfn_lint_and_requires_the_external_id() {
    let template = deploy_dir().join("citadel-agent-role.yaml");
    let out = cfn_lint(&template);
    assert!(
        out.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&template).unwrap();
    assert!(text.contains("sts:ExternalId: !Ref ExternalId"));
    for action in discovery_actions() {
        assert!(
            text.contains(&format!("- {action}\n")),
            "template lacks {action}"
        );
    }

    // The linter really runs: a broken copy fails.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        text.replace("Type: AWS::IAM::Role", "Type: AWS::IAM::Rol"),
    )
    .unwrap();
    assert!(!cfn_lint(&broken).status.success());
}
