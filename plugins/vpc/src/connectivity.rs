//! Connections into and between networks: Site-to-Site VPN tunnels, transit
//! gateway attachments and Client VPN endpoints.

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::vpc::{ClientVpnEndpoint, TransitGateway, VpnConnection};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity, Status};

/// `vpc_vpn_connection_tunnels_up`.
pub struct VpnConnectionTunnelsUp;

impl Check for VpnConnectionTunnelsUp {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "vpc_vpn_connection_tunnels_up",
            "AWS Site-to-Site VPN connection has both tunnels up",
            Severity::Medium,
        )
        .description("Each Site-to-Site VPN connection has two tunnels so that one can fail; with one down the link has no redundancy left.")
        .service("vpc")
        // Prowler's metadata type, although the resource is a Site-to-Site connection.
        .resource_type("AwsEc2ClientVpnEndpoint")
        .remediation("Bring the down tunnel back up: check the customer gateway's configuration, IKE and IPsec settings and its route to the tunnel's outside address.")
        .reads(&[VpnConnection::KIND])
        .requirement("iso27001_2022", &["A.8.14", "A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["pt_5"])
        .requirement("pci_4.0", &["1.3.1.46", "1.3.2.46", "1.4.1.10", "1.4.2.44", "1.4.4.10"])
        .requirement("aws_fsbp", &["EC2.20"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(inventory
            .typed::<VpnConnection>()?
            .into_iter()
            .map(|(res, v)| {
                let id = &v.vpn_connection_id;
                let up = |n: usize| v.vgw_telemetry[n].status.as_deref() == Some("UP");
                // Prowler reads the first two tunnels; with fewer its check fails outright.
                if v.vgw_telemetry.len() < 2 {
                    Finding::new(
                        &res,
                        Status::Error,
                        format!(
                            "VPN Connection {id} reports {} tunnel(s); the status of both tunnels is needed.",
                            v.vgw_telemetry.len()
                        ),
                    )
                } else if up(0) && up(1) {
                    // Both texts end with a space, as Prowler's do.
                    Finding::pass(&res, format!("VPN Connection {id} has both tunnels UP. "))
                } else {
                    Finding::fail(
                        &res,
                        format!("VPN Connection {id} has at least one tunnel DOWN. "),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_transitgateway_auto_accept_vpc_attachments`.
pub struct TransitGatewayAutoAcceptVpcAttachments;

impl Check for TransitGatewayAutoAcceptVpcAttachments {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_transitgateway_auto_accept_vpc_attachments",
            "Amazon EC2 Transit Gateway does not automatically accept shared VPC attachments",
            Severity::High,
        )
        .description("A transit gateway that accepts shared attachments automatically lets any account it is shared with connect a VPC without review.")
        .service("ec2")
        .resource_type("AwsEc2TransitGateway")
        .remediation("Turn off AutoAcceptSharedAttachments on the transit gateway and accept attachments one by one.")
        .reads(&[TransitGateway::KIND])
        .requirement("soc2", &["cc_6_7"])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("pci_4.0", &["1.2.8.11", "1.3.1.12", "1.3.2.12", "1.4.2.12", "1.5.1.11", "A1.1.3.11"])
        .requirement("aws_fsbp", &["EC2.23"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(inventory
            .typed::<TransitGateway>()?
            .into_iter()
            .map(|(res, t)| {
                let (id, region) = (&t.transit_gateway_id, &res.region);
                let auto = t
                    .options
                    .and_then(|o| o.auto_accept_shared_attachments)
                    .is_some_and(|v| v == "enable");
                if auto {
                    Finding::fail(
                        &res,
                        format!("Transit Gateway {id} in region {region} is configured to automatically accept shared VPC attachments."),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!("Transit Gateway {id} in region {region} does not automatically accept shared VPC attachments."),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_client_vpn_endpoint_connection_logging_enabled`.
pub struct ClientVpnEndpointConnectionLogging;

impl Check for ClientVpnEndpointConnectionLogging {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_client_vpn_endpoint_connection_logging_enabled",
            "EC2 Client VPN endpoint has client connection logging enabled",
            Severity::Low,
        )
        .description("Without connection logs nobody can tell who connected to the VPN, from where and when.")
        .service("ec2")
        .resource_type("AwsEc2ClientVpnEndpoint")
        .remediation("Enable client connection logging on the endpoint, to a CloudWatch Logs group.")
        .reads(&[ClientVpnEndpoint::KIND])
        .requirement("soc2", &["cc_a_1_1"])
        .requirement("iso27001_2022", &["A.8.15"])
        .requirement("pci_4.0", &[
            "1.2.8.9", "1.3.1.10", "1.3.2.10", "1.4.2.10", "1.5.1.9", "10.2.1.1.14",
            "10.2.1.2.12", "10.2.1.3.12", "10.2.1.4.12", "10.2.1.5.12", "10.2.1.6.12",
            "10.2.1.7.12", "10.2.1.12", "10.2.2.12", "10.3.1.12", "10.6.3.14", "5.3.4.14",
            "A1.1.3.9", "A1.2.1.16",
        ])
        .requirement("aws_fsbp", &["EC2.51"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(inventory
            .typed::<ClientVpnEndpoint>()?
            .into_iter()
            .map(|(res, c)| {
                let (id, region) = (&c.client_vpn_endpoint_id, &res.region);
                let logged = c
                    .connection_log_options
                    .and_then(|o| o.enabled)
                    .unwrap_or(false);
                if logged {
                    Finding::pass(
                        &res,
                        format!("Client VPN endpoint {id} in region {region} has client connection logging enabled."),
                    )
                } else {
                    Finding::fail(
                        &res,
                        format!("Client VPN endpoint {id} in region {region} does not have client connection logging enabled."),
                    )
                }
            })
            .collect())
    }
}
