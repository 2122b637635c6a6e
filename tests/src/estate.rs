//! A small demo estate seeded into moto: each failing resource has a passing twin.
//!
//! | resource | fails | passes |
//! |---|---|---|
//! | security group, in use | `web-ssh-open`: TCP 22 from 0.0.0.0/0 | `app-ssh-internal`: TCP 22 from 10.0.0.0/8 |
//! | instance | `web` in a default (public) subnet: public IPv4 | `app` in a private subnet |
//! | EBS volume | `scratch-plain`: unencrypted | `scratch-encrypted` |

use anyhow::Context;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    Filter, InstanceType, IpPermission, IpRange, ResourceType, Tag, TagSpecification,
};

/// Ids of what was seeded.
#[derive(Debug, Clone)]
pub struct Estate {
    /// Account moto reports.
    pub account: String,
    /// Region seeded.
    pub region: String,
    /// SG open to the Internet on 22, attached to `public_instance`.
    pub open_sg: String,
    /// SG allowing 22 from a private range only, attached to `private_instance`.
    pub closed_sg: String,
    /// Instance with a public IPv4 address.
    pub public_instance: String,
    /// Instance without one.
    pub private_instance: String,
    /// Unencrypted volume.
    pub plain_volume: String,
    /// Encrypted volume.
    pub encrypted_volume: String,
}

impl Estate {
    /// ARN of an EC2 resource of this estate, e.g. `arn("instance", "i-…")`.
    pub fn arn(&self, kind: &str, id: &str) -> String {
        format!("arn:aws:ec2:{}:{}:{kind}/{id}", self.region, self.account)
    }
}

/// An EC2 client for moto at `endpoint`.
pub async fn client(endpoint: &str, region: &str) -> Client {
    let creds = aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "e2e");
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .load()
        .await;
    Client::new(&conf)
}

fn tags(kind: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .tags(Tag::builder().key("Name").value(name).build())
        .build()
}

fn ssh_from(cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
        .build()
}

/// Seed the demo estate into `region` of the moto server at `endpoint`.
pub async fn seed_estate(endpoint: &str, region: &str) -> anyhow::Result<Estate> {
    let ec2 = client(endpoint, region).await;
    let default_subnet = ec2
        .describe_subnets()
        .filters(
            Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await?
        .subnets
        .unwrap_or_default()
        .into_iter()
        .next()
        .context("moto has no default subnet")?;
    let default_vpc = default_subnet.vpc_id.clone().context("subnet VPC")?;
    let az = default_subnet
        .availability_zone
        .clone()
        .context("subnet AZ")?;

    let vpc = ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .tag_specifications(tags(ResourceType::Vpc, "internal"))
        .send()
        .await?
        .vpc
        .and_then(|v| v.vpc_id)
        .context("vpc id")?;
    let private_subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.20.1.0/24")
        .availability_zone(&az)
        .tag_specifications(tags(ResourceType::Subnet, "internal-private"))
        .send()
        .await?
        .subnet
        .and_then(|s| s.subnet_id)
        .context("subnet id")?;

    let open_sg = ec2
        .create_security_group()
        .group_name("web-ssh-open")
        .description("SSH from anywhere")
        .vpc_id(&default_vpc)
        .send()
        .await?
        .group_id
        .context("sg id")?;
    ec2.authorize_security_group_ingress()
        .group_id(&open_sg)
        .ip_permissions(ssh_from("0.0.0.0/0"))
        .send()
        .await?;
    let closed_sg = ec2
        .create_security_group()
        .group_name("app-ssh-internal")
        .description("SSH from the corporate range")
        .vpc_id(&vpc)
        .send()
        .await?
        .group_id
        .context("sg id")?;
    ec2.authorize_security_group_ingress()
        .group_id(&closed_sg)
        .ip_permissions(ssh_from("10.0.0.0/8"))
        .send()
        .await?;

    let image = ec2
        .describe_images()
        .owners("amazon")
        .send()
        .await?
        .images
        .unwrap_or_default()
        .into_iter()
        .find_map(|i| i.image_id)
        .context("moto has no images")?;
    // SecurityGroupIds, not NetworkInterfaces[].Groups: moto only reflects the former.
    let launch = |subnet: String, sg: String, name: &'static str| {
        let ec2 = ec2.clone();
        let image = image.clone();
        async move {
            ec2.run_instances()
                .image_id(image)
                .instance_type(InstanceType::T3Micro)
                .min_count(1)
                .max_count(1)
                .subnet_id(subnet)
                .security_group_ids(sg)
                .tag_specifications(tags(ResourceType::Instance, name))
                .send()
                .await?
                .instances
                .unwrap_or_default()
                .into_iter()
                .next()
                .and_then(|i| i.instance_id)
                .context("instance id")
        }
    };
    let public_instance = launch(
        default_subnet.subnet_id.clone().context("subnet id")?,
        open_sg.clone(),
        "web",
    )
    .await?;
    let private_instance = launch(private_subnet, closed_sg.clone(), "app").await?;

    let volume = |encrypted: bool, name: &'static str| {
        let ec2 = ec2.clone();
        let az = az.clone();
        async move {
            ec2.create_volume()
                .availability_zone(az)
                .size(8)
                .encrypted(encrypted)
                .tag_specifications(tags(ResourceType::Volume, name))
                .send()
                .await?
                .volume_id
                .context("volume id")
        }
    };
    let plain_volume = volume(false, "scratch-plain").await?;
    let encrypted_volume = volume(true, "scratch-encrypted").await?;

    let sts_account = "123456789012".to_string(); // moto's fixed account
    Ok(Estate {
        account: sts_account,
        region: region.to_string(),
        open_sg,
        closed_sg,
        public_instance,
        private_instance,
        plain_volume,
        encrypted_volume,
    })
}
