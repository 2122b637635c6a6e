use citadel_plugin_sdk::Status;
use citadel_plugin_sdk::testing::{fixture, verdict as row, verdicts};
use serde_json::{Value, json};

use super::*;

const ACCOUNT: &str = "123456789012";
const ARN: &str = "arn:aws:ec2:us-east-1:123456789012";

fn image(id: &str, doc: Value) -> Value {
    let mut d = json!({"ImageId": id});
    for (k, v) in doc.as_object().unwrap() {
        d[k] = v.clone();
    }
    json!({"kind": "ec2:image", "id": id, "document": d})
}

#[test]
fn ami_public_judges_only_the_accounts_own_images() {
    let f = fixture(json!([
        image(
            "ami-pub",
            json!({"OwnerId": ACCOUNT, "Public": true, "Name": "web-base"})
        ),
        // No name (or an empty one): the id names it.
        image(
            "ami-priv",
            json!({"OwnerId": ACCOUNT, "Public": false, "Name": ""})
        ),
        image("ami-noname", json!({"OwnerId": ACCOUNT})),
        // Amazon's AMI an instance uses: not the account's, no finding.
        image(
            "ami-amzn",
            json!({"OwnerId": "137112412989", "ImageOwnerAlias": "amazon", "Public": true})
        ),
    ]));
    assert_eq!(
        verdicts(&AmiPublic, &f),
        vec![
            row(
                &format!("{ARN}:image/ami-noname"),
                Status::Pass,
                "EC2 AMI ami-noname is not public."
            ),
            row(
                &format!("{ARN}:image/ami-priv"),
                Status::Pass,
                "EC2 AMI ami-priv is not public."
            ),
            row(
                &format!("{ARN}:image/ami-pub"),
                Status::Fail,
                "EC2 AMI web-base is currently public."
            ),
        ]
    );
}

fn instance(id: &str, ami: &str, state: &str) -> Value {
    json!({"kind": "ec2:instance", "id": id,
           "document": {"InstanceId": id, "ImageId": ami, "State": {"Name": state}}})
}

#[test]
fn outdated_ami_only_for_amazon_images() {
    let amazon = |id: &str, deprecation: Option<&str>| {
        let mut d = json!({"OwnerId": "137112412989", "ImageOwnerAlias": "amazon"});
        if let Some(t) = deprecation {
            d["DeprecationTime"] = json!(t);
        }
        image(id, d)
    };
    let f = fixture(json!([
        amazon("ami-old", Some("2020-01-01T00:00:00.000Z")),
        amazon("ami-later", Some("2999-01-01T00:00:00.000Z")),
        amazon("ami-current", None),
        amazon("ami-garbled", Some("soon")),
        // The account's own AMI, even with Amazon's alias, and a marketplace AMI: skipped.
        image("ami-own", json!({"OwnerId": ACCOUNT, "ImageOwnerAlias": "amazon", "DeprecationTime": "2020-01-01T00:00:00.000Z"})),
        image("ami-market", json!({"OwnerId": "679593333241", "ImageOwnerAlias": "aws-marketplace", "DeprecationTime": "2020-01-01T00:00:00.000Z"})),
        instance("i-old", "ami-old", "running"),
        // Terminated instances are judged too.
        instance("i-gone", "ami-old", "terminated"),
        instance("i-later", "ami-later", "stopped"),
        instance("i-current", "ami-current", "running"),
        instance("i-garbled", "ami-garbled", "running"),
        instance("i-own", "ami-own", "running"),
        instance("i-market", "ami-market", "running"),
        // An AMI that could not be resolved (deregistered): no finding.
        instance("i-unknown", "ami-missing", "running"),
        {"kind": "ec2:instance", "id": "i-noami", "document": {"InstanceId": "i-noami"}},
    ]));
    assert_eq!(
        verdicts(&InstanceWithOutdatedAmi, &f),
        vec![
            row(
                &format!("{ARN}:instance/i-current"),
                Status::Pass,
                "EC2 Instance i-current is not using an outdated AMI."
            ),
            row(
                &format!("{ARN}:instance/i-garbled"),
                Status::Error,
                "AMI ami-garbled has an unreadable DeprecationTime \"soon\"."
            ),
            row(
                &format!("{ARN}:instance/i-gone"),
                Status::Fail,
                "EC2 Instance i-gone is using outdated AMI ami-old."
            ),
            row(
                &format!("{ARN}:instance/i-later"),
                Status::Pass,
                "EC2 Instance i-later is not using an outdated AMI."
            ),
            row(
                &format!("{ARN}:instance/i-old"),
                Status::Fail,
                "EC2 Instance i-old is using outdated AMI ami-old."
            ),
        ]
    );
}

#[test]
fn outdated_ami_matches_images_in_the_instances_region() {
    let f = fixture(json!([
        {"kind": "ec2:image", "id": "ami-1", "region": "eu-west-1",
         "document": {"ImageId": "ami-1", "OwnerId": "137112412989", "ImageOwnerAlias": "amazon",
                      "DeprecationTime": "2020-01-01T00:00:00Z"}},
        instance("i-1", "ami-1", "running"),
    ]));
    assert_eq!(verdicts(&InstanceWithOutdatedAmi, &f), vec![]);
}

fn setting(kind: &str, region: &str, doc: Value) -> Value {
    json!({"kind": kind, "id": ACCOUNT, "region": region,
           "uid": format!("arn:aws:ec2:{region}:{ACCOUNT}:account"), "document": doc})
}

#[test]
fn ami_block_public_access_per_region_without_gate() {
    let kind = "ec2:image-block-public-access";
    let f = fixture(json!([
        setting(
            kind,
            "us-east-1",
            json!({"ImageBlockPublicAccessState": "block-new-sharing"})
        ),
        setting(
            kind,
            "eu-west-1",
            json!({"ImageBlockPublicAccessState": "unblocked"})
        ),
        setting(
            kind,
            "ap-south-1",
            json!({"ImageBlockPublicAccessState": null})
        ),
    ]));
    assert_eq!(
        verdicts(&AmiAccountBlockPublicAccess, &f),
        vec![
            row(
                "arn:aws:ec2:ap-south-1:123456789012:account",
                Status::Fail,
                "AMI Block Public Access is disabled in ap-south-1."
            ),
            row(
                "arn:aws:ec2:eu-west-1:123456789012:account",
                Status::Fail,
                "AMI Block Public Access is disabled in eu-west-1."
            ),
            row(
                "arn:aws:ec2:us-east-1:123456789012:account",
                Status::Pass,
                "AMI Block Public Access is enabled in us-east-1."
            ),
        ]
    );
}

#[test]
fn account_imdsv2_only_where_instances_exist() {
    let kind = "ec2:instance-metadata-defaults";
    let f = fixture(json!([
        setting(kind, "us-east-1", json!({"AccountLevel": {"HttpTokens": "required", "HttpEndpoint": "enabled"}})),
        setting(kind, "eu-west-1", json!({"AccountLevel": {"HttpTokens": "optional"}})),
        // "No preference": no HttpTokens at all.
        setting(kind, "eu-central-1", json!({"AccountLevel": {}})),
        setting(kind, "sa-east-1", json!({})),
        // No instance in this region: no finding.
        setting(kind, "ap-south-1", json!({"AccountLevel": {"HttpTokens": "optional"}})),
        {"kind": "ec2:instance", "id": "i-1", "region": "us-east-1", "document": {"InstanceId": "i-1", "State": {"Name": "running"}}},
        {"kind": "ec2:instance", "id": "i-2", "region": "eu-west-1", "document": {"InstanceId": "i-2", "State": {"Name": "terminated"}}},
        {"kind": "ec2:instance", "id": "i-3", "region": "eu-central-1", "document": {"InstanceId": "i-3", "State": {"Name": "stopped"}}},
        {"kind": "ec2:instance", "id": "i-4", "region": "sa-east-1", "document": {"InstanceId": "i-4", "State": {"Name": "running"}}},
    ]));
    let fail = "IMDSv2 is not enabled by default for EC2 instances.";
    assert_eq!(
        verdicts(&InstanceAccountImdsv2Enabled, &f),
        vec![
            row(
                "arn:aws:ec2:eu-central-1:123456789012:account",
                Status::Fail,
                fail
            ),
            row(
                "arn:aws:ec2:eu-west-1:123456789012:account",
                Status::Fail,
                fail
            ),
            row(
                "arn:aws:ec2:sa-east-1:123456789012:account",
                Status::Fail,
                fail
            ),
            row(
                "arn:aws:ec2:us-east-1:123456789012:account",
                Status::Pass,
                "IMDSv2 is enabled by default for EC2 instances."
            ),
        ]
    );
}

#[test]
fn account_settings_that_could_not_be_read_give_no_verdict() {
    // The agent records the failed call; the check sees no setting for the region.
    let f = fixture(json!([
        {"kind": "ec2:instance", "id": "i-1", "document": {"InstanceId": "i-1", "State": {"Name": "running"}}},
    ]));
    assert_eq!(verdicts(&InstanceAccountImdsv2Enabled, &f), vec![]);
    assert_eq!(verdicts(&AmiAccountBlockPublicAccess, &f), vec![]);
}
