//! EC2 and VPC discovery for one region, rendering SDK types into AWS-shaped JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    Address, AllowedPrincipal, ClientVpnEndpoint, FlowLog, GroupIdentifier, Instance, IpPermission,
    NetworkAcl, NetworkInterface, RouteTable, SecurityGroup, ServiceDetail, Snapshot, Subnet, Tag,
    TransitGateway, Volume, Vpc, VpcEndpoint, VpcPeeringConnection, VpcPeeringConnectionVpcInfo,
    VpnConnection,
};
use aws_sdk_ec2::types::{
    CreateVolumePermission, Image, InstanceMetadataDefaultsResponse, LaunchTemplate,
    LaunchTemplateVersion, Reservation,
};
use citadel_wire::Relationship;
use serde_json::{Map, Value, json};

use super::{
    DiscoveryError, INSTANCE_USER_DATA, KINDS, LAUNCH_TEMPLATE_USER_DATA, Resource, error_text,
    partition,
};

/// What one region yielded.
#[derive(Default)]
pub(super) struct RegionPart {
    pub(super) region: String,
    pub(super) resources: Vec<Resource>,
    pub(super) relationships: Vec<Relationship>,
    pub(super) errors: Vec<DiscoveryError>,
    /// Kinds whose calls all answered (some may still have failed in part:
    /// see `errors`).
    pub(super) listed: BTreeSet<&'static str>,
}

/// A failed API call: which action, and why.
struct Failed {
    action: &'static str,
    message: String,
}

impl Failed {
    fn new<E, R>(action: &'static str, err: &aws_sdk_ec2::error::SdkError<E, R>) -> Self
    where
        E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self {
            action,
            message: error_text(err),
        }
    }
}

/// Every page of one paginated Describe call, as one Vec.
macro_rules! paged {
    ($action:expr, $req:expr, $items:ident) => {
        async {
            let mut out = Vec::new();
            let mut pages = $req.into_paginator().send();
            while let Some(page) = pages.next().await {
                match page {
                    Ok(page) => out.extend(page.$items.unwrap_or_default()),
                    Err(e) => return Err(Failed::new($action, &e)),
                }
            }
            Ok(out)
        }
    };
}

/// The calls of one region: each runs only when a loaded pack reads its kind,
/// and a failure is recorded as a [`DiscoveryError`] for that kind.
struct Calls<'a> {
    region: &'a str,
    wanted: &'a BTreeSet<String>,
    errors: Mutex<Vec<DiscoveryError>>,
    /// Kinds with a call that answered. A kind whose call never ran (what
    /// it needed failed) is not in it, so it never counts as complete.
    listed: Mutex<BTreeSet<&'static str>>,
}

impl Calls<'_> {
    async fn run<T>(
        &self,
        kind: &'static str,
        call: impl Future<Output = Result<T, Failed>>,
    ) -> Option<T> {
        if !self.wanted.contains(kind) {
            return None;
        }
        match call.await {
            Ok(v) => {
                self.listed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(kind);
                Some(v)
            }
            Err(failed) => {
                self.record(kind, failed);
                None
            }
        }
    }

    /// Record a failure of a call whose other results are kept.
    fn record(&self, kind: &'static str, failed: Failed) {
        self.errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(DiscoveryError {
                region: self.region.to_string(),
                kind,
                action: failed.action,
                message: failed.message,
            });
    }

    /// The failures, in the order of [`KINDS`] whatever order the calls
    /// ended in, and the kinds with a call that answered.
    fn finish(self) -> (Vec<DiscoveryError>, BTreeSet<&'static str>) {
        let mut errors = self
            .errors
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        errors.sort_by_key(|e| (KINDS.iter().position(|(k, _)| *k == e.kind), e.action));
        let listed = self
            .listed
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        (errors, listed)
    }
}

/// Endpoint services the account owns, each with the principals allowed to use it.
async fn endpoint_services(
    client: &Client,
    account: &str,
) -> Result<Vec<(ServiceDetail, Vec<AllowedPrincipal>)>, Failed> {
    const LIST: &str = "ec2:DescribeVpcEndpointServices";
    // DescribeVpcEndpointServices has a NextToken but no SDK paginator. It lists
    // every service the account can reach (AWS's own, shared ones); keep its own.
    let mut owned = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .describe_vpc_endpoint_services()
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| Failed::new(LIST, &e))?;
        owned.extend(
            page.service_details
                .unwrap_or_default()
                .into_iter()
                .filter(|s| s.owner() == Some(account)),
        );
        match page.next_token {
            Some(next) if !next.is_empty() && token.as_deref() != Some(next.as_str()) => {
                token = Some(next)
            }
            _ => break,
        }
    }
    let mut out = Vec::with_capacity(owned.len());
    for service in owned {
        let Some(id) = service.service_id() else {
            continue;
        };
        let principals = paged!(
            "ec2:DescribeVpcEndpointServicePermissions",
            client
                .describe_vpc_endpoint_service_permissions()
                .service_id(id),
            allowed_principals
        )
        .await?;
        out.push((service, principals));
    }
    Ok(out)
}

/// Per-region account settings and launch templates: calls that need nothing
/// else, so they start with the first calls of a region.
struct Settings {
    image_bpa: Option<Option<String>>,
    snapshot_bpa: Option<Option<String>>,
    /// The instance metadata defaults, as their document.
    imds_defaults: Option<Value>,
    /// Launch templates with all their versions.
    templates: Option<Vec<(LaunchTemplate, Vec<LaunchTemplateVersion>)>>,
}

async fn settings(client: &Client, calls: &Calls<'_>) -> Settings {
    let (image_bpa, snapshot_bpa, imds_defaults, templates) = tokio::join!(
        calls.run("ec2:image-block-public-access", async {
            client
                .get_image_block_public_access_state()
                .send()
                .await
                .map(|o| o.image_block_public_access_state)
                .map_err(|e| Failed::new("ec2:GetImageBlockPublicAccessState", &e))
        }),
        calls.run("ec2:snapshot-block-public-access", async {
            client
                .get_snapshot_block_public_access_state()
                .send()
                .await
                .map(|o| o.state.map(|s| s.as_str().to_string()))
                .map_err(|e| Failed::new("ec2:GetSnapshotBlockPublicAccessState", &e))
        }),
        calls.run("ec2:instance-metadata-defaults", async {
            client
                .get_instance_metadata_defaults()
                .send()
                .await
                .map(|o| metadata_defaults_doc(o.account_level()))
                .map_err(|e| Failed::new("ec2:GetInstanceMetadataDefaults", &e))
        }),
        calls.run("ec2:launch-template", launch_templates(client)),
    );
    Settings {
        image_bpa,
        snapshot_bpa,
        imds_defaults,
        templates,
    }
}

/// Launch templates, each with every version.
async fn launch_templates(
    client: &Client,
) -> Result<Vec<(LaunchTemplate, Vec<LaunchTemplateVersion>)>, Failed> {
    let templates = paged!(
        "ec2:DescribeLaunchTemplates",
        client.describe_launch_templates(),
        launch_templates
    )
    .await?;
    let mut out = Vec::with_capacity(templates.len());
    for t in templates {
        let Some(id) = t.launch_template_id() else {
            continue;
        };
        // With only the template id, every version is described.
        let versions = paged!(
            "ec2:DescribeLaunchTemplateVersions",
            client
                .describe_launch_template_versions()
                .launch_template_id(id),
            launch_template_versions
        )
        .await?;
        out.push((t, versions));
    }
    Ok(out)
}

/// The user data of every instance that is not terminated (DescribeInstanceAttribute
/// `userData`); an instance whose call fails is left out.
async fn instance_user_data(
    client: &Client,
    calls: &Calls<'_>,
    reservations: &[Reservation],
) -> BTreeMap<String, Option<String>> {
    const ACTION: &str = "ec2:DescribeInstanceAttribute";
    let ids = reservations
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) != Some("terminated"))
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    for_each_bounded(calls, INSTANCE_USER_DATA, ACTION, "instance", ids, |id| {
        let client = client.clone();
        async move {
            client
                .describe_instance_attribute()
                .instance_id(id)
                .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
                .send()
                .await
                .map(|o| o.user_data.and_then(|v| v.value))
                .map_err(|e| Failed::new(ACTION, &e))
        }
    })
    .await
}

/// Run `call` for every id, at most [`ATTRIBUTE_CONCURRENCY`] at once. Ids whose
/// call fails are left out of the result, and the failures are recorded once for
/// the region under `kind`, with how many `noun`s they hit and the first reason.
async fn for_each_bounded<T, F, Fut>(
    calls: &Calls<'_>,
    kind: &'static str,
    action: &'static str,
    noun: &str,
    ids: Vec<String>,
    call: F,
) -> BTreeMap<String, T>
where
    T: Send + 'static,
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<T, Failed>> + Send + 'static,
{
    let mut ids = ids.into_iter();
    let mut running = tokio::task::JoinSet::new();
    let mut out = BTreeMap::new();
    let (mut failures, mut first_failure) = (0usize, None);
    loop {
        while running.len() < ATTRIBUTE_CONCURRENCY {
            let Some(id) = ids.next() else { break };
            let reply = call(id.clone());
            running.spawn(async move { (id, reply.await) });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        match done {
            Ok((id, Ok(value))) => {
                out.insert(id, value);
            }
            Ok((id, Err(failed))) => {
                failures += 1;
                first_failure.get_or_insert(format!("{id}: {}", failed.message));
            }
            Err(e) => {
                failures += 1;
                first_failure.get_or_insert(format!("task failed: {e}"));
            }
        }
    }
    if let Some(first) = first_failure {
        calls.record(
            kind,
            Failed {
                action,
                message: format!("{failures} {noun}(s) unreadable, first {first}"),
            },
        );
    }
    out
}

fn launch_template_doc(t: &LaunchTemplate, versions: &[LaunchTemplateVersion]) -> Value {
    Doc::default()
        .s("LaunchTemplateId", t.launch_template_id())
        .s("LaunchTemplateName", t.launch_template_name())
        .i("DefaultVersionNumber", t.default_version_number())
        .i("LatestVersionNumber", t.latest_version_number())
        .s("CreateTime", time(t.create_time()).as_deref())
        .s("CreatedBy", t.created_by())
        .v("Tags", Some(tags_doc(t.tags())))
        // UserData is left out: it may hold secrets and documents leave the
        // account; `ec2:launch-template-user-data` serves it to checks only.
        .list("Versions", versions, |v| {
            let data = v.launch_template_data().map(|d| {
                Doc::default()
                    .s("ImageId", d.image_id())
                    .s("InstanceType", d.instance_type().map(|x| x.as_str()))
                    .v(
                        "MetadataOptions",
                        d.metadata_options().map(|m| {
                            Doc::default()
                                .s("HttpTokens", m.http_tokens().map(|x| x.as_str()))
                                .s("HttpEndpoint", m.http_endpoint().map(|x| x.as_str()))
                                .i(
                                    "HttpPutResponseHopLimit",
                                    m.http_put_response_hop_limit().map(i64::from),
                                )
                                .done()
                        }),
                    )
                    .list("NetworkInterfaces", d.network_interfaces(), |n| {
                        Doc::default()
                            .b("AssociatePublicIpAddress", n.associate_public_ip_address())
                            .s("NetworkInterfaceId", n.network_interface_id())
                            .i("DeviceIndex", n.device_index().map(i64::from))
                            .s("SubnetId", n.subnet_id())
                            .strs("Groups", n.groups())
                            .done()
                    })
                    .strs("SecurityGroupIds", d.security_group_ids())
                    .b(
                        "HasUserData",
                        Some(d.user_data().is_some_and(|u| !u.is_empty())),
                    )
                    .done()
            });
            Doc::default()
                .i("VersionNumber", v.version_number())
                .b("DefaultVersion", v.default_version())
                .s("CreateTime", time(v.create_time()).as_deref())
                .v("LaunchTemplateData", data)
                .done()
        })
        .done()
}

fn launch_template_user_data_doc(versions: &[LaunchTemplateVersion]) -> Value {
    Doc::default()
        .list("Versions", versions, |v| {
            Doc::default()
                .i("VersionNumber", v.version_number())
                .s(
                    "UserData",
                    v.launch_template_data().and_then(|d| d.user_data()),
                )
                .done()
        })
        .done()
}

/// Images the account owns, then the AMIs its instances use that are not among
/// them (by `image-id` filter, which skips deregistered AMIs instead of failing).
async fn images(client: &Client, instances: Option<&[Reservation]>) -> Result<Vec<Image>, Failed> {
    const ACTION: &str = "ec2:DescribeImages";
    let mut out = paged!(
        ACTION,
        client
            .describe_images()
            .owners("self")
            .include_deprecated(true),
        images
    )
    .await?;
    let known: BTreeSet<String> = out
        .iter()
        .filter_map(|i| i.image_id().map(str::to_string))
        .collect();
    let used: BTreeSet<String> = instances
        .unwrap_or_default()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.image_id())
        .filter(|id| !known.contains(*id))
        .map(str::to_string)
        .collect();
    let used: Vec<String> = used.into_iter().collect();
    for batch in used.chunks(200) {
        let filter = aws_sdk_ec2::types::Filter::builder()
            .name("image-id")
            .set_values(Some(batch.to_vec()))
            .build();
        let found = paged!(
            ACTION,
            client
                .describe_images()
                .filters(filter)
                .include_deprecated(true),
            images
        )
        .await?;
        out.extend(found);
    }
    Ok(out)
}

/// Calls in flight at once for per-resource attribute reads.
const ATTRIBUTE_CONCURRENCY: usize = 8;

/// Each snapshot's `createVolumePermission` attribute. A snapshot whose call
/// fails is left out (read as not shared, as Prowler does) and the failure is
/// recorded.
async fn snapshot_permissions(
    client: &Client,
    calls: &Calls<'_>,
    snapshots: &[Snapshot],
) -> BTreeMap<String, Vec<CreateVolumePermission>> {
    const ACTION: &str = "ec2:DescribeSnapshotAttribute";
    let ids = snapshots
        .iter()
        .filter_map(|s| s.snapshot_id().map(str::to_string))
        .collect();
    for_each_bounded(
        calls,
        "ec2:snapshot-permissions",
        ACTION,
        "snapshot",
        ids,
        |id| {
            let client = client.clone();
            async move {
                client
                    .describe_snapshot_attribute()
                    .snapshot_id(id)
                    .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
                    .send()
                    .await
                    .map(|o| o.create_volume_permissions.unwrap_or_default())
                    .map_err(|e| Failed::new(ACTION, &e))
            }
        },
    )
    .await
}

fn metadata_defaults_doc(level: Option<&InstanceMetadataDefaultsResponse>) -> Value {
    let level = level.map(|m| {
        Doc::default()
            .s("HttpTokens", m.http_tokens().map(|t| t.as_str()))
            .s("HttpEndpoint", m.http_endpoint().map(|t| t.as_str()))
            .i(
                "HttpPutResponseHopLimit",
                m.http_put_response_hop_limit().map(i64::from),
            )
            .s(
                "InstanceMetadataTags",
                m.instance_metadata_tags().map(|t| t.as_str()),
            )
            .done()
    });
    Doc::default().v("AccountLevel", level).done()
}

fn image_doc(i: &Image) -> Value {
    Doc::default()
        .s("ImageId", i.image_id())
        .s("Name", i.name())
        .s("OwnerId", i.owner_id())
        .s("ImageOwnerAlias", i.image_owner_alias())
        .b("Public", i.public())
        .s("State", i.state().map(|s| s.as_str()))
        .s("CreationDate", i.creation_date())
        .s("DeprecationTime", i.deprecation_time())
        .s("ImageType", i.image_type().map(|s| s.as_str()))
        .s("Architecture", i.architecture().map(|s| s.as_str()))
        .s(
            "VirtualizationType",
            i.virtualization_type().map(|s| s.as_str()),
        )
        .s("Description", i.description())
        .v("Tags", Some(tags_doc(i.tags())))
        .done()
}

/// `snapshot_doc` plus the snapshot's `createVolumePermission` list, when read.
fn with_permissions(mut doc: Value, permissions: Option<&Vec<CreateVolumePermission>>) -> Value {
    if let (Some(list), Value::Object(map)) = (permissions, &mut doc) {
        let list = list
            .iter()
            .map(|p| {
                Doc::default()
                    .s("Group", p.group().map(|g| g.as_str()))
                    .s("UserId", p.user_id())
                    .done()
            })
            .collect();
        map.insert("CreateVolumePermissions".into(), Value::Array(list));
    }
    doc
}

pub(super) async fn discover_region(
    client: &Client,
    region: &str,
    account: &str,
    wanted: &BTreeSet<String>,
) -> RegionPart {
    let mut part = RegionPart {
        region: region.to_string(),
        ..Default::default()
    };
    let arn =
        |ty: &str, id: &str| format!("arn:{}:ec2:{region}:{account}:{ty}/{id}", partition(region));
    let calls = Calls {
        region,
        wanted,
        errors: Mutex::default(),
        listed: Mutex::default(),
    };

    // Every call starts as soon as what it needs is known: calls that need
    // another's results (the AMIs instances use, instances' user data, the
    // snapshots' permissions) follow that call alone, not a whole first wave.
    // A slow or retried call then delays only its own dependants.
    let (
        ((instances, images, user_data), groups, volumes, vpcs, subnets, enis),
        (route_tables, acls, (snapshots, snapshot_perms), addresses, ebs_default),
        (flow_logs, endpoints, services, peerings, vpns, gateways, client_vpns),
        Settings {
            image_bpa,
            snapshot_bpa,
            imds_defaults,
            templates,
        },
    ) = tokio::join!(
        async {
            tokio::join!(
                async {
                    let instances = calls
                        .run(
                            "ec2:instance",
                            paged!(
                                "ec2:DescribeInstances",
                                client.describe_instances(),
                                reservations
                            ),
                        )
                        .await;
                    let (images, user_data) = tokio::join!(
                        calls.run("ec2:image", images(client, instances.as_deref())),
                        calls.run("ec2:instance-user-data", async {
                            Ok(instance_user_data(
                                client,
                                &calls,
                                instances.as_deref().unwrap_or_default(),
                            )
                            .await)
                        }),
                    );
                    (instances, images, user_data)
                },
                calls.run(
                    "ec2:security-group",
                    paged!(
                        "ec2:DescribeSecurityGroups",
                        client.describe_security_groups(),
                        security_groups
                    )
                ),
                calls.run(
                    "ec2:volume",
                    paged!("ec2:DescribeVolumes", client.describe_volumes(), volumes)
                ),
                calls.run(
                    "ec2:vpc",
                    paged!("ec2:DescribeVpcs", client.describe_vpcs(), vpcs)
                ),
                calls.run(
                    "ec2:subnet",
                    paged!("ec2:DescribeSubnets", client.describe_subnets(), subnets)
                ),
                calls.run(
                    "ec2:network-interface",
                    paged!(
                        "ec2:DescribeNetworkInterfaces",
                        client.describe_network_interfaces(),
                        network_interfaces
                    )
                ),
            )
        },
        async {
            tokio::join!(
                calls.run(
                    "ec2:route-table",
                    paged!(
                        "ec2:DescribeRouteTables",
                        client.describe_route_tables(),
                        route_tables
                    )
                ),
                calls.run(
                    "ec2:network-acl",
                    paged!(
                        "ec2:DescribeNetworkAcls",
                        client.describe_network_acls(),
                        network_acls
                    )
                ),
                async {
                    let snapshots = calls
                        .run(
                            "ec2:snapshot",
                            paged!(
                                "ec2:DescribeSnapshots",
                                client.describe_snapshots().owner_ids("self"),
                                snapshots
                            ),
                        )
                        .await;
                    let permissions = calls
                        .run("ec2:snapshot-permissions", async {
                            Ok(snapshot_permissions(
                                client,
                                &calls,
                                snapshots.as_deref().unwrap_or_default(),
                            )
                            .await)
                        })
                        .await;
                    (snapshots, permissions)
                },
                // DescribeAddresses is not paginated.
                calls.run("ec2:address", async {
                    client
                        .describe_addresses()
                        .send()
                        .await
                        .map(|o| o.addresses.unwrap_or_default())
                        .map_err(|e| Failed::new("ec2:DescribeAddresses", &e))
                }),
                calls.run("ec2:ebs-encryption-by-default", async {
                    client
                        .get_ebs_encryption_by_default()
                        .send()
                        .await
                        .map(|o| o.ebs_encryption_by_default)
                        .map_err(|e| Failed::new("ec2:GetEbsEncryptionByDefault", &e))
                }),
            )
        },
        async {
            tokio::join!(
                calls.run(
                    "ec2:flow-log",
                    paged!(
                        "ec2:DescribeFlowLogs",
                        client.describe_flow_logs(),
                        flow_logs
                    )
                ),
                calls.run(
                    "ec2:vpc-endpoint",
                    paged!(
                        "ec2:DescribeVpcEndpoints",
                        client.describe_vpc_endpoints(),
                        vpc_endpoints
                    )
                ),
                calls.run(
                    "ec2:vpc-endpoint-service",
                    endpoint_services(client, account)
                ),
                calls.run(
                    "ec2:vpc-peering-connection",
                    paged!(
                        "ec2:DescribeVpcPeeringConnections",
                        client.describe_vpc_peering_connections(),
                        vpc_peering_connections
                    )
                ),
                // DescribeVpnConnections is not paginated.
                calls.run("ec2:vpn-connection", async {
                    client
                        .describe_vpn_connections()
                        .send()
                        .await
                        .map(|o| o.vpn_connections.unwrap_or_default())
                        .map_err(|e| Failed::new("ec2:DescribeVpnConnections", &e))
                }),
                calls.run(
                    "ec2:transit-gateway",
                    paged!(
                        "ec2:DescribeTransitGateways",
                        client.describe_transit_gateways(),
                        transit_gateways
                    )
                ),
                calls.run(
                    "ec2:client-vpn-endpoint",
                    paged!(
                        "ec2:DescribeClientVpnEndpoints",
                        client.describe_client_vpn_endpoints(),
                        client_vpn_endpoints
                    )
                ),
            )
        },
        settings(client, &calls),
    );
    (part.errors, part.listed) = calls.finish();
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

    for reservation in instances.unwrap_or_default() {
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
    for g in groups.unwrap_or_default() {
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
    for v in volumes.unwrap_or_default() {
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
    for v in vpcs.unwrap_or_default() {
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
    for s in subnets.unwrap_or_default() {
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
    for snap in snapshots.unwrap_or_default() {
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
            with_permissions(
                snapshot_doc(&snap),
                snapshot_perms.as_ref().and_then(|p| p.get(id)),
            ),
        );
    }
    for addr in addresses.unwrap_or_default() {
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
    if let Some(Some(enabled)) = ebs_default {
        push(
            "ec2:ebs-encryption-by-default",
            account,
            format!("arn:{}:ec2:{region}:{account}:volume", partition(region)),
            None,
            &[],
            json!({ "EbsEncryptionByDefault": enabled }),
        );
    }
    // Per-region account settings, each named like Prowler's finding:
    // `arn:…:ec2:<region>:<account>:account`. A failed call leaves no resource.
    let account_uid = format!("arn:{}:ec2:{region}:{account}:account", partition(region));
    let settings = [
        (
            "ec2:image-block-public-access",
            image_bpa.map(|s| json!({ "ImageBlockPublicAccessState": s })),
        ),
        (
            "ec2:snapshot-block-public-access",
            snapshot_bpa.map(|s| json!({ "State": s })),
        ),
        ("ec2:instance-metadata-defaults", imds_defaults),
    ];
    for (kind, doc) in settings {
        if let Some(doc) = doc {
            push(kind, account, account_uid.clone(), None, &[], doc);
        }
    }
    for (t, versions) in templates.unwrap_or_default() {
        let id = t.launch_template_id().unwrap_or_default();
        let uid = arn("launch-template", id);
        if wanted.contains(LAUNCH_TEMPLATE_USER_DATA) {
            push(
                LAUNCH_TEMPLATE_USER_DATA,
                id,
                uid.clone(),
                None,
                &[],
                launch_template_user_data_doc(&versions),
            );
        }
        push(
            "ec2:launch-template",
            id,
            uid,
            t.launch_template_name().map(str::to_string),
            t.tags(),
            launch_template_doc(&t, &versions),
        );
    }
    for (id, data) in user_data.unwrap_or_default() {
        push(
            INSTANCE_USER_DATA,
            &id,
            arn("instance", &id),
            None,
            &[],
            json!({ "InstanceId": id, "UserData": data }),
        );
    }
    for image in images.unwrap_or_default() {
        let id = image.image_id().unwrap_or_default();
        push(
            "ec2:image",
            id,
            arn("image", id),
            image.name().map(str::to_string),
            image.tags(),
            image_doc(&image),
        );
    }
    for a in acls.unwrap_or_default() {
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
    for t in route_tables.unwrap_or_default() {
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
    for n in enis.unwrap_or_default() {
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
    for f in flow_logs.unwrap_or_default() {
        let id = f.flow_log_id().unwrap_or_default();
        let uid = arn("vpc-flow-log", id);
        // What the flow log records: a VPC, subnet or interface (or a transit gateway).
        if let Some(target) = f.resource_id() {
            let ty = match target.split('-').next() {
                Some("vpc") => Some("vpc"),
                Some("subnet") => Some("subnet"),
                Some("eni") => Some("network-interface"),
                Some("tgw") => Some("transit-gateway"),
                _ => None,
            };
            if let Some(ty) = ty {
                rel(&uid, "belongs_to", arn(ty, target));
            }
        }
        push(
            "ec2:flow-log",
            id,
            uid,
            name_tag(f.tags()),
            f.tags(),
            flow_log_doc(&f),
        );
    }
    for e in endpoints.unwrap_or_default() {
        let id = e.vpc_endpoint_id().unwrap_or_default();
        let uid = arn("vpc-endpoint", id);
        if let Some(v) = e.vpc_id() {
            rel(&uid, "belongs_to", arn("vpc", v));
        }
        for g in e.groups() {
            if let Some(g) = g.group_id() {
                rel(&uid, "protected_by", arn("security-group", g));
            }
        }
        push(
            "ec2:vpc-endpoint",
            id,
            uid,
            name_tag(e.tags()),
            e.tags(),
            vpc_endpoint_doc(&e),
        );
    }
    for (service, principals) in services.unwrap_or_default() {
        let id = service.service_id().unwrap_or_default();
        push(
            "ec2:vpc-endpoint-service",
            id,
            arn("vpc-endpoint-service", id),
            name_tag(service.tags()),
            service.tags(),
            endpoint_service_doc(&service, &principals),
        );
    }
    for p in peerings.unwrap_or_default() {
        let id = p.vpc_peering_connection_id().unwrap_or_default();
        let uid = arn("vpc-peering-connection", id);
        // Either side may be another account's VPC, or in another region.
        for side in [p.requester_vpc_info(), p.accepter_vpc_info()]
            .into_iter()
            .flatten()
        {
            if let Some(v) = side.vpc_id() {
                let r = side.region().unwrap_or(region);
                let owner = side.owner_id().unwrap_or(account);
                rel(
                    &uid,
                    "attached_to",
                    format!("arn:{}:ec2:{r}:{owner}:vpc/{v}", partition(r)),
                );
            }
        }
        push(
            "ec2:vpc-peering-connection",
            id,
            uid,
            name_tag(p.tags()),
            p.tags(),
            peering_doc(&p),
        );
    }
    for v in vpns.unwrap_or_default() {
        let id = v.vpn_connection_id().unwrap_or_default();
        let uid = arn("vpn-connection", id);
        if let Some(t) = v.transit_gateway_id() {
            rel(&uid, "attached_to", arn("transit-gateway", t));
        }
        if let Some(g) = v.vpn_gateway_id() {
            rel(&uid, "attached_to", arn("vpn-gateway", g));
        }
        push(
            "ec2:vpn-connection",
            id,
            uid,
            name_tag(v.tags()),
            v.tags(),
            vpn_doc(&v),
        );
    }
    for t in gateways.unwrap_or_default() {
        let id = t.transit_gateway_id().unwrap_or_default();
        // Prowler names transit gateways by the ARN the API returns.
        let uid = t
            .transit_gateway_arn()
            .map(str::to_string)
            .unwrap_or_else(|| arn("transit-gateway", id));
        push(
            "ec2:transit-gateway",
            id,
            uid,
            name_tag(t.tags()),
            t.tags(),
            transit_gateway_doc(&t),
        );
    }
    for c in client_vpns.unwrap_or_default() {
        let id = c.client_vpn_endpoint_id().unwrap_or_default();
        let uid = arn("client-vpn-endpoint", id);
        if let Some(v) = c.vpc_id() {
            rel(&uid, "belongs_to", arn("vpc", v));
        }
        for g in c.security_group_ids() {
            rel(&uid, "protected_by", arn("security-group", g));
        }
        push(
            "ec2:client-vpn-endpoint",
            id,
            uid,
            name_tag(c.tags()),
            c.tags(),
            client_vpn_doc(&c),
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
    fn strs(self, key: &str, items: &[String]) -> Self {
        self.list(key, items, |s| Value::from(s.as_str()))
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
        .v(
            "EnclaveOptions",
            i.enclave_options()
                .map(|e| Doc::default().b("Enabled", e.enabled()).done()),
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
                .s("Origin", r.origin().map(|o| o.as_str()))
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
        .list("Ipv6Addresses", n.ipv6_addresses(), |a| {
            Doc::default().s("Ipv6Address", a.ipv6_address()).done()
        })
        .v("TagSet", Some(tags_doc(n.tag_set())))
        .done()
}

fn flow_log_doc(f: &FlowLog) -> Value {
    Doc::default()
        .s("FlowLogId", f.flow_log_id())
        .s("ResourceId", f.resource_id())
        .s("FlowLogStatus", f.flow_log_status())
        .s("DeliverLogsStatus", f.deliver_logs_status())
        .s("TrafficType", f.traffic_type().map(|t| t.as_str()))
        .s(
            "LogDestinationType",
            f.log_destination_type().map(|t| t.as_str()),
        )
        .s("LogDestination", f.log_destination())
        .s("LogGroupName", f.log_group_name())
        .s("CreationTime", time(f.creation_time()).as_deref())
        .v("Tags", Some(tags_doc(f.tags())))
        .done()
}

fn vpc_endpoint_doc(e: &VpcEndpoint) -> Value {
    Doc::default()
        .s("VpcEndpointId", e.vpc_endpoint_id())
        .s("VpcEndpointType", e.vpc_endpoint_type().map(|t| t.as_str()))
        .s("VpcId", e.vpc_id())
        .s("ServiceName", e.service_name())
        .s("State", e.state().map(|s| s.as_str()))
        .s("PolicyDocument", e.policy_document())
        .strs("RouteTableIds", e.route_table_ids())
        .strs("SubnetIds", e.subnet_ids())
        .list("Groups", e.groups(), |g| {
            Doc::default()
                .s("GroupId", g.group_id())
                .s("GroupName", g.group_name())
                .done()
        })
        .strs("NetworkInterfaceIds", e.network_interface_ids())
        .b("PrivateDnsEnabled", e.private_dns_enabled())
        .b("RequesterManaged", e.requester_managed())
        .s("OwnerId", e.owner_id())
        .s("CreationTimestamp", time(e.creation_timestamp()).as_deref())
        .v("Tags", Some(tags_doc(e.tags())))
        .done()
}

fn endpoint_service_doc(s: &ServiceDetail, principals: &[AllowedPrincipal]) -> Value {
    Doc::default()
        .s("ServiceId", s.service_id())
        .s("ServiceName", s.service_name())
        .list("ServiceType", s.service_type(), |t| {
            Doc::default()
                .s("ServiceType", t.service_type().map(|x| x.as_str()))
                .done()
        })
        .s("Owner", s.owner())
        .strs("AvailabilityZones", s.availability_zones())
        .b("AcceptanceRequired", s.acceptance_required())
        .b("ManagesVpcEndpoints", s.manages_vpc_endpoints())
        .b(
            "VpcEndpointPolicySupported",
            s.vpc_endpoint_policy_supported(),
        )
        .s("PrivateDnsName", s.private_dns_name())
        .v("Tags", Some(tags_doc(s.tags())))
        // From DescribeVpcEndpointServicePermissions.
        .list("AllowedPrincipals", principals, |p| {
            Doc::default()
                .s("Principal", p.principal())
                .s("PrincipalType", p.principal_type().map(|t| t.as_str()))
                .s("ServicePermissionId", p.service_permission_id())
                .done()
        })
        .done()
}

fn peering_side_doc(i: &VpcPeeringConnectionVpcInfo) -> Value {
    Doc::default()
        .s("VpcId", i.vpc_id())
        .s("OwnerId", i.owner_id())
        .s("Region", i.region())
        .s("CidrBlock", i.cidr_block())
        .list("CidrBlockSet", i.cidr_block_set(), |c| {
            Doc::default().s("CidrBlock", c.cidr_block()).done()
        })
        .done()
}

fn peering_doc(p: &VpcPeeringConnection) -> Value {
    Doc::default()
        .s("VpcPeeringConnectionId", p.vpc_peering_connection_id())
        .v(
            "RequesterVpcInfo",
            p.requester_vpc_info().map(peering_side_doc),
        )
        .v(
            "AccepterVpcInfo",
            p.accepter_vpc_info().map(peering_side_doc),
        )
        .v(
            "Status",
            p.status().map(|s| {
                Doc::default()
                    .s("Code", s.code().map(|c| c.as_str()))
                    .s("Message", s.message())
                    .done()
            }),
        )
        .s("ExpirationTime", time(p.expiration_time()).as_deref())
        .v("Tags", Some(tags_doc(p.tags())))
        .done()
}

/// `CustomerGatewayConfiguration` is left out on purpose: it carries the
/// tunnels' pre-shared keys, which must never leave the account.
fn vpn_doc(v: &VpnConnection) -> Value {
    Doc::default()
        .s("VpnConnectionId", v.vpn_connection_id())
        .s("State", v.state().map(|s| s.as_str()))
        .s("Type", v.r#type().map(|t| t.as_str()))
        .s("Category", v.category())
        .s("CustomerGatewayId", v.customer_gateway_id())
        .s("VpnGatewayId", v.vpn_gateway_id())
        .s("TransitGatewayId", v.transit_gateway_id())
        .list("VgwTelemetry", v.vgw_telemetry(), |t| {
            Doc::default()
                .s("OutsideIpAddress", t.outside_ip_address())
                .s("Status", t.status().map(|s| s.as_str()))
                .s("StatusMessage", t.status_message())
                .s("LastStatusChange", time(t.last_status_change()).as_deref())
                .i(
                    "AcceptedRouteCount",
                    t.accepted_route_count().map(i64::from),
                )
                .done()
        })
        .v("Tags", Some(tags_doc(v.tags())))
        .done()
}

fn transit_gateway_doc(t: &TransitGateway) -> Value {
    Doc::default()
        .s("TransitGatewayId", t.transit_gateway_id())
        .s("TransitGatewayArn", t.transit_gateway_arn())
        .s("State", t.state().map(|s| s.as_str()))
        .s("OwnerId", t.owner_id())
        .s("Description", t.description())
        .s("CreationTime", time(t.creation_time()).as_deref())
        .v(
            "Options",
            t.options().map(|o| {
                Doc::default()
                    .i("AmazonSideAsn", o.amazon_side_asn())
                    .s(
                        "AutoAcceptSharedAttachments",
                        o.auto_accept_shared_attachments().map(|x| x.as_str()),
                    )
                    .s(
                        "DefaultRouteTableAssociation",
                        o.default_route_table_association().map(|x| x.as_str()),
                    )
                    .s(
                        "DefaultRouteTablePropagation",
                        o.default_route_table_propagation().map(|x| x.as_str()),
                    )
                    .s("VpnEcmpSupport", o.vpn_ecmp_support().map(|x| x.as_str()))
                    .s("DnsSupport", o.dns_support().map(|x| x.as_str()))
                    .s(
                        "MulticastSupport",
                        o.multicast_support().map(|x| x.as_str()),
                    )
                    .done()
            }),
        )
        .v("Tags", Some(tags_doc(t.tags())))
        .done()
}

fn client_vpn_doc(c: &ClientVpnEndpoint) -> Value {
    Doc::default()
        .s("ClientVpnEndpointId", c.client_vpn_endpoint_id())
        .s("Description", c.description())
        .v(
            "Status",
            c.status().map(|s| {
                Doc::default()
                    .s("Code", s.code().map(|x| x.as_str()))
                    .s("Message", s.message())
                    .done()
            }),
        )
        .s("VpcId", c.vpc_id())
        .strs("SecurityGroupIds", c.security_group_ids())
        .s("ClientCidrBlock", c.client_cidr_block())
        .s("DnsName", c.dns_name())
        .b("SplitTunnel", c.split_tunnel())
        .s("VpnProtocol", c.vpn_protocol().map(|x| x.as_str()))
        .s(
            "TransportProtocol",
            c.transport_protocol().map(|x| x.as_str()),
        )
        .i("VpnPort", c.vpn_port().map(i64::from))
        .s("ServerCertificateArn", c.server_certificate_arn())
        .v(
            "ConnectionLogOptions",
            c.connection_log_options().map(|o| {
                Doc::default()
                    .b("Enabled", o.enabled())
                    .s("CloudwatchLogGroup", o.cloudwatch_log_group())
                    .s("CloudwatchLogStream", o.cloudwatch_log_stream())
                    .done()
            }),
        )
        .s("CreationTime", c.creation_time())
        .v("Tags", Some(tags_doc(c.tags())))
        .done()
}

#[cfg(test)]
#[path = "ec2_settings_tests.rs"]
mod settings_tests;

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{
        PrincipalType, TelemetryStatus, VgwTelemetry, VpnConnection, VpnState,
    };

    use super::*;

    #[test]
    fn vpn_documents_never_carry_the_customer_gateway_configuration() {
        let vpn = VpnConnection::builder()
            .vpn_connection_id("vpn-1")
            .state(VpnState::Available)
            .customer_gateway_configuration("<pre_shared_key>secret</pre_shared_key>")
            .vgw_telemetry(VgwTelemetry::builder().status(TelemetryStatus::Up).build())
            .build();
        let doc = vpn_doc(&vpn);
        assert_eq!(doc["VgwTelemetry"][0]["Status"], "UP");
        assert!(!doc.to_string().contains("secret"), "{doc}");
    }

    #[test]
    fn endpoint_services_carry_their_allowed_principals() {
        let service = ServiceDetail::builder()
            .service_id("vpce-svc-1")
            .owner("123456789012")
            .build();
        let principals = [AllowedPrincipal::builder()
            .principal("arn:aws:iam::111122223333:root")
            .principal_type(PrincipalType::Account)
            .build()];
        let doc = endpoint_service_doc(&service, &principals);
        assert_eq!(doc["ServiceId"], "vpce-svc-1");
        assert_eq!(
            doc["AllowedPrincipals"],
            json!([{"Principal": "arn:aws:iam::111122223333:root", "PrincipalType": "Account"}])
        );
    }

    #[test]
    fn instances_carry_enclave_options_and_interfaces_their_ipv6_addresses() {
        use aws_sdk_ec2::types::{EnclaveOptions, NetworkInterfaceIpv6Address};
        let i = Instance::builder()
            .instance_id("i-1")
            .enclave_options(EnclaveOptions::builder().enabled(true).build())
            .build();
        assert_eq!(instance_doc(&i)["EnclaveOptions"], json!({"Enabled": true}));
        let n = NetworkInterface::builder()
            .network_interface_id("eni-1")
            .ipv6_addresses(
                NetworkInterfaceIpv6Address::builder()
                    .ipv6_address("2600:1f18::5")
                    .build(),
            )
            .build();
        assert_eq!(
            eni_doc(&n)["Ipv6Addresses"],
            json!([{"Ipv6Address": "2600:1f18::5"}])
        );
    }
}
