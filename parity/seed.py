#!/usr/bin/env python3
"""Seed a varied EC2/VPC estate into a moto server for the Prowler parity run.

Usage: seed.py --endpoint http://127.0.0.1:PORT [--region us-east-1] [--manifest FILE]

The estate is built so that every check family Citadel ports from Prowler sees
both verdicts and the documented edge cases (see ../shared/reference/prowler/
ec2_vpc_checks.md, "Shared semantics"). Each resource carries a Name tag and is
listed in the manifest (logical name -> id and ARN), so DIFFERENCES.md can name
resources without depending on moto's ids.

moto's random generator is seeded first (POST /moto-api/seed), so on a fresh
server the same calls give the same ids on every run.
"""

import argparse
import base64
import json
import sys
import time
import urllib.request

import boto3

ACCOUNT = "123456789012"  # what moto's STS reports
WORLD4 = "0.0.0.0/0"
WORLD6 = "::/0"

# User data for the secrets checks. Parity there is judged on clear-cut secrets
# only (issue #4): an AWS key pair and a private key, all made up. They are
# assembled at run time so that secret scanners do not flag this file.
_KEY_HEADER = "-----BEGIN " + "RSA PRIVATE KEY-----"
_KEY_FOOTER = "-----END " + "RSA PRIVATE KEY-----"
SECRET_USER_DATA = f"""#!/bin/bash
export AWS_ACCESS_KEY_ID={"AKIA" + "Q3EGRJZK5Q7XWJ2L"}
export AWS_SECRET_ACCESS_KEY={"h7Qz1vR9pL2sK8mN4xT6" + "yB3wE5cU0aJ7dF9gH2kP"}
cat > /root/.ssh/id_rsa <<'KEY'
{_KEY_HEADER}
{"MIIEpAIBAAKCAQEAy" + "Citadel0parity0fake0key0material0not0a0real0key0" * 2}
{"Pq7Vb2Xk9LmNc4Rt8Ws1Yz3Ad6Fg0Hj5Ke2Lo9Mi4Nu7Bv1Cx8Dz3Ew6Fr0Gt5Hy2" * 3}
{_KEY_FOOTER}
KEY
"""
BENIGN_USER_DATA = "#!/bin/bash\nyum install -y nginx\nsystemctl enable --now nginx\n"


def tcp(port_from, port_to=None, cidrs=(), cidrs6=(), groups=(), proto="tcp"):
    """One IpPermissions entry: TCP port_from..port_to unless proto says otherwise."""
    perm = {"IpProtocol": proto}
    if proto != "-1":
        perm["FromPort"] = port_from
        perm["ToPort"] = port_from if port_to is None else port_to
    if cidrs:
        perm["IpRanges"] = [{"CidrIp": c} for c in cidrs]
    if cidrs6:
        perm["Ipv6Ranges"] = [{"CidrIpv6": c} for c in cidrs6]
    if groups:
        perm["UserIdGroupPairs"] = [{"GroupId": g} for g in groups]
    return perm


def everything(cidrs=(), cidrs6=()):
    """An all-traffic (-1) rule."""
    return tcp(None, cidrs=cidrs, cidrs6=cidrs6, proto="-1")


class Estate:
    def __init__(self, endpoint, region):
        kw = dict(
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.region = region
        self.session_client = lambda service: boto3.client(service, **kw)
        self.ec2 = self.session_client("ec2")
        self.iam = self.session_client("iam")
        self.manifest = {}  # logical name -> {"id": ..., "arn": ...}

    # -- bookkeeping --------------------------------------------------------
    def arn(self, kind, rid):
        return f"arn:aws:ec2:{self.region}:{ACCOUNT}:{kind}/{rid}"

    def record(self, name, kind, rid, arn=None):
        self.manifest[name] = {"id": rid, "kind": kind, "arn": arn or self.arn(kind, rid)}
        return rid

    def tag(self, rid, name):
        self.ec2.create_tags(Resources=[rid], Tags=[{"Key": "Name", "Value": name}])

    # -- network ------------------------------------------------------------
    def vpc(self, name, cidr):
        vid = self.ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        self.tag(vid, name)
        return self.record(name, "vpc", vid)

    def subnet(self, name, vpc, cidr, az, public_ip=False):
        s = self.ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]
        if public_ip:
            self.ec2.modify_subnet_attribute(SubnetId=s["SubnetId"], MapPublicIpOnLaunch={"Value": True})
        self.tag(s["SubnetId"], name)
        return self.record(name, "subnet", s["SubnetId"], s["SubnetArn"])

    def igw(self, name, vpc):
        gid = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=gid, VpcId=vpc)
        self.tag(gid, name)
        return self.record(name, "internet-gateway", gid)

    def route_table(self, name, vpc, igw=None, subnets=()):
        rid = self.ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        if igw:
            self.ec2.create_route(RouteTableId=rid, DestinationCidrBlock=WORLD4, GatewayId=igw)
        for s in subnets:
            self.ec2.associate_route_table(RouteTableId=rid, SubnetId=s)
        self.tag(rid, name)
        return self.record(name, "route-table", rid)

    def main_route_table(self, vpc):
        tables = self.ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"]
        return tables[0]["RouteTableId"]

    def nacl(self, name, vpc, entries=(), subnets=()):
        """entries: (number, protocol, action, cidr, (from, to) or None); cidr containing ':' is IPv6."""
        aid = self.ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
        for number, proto, action, cidr, ports in entries:
            e = dict(NetworkAclId=aid, RuleNumber=number, Protocol=proto, RuleAction=action, Egress=False)
            e["Ipv6CidrBlock" if ":" in cidr else "CidrBlock"] = cidr
            if ports:
                e["PortRange"] = {"From": ports[0], "To": ports[1]}
            self.ec2.create_network_acl_entry(**e)
        for s in subnets:
            # A subnet always has exactly one NACL association; move it here.
            current = self.ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [s]}])
            for acl in current["NetworkAcls"]:
                for assoc in acl["Associations"]:
                    if assoc["SubnetId"] == s:
                        self.ec2.replace_network_acl_association(
                            AssociationId=assoc["NetworkAclAssociationId"], NetworkAclId=aid
                        )
        self.tag(aid, name)
        return self.record(name, "network-acl", aid)

    def sg(self, name, vpc, ingress=(), egress=None, group_name=None):
        """egress=None keeps AWS's default allow-all egress; a list replaces it."""
        gid = self.ec2.create_security_group(
            GroupName=group_name or name, Description=f"parity {name}", VpcId=vpc
        )["GroupId"]
        if ingress:
            self.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=list(ingress))
        if egress is not None:
            self.ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[everything(cidrs=[WORLD4])])
            if egress:
                self.ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=list(egress))
        self.tag(gid, name)
        return self.record(name, "security-group", gid)

    def default_sg(self, name, vpc):
        gid = self.ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"][0]["GroupId"]
        return self.record(name, "security-group", gid)

    def eni(self, name, subnet, groups):
        nid = self.ec2.create_network_interface(SubnetId=subnet, Groups=list(groups))["NetworkInterface"][
            "NetworkInterfaceId"
        ]
        self.tag(nid, name)
        return self.record(name, "network-interface", nid)

    # -- compute and storage ------------------------------------------------
    def instance(
        self, name, subnet, groups, image, imds="optional", endpoint="enabled", monitoring=False, profile=None, user_data=None
    ):
        kw = dict(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            SubnetId=subnet,
            # SecurityGroupIds, not NetworkInterfaces[].Groups: moto only reflects
            # the former in Instances[].SecurityGroups (running.md).
            SecurityGroupIds=list(groups),
            MetadataOptions={"HttpTokens": imds, "HttpEndpoint": endpoint},
            Monitoring={"Enabled": monitoring},
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
        )
        if profile:
            kw["IamInstanceProfile"] = {"Name": profile}
        if user_data:
            kw["UserData"] = user_data
        iid = self.ec2.run_instances(**kw)["Instances"][0]["InstanceId"]
        return self.record(name, "instance", iid)

    def volume(self, name, az, encrypted, attach_to=None, device="/dev/sdf"):
        vid = self.ec2.create_volume(AvailabilityZone=az, Size=8, Encrypted=encrypted)["VolumeId"]
        if attach_to:
            self.ec2.attach_volume(VolumeId=vid, InstanceId=attach_to, Device=device)
        self.tag(vid, name)
        return self.record(name, "volume", vid)

    def snapshot(self, name, volume):
        sid = self.ec2.create_snapshot(VolumeId=volume, Description=f"parity {name}")["SnapshotId"]
        self.tag(sid, name)
        return self.record(name, "snapshot", sid)

    def eip(self, name, instance=None, eni=None):
        a = self.ec2.allocate_address(Domain="vpc")
        if instance:
            self.ec2.associate_address(AllocationId=a["AllocationId"], InstanceId=instance)
        if eni:
            self.ec2.associate_address(AllocationId=a["AllocationId"], NetworkInterfaceId=eni)
        self.tag(a["AllocationId"], name)
        return self.record(name, "elastic-ip", a["AllocationId"])


def seed(est):
    ec2 = est.ec2
    r = est.region
    az = [f"{r}{x}" for x in "abc"]

    images = ec2.describe_images(Owners=["amazon"])["Images"]
    hvm = sorted(i["ImageId"] for i in images if i.get("VirtualizationType") == "hvm")[0]
    paravirtual = sorted(i["ImageId"] for i in images if i.get("VirtualizationType") == "paravirtual")[0]
    est.iam.create_instance_profile(InstanceProfileName="parity-app-profile")

    # ---- default VPC: made to look like a real one (IGW + 0.0.0.0/0 in its
    # main route table; moto leaves both out). Its default subnets stay
    # implicitly associated, so they are public, and so is every other
    # implicitly associated subnet in the region under Prowler's
    # unfiltered main-route-table lookup (ec2_vpc_checks.md S6).
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    est.record("default-vpc", "vpc", default_vpc)
    default_igw = est.igw("default-igw", default_vpc)
    ec2.create_route(RouteTableId=est.main_route_table(default_vpc), DestinationCidrBlock=WORLD4, GatewayId=default_igw)
    default_subnet = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [default_vpc]}, {"Name": "availability-zone", "Values": [az[0]]}]
    )["Subnets"][0]["SubnetId"]
    est.record("default-subnet-a", "subnet", default_subnet, est.arn("subnet", default_subnet))
    default_vpc_sg = est.default_sg("default-vpc-default-sg", default_vpc)
    # A default group with an extra rule open to the world (exposure + default_restrict).
    ec2.authorize_security_group_ingress(GroupId=default_vpc_sg, IpPermissions=[tcp(22, cidrs=[WORLD4])])

    # ---- parity-app: public + private subnets in three AZs ------------------
    app = est.vpc("parity-app", "10.0.0.0/16")
    app_igw = est.igw("parity-app-igw", app)
    pub_a = est.subnet("app-public-a", app, "10.0.1.0/24", az[0], public_ip=True)
    priv_b = est.subnet("app-private-b", app, "10.0.2.0/24", az[1])
    # On the (IGW-less) main route table: private in AWS terms, public for Prowler (S6).
    implicit_c = est.subnet("app-implicit-c", app, "10.0.3.0/24", az[2])
    # Routes to the Internet through a NAT gateway (and IPv6 through an
    # egress-only gateway): private, since only igw- targets make a subnet public,
    # yet it maps public IPs, so its instance has one (port checks: severity high).
    nat_d = est.subnet("app-nat-d", app, "10.0.4.0/24", az[0], public_ip=True)
    est.subnet("app-spare-public-ip", app, "10.0.5.0/24", az[1], public_ip=True)  # no ENI: gated
    est.route_table("app-public-rt", app, igw=app_igw, subnets=[pub_a])
    est.route_table("app-private-rt", app, subnets=[priv_b])
    nat = ec2.create_nat_gateway(SubnetId=pub_a, ConnectivityType="private")["NatGateway"]["NatGatewayId"]
    est.record("app-nat", "natgateway", nat)
    nat_rt = est.route_table("app-nat-rt", app, subnets=[nat_d])
    ec2.create_route(RouteTableId=nat_rt, DestinationCidrBlock=WORLD4, NatGatewayId=nat)
    eigw = ec2.create_egress_only_internet_gateway(VpcId=app)["EgressOnlyInternetGateway"]["EgressOnlyInternetGatewayId"]
    ec2.create_route(RouteTableId=nat_rt, DestinationIpv6CidrBlock=WORLD6, EgressOnlyInternetGatewayId=eigw)
    app_default_sg = est.default_sg("app-default-sg", app)
    # Strip the default group bare: the one default SG that passes default_restrict_traffic.
    # (moto's default groups carry only the allow-all egress rule, AWS's also a
    # self-referencing ingress rule; revoke whatever is there.)
    bare = ec2.describe_security_groups(GroupIds=[app_default_sg])["SecurityGroups"][0]
    if bare["IpPermissions"]:
        ec2.revoke_security_group_ingress(GroupId=app_default_sg, IpPermissions=bare["IpPermissions"])
    if bare["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(GroupId=app_default_sg, IpPermissions=bare["IpPermissionsEgress"])

    # ---- parity-isolated: one private subnet in one AZ (explicit private RT) --
    iso = est.vpc("parity-isolated", "10.1.0.0/16")
    iso_a = est.subnet("isolated-a", iso, "10.1.1.0/24", az[0])
    est.route_table("isolated-rt", iso, subnets=[iso_a])
    iso_default_sg = est.default_sg("isolated-default-sg", iso)

    # ---- parity-implicit: subnets only on its own (IGW-less) main route table.
    # AWS-correct answer: private; Prowler's quirk: public (default VPC's main RT).
    imp = est.vpc("parity-implicit", "10.2.0.0/16")
    imp_a = est.subnet("implicit-a", imp, "10.2.1.0/24", az[0])
    imp_b = est.subnet("implicit-b", imp, "10.2.2.0/24", az[1], public_ip=True)

    # ---- parity-empty: no subnets, no ENIs: every in-use gate is closed ------
    empty = est.vpc("parity-empty", "10.3.0.0/16")

    # ---- network ACLs (all in parity-app) -----------------------------------
    est.nacl(
        "nacl-ssh-open",
        app,
        [(100, "6", "allow", WORLD4, (22, 22)), (200, "-1", "deny", WORLD4, None)],
        subnets=[pub_a],
    )
    est.nacl(
        "nacl-deny-first",
        app,
        [(50, "-1", "deny", WORLD4, None), (100, "-1", "allow", WORLD4, None)],
        subnets=[priv_b],
    )
    est.nacl("nacl-ipv6-all", app, [(10, "-1", "allow", WORLD6, None)])
    est.nacl("nacl-rdp-range", app, [(100, "6", "allow", WORLD4, (3000, 4000))])
    est.nacl(
        "nacl-ipv6-deny-ipv4-allow",
        app,
        [(10, "-1", "deny", WORLD6, None), (20, "6", "allow", WORLD4, (0, 65535))],
    )
    est.nacl("nacl-private-cidr", app, [(100, "-1", "allow", "10.0.0.0/8", None)])
    est.nacl("nacl-empty", app)
    # Rule order is by number, not by creation: the deny (100) wins over the allow (200).
    est.nacl(
        "nacl-order-by-number",
        app,
        [(200, "-1", "allow", WORLD4, None), (100, "-1", "deny", WORLD4, None)],
        subnets=[nat_d],
    )
    # IPv6 SSH allowed, everything else denied: port 22 open, "any port" (-1 only) closed.
    est.nacl(
        "nacl-ipv6-ssh",
        app,
        [(10, "6", "allow", WORLD6, (22, 22)), (20, "-1", "deny", WORLD6, None), (30, "-1", "deny", WORLD4, None)],
    )
    # A TCP 0-65535 allow is not "every port" for the any-port check (protocol must be -1).
    est.nacl("nacl-all-tcp", app, [(100, "6", "allow", WORLD4, (0, 65535))])

    # ---- security groups ----------------------------------------------------
    sg = {}
    sg["ssh-world"] = est.sg("sg-ssh-world", app, [tcp(22, cidrs=[WORLD4])])
    sg["rdp-ipv6"] = est.sg("sg-rdp-ipv6", app, [tcp(3389, cidrs6=[WORLD6])])
    sg["databases"] = est.sg(
        "sg-databases",
        app,
        [tcp(p, cidrs=[WORLD4]) for p in (3306, 5432, 1433, 27017, 6379, 11211, 9200, 1521, 9092, 7199)],
    )
    sg["legacy"] = est.sg(
        "sg-legacy-services",
        app,
        [tcp(p, cidrs=[WORLD4]) for p in (21, 23, 25, 445, 2049, 8080)]
        + [tcp(135, 139, cidrs=[WORLD4]), tcp(53, proto="udp", cidrs=[WORLD4]), tcp(53, cidrs6=[WORLD6])],
    )
    sg["all-traffic"] = est.sg("sg-all-traffic", app, [everything(cidrs=[WORLD4])])
    sg["all-tcp-ipv6"] = est.sg("sg-all-tcp-ipv6", app, [tcp(0, 65535, cidrs6=[WORLD6])])
    sg["all-udp"] = est.sg("sg-all-udp", app, [tcp(0, 65535, proto="udp", cidrs=[WORLD4])])
    sg["icmp-world"] = est.sg("sg-icmp-world", app, [tcp(-1, -1, proto="icmp", cidrs=[WORLD4])])
    sg["wide-public"] = est.sg("sg-wide-public-ipv4", app, [tcp(443, cidrs=["8.8.0.0/16"])])
    sg["specific-ip"] = est.sg("sg-specific-public-ip", app, [tcp(443, cidrs=["198.51.99.7/32", "10.0.0.0/8"])])
    sg["private-only"] = est.sg(
        "sg-private-only", app, [tcp(22, cidrs=["10.0.0.0/8", "192.168.0.0/16"]), tcp(3389, cidrs=["172.16.0.0/12"])]
    )
    sg["cgnat"] = est.sg("sg-cgnat", app, [tcp(22, cidrs=["100.64.0.0/10"])])
    sg["multicast"] = est.sg("sg-multicast", app, [tcp(5000, proto="udp", cidrs=["224.0.0.0/4"])])
    sg["world-and-private"] = est.sg("sg-world-and-private", app, [tcp(8080, cidrs=[WORLD4, "10.0.0.0/8"])])
    sg["port-range"] = est.sg("sg-port-range", app, [tcp(1000, 2000, cidrs=[WORLD4])])
    sg["egress-wide"] = est.sg(
        "sg-egress-wide", app, [tcp(443, cidrs=["10.0.0.0/8"])], egress=[tcp(443, cidrs=["8.0.0.0/8"])]
    )
    sg["high-risk-ipv6"] = est.sg("sg-high-risk-ipv6", app, [tcp(3000, cidrs6=[WORLD6]), tcp(110, cidrs=[WORLD4])])
    sg["elastic-kibana"] = est.sg(
        "sg-elastic-kibana", app, [tcp(5601, cidrs=[WORLD4]), tcp(9300, cidrs6=[WORLD6]), tcp(8888, cidrs=[WORLD4])]
    )
    sg["referenced"] = est.sg("sg-referenced-only", app, [tcp(443, cidrs=["10.0.0.0/8"])])
    sg["sg-ref"] = est.sg("sg-from-sg", app, [tcp(5432, groups=[sg["referenced"]])])
    sg["ipv6-specific"] = est.sg(
        "sg-ipv6-specific",
        app,
        [tcp(443, cidrs6=["2600:1f18:abcd::/48"]), tcp(8443, cidrs6=["2001:db8::/32", "fc00::/7"])],
    )
    sg["doc-ranges"] = est.sg(
        "sg-documentation-ranges", app, [tcp(22, cidrs=["192.0.2.0/24", "203.0.113.0/24", "169.254.0.0/16"])]
    )
    # 1-65535 is not "all ports" (0-65535 is), but it covers every listed port.
    sg["almost-all"] = est.sg("sg-tcp-1-65535", app, [tcp(1, 65535, cidrs=[WORLD4])])
    sg["all-private"] = est.sg(
        "sg-all-traffic-private", app, [everything(cidrs=["10.0.0.0/8"]), tcp(23, cidrs6=[WORLD6])]
    )
    sg["icmpv6"] = est.sg("sg-icmpv6-world", app, [tcp(-1, -1, proto="icmpv6", cidrs6=[WORLD6])])
    sg["egress-ref-target"] = est.sg("sg-egress-referenced-only", app, [])
    sg["egress-ref"] = est.sg(
        "sg-egress-to-sg", app, [tcp(443, cidrs=["10.0.0.0/8"])], egress=[tcp(443, groups=[sg["egress-ref-target"]])]
    )
    sg["rules-50-51"] = est.sg(
        "sg-50-in-51-out",
        app,
        [tcp(30000 + k, cidrs=["10.0.0.0/8"]) for k in range(50)],
        egress=[tcp(40000 + k, cidrs=["10.0.0.0/8"]) for k in range(51)],
    )
    sg["many-rules"] = est.sg(
        "sg-many-rules", app, [tcp(20000 + k, cidrs=["10.0.0.0/8"]) for k in range(51)]
    )
    sg["launch-wizard-used"] = est.sg("launch-wizard-1", app, [tcp(22, cidrs=[WORLD4])])
    sg["launch-wizard-idle"] = est.sg("launch-wizard-2", app, [tcp(22, cidrs=[WORLD4])])
    # The console's launch wizard creates its groups in the default VPC.
    sg["launch-wizard-default"] = est.sg("launch-wizard-3", default_vpc, [tcp(3389, cidrs=[WORLD4])])
    sg["unused"] = est.sg("sg-unused", app, [tcp(22, cidrs=[WORLD4])])
    sg["no-rules"] = est.sg("sg-no-rules", app, [], egress=[])
    sg["empty-vpc"] = est.sg("sg-in-empty-vpc", empty, [everything(cidrs=[WORLD4])])
    sg["isolated"] = est.sg("sg-isolated-app", iso, [tcp(6379, cidrs=[WORLD4])])
    sg["implicit"] = est.sg("sg-implicit-web", imp, [tcp(80, 80, cidrs=[WORLD4]), tcp(443, cidrs6=[WORLD6])])

    # ---- instances ----------------------------------------------------------
    inst = {}
    # Public web server: public IP (subnet maps one), IMDSv1, profile, no monitoring.
    inst["web"] = est.instance(
        "web-public", pub_a, [sg["ssh-world"], sg["databases"]], hvm, profile="parity-app-profile", user_data=BENIGN_USER_DATA
    )
    # Private app server: IMDSv2, monitoring, legacy ports open but no public IP.
    inst["app"] = est.instance(
        "app-private", priv_b, [sg["legacy"], sg["port-range"], sg["sg-ref"]], hvm, imds="required", monitoring=True
    )
    # Instance with the metadata service switched off.
    inst["nometa"] = est.instance(
        "batch-no-imds",
        priv_b,
        [sg["private-only"], sg["cgnat"]],
        hvm,
        endpoint="disabled",
        profile="parity-app-profile",
        user_data=SECRET_USER_DATA,
    )
    # Legacy box on a paravirtual AMI, on the implicit (main-RT) subnet, later stopped.
    inst["legacy"] = est.instance("legacy-stopped", implicit_c, [sg["all-traffic"], sg["rdp-ipv6"]], paravirtual)
    # Default VPC instance: default group with an extra world rule + launch wizard group.
    inst["default"] = est.instance(
        "default-vpc-box", default_subnet, [default_vpc_sg, sg["launch-wizard-default"]], hvm, imds="required"
    )
    # Isolated VPC instance: its VPC's untouched default group.
    inst["isolated"] = est.instance("isolated-worker", iso_a, [iso_default_sg, sg["isolated"]], hvm, monitoring=True)
    # Instance in the IGW-less VPC whose subnet maps public IPs (Prowler calls it public).
    inst["implicit"] = est.instance("implicit-web", imp_b, [sg["implicit"], sg["high-risk-ipv6"]], hvm)
    # Dual-homed instance: second ENI attached (uses_single_eni FAIL).
    inst["dual"] = est.instance("dual-homed", pub_a, [sg["all-tcp-ipv6"], sg["elastic-kibana"]], hvm, imds="required")
    second = est.eni("dual-homed-eni-1", pub_a, [sg["all-udp"]])
    ec2.attach_network_interface(NetworkInterfaceId=second, InstanceId=inst["dual"], DeviceIndex=1)
    # Terminated instance: Prowler still evaluates it in some checks (ec2_vpc_checks.md S8).
    inst["gone"] = est.instance("terminated-box", priv_b, [sg["launch-wizard-used"]], hvm)
    # Public IP in a NAT-routed (private) subnet; IMDSv2 required but the endpoint off.
    inst["nat"] = est.instance(
        "nat-subnet-box", nat_d, [sg["almost-all"], sg["ipv6-specific"]], hvm, imds="required", endpoint="disabled"
    )

    est.eip("eip-stopped-instance", instance=inst["legacy"])
    ec2.stop_instances(InstanceIds=[inst["legacy"]])
    ec2.terminate_instances(InstanceIds=[inst["gone"]])

    # ---- standalone ENIs: put the remaining groups in use --------------------
    est.eni("eni-wide-public", pub_a, [sg["wide-public"], sg["specific-ip"]])
    est.eni("eni-misc", priv_b, [sg["icmp-world"], sg["multicast"], sg["world-and-private"], sg["egress-wide"]])
    est.eni("eni-many-rules", priv_b, [sg["many-rules"], sg["no-rules"], app_default_sg])
    eni_eip = est.eni("eni-with-eip", pub_a, [sg["ssh-world"]])
    est.eni("implicit-a-eni", imp_a, [sg["implicit"]])
    est.eni(
        "eni-edge-rules",
        priv_b,
        [sg["doc-ranges"], sg["all-private"], sg["icmpv6"], sg["egress-ref"], sg["rules-50-51"]],
    )

    # ---- storage --------------------------------------------------------------
    ec2.enable_ebs_encryption_by_default()
    v_plain = est.volume("data-plain-attached", az[0], False, attach_to=inst["web"])
    v_enc = est.volume("data-encrypted-attached", az[1], True, attach_to=inst["app"])
    est.volume("scratch-plain-available", az[0], False)
    v_enc_free = est.volume("scratch-encrypted-available", az[2], True)
    est.snapshot("snap-plain", v_plain)
    est.snapshot("snap-encrypted", v_enc)
    est.snapshot("snap-encrypted-2", v_enc_free)

    # ---- Elastic IPs ----------------------------------------------------------
    est.eip("eip-instance", instance=inst["app"])
    est.eip("eip-eni", eni=eni_eip)
    est.eip("eip-unassigned")
    return {"app": app, "iso": iso, "imp": imp, "pub_a": pub_a, "priv_b": priv_b, "iso_a": iso_a, "imp_a": imp_a}


def seed_more(est, ctx):
    """Resources for the EC2/VPC checks beyond instances, groups and disks:
    launch templates, AMIs, snapshot sharing, flow logs, endpoints, peering,
    transit gateways, VPN and endpoint services."""
    ec2, r = est.ec2, est.region
    app, iso, imp = ctx["app"], ctx["iso"], ctx["imp"]
    m = est.manifest
    image = sorted(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"])[0]

    # Launch templates: IMDS, public IP on an interface, user-data secrets across versions.
    def template(name, *versions):
        lt = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=versions[0])["LaunchTemplate"]
        for data in versions[1:]:
            ec2.create_launch_template_version(LaunchTemplateId=lt["LaunchTemplateId"], LaunchTemplateData=data)
        est.record(name, "launch-template", lt["LaunchTemplateId"])

    b64 = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
    template(
        "lt-legacy-web",
        {
            "ImageId": image,
            "MetadataOptions": {"HttpTokens": "optional", "HttpEndpoint": "enabled"},
            "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": True, "SubnetId": ctx["pub_a"]}],
            "UserData": b64(SECRET_USER_DATA),
        },
        {"ImageId": image, "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"}},
    )
    template(
        "lt-hardened",
        {
            "ImageId": image,
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": False, "SubnetId": ctx["priv_b"]}],
            "UserData": b64(BENIGN_USER_DATA),
        },
    )
    template("lt-no-metadata-options", {"ImageId": image, "InstanceType": "t3.micro"})

    # AMIs owned by the account: one private, one public.
    for name, public in (("ami-app-private", False), ("ami-web-public", True)):
        src = m["app-private" if not public else "web-public"]["id"]
        ami = ec2.create_image(InstanceId=src, Name=name)["ImageId"]
        if public:
            ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"Group": "all"}]})
        est.tag(ami, name)
        est.record(name, "image", ami)

    # Snapshot sharing: public to everyone, and with one named account (not public).
    ec2.modify_snapshot_attribute(
        SnapshotId=m["snap-plain"]["id"], Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    ec2.modify_snapshot_attribute(
        SnapshotId=m["snap-encrypted"]["id"],
        Attribute="createVolumePermission",
        OperationType="add",
        UserIds=["111122223333"],
    )

    # Flow logs on parity-app only (to S3: moto checks that the bucket exists).
    s3 = est.session_client("s3")
    s3.create_bucket(Bucket="citadel-parity-flow-logs")
    ec2.create_flow_logs(
        ResourceIds=[app],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::citadel-parity-flow-logs",
    )

    # VPC endpoints: EC2 interface endpoint in one subnet; SSM in two, with a
    # policy naming a foreign account; an S3 gateway endpoint with the default policy.
    def endpoint(name, vpc, service, kind, subnets=(), policy=None):
        kw = dict(VpcId=vpc, ServiceName=f"com.amazonaws.{r}.{service}", VpcEndpointType=kind)
        if subnets:
            kw["SubnetIds"] = list(subnets)
        if policy:
            kw["PolicyDocument"] = json.dumps(policy)
        vid = ec2.create_vpc_endpoint(**kw)["VpcEndpoint"]["VpcEndpointId"]
        est.tag(vid, name)
        est.record(name, "vpc-endpoint", vid)

    endpoint("vpce-app-ec2", app, "ec2", "Interface", [ctx["pub_a"]])
    foreign = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "*", "Resource": "*"}
        ]
    }
    endpoint("vpce-app-ssm", app, "ssm", "Interface", [ctx["pub_a"], ctx["priv_b"]], policy=foreign)
    endpoint("vpce-isolated-s3", iso, "s3", "Gateway")

    # Peering: app <-> isolated routes the whole requester CIDR (least privilege FAIL);
    # app <-> implicit routes one /24 (PASS).
    def peering(name, requester, accepter, table, cidr):
        pcx = ec2.create_vpc_peering_connection(VpcId=requester, PeerVpcId=accepter)["VpcPeeringConnection"][
            "VpcPeeringConnectionId"
        ]
        ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
        ec2.create_route(RouteTableId=table, DestinationCidrBlock=cidr, VpcPeeringConnectionId=pcx)
        est.tag(pcx, name)
        est.record(name, "vpc-peering-connection", pcx)

    peering("pcx-app-isolated", app, iso, m["isolated-rt"]["id"], "10.0.0.0/16")
    peering("pcx-app-implicit", app, imp, m["app-private-rt"]["id"], "10.2.1.0/24")

    # Transit gateways: one auto-accepts shared attachments.
    for name, auto in (("tgw-auto-accept", "enable"), ("tgw-manual-accept", "disable")):
        tgw = ec2.create_transit_gateway(Description=name, Options={"AutoAcceptSharedAttachments": auto})
        tid = tgw["TransitGateway"]["TransitGatewayId"]
        est.tag(tid, name)
        est.record(name, "transit-gateway", tid, tgw["TransitGateway"]["TransitGatewayArn"])

    # Site-to-Site VPN (moto returns no tunnel telemetry for it).
    cgw = ec2.create_customer_gateway(BgpAsn=65000, PublicIp="198.51.99.1", Type="ipsec.1")["CustomerGateway"]
    vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    ec2.attach_vpn_gateway(VpcId=app, VpnGatewayId=vgw)
    vpn = ec2.create_vpn_connection(CustomerGatewayId=cgw["CustomerGatewayId"], VpnGatewayId=vgw, Type="ipsec.1")
    est.record("vpn-office", "vpn-connection", vpn["VpnConnection"]["VpnConnectionId"])

    # Endpoint services (each needs its own network load balancer): one shared
    # with a foreign account, one with no allowed principals.
    elb = est.session_client("elbv2")
    for name, principal in (("svc-shared", "arn:aws:iam::111122223333:root"), ("svc-private", None)):
        lb = elb.create_load_balancer(Name=f"nlb-{name}", Subnets=[ctx["priv_b"]], Type="network", Scheme="internal")
        svc = ec2.create_vpc_endpoint_service_configuration(
            NetworkLoadBalancerArns=[lb["LoadBalancers"][0]["LoadBalancerArn"]], AcceptanceRequired=True
        )["ServiceConfiguration"]["ServiceId"]
        if principal:
            ec2.modify_vpc_endpoint_service_permissions(ServiceId=svc, AddAllowedPrincipals=[principal])
        est.record(name, "vpc-endpoint-service", svc)

    # Account settings of the region (parity/moto_server.py adds these calls to
    # moto): snapshots only block new sharing (FAIL), AMIs block it (PASS), new
    # instances require IMDSv2 (PASS).
    ec2.enable_snapshot_block_public_access(State="block-new-sharing")
    ec2.enable_image_block_public_access(ImageBlockPublicAccessState="block-new-sharing")
    ec2.modify_instance_metadata_defaults(HttpTokens="required", HttpPutResponseHopLimit=2)

    # Client VPN endpoints: one logs client connections, one does not.
    for name, logging in (("cvpn-logged", True), ("cvpn-silent", False)):
        logs = {"Enabled": logging, **({"CloudwatchLogGroup": "client-vpn"} if logging else {})}
        cid = ec2.create_client_vpn_endpoint(
            ClientCidrBlock="10.250.0.0/22" if logging else "10.251.0.0/22",
            ServerCertificateArn=f"arn:aws:acm:{r}:{ACCOUNT}:certificate/parity-server",
            AuthenticationOptions=[
                {
                    "Type": "certificate-authentication",
                    "MutualAuthentication": {
                        "ClientRootCertificateChainArn": f"arn:aws:acm:{r}:{ACCOUNT}:certificate/parity-clients"
                    },
                }
            ],
            ConnectionLogOptions=logs,
            VpcId=app,
            TagSpecifications=[{"ResourceType": "client-vpn-endpoint", "Tags": [{"Key": "Name", "Value": name}]}],
        )["ClientVpnEndpointId"]
        est.record(name, "client-vpn-endpoint", cid)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--manifest", help="write logical name -> id/ARN here (JSON)")
    args = p.parse_args()

    started = time.monotonic()
    # Same seed, same ids: only meaningful on a fresh server, before any EC2 call.
    urllib.request.urlopen(urllib.request.Request(f"{args.endpoint}/moto-api/seed?a=4242", method="POST"))
    est = Estate(args.endpoint, args.region)
    seed_more(est, seed(est))
    if args.manifest:
        with open(args.manifest, "w") as f:
            json.dump(est.manifest, f, indent=2, sort_keys=True)
    kinds = {}
    for v in est.manifest.values():
        kinds[v["kind"]] = kinds.get(v["kind"], 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"seeded {args.region} in {time.monotonic() - started:.1f} s: {summary}", file=sys.stderr)


if __name__ == "__main__":
    main()
