//! EC2 and VPC discovery for one region, rendering SDK types into AWS-shaped JSON.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    Address, GroupIdentifier, Instance, IpPermission, NetworkAcl, NetworkInterface, RouteTable,
    SecurityGroup, Snapshot, Subnet, Tag, Volume, Vpc,
};
use citadel_wire::Relationship;
use serde_json::{Map, Value, json};

use super::{DiscoveryError, Resource, error_text, partition};

/// What one region yielded.
#[derive(Default)]
pub(super) struct RegionPart {
    pub(super) resources: Vec<Resource>,
    pub(super) relationships: Vec<Relationship>,
    pub(super) errors: Vec<DiscoveryError>,
}

/// Paginate one Describe call into a Vec, or record why it failed.
macro_rules! collect_pages {
    ($part:expr, $region:expr, $kind:expr, $action:expr, $req:expr, $items:ident) => {{
        let mut out = Vec::new();
        let mut pages = $req.into_paginator().send();
        let mut failed = false;
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => out.extend(page.$items.unwrap_or_default()),
                Err(e) => {
                    $part.errors.push(DiscoveryError {
                        region: $region.to_string(),
                        kind: $kind,
                        action: $action,
                        message: error_text(&e),
                    });
                    failed = true;
                    break;
                }
            }
        }
        if failed { None } else { Some(out) }
    }};
}

pub(super) async fn discover_region(
    client: &Client,
    region: &str,
    account: &str,
    wanted: &BTreeSet<String>,
) -> RegionPart {
    let mut part = RegionPart::default();
    let arn =
        |ty: &str, id: &str| format!("arn:{}:ec2:{region}:{account}:{ty}/{id}", partition(region));

    let (
        instances,
        groups,
        volumes,
        vpcs,
        subnets,
        enis,
        route_tables,
        acls,
        snapshots,
        addresses,
        ebs_default,
    ) = tokio::join!(
        async {
            let mut p = RegionPart::default();
            let r = if wanted.contains("ec2:instance") {
                collect_pages!(
                    p,
                    region,
                    "ec2:instance",
                    "ec2:DescribeInstances",
                    client.describe_instances(),
                    reservations
                )
            } else {
                None
            };
            (p, r)
        },
        async {
            let mut p = RegionPart::default();
            let r = if wanted.contains("ec2:security-group") {
                collect_pages!(
                    p,
                    region,
                    "ec2:security-group",
                    "ec2:DescribeSecurityGroups",
                    client.describe_security_groups(),
                    security_groups
                )
            } else {
                None
            };
            (p, r)
        },
        async {
            let mut p = RegionPart::default();
            let r = if wanted.contains("ec2:volume") {
                collect_pages!(
                    p,
                    region,
                    "ec2:volume",
                    "ec2:DescribeVolumes",
                    client.describe_volumes(),
                    volumes
                )
            } else {
                None
            };
            (p, r)
        },
        async {
            let mut p = RegionPart::default();
            let r = if wanted.contains("ec2:vpc") {
                collect_pages!(
                    p,
                    region,
                    "ec2:vpc",
                    "ec2:DescribeVpcs",
                    client.describe_vpcs(),
                    vpcs
                )
            } else {
                None
            };
            (p, r)
        },
        async {
            let mut p = RegionPart::default();
            let r = if wanted.contains("ec2:subnet") {
                collect_pages!(
                    p,
                    region,
                    "ec2:subnet",
                    "ec2:DescribeSubnets",
                    client.describe_subnets(),
                    subnets
                )
            } else {
                None
            };
            (p, r)
        },
        async {
            let mut p = RegionPart::default();
            let r = if wanted.contains("ec2:network-interface") {
                collect_pages!(
                    p,
                    region,
                    "ec2:network-interface",
                    "ec2:DescribeNetworkInterfaces",
                    client.describe_network_interfaces(),
                    network_interfaces
                )
            } else {
                None
            };
            (p, r)
        },
        async {
            let mut p = RegionPart::default();
            let r = if wanted.contains("ec2:route-table") {
                collect_pages!(
                    p,
                    region,
                    "ec2:route-table",
                    "ec2:DescribeRouteTables",
                    client.describe_route_tables(),
                    route_tables
                )
            } else {
                None
            };
            (p, r)
        },
        async {
            let mut p = RegionPart::default();
            let r = if wanted.contains("ec2:network-acl") {
                collect_pages!(
                    p,
                    region,
                    "ec2:network-acl",
                    "ec2:DescribeNetworkAcls",
                    client.describe_network_acls(),
                    network_acls
                )
            } else {
                None
            };
            (p, r)
        },
        async {
            let mut p = RegionPart::default();
            let r = if wanted.contains("ec2:snapshot") {
                collect_pages!(
                    p,
                    region,
                    "ec2:snapshot",
                    "ec2:DescribeSnapshots",
                    client.describe_snapshots().owner_ids("self"),
                    snapshots
                )
            } else {
                None
            };
            (p, r)
        },
        async {
            let mut p = RegionPart::default();
            // DescribeAddresses is not paginated.
            let r = if wanted.contains("ec2:address") {
                match client.describe_addresses().send().await {
                    Ok(o) => Some(o.addresses.unwrap_or_default()),
                    Err(e) => {
                        p.errors.push(DiscoveryError {
                            region: region.to_string(),
                            kind: "ec2:address",
                            action: "ec2:DescribeAddresses",
                            message: error_text(&e),
                        });
                        None
                    }
                }
            } else {
                None
            };
            (p, r)
        },
        async {
            let mut p = RegionPart::default();
            let r = if wanted.contains("ec2:ebs-encryption-by-default") {
                match client.get_ebs_encryption_by_default().send().await {
                    Ok(o) => Some(o.ebs_encryption_by_default),
                    Err(e) => {
                        p.errors.push(DiscoveryError {
                            region: region.to_string(),
                            kind: "ec2:ebs-encryption-by-default",
                            action: "ec2:GetEbsEncryptionByDefault",
                            message: error_text(&e),
                        });
                        None
                    }
                }
            } else {
                None
            };
            (p, r)
        },
    );
    for p in [
        &instances.0,
        &groups.0,
        &volumes.0,
        &vpcs.0,
        &subnets.0,
        &enis.0,
        &route_tables.0,
        &acls.0,
        &snapshots.0,
        &addresses.0,
        &ebs_default.0,
    ] {
        part.errors.extend(p.errors.iter().cloned());
    }
    let mut rel = |from: &str, kind: &str, to: String| {
        part.relationships.push(Relationship {
            from: from.to_string(),
            kind: kind.into(),
            to,
        });
    };

    let mut resources = Vec::new();
    let mut push = |kind: &'static str,
                    id: &str,
                    uid: String,
                    name: Option<String>,
                    tags: &[Tag],
                    doc: Value| {
        resources.push(Resource {
            uid,
            id: id.to_string(),
            kind,
            region: region.to_string(),
            account: account.to_string(),
            name,
            tags: tag_map(tags),
            document: doc.to_string(),
        });
    };

    for reservation in instances.1.unwrap_or_default() {
        for i in reservation.instances() {
            let id = i.instance_id().unwrap_or_default();
            let uid = arn("instance", id);
            if let Some(s) = i.subnet_id() {
                rel(&uid, "belongs_to", arn("subnet", s));
            }
            if let Some(v) = i.vpc_id() {
                rel(&uid, "belongs_to", arn("vpc", v));
            }
            for g in i.security_groups() {
                if let Some(g) = g.group_id() {
                    rel(&uid, "protected_by", arn("security-group", g));
                }
            }
            if let Some(p) = i.iam_instance_profile().and_then(|p| p.arn()) {
                rel(&uid, "assumes", p.to_string());
            }
            push(
                "ec2:instance",
                id,
                uid,
                name_tag(i.tags()),
                i.tags(),
                instance_doc(i),
            );
        }
    }
    for g in groups.1.unwrap_or_default() {
        let id = g.group_id().unwrap_or_default();
        let uid = arn("security-group", id);
        for p in g.ip_permissions() {
            for pair in p.user_id_group_pairs() {
                if let Some(src) = pair.group_id() {
                    rel(&uid, "allows_from", arn("security-group", src));
                }
            }
        }
        if let Some(v) = g.vpc_id() {
            rel(&uid, "belongs_to", arn("vpc", v));
        }
        let name = g.group_name().map(str::to_string);
        push(
            "ec2:security-group",
            id,
            uid,
            name,
            g.tags(),
            security_group_doc(&g),
        );
    }
    for v in volumes.1.unwrap_or_default() {
        let id = v.volume_id().unwrap_or_default();
        let uid = arn("volume", id);
        for a in v.attachments() {
            if let Some(i) = a.instance_id() {
                rel(&uid, "attached_to", arn("instance", i));
            }
        }
        if let Some(k) = v.kms_key_id() {
            rel(&uid, "encrypted_by", k.to_string());
        }
        push(
            "ec2:volume",
            id,
            uid,
            name_tag(v.tags()),
            v.tags(),
            volume_doc(&v),
        );
    }
    for v in vpcs.1.unwrap_or_default() {
        let id = v.vpc_id().unwrap_or_default();
        push(
            "ec2:vpc",
            id,
            arn("vpc", id),
            name_tag(v.tags()),
            v.tags(),
            vpc_doc(&v),
        );
    }
    for s in subnets.1.unwrap_or_default() {
        let id = s.subnet_id().unwrap_or_default();
        let uid = s
            .subnet_arn()
            .map(str::to_string)
            .unwrap_or_else(|| arn("subnet", id));
        if let Some(v) = s.vpc_id() {
            rel(&uid, "belongs_to", arn("vpc", v));
        }
        push(
            "ec2:subnet",
            id,
            uid,
            name_tag(s.tags()),
            s.tags(),
            subnet_doc(&s),
        );
    }
    for snap in snapshots.1.unwrap_or_default() {
        let id = snap.snapshot_id().unwrap_or_default();
        let uid = arn("snapshot", id);
        if let Some(v) = snap.volume_id() {
            rel(&uid, "belongs_to", arn("volume", v));
        }
        if let Some(k) = snap.kms_key_id() {
            rel(&uid, "encrypted_by", k.to_string());
        }
        push(
            "ec2:snapshot",
            id,
            uid,
            name_tag(snap.tags()),
            snap.tags(),
            snapshot_doc(&snap),
        );
    }
    for addr in addresses.1.unwrap_or_default() {
        let ip = addr.public_ip().unwrap_or_default();
        let allocation = addr.allocation_id().unwrap_or("None");
        let uid = arn("eip-allocation", allocation);
        if let Some(i) = addr.instance_id() {
            rel(&uid, "attached_to", arn("instance", i));
        }
        push(
            "ec2:address",
            ip,
            uid,
            name_tag(addr.tags()),
            addr.tags(),
            address_doc(&addr),
        );
    }
    // The region's EBS encryption default, as a pseudo-resource named like Prowler's finding.
    if let Some(Some(enabled)) = ebs_default.1 {
        push(
            "ec2:ebs-encryption-by-default",
            account,
            format!("arn:{}:ec2:{region}:{account}:volume", partition(region)),
            None,
            &[],
            json!({ "EbsEncryptionByDefault": enabled }),
        );
    }
    for a in acls.1.unwrap_or_default() {
        let id = a.network_acl_id().unwrap_or_default();
        let uid = arn("network-acl", id);
        if let Some(v) = a.vpc_id() {
            rel(&uid, "belongs_to", arn("vpc", v));
        }
        push(
            "ec2:network-acl",
            id,
            uid,
            name_tag(a.tags()),
            a.tags(),
            network_acl_doc(&a),
        );
    }
    for t in route_tables.1.unwrap_or_default() {
        let id = t.route_table_id().unwrap_or_default();
        let uid = arn("route-table", id);
        for a in t.associations() {
            if let Some(subnet) = a.subnet_id() {
                rel(&arn("subnet", subnet), "routes_to", uid.clone());
            }
        }
        push(
            "ec2:route-table",
            id,
            uid,
            name_tag(t.tags()),
            t.tags(),
            route_table_doc(&t),
        );
    }
    for n in enis.1.unwrap_or_default() {
        let id = n.network_interface_id().unwrap_or_default();
        let uid = arn("network-interface", id);
        if let Some(i) = n.attachment().and_then(|a| a.instance_id()) {
            rel(&uid, "attached_to", arn("instance", i));
        }
        if let Some(s) = n.subnet_id() {
            rel(&uid, "belongs_to", arn("subnet", s));
        }
        for g in n.groups() {
            if let Some(g) = g.group_id() {
                rel(&uid, "protected_by", arn("security-group", g));
            }
        }
        push(
            "ec2:network-interface",
            id,
            uid,
            name_tag(n.tag_set()),
            n.tag_set(),
            eni_doc(&n),
        );
    }
    part.resources = resources;
    part
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn name_tag(tags: &[Tag]) -> Option<String> {
    tags.iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(|t| t.value())
        .map(str::to_string)
}

/// Builds a JSON object, leaving out absent fields like the AWS API does.
#[derive(Default)]
struct Doc(Map<String, Value>);

impl Doc {
    fn s(mut self, key: &str, v: Option<&str>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.into(), Value::from(v));
        }
        self
    }
    fn b(mut self, key: &str, v: Option<bool>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.into(), Value::from(v));
        }
        self
    }
    fn i(mut self, key: &str, v: Option<i64>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.into(), Value::from(v));
        }
        self
    }
    fn v(mut self, key: &str, v: Option<Value>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.into(), v);
        }
        self
    }
    fn list<T>(self, key: &str, items: &[T], f: impl Fn(&T) -> Value) -> Self {
        let list = items.iter().map(f).collect();
        self.v(key, Some(Value::Array(list)))
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn tags_doc(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key().unwrap_or_default(), "Value": t.value().unwrap_or_default()}))
            .collect(),
    )
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

fn group_doc(g: &GroupIdentifier) -> Value {
    Doc::default()
        .s("GroupId", g.group_id())
        .s("GroupName", g.group_name())
        .done()
}

fn instance_doc(i: &Instance) -> Value {
    Doc::default()
        .s("InstanceId", i.instance_id())
        .s("InstanceType", i.instance_type().map(|t| t.as_str()))
        .s("ImageId", i.image_id())
        .s("KeyName", i.key_name())
        .s("LaunchTime", time(i.launch_time()).as_deref())
        .v(
            "State",
            i.state().map(|s| {
                Doc::default()
                    .s("Name", s.name().map(|n| n.as_str()))
                    .i("Code", s.code().map(i64::from))
                    .done()
            }),
        )
        .s("StateTransitionReason", i.state_transition_reason())
        .s("PrivateIpAddress", i.private_ip_address())
        .s("PrivateDnsName", i.private_dns_name())
        .s("PublicIpAddress", i.public_ip_address())
        .s("PublicDnsName", i.public_dns_name())
        .s("SubnetId", i.subnet_id())
        .s("VpcId", i.vpc_id())
        .s("Architecture", i.architecture().map(|a| a.as_str()))
        .s(
            "VirtualizationType",
            i.virtualization_type().map(|v| v.as_str()),
        )
        .s("RootDeviceType", i.root_device_type().map(|v| v.as_str()))
        .s("RootDeviceName", i.root_device_name())
        .list("SecurityGroups", i.security_groups(), group_doc)
        .v(
            "IamInstanceProfile",
            i.iam_instance_profile()
                .map(|p| Doc::default().s("Arn", p.arn()).s("Id", p.id()).done()),
        )
        .v(
            "MetadataOptions",
            i.metadata_options().map(|m| {
                Doc::default()
                    .s("HttpTokens", m.http_tokens().map(|t| t.as_str()))
                    .s("HttpEndpoint", m.http_endpoint().map(|t| t.as_str()))
                    .i(
                        "HttpPutResponseHopLimit",
                        m.http_put_response_hop_limit().map(i64::from),
                    )
                    .done()
            }),
        )
        .v(
            "Monitoring",
            i.monitoring().map(|m| {
                Doc::default()
                    .s("State", m.state().map(|s| s.as_str()))
                    .done()
            }),
        )
        .list("NetworkInterfaces", i.network_interfaces(), |n| {
            Doc::default()
                .s("NetworkInterfaceId", n.network_interface_id())
                .s("SubnetId", n.subnet_id())
                .s("VpcId", n.vpc_id())
                .list("Groups", n.groups(), group_doc)
                .done()
        })
        .list("BlockDeviceMappings", i.block_device_mappings(), |b| {
            Doc::default()
                .s("DeviceName", b.device_name())
                .v(
                    "Ebs",
                    b.ebs()
                        .map(|e| Doc::default().s("VolumeId", e.volume_id()).done()),
                )
                .done()
        })
        .v("Tags", Some(tags_doc(i.tags())))
        .done()
}

fn permission_doc(p: &IpPermission) -> Value {
    Doc::default()
        .s("IpProtocol", p.ip_protocol())
        .i("FromPort", p.from_port().map(i64::from))
        .i("ToPort", p.to_port().map(i64::from))
        .list("IpRanges", p.ip_ranges(), |r| {
            Doc::default()
                .s("CidrIp", r.cidr_ip())
                .s("Description", r.description())
                .done()
        })
        .list("Ipv6Ranges", p.ipv6_ranges(), |r| {
            Doc::default()
                .s("CidrIpv6", r.cidr_ipv6())
                .s("Description", r.description())
                .done()
        })
        .list("PrefixListIds", p.prefix_list_ids(), |r| {
            Doc::default().s("PrefixListId", r.prefix_list_id()).done()
        })
        .list("UserIdGroupPairs", p.user_id_group_pairs(), |g| {
            Doc::default()
                .s("GroupId", g.group_id())
                .s("UserId", g.user_id())
                .done()
        })
        .done()
}

fn security_group_doc(g: &SecurityGroup) -> Value {
    Doc::default()
        .s("GroupId", g.group_id())
        .s("GroupName", g.group_name())
        .s("Description", g.description())
        .s("OwnerId", g.owner_id())
        .s("VpcId", g.vpc_id())
        .list("IpPermissions", g.ip_permissions(), permission_doc)
        .list(
            "IpPermissionsEgress",
            g.ip_permissions_egress(),
            permission_doc,
        )
        .v("Tags", Some(tags_doc(g.tags())))
        .done()
}

fn volume_doc(v: &Volume) -> Value {
    Doc::default()
        .s("VolumeId", v.volume_id())
        .b("Encrypted", v.encrypted())
        .s("KmsKeyId", v.kms_key_id())
        .i("Size", v.size().map(i64::from))
        .s("State", v.state().map(|s| s.as_str()))
        .s("VolumeType", v.volume_type().map(|s| s.as_str()))
        .s("AvailabilityZone", v.availability_zone())
        .s("SnapshotId", v.snapshot_id())
        .s("CreateTime", time(v.create_time()).as_deref())
        .list("Attachments", v.attachments(), |a| {
            Doc::default()
                .s("InstanceId", a.instance_id())
                .s("Device", a.device())
                .s("State", a.state().map(|s| s.as_str()))
                .b("DeleteOnTermination", a.delete_on_termination())
                .done()
        })
        .v("Tags", Some(tags_doc(v.tags())))
        .done()
}

fn vpc_doc(v: &Vpc) -> Value {
    Doc::default()
        .s("VpcId", v.vpc_id())
        .s("CidrBlock", v.cidr_block())
        .b("IsDefault", v.is_default())
        .s("State", v.state().map(|s| s.as_str()))
        .s("OwnerId", v.owner_id())
        .v("Tags", Some(tags_doc(v.tags())))
        .done()
}

fn snapshot_doc(s: &Snapshot) -> Value {
    Doc::default()
        .s("SnapshotId", s.snapshot_id())
        .s("VolumeId", s.volume_id())
        .s("OwnerId", s.owner_id())
        .b("Encrypted", s.encrypted())
        .s("KmsKeyId", s.kms_key_id())
        .s("State", s.state().map(|x| x.as_str()))
        .s("StartTime", time(s.start_time()).as_deref())
        .i("VolumeSize", s.volume_size().map(i64::from))
        .s("Description", s.description())
        .v("Tags", Some(tags_doc(s.tags())))
        .done()
}

fn address_doc(a: &Address) -> Value {
    Doc::default()
        .s("PublicIp", a.public_ip())
        .s("AllocationId", a.allocation_id())
        .s("AssociationId", a.association_id())
        .s("InstanceId", a.instance_id())
        .s("NetworkInterfaceId", a.network_interface_id())
        .s("PrivateIpAddress", a.private_ip_address())
        .s("Domain", a.domain().map(|d| d.as_str()))
        .v("Tags", Some(tags_doc(a.tags())))
        .done()
}

fn network_acl_doc(a: &NetworkAcl) -> Value {
    Doc::default()
        .s("NetworkAclId", a.network_acl_id())
        .s("VpcId", a.vpc_id())
        .s("OwnerId", a.owner_id())
        .b("IsDefault", a.is_default())
        .list("Associations", a.associations(), |x| {
            Doc::default()
                .s("NetworkAclAssociationId", x.network_acl_association_id())
                .s("SubnetId", x.subnet_id())
                .done()
        })
        .list("Entries", a.entries(), |e| {
            Doc::default()
                .i("RuleNumber", e.rule_number().map(i64::from))
                .s("Protocol", e.protocol())
                .s("RuleAction", e.rule_action().map(|r| r.as_str()))
                .b("Egress", e.egress())
                .s("CidrBlock", e.cidr_block())
                .s("Ipv6CidrBlock", e.ipv6_cidr_block())
                .v(
                    "PortRange",
                    e.port_range().map(|p| {
                        Doc::default()
                            .i("From", p.from().map(i64::from))
                            .i("To", p.to().map(i64::from))
                            .done()
                    }),
                )
                .done()
        })
        .v("Tags", Some(tags_doc(a.tags())))
        .done()
}

fn route_table_doc(t: &RouteTable) -> Value {
    Doc::default()
        .s("RouteTableId", t.route_table_id())
        .s("VpcId", t.vpc_id())
        .s("OwnerId", t.owner_id())
        .list("Associations", t.associations(), |a| {
            Doc::default()
                .s("RouteTableAssociationId", a.route_table_association_id())
                .s("SubnetId", a.subnet_id())
                .s("GatewayId", a.gateway_id())
                .b("Main", a.main())
                .done()
        })
        .list("Routes", t.routes(), |r| {
            Doc::default()
                .s("DestinationCidrBlock", r.destination_cidr_block())
                .s("DestinationIpv6CidrBlock", r.destination_ipv6_cidr_block())
                .s("DestinationPrefixListId", r.destination_prefix_list_id())
                .s("GatewayId", r.gateway_id())
                .s("NatGatewayId", r.nat_gateway_id())
                .s("TransitGatewayId", r.transit_gateway_id())
                .s("VpcPeeringConnectionId", r.vpc_peering_connection_id())
                .s("State", r.state().map(|s| s.as_str()))
                .done()
        })
        .v("Tags", Some(tags_doc(t.tags())))
        .done()
}

fn subnet_doc(s: &Subnet) -> Value {
    Doc::default()
        .s("SubnetId", s.subnet_id())
        .s("SubnetArn", s.subnet_arn())
        .s("VpcId", s.vpc_id())
        .s("CidrBlock", s.cidr_block())
        .s("AvailabilityZone", s.availability_zone())
        .b("MapPublicIpOnLaunch", s.map_public_ip_on_launch())
        .b("DefaultForAz", s.default_for_az())
        .b(
            "AssignIpv6AddressOnCreation",
            s.assign_ipv6_address_on_creation(),
        )
        .v("Tags", Some(tags_doc(s.tags())))
        .done()
}

fn eni_doc(n: &NetworkInterface) -> Value {
    Doc::default()
        .s("NetworkInterfaceId", n.network_interface_id())
        .s("InterfaceType", n.interface_type().map(|t| t.as_str()))
        .s("SubnetId", n.subnet_id())
        .s("VpcId", n.vpc_id())
        .s("PrivateIpAddress", n.private_ip_address())
        .s("Status", n.status().map(|s| s.as_str()))
        .s("RequesterId", n.requester_id())
        .list("Groups", n.groups(), group_doc)
        .v(
            "Attachment",
            n.attachment().map(|a| {
                Doc::default()
                    .s("InstanceId", a.instance_id())
                    .s("InstanceOwnerId", a.instance_owner_id())
                    .i("DeviceIndex", a.device_index().map(i64::from))
                    .done()
            }),
        )
        .v(
            "Association",
            n.association().map(|a| {
                Doc::default()
                    .s("PublicIp", a.public_ip())
                    .s("PublicDnsName", a.public_dns_name())
                    .done()
            }),
        )
        .v("TagSet", Some(tags_doc(n.tag_set())))
        .done()
}
