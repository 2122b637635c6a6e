use citadel_plugin_sdk::Status;
use citadel_plugin_sdk::testing::{fixture, verdicts};
use serde_json::{Value, json};

use super::*;

fn template(id: &str, name: &str, versions: Value) -> Value {
    json!({"kind": "ec2:launch-template", "id": id,
           "document": {"LaunchTemplateId": id, "LaunchTemplateName": name, "Versions": versions}})
}

fn version(n: i64, data: Value) -> Value {
    json!({"VersionNumber": n, "LaunchTemplateData": data})
}

fn imds(endpoint: Option<&str>, tokens: &str) -> Value {
    let mut m = json!({"HttpTokens": tokens});
    if let Some(e) = endpoint {
        m["HttpEndpoint"] = json!(e);
    }
    json!({"MetadataOptions": m})
}

const ARN: &str = "arn:aws:ec2:us-east-1:123456789012:launch-template";

#[test]
fn imdsv2_one_compliant_version_is_enough() {
    let f = fixture(json!([
        // Latest version non-compliant, an older one requires IMDSv2: pass, listing it.
        template(
            "lt-1",
            "mixed",
            json!([
                version(1, imds(Some("enabled"), "required")),
                version(2, imds(Some("enabled"), "optional")),
                version(3, imds(Some("enabled"), "required")),
            ])
        ),
        // No MetadataOptions at all, or no endpoint: "metadata service disabled".
        template(
            "lt-2",
            "bare",
            json!([version(1, json!({})), version(2, imds(None, "optional"))])
        ),
        template(
            "lt-3",
            "off",
            json!([
                version(1, imds(Some("disabled"), "optional")),
                version(2, imds(Some("enabled"), "optional"))
            ])
        ),
        template(
            "lt-4",
            "open",
            json!([
                version(1, imds(Some("enabled"), "optional")),
                version(2, imds(Some("enabled"), "optional"))
            ])
        ),
    ]));
    assert_eq!(
        verdicts(&LaunchTemplateImdsv2Required, &f),
        vec![
            (format!("{ARN}/lt-1"), Status::Pass, "EC2 Launch Template mixed has IMDSv2 enabled and required in the following versions: 1, 3.".into()),
            (format!("{ARN}/lt-2"), Status::Pass, "EC2 Launch Template bare has metadata service disabled in the following versions: 1, 2.".into()),
            (format!("{ARN}/lt-3"), Status::Pass, "EC2 Launch Template off has metadata service disabled in the following versions: 1.".into()),
            (format!("{ARN}/lt-4"), Status::Fail, "EC2 Launch Template open has IMDSv2 disabled or not required in the following versions: 1, 2.".into()),
        ]
    );
}

fn eni(id: &str, doc: Value) -> Value {
    let mut d = json!({"NetworkInterfaceId": id});
    for (k, v) in doc.as_object().unwrap() {
        d[k] = v.clone();
    }
    json!({"kind": "ec2:network-interface", "id": id, "document": d})
}

fn nic(doc: Value) -> Value {
    json!({"NetworkInterfaces": [doc]})
}

#[test]
fn public_ip_from_launch_settings_or_attached_interfaces() {
    let f = fixture(json!([
        eni(
            "eni-public",
            json!({"PrivateIpAddress": "10.0.0.5", "Association": {"PublicIp": "54.1.2.3"}})
        ),
        eni(
            "eni-v6",
            json!({"PrivateIpAddress": "10.0.0.6", "Ipv6Addresses": [{"Ipv6Address": "2600:1f18::1"}]})
        ),
        eni("eni-global-private", json!({"PrivateIpAddress": "8.8.8.8"})),
        eni(
            "eni-private",
            json!({"PrivateIpAddress": "10.0.0.7", "Ipv6Addresses": [{"Ipv6Address": "fd00::1"}]})
        ),
        template(
            "lt-pass",
            "quiet",
            json!([
                version(1, nic(json!({"AssociatePublicIpAddress": false}))),
                version(2, nic(json!({"NetworkInterfaceId": "eni-private"}))),
                // An interface that is not in the inventory: not public.
                version(3, nic(json!({"NetworkInterfaceId": "eni-gone"}))),
            ])
        ),
        template(
            "lt-assign",
            "assign",
            json!([
                version(1, json!({})),
                version(2, nic(json!({"AssociatePublicIpAddress": true}))),
                version(3, nic(json!({"AssociatePublicIpAddress": true}))),
            ])
        ),
        template(
            "lt-uses",
            "uses",
            json!([
                version(1, nic(json!({"NetworkInterfaceId": "eni-public"}))),
                version(2, nic(json!({"NetworkInterfaceId": "eni-v6"}))),
                version(3, nic(json!({"NetworkInterfaceId": "eni-global-private"}))),
            ])
        ),
        template(
            "lt-both",
            "both",
            json!([
                version(1, nic(json!({"AssociatePublicIpAddress": true}))),
                version(2, nic(json!({"NetworkInterfaceId": "eni-public"}))),
            ])
        ),
    ]));
    assert_eq!(
        verdicts(&LaunchTemplateNoPublicIp, &f),
        vec![
            (format!("{ARN}/lt-assign"), Status::Fail, "EC2 Launch Template assign is configured to assign a public IP address to network interfaces upon launch in template versions: 2, 3.".into()),
            (format!("{ARN}/lt-both"), Status::Fail, "EC2 Launch Template both is configured to assign a public IP address to network interfaces upon launch in template versions: 1 and is using a network interface with public IP addresses in template versions: 2.".into()),
            (format!("{ARN}/lt-pass"), Status::Pass, "EC2 Launch Template quiet is neither configured to assign a public IP address to network interfaces upon launch nor using a network interface with public IP addresses.".into()),
            (format!("{ARN}/lt-uses"), Status::Fail, "EC2 Launch Template uses is using a network interface with public IP addresses in template versions: 1, 2, 3.".into()),
        ]
    );
}
