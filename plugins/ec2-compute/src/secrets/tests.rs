use std::io::Write;

use base64::Engine;
use citadel_plugin_sdk::testing::Fixture;
use citadel_plugin_sdk::{Check, Status};
use serde_json::{Value, json};

use super::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn gzip(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

fn kinds(text: &str) -> Vec<(&'static str, usize)> {
    scan(text).into_iter().map(|s| (s.kind, s.line)).collect()
}

// Made-up values in the documented formats (AWS's own documentation key pair).
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

#[test]
fn detects_cloud_keys_private_keys_and_tokens() {
    let text = format!(
        "#!/bin/bash\n\
         export AWS_ACCESS_KEY_ID={KEY_ID}\n\
         export AWS_SECRET_ACCESS_KEY={SECRET_KEY}\n\
         cat > /root/.ssh/id_rsa <<EOF\n\
         -----BEGIN RSA PRIVATE KEY-----\n\
         MIIEowIBAAKCAQEA\n\
         -----END RSA PRIVATE KEY-----\n\
         EOF\n\
         GH=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n\
         curl -H 'Authorization: Bearer xoxb-123456789012-abcdefghijkl' https://slack.com/api\n\
         curl -X POST https://hooks.slack.com/services/T000/B000/XXXXXXXX\n\
         STRIPE=sk_live_4eC39HqLyjWDarjtT1zdp7dc\n\
         MAPS=AIzaSyA1234567890abcdefghijklmnopqrstuv\n\
         DB_PASSWORD='Hunter2-is-not-strong'\n\
         api_key: 9f8e7d6c5b4a39281706\n"
    );
    assert_eq!(
        kinds(&text),
        vec![
            ("AWS Access Key ID", 2),
            ("AWS Secret Access Key", 3),
            ("Private Key", 5),
            ("GitHub Token", 9),
            ("Slack Token", 10),
            ("Slack Webhook", 11),
            ("Stripe API Key", 12),
            ("Google API Key", 13),
            ("Generic Password", 14),
            ("Generic Secret", 15),
        ]
    );
}

#[test]
fn ignores_references_placeholders_and_lookalikes() {
    let text = "#!/bin/bash\n\
                DB_PASSWORD=$DB_PASSWORD\n\
                password: {{ vault_password }}\n\
                secret=changeme\n\
                token=short\n\
                admin_password=xxxxxxxxxxxx\n\
                echo AKIA-not-a-key AKIAIOSFODNN7EXAMPL\n\
                hash=0123456789abcdef0123456789abcdef01234567\n\
                yum install -y httpd\n";
    assert_eq!(kinds(text), vec![]);
    // A 40-character value far from any key id and not named as an AWS secret.
    assert_eq!(kinds(&format!("checksum {SECRET_KEY}")), vec![]);
}

#[test]
fn decodes_base64_and_gzip() {
    assert_eq!(
        decode_user_data(&b64(b"echo hi")).as_deref(),
        Some("echo hi")
    );
    assert_eq!(
        decode_user_data(&b64(&gzip("echo zipped"))).as_deref(),
        Some("echo zipped")
    );
    assert_eq!(decode_user_data("not base64!"), None);
    // Valid base64 of bytes that are not UTF-8, and a truncated gzip stream.
    assert_eq!(decode_user_data(&b64(&[0xff, 0xfe, 0x00])), None);
    assert_eq!(decode_user_data(&b64(&gzip("echo zipped")[..8])), None);
}

type Row = (String, Status, String);

fn verdicts(check: &dyn Check, resources: Value) -> Vec<Row> {
    let f = Fixture::from_json(&json!({ "resources": resources }).to_string()).unwrap();
    let mut v: Vec<_> = check
        .evaluate(&f)
        .unwrap()
        .into_iter()
        .map(|f| {
            (
                f.resource_uid.rsplit('/').next().unwrap().to_string(),
                f.status,
                f.status_extended,
            )
        })
        .collect();
    v.sort();
    v
}

fn instance(id: &str, state: &str, user_data: Option<Value>) -> Vec<Value> {
    let mut out = vec![json!({"kind": "ec2:instance", "id": id,
                              "document": {"InstanceId": id, "State": {"Name": state}}})];
    if let Some(data) = user_data {
        out.push(json!({"kind": "ec2:instance-user-data", "id": id,
                        "document": {"InstanceId": id, "UserData": data}}));
    }
    out
}

#[test]
fn instance_user_data_verdicts() {
    let secret = format!(
        "#!/bin/bash\nexport AWS_ACCESS_KEY_ID={KEY_ID}\nexport AWS_SECRET_ACCESS_KEY={SECRET_KEY}\n"
    );
    let resources: Vec<Value> = [
        instance("i-secret", "running", Some(json!(b64(&gzip(&secret))))),
        instance(
            "i-clean",
            "stopped",
            Some(json!(b64(b"#!/bin/bash\nyum -y update\n"))),
        ),
        instance("i-empty", "running", Some(Value::Null)),
        instance("i-garbled", "running", Some(json!("%%%"))),
        // Terminated: skipped. Not read (the call failed): no verdict.
        instance("i-gone", "terminated", Some(json!(b64(secret.as_bytes())))),
        instance("i-unread", "running", None),
    ]
    .concat();
    assert_eq!(
        verdicts(&InstanceSecretsUserData, json!(resources)),
        vec![
            ("i-clean".into(), Status::Pass, "No secrets found in EC2 instance i-clean User Data.".into()),
            ("i-empty".into(), Status::Pass, "No secrets found in EC2 instance i-empty since User Data is empty.".into()),
            ("i-garbled".into(), Status::Error, "Could not decode User Data for EC2 instance i-garbled; manual review is required to scan for secrets.".into()),
            ("i-secret".into(), Status::Fail, "Potential secret found in EC2 instance i-secret User Data -> AWS Access Key ID on line 2, AWS Secret Access Key on line 3.".into()),
        ]
    );
}

fn template(id: &str, name: &str, versions: &[(i64, Option<&str>)]) -> Vec<Value> {
    let meta: Vec<Value> = versions
        .iter()
        .map(|(n, _)| json!({"VersionNumber": n}))
        .collect();
    let data: Vec<Value> = versions
        .iter()
        .map(|(n, d)| json!({"VersionNumber": n, "UserData": d}))
        .collect();
    vec![
        json!({"kind": "ec2:launch-template", "id": id,
               "document": {"LaunchTemplateId": id, "LaunchTemplateName": name, "Versions": meta}}),
        json!({"kind": "ec2:launch-template-user-data", "id": id, "document": {"Versions": data}}),
    ]
}

#[test]
fn launch_template_user_data_verdicts() {
    let leaky = b64(b"#!/bin/bash\n\nDB_PASSWORD=Hunter2-is-not-strong\n");
    let key = b64(b"-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n");
    let clean = b64(b"#!/bin/bash\nyum -y update\n");
    let resources: Vec<Value> = [
        template(
            "lt-leaky",
            "leaky",
            &[
                (1, Some(&clean)),
                (2, Some(&leaky)),
                (3, Some(&key)),
                (4, Some("%%%")),
            ],
        ),
        template(
            "lt-garbled",
            "garbled",
            &[(1, Some(&clean)), (2, Some("%%%")), (3, Some("@@"))],
        ),
        template("lt-clean", "clean", &[(1, None), (2, Some(&clean))]),
    ]
    .concat();
    assert_eq!(
        verdicts(&LaunchTemplateNoSecrets, json!(resources)),
        vec![
            ("lt-clean".into(), Status::Pass, "No secrets found in User Data of any version for EC2 Launch Template clean.".into()),
            ("lt-garbled".into(), Status::Error, "Could not decode User Data for EC2 Launch Template garbled versions: 2, 3; manual review is required to scan for secrets.".into()),
            ("lt-leaky".into(), Status::Fail, "Potential secret found in User Data for EC2 Launch Template leaky in template versions: Version 2: Generic Password on line 3, Version 3: Private Key on line 1.".into()),
        ]
    );
}
