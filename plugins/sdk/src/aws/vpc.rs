//! VPC connectivity objects: flow logs (DescribeFlowLogs), endpoints
//! (DescribeVpcEndpoints), endpoint services owned by the account
//! (DescribeVpcEndpointServices with DescribeVpcEndpointServicePermissions),
//! peering connections (DescribeVpcPeeringConnections), Site-to-Site VPN
//! connections (DescribeVpnConnections), transit gateways
//! (DescribeTransitGateways) and Client VPN endpoints (DescribeClientVpnEndpoints).

use serde::Deserialize;

use super::Kind;
use super::ec2::GroupIdentifier;

/// A flow log (`ec2:flow-log`, uid `arn:…:vpc-flow-log/fl-…`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FlowLog {
    /// `fl-…`
    pub flow_log_id: String,
    /// What is logged: a VPC (`vpc-…`), subnet, network interface or transit gateway.
    pub resource_id: Option<String>,
    /// `ACTIVE`.
    pub flow_log_status: Option<String>,
    /// `ACCEPT`, `REJECT` or `ALL`.
    pub traffic_type: Option<String>,
    /// `cloud-watch-logs`, `s3` or `kinesis-data-firehose`.
    pub log_destination_type: Option<String>,
    /// Destination ARN (S3, Firehose).
    pub log_destination: Option<String>,
}

impl Kind for FlowLog {
    const KIND: &'static str = "ec2:flow-log";
}

/// A VPC endpoint (`ec2:vpc-endpoint`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VpcEndpoint {
    /// `vpce-…`
    pub vpc_endpoint_id: String,
    /// `Interface`, `Gateway`, `GatewayLoadBalancer`, `Resource` or `ServiceNetwork`.
    pub vpc_endpoint_type: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Service, e.g. `com.amazonaws.us-east-1.ec2`.
    pub service_name: String,
    /// `available`, `pendingAcceptance`, `deleted` …
    pub state: Option<String>,
    /// The endpoint policy as JSON text, as the API returns it.
    pub policy_document: Option<String>,
    /// Subnets holding the endpoint's interfaces (interface endpoints).
    pub subnet_ids: Vec<String>,
    /// Route tables (gateway endpoints).
    pub route_table_ids: Vec<String>,
    /// Security groups of the endpoint's interfaces.
    pub groups: Vec<GroupIdentifier>,
}

impl Kind for VpcEndpoint {
    const KIND: &'static str = "ec2:vpc-endpoint";
}

/// An endpoint service owned by the scanned account (`ec2:vpc-endpoint-service`):
/// the DescribeVpcEndpointServices entry plus the principals
/// DescribeVpcEndpointServicePermissions allows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VpcEndpointService {
    /// `vpce-svc-…`
    pub service_id: String,
    /// `com.amazonaws.vpce.<region>.vpce-svc-…`
    pub service_name: Option<String>,
    /// Owning account.
    pub owner: Option<String>,
    /// Whether connection requests need the owner's acceptance.
    pub acceptance_required: Option<bool>,
    /// Principals allowed to create endpoints to the service.
    pub allowed_principals: Vec<AllowedPrincipal>,
}

impl Kind for VpcEndpointService {
    const KIND: &'static str = "ec2:vpc-endpoint-service";
}

/// A principal allowed to connect to an endpoint service.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllowedPrincipal {
    /// An ARN (`arn:aws:iam::111122223333:root`), or `*`.
    pub principal: String,
    /// `All`, `Service`, `OrganizationUnit`, `Account`, `User` or `Role`.
    pub principal_type: Option<String>,
}

/// A VPC peering connection (`ec2:vpc-peering-connection`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VpcPeeringConnection {
    /// `pcx-…`
    pub vpc_peering_connection_id: String,
    /// The VPC that asked for the peering.
    pub requester_vpc_info: Option<PeeringVpcInfo>,
    /// The VPC that accepted it.
    pub accepter_vpc_info: Option<PeeringVpcInfo>,
    /// Lifecycle status.
    pub status: Option<PeeringStatus>,
}

impl Kind for VpcPeeringConnection {
    const KIND: &'static str = "ec2:vpc-peering-connection";
}

/// One side of a peering connection.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PeeringVpcInfo {
    /// VPC.
    pub vpc_id: Option<String>,
    /// Account owning the VPC.
    pub owner_id: Option<String>,
    /// Region of the VPC.
    pub region: Option<String>,
    /// Primary IPv4 CIDR of the VPC.
    pub cidr_block: Option<String>,
}

/// Status of a peering connection.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PeeringStatus {
    /// `pending-acceptance`, `active`, `deleted`, `rejected` …
    pub code: Option<String>,
    /// Explanation.
    pub message: Option<String>,
}

/// A Site-to-Site VPN connection (`ec2:vpn-connection`). The customer gateway
/// configuration (it holds the tunnels' pre-shared keys) is never collected.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VpnConnection {
    /// `vpn-…`
    pub vpn_connection_id: String,
    /// `pending`, `available`, `deleting`, `deleted`.
    pub state: Option<String>,
    /// Virtual private gateway, when attached to one.
    pub vpn_gateway_id: Option<String>,
    /// Transit gateway, when attached to one.
    pub transit_gateway_id: Option<String>,
    /// Customer gateway.
    pub customer_gateway_id: Option<String>,
    /// One entry per tunnel.
    pub vgw_telemetry: Vec<VgwTelemetry>,
}

impl Kind for VpnConnection {
    const KIND: &'static str = "ec2:vpn-connection";
}

/// Status of one VPN tunnel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VgwTelemetry {
    /// AWS side of the tunnel.
    pub outside_ip_address: Option<String>,
    /// `UP` or `DOWN`.
    pub status: Option<String>,
    /// Why, when down.
    pub status_message: Option<String>,
}

/// A transit gateway (`ec2:transit-gateway`, uid = its `TransitGatewayArn`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TransitGateway {
    /// `tgw-…`
    pub transit_gateway_id: String,
    /// ARN.
    pub transit_gateway_arn: Option<String>,
    /// `available`, `deleted` …
    pub state: Option<String>,
    /// Owning account (transit gateways can be shared into the account).
    pub owner_id: Option<String>,
    /// Settings.
    pub options: Option<TransitGatewayOptions>,
}

impl Kind for TransitGateway {
    const KIND: &'static str = "ec2:transit-gateway";
}

/// Transit gateway settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TransitGatewayOptions {
    /// `enable` or `disable`: accept attachments from other accounts without review.
    pub auto_accept_shared_attachments: Option<String>,
    /// `enable` or `disable`.
    pub default_route_table_association: Option<String>,
    /// `enable` or `disable`.
    pub default_route_table_propagation: Option<String>,
}

/// A Client VPN endpoint (`ec2:client-vpn-endpoint`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ClientVpnEndpoint {
    /// `cvpn-endpoint-…`
    pub client_vpn_endpoint_id: String,
    /// VPC the endpoint's security groups belong to.
    pub vpc_id: Option<String>,
    /// Client connection logging.
    pub connection_log_options: Option<ConnectionLogOptions>,
    /// Security groups.
    pub security_group_ids: Vec<String>,
}

impl Kind for ClientVpnEndpoint {
    const KIND: &'static str = "ec2:client-vpn-endpoint";
}

/// Client connection logging of a Client VPN endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConnectionLogOptions {
    /// Whether connections are logged.
    pub enabled: Option<bool>,
    /// CloudWatch Logs group.
    pub cloudwatch_log_group: Option<String>,
    /// CloudWatch Logs stream.
    pub cloudwatch_log_stream: Option<String>,
}

/// The scanned account as the subject of account-level VPC checks
/// (`ec2:vpc-account`): one per scan, in the integration's first region, uid
/// `arn:…:ec2:<first region>:<account>:vpc`, id the account id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VpcAccount {
    /// The account.
    pub account_id: String,
    /// Every region the scan covers.
    pub regions: Vec<String>,
}

impl Kind for VpcAccount {
    const KIND: &'static str = "ec2:vpc-account";
}
