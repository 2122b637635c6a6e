//! End to end with real parts: moto for EC2, the agent and collector binaries,
//! TLS handshakes with certificates from enrollment, SQLite on disk.

use std::collections::BTreeSet;

use citadel_e2e::{Agent, Backend, Collector, Moto, TestDb, seed_estate};
use sqlx::{AnyPool, Row};

const REGION: &str = "us-east-1";
const SSH: &str = "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22";
const PUBLIC_IP: &str = "ec2_instance_public_ip";
const EBS: &str = "ec2_ebs_volume_encryption";
const ACCOUNT_IMDS: &str = "ec2_instance_account_imdsv2_enabled";
/// Account-setting checks and the call behind each, which moto cannot serve.
const ACCOUNT_SETTINGS: [(&str, &str); 3] = [
    (
        "ec2_ami_account_block_public_access",
        "ec2:GetImageBlockPublicAccessState",
    ),
    (
        "ec2_ebs_snapshot_account_block_public_access",
        "ec2:GetSnapshotBlockPublicAccessState",
    ),
    (ACCOUNT_IMDS, "ec2:GetInstanceMetadataDefaults"),
];

type Row4 = (String, String, String, String);

async fn stored_results(pool: &AnyPool) -> BTreeSet<Row4> {
    sqlx::query(
        "SELECT r.check_id, a.source_id, r.status, r.status_extended
         FROM check_results r JOIN assets a ON a.id = r.asset_id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

async fn count(pool: &AnyPool, table: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0)
}

fn row(check: &str, uid: String, status: &str, text: String) -> Row4 {
    (check.to_string(), uid, status.to_string(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_scan_is_verified_and_stored_with_exact_findings_sqlite() {
    scan_scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_scan_is_verified_and_stored_with_exact_findings_postgres() {
    scan_scenario(Backend::Postgres).await;
}

async fn scan_scenario(backend: Backend) {
    let moto = Moto::start().unwrap();
    let estate = seed_estate(&moto.endpoint, REGION).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend).await.unwrap();
    let mut collector = Collector::init(&work.path().join("collector"), &db.url).unwrap();
    collector.start().unwrap();
    let agent = Agent::new(&work.path().join("agent"), &moto.endpoint, &[REGION]).unwrap();

    let token = collector.token("acme").unwrap();
    let out = agent.enroll(&collector.api_url(), &token).unwrap();
    assert!(
        out.status.success(),
        "enroll failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let batch_file = work.path().join("batch.cose");
    let (report, code) = agent
        .scan(&["--output", batch_file.to_str().unwrap()])
        .unwrap();
    assert_eq!(
        code,
        0,
        "scan exit code; report: {report:#}\ncollector log:\n{}",
        collector.log()
    );
    let delivered = &report["push"]["delivered"];
    assert_eq!(delivered.as_array().map(Vec::len), Some(1), "{report:#}");
    assert_eq!(delivered[0]["status"], "accepted");

    // Every volume moto holds: our two plus the instances' root volumes.
    let ec2 = citadel_e2e::estate::client(&moto.endpoint, REGION).await;
    let volumes = ec2
        .describe_volumes()
        .send()
        .await
        .unwrap()
        .volumes
        .unwrap_or_default();
    assert!(volumes.len() >= 2);

    let pool = collector.pool().await.unwrap();
    let stored = stored_results(&pool).await;
    let public_ip = ec2
        .describe_instances()
        .instance_ids(&estate.public_instance)
        .send()
        .await
        .unwrap()
        .reservations()[0]
        .instances()[0]
        .public_ip_address
        .clone()
        .expect("moto gave the web instance a public IP");

    let mut expected: BTreeSet<Row4> = BTreeSet::new();
    expected.insert(row(
        SSH,
        estate.arn("security-group", &estate.open_sg),
        "fail",
        format!(
            "Security group web-ssh-open ({}) has SSH port 22 open to the Internet.",
            estate.open_sg
        ),
    ));
    expected.insert(row(
        SSH,
        estate.arn("security-group", &estate.closed_sg),
        "pass",
        format!(
            "Security group app-ssh-internal ({}) does not have SSH port 22 open to the Internet.",
            estate.closed_sg
        ),
    ));
    let stored_public = stored
        .iter()
        .find(|r| r.0 == PUBLIC_IP && r.1 == estate.arn("instance", &estate.public_instance))
        .expect("public instance result")
        .clone();
    assert!(
        stored_public.3.starts_with(&format!(
            "EC2 Instance {} has a Public IP: {public_ip} (",
            estate.public_instance
        )),
        "{}",
        stored_public.3
    );
    expected.insert(stored_public);
    expected.insert(row(
        PUBLIC_IP,
        estate.arn("instance", &estate.private_instance),
        "pass",
        format!(
            "EC2 Instance {} does not have a Public IP.",
            estate.private_instance
        ),
    ));
    for v in &volumes {
        let id = v.volume_id.clone().unwrap();
        let (status, word) = if v.encrypted == Some(true) {
            ("pass", "encrypted")
        } else {
            ("fail", "unencrypted")
        };
        expected.insert(row(
            EBS,
            estate.arn("volume", &id),
            status,
            format!("EBS Snapshot {id} is {word}."),
        ));
    }
    assert!(
        expected
            .iter()
            .any(|r| r.1.ends_with(&estate.plain_volume) && r.2 == "fail")
    );
    assert!(
        expected
            .iter()
            .any(|r| r.1.ends_with(&estate.encrypted_volume) && r.2 == "pass")
    );
    let core: BTreeSet<Row4> = stored
        .iter()
        .filter(|r| [SSH, PUBLIC_IP, EBS].contains(&r.0.as_str()))
        .cloned()
        .collect();
    assert_eq!(core, expected);
    // Every other security-group exposure check judged both in-use groups, and
    // neither has all ports open.
    // (Group hygiene checks judge every group, in use or not; counted below.)
    let hygiene = [
        "ec2_securitygroup_from_launch_wizard",
        "ec2_securitygroup_with_many_ingress_egress_rules",
    ];
    let sg_checks: BTreeSet<&str> = stored
        .iter()
        .filter(|r| r.0.starts_with("ec2_securitygroup_") && !hygiene.contains(&r.0.as_str()))
        .map(|r| r.0.as_str())
        .collect();
    // 18 exposure checks plus ec2_securitygroup_allow_wide_open_public_ipv4.
    assert_eq!(sg_checks.len(), 19, "{sg_checks:?}");
    // Two VPCs, each with its default group, plus the two seeded groups; the
    // default groups are not in use, so the default-group check says nothing.
    let groups = ec2
        .describe_security_groups()
        .send()
        .await
        .unwrap()
        .security_groups
        .unwrap_or_default();
    assert_eq!(groups.len(), 4);
    for check in hygiene {
        let rows: Vec<&Row4> = stored.iter().filter(|r| r.0 == check).collect();
        assert_eq!(rows.len(), groups.len(), "{check}: {rows:?}");
        assert!(rows.iter().all(|r| r.2 == "pass"), "{rows:?}");
    }
    for check in &sg_checks {
        let rows: Vec<&Row4> = stored.iter().filter(|r| r.0 == *check).collect();
        assert_eq!(rows.len(), 2, "{check}: {rows:?}");
    }
    let all_ports: Vec<&Row4> = stored
        .iter()
        .filter(|r| r.0 == "ec2_securitygroup_allow_ingress_from_internet_to_all_ports")
        .collect();
    assert!(all_ports.iter().all(|r| r.2 == "pass"), "{all_ports:?}");
    // 0.0.0.0/0 (a /0) and 10.0.0.0/8 (private) are not wide-open public ranges.
    let wide: Vec<&Row4> = stored
        .iter()
        .filter(|r| r.0 == "ec2_securitygroup_allow_wide_open_public_ipv4")
        .collect();
    assert!(wide.iter().all(|r| r.2 == "pass"), "{wide:?}");
    // SSH open to the world on an instance interface: any-port fails that group only.
    let any_port: BTreeSet<(String, String)> = stored
        .iter()
        .filter(|r| r.0 == "ec2_securitygroup_allow_ingress_from_internet_to_any_port")
        .map(|r| (r.1.clone(), r.2.clone()))
        .collect();
    assert_eq!(
        any_port,
        BTreeSet::from([
            (
                estate.arn("security-group", &estate.open_sg),
                "fail".to_string()
            ),
            (
                estate.arn("security-group", &estate.closed_sg),
                "pass".to_string()
            ),
        ])
    );
    // The compute pack judged both instances with each of its 10 instance checks
    // (the outdated-AMI check passes both: moto's Amazon AMI they run has no
    // deprecation time).
    let compute: Vec<&Row4> = stored
        .iter()
        .filter(|r| {
            r.0.starts_with("ec2_instance_")
                && !r.0.starts_with("ec2_instance_port_")
                && r.0 != PUBLIC_IP
                && r.0 != ACCOUNT_IMDS
        })
        .collect();
    assert_eq!(compute.len(), 10 * 2, "{compute:?}");
    assert!(
        compute
            .iter()
            .filter(|r| r.0 == "ec2_instance_with_outdated_ami")
            .all(|r| r.2 == "pass"),
        "{compute:?}"
    );
    // The web instance's user data exports an AWS key pair; the app has none.
    let user_data: BTreeSet<Row4> = compute
        .iter()
        .filter(|r| r.0 == "ec2_instance_secrets_user_data")
        .map(|r| (*r).clone())
        .collect();
    assert_eq!(
        user_data,
        BTreeSet::from([
            row(
                "ec2_instance_secrets_user_data",
                estate.arn("instance", &estate.public_instance),
                "fail",
                format!(
                    "Potential secret found in EC2 instance {} User Data -> AWS Access Key ID on line 2, AWS Secret Access Key on line 3.",
                    estate.public_instance
                ),
            ),
            row(
                "ec2_instance_secrets_user_data",
                estate.arn("instance", &estate.private_instance),
                "pass",
                format!(
                    "No secrets found in EC2 instance {} since User Data is empty.",
                    estate.private_instance
                ),
            ),
        ])
    );
    for r in &compute {
        let ours = [&estate.public_instance, &estate.private_instance]
            .iter()
            .any(|i| r.1.ends_with(i.as_str()));
        assert!(ours, "{r:?}");
    }
    // Instance exposure: SSH is open to the world on the web instance only.
    let instance_ports: Vec<&Row4> = stored
        .iter()
        .filter(|r| r.0.starts_with("ec2_instance_port_"))
        .collect();
    assert_eq!(instance_ports.len(), 17 * 2);
    let failing: Vec<(&str, &str)> = instance_ports
        .iter()
        .filter(|r| r.2 == "fail")
        .map(|r| (r.0.as_str(), r.1.as_str()))
        .collect();
    let web = estate.arn("instance", &estate.public_instance);
    assert_eq!(
        failing,
        vec![("ec2_instance_port_ssh_exposed_to_internet", web.as_str())]
    );
    // moto's default network ACLs (one per VPC) allow everything in.
    let nacl: Vec<&Row4> = stored
        .iter()
        .filter(|r| r.0.starts_with("ec2_networkacl_"))
        .collect();
    assert_eq!(nacl.len(), 3 * 2, "{nacl:?}");
    assert!(nacl.iter().all(|r| r.2 == "fail"), "{nacl:?}");
    // Storage: every account-owned snapshot (moto registers its AMIs' snapshots), every
    // volume without a snapshot, and the region's encryption default (off in moto).
    let snapshots = ec2
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap()
        .snapshots
        .unwrap_or_default();
    let by_check = |id: &str| stored.iter().filter(|r| r.0 == id).count();
    assert_eq!(by_check("ec2_ebs_snapshots_encrypted"), snapshots.len());
    assert_eq!(by_check("ec2_ebs_volume_snapshots_exists"), volumes.len());
    let default_enc: Vec<&Row4> = stored
        .iter()
        .filter(|r| r.0 == "ec2_ebs_default_encryption")
        .collect();
    assert_eq!(default_enc.len(), 1);
    assert_eq!(
        default_enc[0].1,
        format!("arn:aws:ec2:{REGION}:{}:volume", estate.account)
    );
    assert_eq!(default_enc[0].3, "EBS Default Encryption is not activated.");
    assert_eq!(by_check("ec2_elastic_ip_unassigned"), 0);
    // AMIs, public snapshots and launch templates: each seeded failure next to its passing twin.
    let template = |id: &str| estate.arn("launch-template", id);
    let expected_images = BTreeSet::from([
        row(
            "ec2_ami_public",
            estate.arn("image", &estate.public_ami),
            "fail",
            "EC2 AMI citadel-golden-public is currently public.".into(),
        ),
        row(
            "ec2_ami_public",
            estate.arn("image", &estate.private_ami),
            "pass",
            "EC2 AMI citadel-golden-private is not public.".into(),
        ),
        row(
            "ec2_launch_template_imdsv2_required",
            template(&estate.open_template),
            "pass",
            "EC2 Launch Template web-open has IMDSv2 enabled and required in the following versions: 2.".into(),
        ),
        row(
            "ec2_launch_template_imdsv2_required",
            template(&estate.strict_template),
            "fail",
            "EC2 Launch Template app-strict has IMDSv2 disabled or not required in the following versions: 1.".into(),
        ),
        row(
            "ec2_launch_template_no_public_ip",
            template(&estate.open_template),
            "fail",
            "EC2 Launch Template web-open is configured to assign a public IP address to network interfaces upon launch in template versions: 1.".into(),
        ),
        row(
            "ec2_launch_template_no_public_ip",
            template(&estate.strict_template),
            "pass",
            "EC2 Launch Template app-strict is neither configured to assign a public IP address to network interfaces upon launch nor using a network interface with public IP addresses.".into(),
        ),
        row(
            "ec2_launch_template_no_secrets",
            template(&estate.open_template),
            "fail",
            "Potential secret found in User Data for EC2 Launch Template web-open in template versions: Version 1: Generic Password on line 2.".into(),
        ),
        row(
            "ec2_launch_template_no_secrets",
            template(&estate.strict_template),
            "pass",
            "No secrets found in User Data of any version for EC2 Launch Template app-strict.".into(),
        ),
    ]);
    let image_checks: BTreeSet<&str> = expected_images.iter().map(|r| r.0.as_str()).collect();
    let images: BTreeSet<Row4> = stored
        .iter()
        .filter(|r| image_checks.contains(r.0.as_str()))
        .cloned()
        .collect();
    assert_eq!(images, expected_images);
    // Every account-owned snapshot is judged; only the seeded one is public.
    let public: Vec<&Row4> = stored
        .iter()
        .filter(|r| r.0 == "ec2_ebs_public_snapshot")
        .collect();
    assert_eq!(public.len(), snapshots.len());
    let failing: Vec<(&str, &str)> = public
        .iter()
        .filter(|r| r.2 != "pass")
        .map(|r| (r.1.as_str(), r.3.as_str()))
        .collect();
    let public_snapshot = estate.arn("snapshot", &estate.public_snapshot);
    let public_text = format!(
        "EBS Snapshot {} is currently Public.",
        estate.public_snapshot
    );
    assert_eq!(
        failing,
        vec![(public_snapshot.as_str(), public_text.as_str())]
    );
    // moto cannot serve the three account settings: an error per check for the
    // region (on the region's account), never a verdict or a silent gap.
    for (check, action) in ACCOUNT_SETTINGS {
        let rows: Vec<&Row4> = stored.iter().filter(|r| r.0 == check).collect();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            (rows[0].1.as_str(), rows[0].2.as_str()),
            (
                format!("arn:aws:ec2:{REGION}:{}:account", estate.account).as_str(),
                "error"
            )
        );
        assert!(
            rows[0]
                .3
                .starts_with(&format!("discovery failed in {REGION}: {action}: ")),
            "{}",
            rows[0].3
        );
    }
    // VPC checks: the web instance's default subnet hands out public IPs, the
    // private one does not; the internal VPC has a single Availability Zone.
    let vpc_rows = |id: &str| -> Vec<(String, String)> {
        stored
            .iter()
            .filter(|r| r.0 == id)
            .map(|r| (r.2.clone(), r.3.clone()))
            .collect()
    };
    let subnets = vpc_rows("vpc_subnet_no_public_ip_by_default");
    assert_eq!(
        subnets.iter().filter(|r| r.0 == "fail").count(),
        1,
        "{subnets:?}"
    );
    assert_eq!(subnets.len(), 2, "{subnets:?}");
    let azs = vpc_rows("vpc_subnet_different_az");
    assert!(
        azs.iter().any(|r| r.0 == "fail"
            && r.1
                .starts_with("VPC internal has only subnets in us-east-1")),
        "{azs:?}"
    );
    assert_eq!(azs.len(), 2, "{azs:?}");
    // The VPC pack: each seeded failure next to its passing twin.
    let default_vpc = estate.arn("vpc", &estate.default_vpc);
    let internal_vpc = estate.arn("vpc", &estate.internal_vpc);
    let ec2_endpoint = format!(
        "VPC Endpoint {} in VPC {}",
        estate.ec2_endpoint, estate.internal_vpc
    );
    let s3_endpoint = format!(
        "VPC Endpoint {} in VPC {}",
        estate.s3_endpoint, estate.default_vpc
    );
    let expected_vpc = BTreeSet::from([
        row(
            "vpc_flow_logs_enabled",
            internal_vpc.clone(),
            "pass",
            "VPC internal Flow logs are enabled.".into(),
        ),
        row(
            "vpc_flow_logs_enabled",
            default_vpc.clone(),
            "fail",
            format!("VPC {} Flow logs are disabled.", estate.default_vpc),
        ),
        row(
            "vpc_endpoint_for_ec2_enabled",
            internal_vpc.clone(),
            "pass",
            format!("VPC {} has an EC2 Interface endpoint.", estate.internal_vpc),
        ),
        row(
            "vpc_endpoint_for_ec2_enabled",
            default_vpc.clone(),
            "fail",
            format!("VPC {} has no EC2 endpoint.", estate.default_vpc),
        ),
        row(
            "vpc_endpoint_multi_az_enabled",
            estate.arn("vpc-endpoint", &estate.ec2_endpoint),
            "fail",
            format!("{ec2_endpoint} does not have subnets in different AZs."),
        ),
        row(
            "vpc_endpoint_connections_trust_boundaries",
            estate.arn("vpc-endpoint", &estate.ec2_endpoint),
            "fail",
            format!("{ec2_endpoint} can be accessed from non-trusted accounts."),
        ),
        row(
            "vpc_endpoint_connections_trust_boundaries",
            estate.arn("vpc-endpoint", &estate.s3_endpoint),
            "pass",
            format!("{s3_endpoint} can only be accessed from trusted accounts."),
        ),
        row(
            "vpc_endpoint_services_allowed_principals_trust_boundaries",
            estate.arn("vpc-endpoint-service", &estate.endpoint_service),
            "fail",
            format!(
                "Found untrusted account 111122223333 in VPC Endpoint Service {}.",
                estate.endpoint_service
            ),
        ),
        row(
            "vpc_peering_routing_tables_with_least_privilege",
            estate.arn("vpc-peering-connection", &estate.peering),
            "fail",
            format!(
                "VPC Peering Connection {} does not comply with least privilege access since it accepts whole VPCs CIDR in its route tables.",
                estate.peering
            ),
        ),
        // moto's default VPC has no route to an Internet gateway, and no subnet has
        // a route table of its own: every subnet is private.
        row(
            "vpc_subnet_separate_private_public",
            default_vpc.clone(),
            "fail",
            format!("VPC {} has only private subnets.", estate.default_vpc),
        ),
        row(
            "vpc_subnet_separate_private_public",
            internal_vpc.clone(),
            "fail",
            "VPC internal has only private subnets.".into(),
        ),
        row(
            "vpc_different_regions",
            format!("arn:aws:ec2:{REGION}:{}:vpc", estate.account),
            "fail",
            "VPCs found only in one region.".into(),
        ),
        row(
            "ec2_transitgateway_auto_accept_vpc_attachments",
            estate.arn("transit-gateway", &estate.open_tgw),
            "fail",
            format!(
                "Transit Gateway {} in region {REGION} is configured to automatically accept shared VPC attachments.",
                estate.open_tgw
            ),
        ),
        row(
            "ec2_transitgateway_auto_accept_vpc_attachments",
            estate.arn("transit-gateway", &estate.reviewed_tgw),
            "pass",
            format!(
                "Transit Gateway {} in region {REGION} does not automatically accept shared VPC attachments.",
                estate.reviewed_tgw
            ),
        ),
    ]);
    let vpc_checks: BTreeSet<&str> = expected_vpc.iter().map(|r| r.0.as_str()).collect();
    let vpc_pack: BTreeSet<Row4> = stored
        .iter()
        .filter(|r| vpc_checks.contains(r.0.as_str()) || r.0 == "vpc_vpn_connection_tunnels_up")
        .cloned()
        .collect();
    assert_eq!(vpc_pack, expected_vpc);
    // moto cannot serve DescribeClientVpnEndpoints: an error for the region, not a gap.
    let client_vpn: Vec<&Row4> = stored
        .iter()
        .filter(|r| r.0 == "ec2_client_vpn_endpoint_connection_logging_enabled")
        .collect();
    assert_eq!(client_vpn.len(), 1, "{client_vpn:?}");
    assert_eq!(
        (client_vpn[0].1.as_str(), client_vpn[0].2.as_str()),
        (
            format!("arn:aws:ec2:{REGION}:{}:account", estate.account).as_str(),
            "error"
        )
    );
    assert!(
        client_vpn[0].3.starts_with(&format!(
            "discovery failed in {REGION}: ec2:DescribeClientVpnEndpoints: "
        )),
        "{}",
        client_vpn[0].3
    );
    assert_eq!(
        stored.len(),
        expected.len()
            // The security-group checks besides SSH (wide-open public IPv4 included).
            + 18 * 2
            + 10 * 2
            + 17 * 2
            + 3 * 2
            + snapshots.len()
            + volumes.len()
            + 1
            + 2 * groups.len()
            + 2
            + 2
            + expected_vpc.len()
            + 1
            + expected_images.len()
            + snapshots.len()
            + ACCOUNT_SETTINGS.len()
    );
    let flow_log_rel: i64 = sqlx::query(
        "SELECT COUNT(*) FROM asset_relationships WHERE from_source_id = $1 AND kind = 'belongs_to' AND to_source_id = $2",
    )
    .bind(estate.arn("vpc-flow-log", &estate.flow_log))
    .bind(&internal_vpc)
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(flow_log_rel, 1, "flow log belongs_to its VPC");

    // The signed bytes are stored verbatim and match what the agent wrote.
    let written = std::fs::read(&batch_file).unwrap();
    let (raw, sha): (Vec<u8>, String) = {
        let r = sqlx::query(
            "SELECT p.raw, b.sha256 FROM batches b JOIN batch_payloads p ON p.batch_id = b.id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(raw, written);
    assert_eq!(sha, citadel_wire::sha256_hex(&written));
    // Anyone holding the agent's enrolled key can verify it offline; it names the signed pack.
    let agent_row = sqlx::query("SELECT public_key, version FROM agents")
        .fetch_one(&pool)
        .await
        .unwrap();
    let key: Vec<u8> = agent_row.get(0);
    // The fleet view's version is the one the agent signed into its batch.
    let version: Option<String> = agent_row.get(1);
    assert_eq!(version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key.try_into().unwrap()).unwrap();
    let batch = citadel_wire::SignedBatch::parse(&raw)
        .unwrap()
        .verify(&key)
        .unwrap();
    let packs: Vec<&str> = batch.plugins.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        packs,
        vec![
            "citadel-pack-ec2-compute",
            "citadel-pack-ec2-network",
            "citadel-pack-ec2-storage",
            "citadel-pack-vpc"
        ]
    );
    for p in &batch.plugins {
        assert!(
            p.signer.as_deref().unwrap().starts_with("citadel/cpk1_"),
            "{p:?}"
        );
        assert_eq!(p.sha256.len(), 64);
    }
    assert_eq!(report["plugin_errors"], serde_json::json!([]));
    // Every result got its first history row; assets carry their raw documents.
    assert_eq!(
        count(&pool, "check_result_history").await,
        stored.len() as i64
    );
    let raw_sg: String = sqlx::query("SELECT raw_source_data FROM assets WHERE external_id = $1")
        .bind(&estate.open_sg)
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert!(raw_sg.contains("0.0.0.0/0"), "{raw_sg}");
    // User data (the instance's and the launch templates') never leaves the agent.
    let leaked: i64 = sqlx::query(
        "SELECT COUNT(*) FROM assets WHERE raw_source_data LIKE $1 OR raw_source_data LIKE $2",
    )
    .bind(format!("%{}%", &citadel_e2e::estate::WEB_USER_DATA[..24]))
    .bind("%\"UserData\"%")
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(leaked, 0, "user data in stored assets");
    let rel: i64 = sqlx::query(
        "SELECT COUNT(*) FROM asset_relationships WHERE from_source_id = $1 AND kind = 'protected_by' AND to_source_id = $2",
    )
    .bind(estate.arn("instance", &estate.public_instance))
    .bind(estate.arn("security-group", &estate.open_sg))
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(rel, 1, "instance protected_by its security group");

    // A rescan updates in place: a second batch, no duplicated results, no new history.
    let assets_before = count(&pool, "assets").await;
    let (report, code) = agent.scan(&[]).unwrap();
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["push"]["delivered"][0]["status"], "accepted");
    assert_eq!(
        report["push"]["delivered"][0]["summary"]["assets_created"],
        0
    );
    assert_eq!(count(&pool, "batches").await, 2);
    assert_eq!(count(&pool, "assets").await, assets_before);
    assert_eq!(stored_results(&pool).await.len(), stored.len());
    assert_eq!(
        count(&pool, "check_result_history").await,
        stored.len() as i64
    );

    // The collector's own view agrees.
    let out = citadel_e2e::run_ok(
        collector
            .command()
            .unwrap()
            .args(["findings", "--tenant", "acme", "--json"]),
    )
    .unwrap();
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), stored.len());
    pool.close().await;
    collector.stop();
}

/// Cross-account deployment: the agent assumes the scanned account's role
/// (with its external id) and scans that account, not its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assumes_the_integration_role() {
    let moto = Moto::start().unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let mut collector = Collector::init(&work.path().join("collector"), &db.url).unwrap();
    collector.start().unwrap();
    let agent = citadel_e2e::Agent::with_settings(
        &work.path().join("agent"),
        &moto.endpoint,
        &[REGION],
        "role_arn = \"arn:aws:iam::111111111111:role/CitadelAgent\"\nexternal_id = \"citadel-e2e-7f3a\"",
    )
    .unwrap();
    let out = agent
        .enroll(&collector.api_url(), &collector.token("acme").unwrap())
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A volume that exists only in the target account.
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "testing", "testing", None, None, "e2e",
        ))
        .load()
        .await;
    let assumed =
        aws_config::sts::AssumeRoleProvider::builder("arn:aws:iam::111111111111:role/CitadelAgent")
            .session_name("e2e-seed")
            .configure(&base)
            .build()
            .await;
    let conf = base
        .into_builder()
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(assumed))
        .build();
    let volume = aws_sdk_ec2::Client::new(&conf)
        .create_volume()
        .availability_zone(format!("{REGION}a"))
        .size(8)
        .send()
        .await
        .unwrap()
        .volume_id
        .unwrap();
    let (report, code) = agent.scan(&[]).unwrap();
    assert_eq!(code, 0, "{report:#}");
    let integration = &report["integrations"][0];
    assert_eq!(integration["account"], "111111111111", "{report:#}");
    // The calls moto cannot serve; everything else was discovered.
    let errors = integration["discovery_errors"].as_array().unwrap();
    let failed: BTreeSet<String> = errors
        .iter()
        .map(|e| {
            let e = e.as_str().unwrap();
            e.split(": ").next().unwrap_or(e).to_string()
        })
        .collect();
    let moto_gaps: BTreeSet<String> = [
        "ec2:DescribeClientVpnEndpoints",
        "ec2:GetImageBlockPublicAccessState",
        "ec2:GetInstanceMetadataDefaults",
        "ec2:GetSnapshotBlockPublicAccessState",
    ]
    .iter()
    .map(|a| format!("{REGION} {a}"))
    .collect();
    assert_eq!(failed, moto_gaps, "{report:#}");
    assert_eq!(errors.len(), 4, "{report:#}");
    let findings = integration["findings"].as_array().unwrap();
    let expected = format!("arn:aws:ec2:{REGION}:111111111111:volume/{volume}");
    let on_volumes: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["check_id"] == "ec2_ebs_volume_encryption")
        .collect();
    assert_eq!(
        on_volumes.len(),
        1,
        "only the target account's volume: {report:#}"
    );
    assert_eq!(on_volumes[0]["resource"], expected.as_str());
    assert!(
        findings
            .iter()
            .all(|f| f["resource"].as_str().unwrap().contains(":111111111111:")),
        "{report:#}"
    );
    collector.stop();
}
