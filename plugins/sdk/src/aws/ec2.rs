//! EC2 and VPC objects (DescribeInstances, DescribeSecurityGroups, DescribeVolumes,
//! DescribeNetworkInterfaces, DescribeVpcs, DescribeSubnets).

use serde::Deserialize;

use super::Kind;

/// An EC2 instance (`ec2:instance`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Instance {
    /// `i-…`
    pub instance_id: String,
    /// The AMI the instance was launched from.
    pub image_id: Option<String>,
    /// Lifecycle state.
    pub state: InstanceState,
    /// Public IPv4 address, if any.
    pub public_ip_address: Option<String>,
    /// Public DNS name; AWS returns an empty string when there is none.
    pub public_dns_name: Option<String>,
    /// Private IPv4 address.
    pub private_ip_address: Option<String>,
    /// Subnet.
    pub subnet_id: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Security groups of the primary interface.
    pub security_groups: Vec<GroupIdentifier>,
    /// Instance profile, if any.
    pub iam_instance_profile: Option<IamInstanceProfile>,
    /// Last start time, RFC 3339 (see [`crate::aws::unix_seconds`]).
    pub launch_time: Option<String>,
    /// `hvm` or `paravirtual`.
    pub virtualization_type: Option<String>,
    /// Instance metadata service settings.
    pub metadata_options: Option<MetadataOptions>,
    /// CloudWatch monitoring.
    pub monitoring: Option<Monitoring>,
    /// Attached network interfaces.
    pub network_interfaces: Vec<InstanceNetworkInterface>,
    /// Why the state last changed, e.g. `User initiated (2016-09-14 15:07:39 GMT)`.
    pub state_transition_reason: Option<String>,
    /// Nitro Enclaves settings.
    pub enclave_options: Option<EnclaveOptions>,
}

/// Nitro Enclaves settings of an instance.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EnclaveOptions {
    /// Whether the instance can host Nitro Enclaves.
    pub enabled: bool,
}

/// Instance metadata service settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MetadataOptions {
    /// `required` (IMDSv2 only) or `optional`.
    pub http_tokens: Option<String>,
    /// `enabled` or `disabled`.
    pub http_endpoint: Option<String>,
}

/// CloudWatch monitoring of an instance.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Monitoring {
    /// `enabled` (detailed), `disabled`, `pending`, `disabling`.
    pub state: Option<String>,
}

/// A network interface as listed on an instance.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceNetworkInterface {
    /// `eni-…`
    pub network_interface_id: String,
}

impl Kind for Instance {
    const KIND: &'static str = "ec2:instance";
}

/// Instance state.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceState {
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`.
    pub name: String,
}

/// A security group reference.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GroupIdentifier {
    /// `sg-…`
    pub group_id: String,
    /// Group name.
    pub group_name: Option<String>,
}

/// An instance profile reference.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IamInstanceProfile {
    /// Profile ARN.
    pub arn: String,
    /// Profile id.
    pub id: Option<String>,
}

/// A security group (`ec2:security-group`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SecurityGroup {
    /// `sg-…`
    pub group_id: String,
    /// Group name.
    pub group_name: String,
    /// VPC the group belongs to.
    pub vpc_id: Option<String>,
    /// Ingress rules.
    pub ip_permissions: Vec<IpPermission>,
    /// Egress rules.
    pub ip_permissions_egress: Vec<IpPermission>,
}

impl Kind for SecurityGroup {
    const KIND: &'static str = "ec2:security-group";
}

/// One security-group rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpPermission {
    /// `tcp`, `udp`, `icmp`, a protocol number, or `-1` for all traffic.
    pub ip_protocol: String,
    /// First port; absent on all-traffic rules.
    pub from_port: Option<i32>,
    /// Last port.
    pub to_port: Option<i32>,
    /// IPv4 sources.
    pub ip_ranges: Vec<IpRange>,
    /// IPv6 sources.
    pub ipv6_ranges: Vec<Ipv6Range>,
    /// Security-group sources.
    pub user_id_group_pairs: Vec<UserIdGroupPair>,
}

/// An IPv4 source range.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpRange {
    /// CIDR.
    pub cidr_ip: String,
}

/// An IPv6 source range.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ipv6Range {
    /// CIDR.
    pub cidr_ipv6: String,
}

/// A security-group source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UserIdGroupPair {
    /// Source group.
    pub group_id: Option<String>,
    /// Owner account.
    pub user_id: Option<String>,
}

/// An EBS volume (`ec2:volume`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Volume {
    /// `vol-…`
    pub volume_id: String,
    /// Whether the volume is encrypted.
    pub encrypted: bool,
    /// KMS key, when encrypted.
    pub kms_key_id: Option<String>,
    /// `available`, `in-use` …
    pub state: Option<String>,
    /// Attachments to instances.
    pub attachments: Vec<VolumeAttachment>,
}

impl Kind for Volume {
    const KIND: &'static str = "ec2:volume";
}

/// A volume attachment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeAttachment {
    /// Instance.
    pub instance_id: String,
    /// Device name.
    pub device: Option<String>,
}

/// A network interface (`ec2:network-interface`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkInterface {
    /// `eni-…`
    pub network_interface_id: String,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Subnet.
    pub subnet_id: Option<String>,
    /// Security groups.
    pub groups: Vec<GroupIdentifier>,
    /// `interface`, `nat_gateway`, `vpc_endpoint` …
    pub interface_type: Option<String>,
    /// Attachment, when attached.
    pub attachment: Option<NetworkInterfaceAttachment>,
    /// Primary private IPv4 address.
    pub private_ip_address: Option<String>,
    /// The public IPv4 address associated with it, if any.
    pub association: Option<NetworkInterfaceAssociation>,
    /// IPv6 addresses.
    pub ipv6_addresses: Vec<NetworkInterfaceIpv6Address>,
}

/// An IPv6 address of a network interface.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkInterfaceIpv6Address {
    /// The address.
    pub ipv6_address: String,
}

impl Kind for NetworkInterface {
    const KIND: &'static str = "ec2:network-interface";
}

/// A network interface's public IPv4 association.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkInterfaceAssociation {
    /// The public address.
    pub public_ip: Option<String>,
}

/// A network-interface attachment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkInterfaceAttachment {
    /// Instance, when attached to one.
    pub instance_id: Option<String>,
    /// Owner of the attached instance (an account id, or a service such as `amazon-elb`).
    pub instance_owner_id: Option<String>,
}

/// A VPC (`ec2:vpc`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Vpc {
    /// `vpc-…`
    pub vpc_id: String,
    /// Whether this is the region's default VPC.
    pub is_default: bool,
    /// Primary IPv4 CIDR.
    pub cidr_block: Option<String>,
}

impl Kind for Vpc {
    const KIND: &'static str = "ec2:vpc";
}

/// A subnet (`ec2:subnet`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Subnet {
    /// `subnet-…`
    pub subnet_id: String,
    /// VPC.
    pub vpc_id: String,
    /// Whether instances get a public IPv4 address by default.
    pub map_public_ip_on_launch: bool,
    /// Availability zone.
    pub availability_zone: Option<String>,
}

impl Kind for Subnet {
    const KIND: &'static str = "ec2:subnet";
}

/// A route table (`ec2:route-table`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RouteTable {
    /// `rtb-…`
    pub route_table_id: String,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Subnet and main associations.
    pub associations: Vec<RouteTableAssociation>,
    /// Routes.
    pub routes: Vec<Route>,
}

impl Kind for RouteTable {
    const KIND: &'static str = "ec2:route-table";
}

/// A route table association.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RouteTableAssociation {
    /// Subnet explicitly associated, if any.
    pub subnet_id: Option<String>,
    /// Whether this is the VPC's main route table.
    pub main: bool,
}

/// A route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Route {
    /// IPv4 destination.
    pub destination_cidr_block: Option<String>,
    /// IPv6 destination.
    pub destination_ipv6_cidr_block: Option<String>,
    /// Gateway (`igw-…`, `eigw-…`, `local`, …).
    pub gateway_id: Option<String>,
    /// VPC peering connection (`pcx-…`) the route sends traffic to.
    pub vpc_peering_connection_id: Option<String>,
    /// `CreateRouteTable` (the table's own local routes), `CreateRoute` or
    /// `EnableVgwRoutePropagation`.
    pub origin: Option<String>,
}

/// A network ACL (`ec2:network-acl`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkAcl {
    /// `acl-…`
    pub network_acl_id: String,
    /// Whether this is its VPC's default ACL.
    pub is_default: bool,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Subnet associations.
    pub associations: Vec<NetworkAclAssociation>,
    /// Rules.
    pub entries: Vec<NetworkAclEntry>,
}

impl Kind for NetworkAcl {
    const KIND: &'static str = "ec2:network-acl";
}

/// A network ACL's association with a subnet.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkAclAssociation {
    /// Subnet.
    pub subnet_id: Option<String>,
}

/// One network ACL rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkAclEntry {
    /// Evaluation order, lowest first.
    pub rule_number: i64,
    /// Protocol number as a string (`6` TCP, `17` UDP, `-1` all).
    pub protocol: String,
    /// `allow` or `deny`.
    pub rule_action: String,
    /// Outbound rule.
    pub egress: bool,
    /// IPv4 range.
    pub cidr_block: Option<String>,
    /// IPv6 range.
    pub ipv6_cidr_block: Option<String>,
    /// Ports, for TCP and UDP rules.
    pub port_range: Option<PortRange>,
}

/// A port range.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortRange {
    /// First port.
    pub from: Option<i64>,
    /// Last port.
    pub to: Option<i64>,
}

/// An EBS snapshot owned by the account (`ec2:snapshot`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Snapshot {
    /// `snap-…`
    pub snapshot_id: String,
    /// Volume it was taken from.
    pub volume_id: Option<String>,
    /// Encrypted at rest.
    pub encrypted: bool,
    /// KMS key, when encrypted.
    pub kms_key_id: Option<String>,
    /// When the snapshot was started, RFC 3339.
    pub start_time: Option<String>,
    /// Who may create volumes from it (DescribeSnapshotAttribute
    /// `createVolumePermission`); present only when a loaded check reads
    /// [`Snapshot::PERMISSIONS_KIND`] and the call succeeded.
    pub create_volume_permissions: Option<Vec<CreateVolumePermission>>,
}

impl Kind for Snapshot {
    const KIND: &'static str = "ec2:snapshot";
}

impl Snapshot {
    /// Declare this kind in `reads` (next to [`Snapshot::KIND`]) to have the agent
    /// fold `CreateVolumePermissions` into snapshot documents; it has no resources.
    pub const PERMISSIONS_KIND: &'static str = "ec2:snapshot-permissions";
}

/// One grant of a snapshot's `createVolumePermission`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateVolumePermission {
    /// `all` when the snapshot is public.
    pub group: Option<String>,
    /// An account it is shared with.
    pub user_id: Option<String>,
}

/// An Elastic IP address (`ec2:address`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Address {
    /// The public IPv4 address.
    pub public_ip: String,
    /// `eipalloc-…`
    pub allocation_id: Option<String>,
    /// Present when associated with an instance or interface.
    pub association_id: Option<String>,
    /// Instance it is associated with.
    pub instance_id: Option<String>,
}

impl Kind for Address {
    const KIND: &'static str = "ec2:address";
}

/// A region's EBS encryption-by-default setting (`ec2:ebs-encryption-by-default`,
/// one pseudo-resource per region, uid `arn:…:ec2:<region>:<account>:volume`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EbsEncryptionByDefault {
    /// Whether new volumes are encrypted by default.
    pub ebs_encryption_by_default: bool,
}

impl Kind for EbsEncryptionByDefault {
    const KIND: &'static str = "ec2:ebs-encryption-by-default";
}

/// An AMI (`ec2:image`): those the account owns, and those its instances use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Image {
    /// `ami-…`
    pub image_id: String,
    /// Name, if any.
    pub name: Option<String>,
    /// Owning account.
    pub owner_id: Option<String>,
    /// `amazon`, `aws-marketplace` …, for AMIs of such owners.
    pub image_owner_alias: Option<String>,
    /// Launch permissions include everyone.
    pub public: bool,
    /// When the AMI is (or was) deprecated, RFC 3339.
    pub deprecation_time: Option<String>,
}

impl Kind for Image {
    const KIND: &'static str = "ec2:image";
}

/// A region's AMI block public access setting (`ec2:image-block-public-access`,
/// uid `arn:…:ec2:<region>:<account>:account`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageBlockPublicAccess {
    /// `block-new-sharing` or `unblocked`.
    pub image_block_public_access_state: Option<String>,
}

impl Kind for ImageBlockPublicAccess {
    const KIND: &'static str = "ec2:image-block-public-access";
}

/// A region's EBS snapshot block public access setting
/// (`ec2:snapshot-block-public-access`, uid `arn:…:ec2:<region>:<account>:account`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SnapshotBlockPublicAccess {
    /// `block-all-sharing`, `block-new-sharing` or `unblocked`.
    pub state: Option<String>,
}

impl Kind for SnapshotBlockPublicAccess {
    const KIND: &'static str = "ec2:snapshot-block-public-access";
}

/// A region's account-level instance metadata defaults
/// (`ec2:instance-metadata-defaults`, uid `arn:…:ec2:<region>:<account>:account`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceMetadataDefaults {
    /// The defaults; fields are absent where the account has "no preference".
    pub account_level: Option<MetadataOptions>,
}

impl Kind for InstanceMetadataDefaults {
    const KIND: &'static str = "ec2:instance-metadata-defaults";
}

/// A launch template with all its versions (`ec2:launch-template`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LaunchTemplate {
    /// `lt-…`
    pub launch_template_id: String,
    /// Name.
    pub launch_template_name: String,
    /// Every version (DescribeLaunchTemplateVersions).
    pub versions: Vec<LaunchTemplateVersion>,
}

impl Kind for LaunchTemplate {
    const KIND: &'static str = "ec2:launch-template";
}

/// One launch template version.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LaunchTemplateVersion {
    /// Version number, from 1.
    pub version_number: i64,
    /// Whether this is the default version.
    pub default_version: bool,
    /// What instances launched from it get.
    pub launch_template_data: LaunchTemplateData,
}

/// The launch settings of a template version.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LaunchTemplateData {
    /// Instance metadata service settings, if the version sets any.
    pub metadata_options: Option<MetadataOptions>,
    /// Network interfaces.
    pub network_interfaces: Vec<LaunchTemplateNetworkInterface>,
}

/// A network interface in a launch template version.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LaunchTemplateNetworkInterface {
    /// Whether a public IPv4 address is assigned at launch.
    pub associate_public_ip_address: Option<bool>,
    /// An existing interface to attach.
    pub network_interface_id: Option<String>,
}

/// The user data of a launch template's versions (`ec2:launch-template-user-data`,
/// uid: the template's ARN). The agent serves it to checks and never ships it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LaunchTemplateUserData {
    /// One entry per version.
    pub versions: Vec<VersionUserData>,
}

impl Kind for LaunchTemplateUserData {
    const KIND: &'static str = "ec2:launch-template-user-data";
}

/// One version's user data.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VersionUserData {
    /// Version number.
    pub version_number: i64,
    /// Base64 user data, if any.
    pub user_data: Option<String>,
}

/// An instance's user data (`ec2:instance-user-data`, uid: the instance's ARN),
/// for instances that are not terminated. Served to checks, never shipped.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceUserData {
    /// `i-…`
    pub instance_id: String,
    /// Base64 user data, if any.
    pub user_data: Option<String>,
}

impl Kind for InstanceUserData {
    const KIND: &'static str = "ec2:instance-user-data";
}
