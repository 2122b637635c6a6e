"""moto server with the EC2 account settings and Client VPN calls it lacks.

Usage: moto_server.py [moto.server arguments, e.g. -H 127.0.0.1 -p PORT]

moto 5.2 does not implement seven EC2 actions that four parity checks read:

    GetSnapshotBlockPublicAccessState / EnableSnapshotBlockPublicAccess
    GetImageBlockPublicAccessState    / EnableImageBlockPublicAccess
    GetInstanceMetadataDefaults       / ModifyInstanceMetadataDefaults
    DescribeClientVpnEndpoints        / CreateClientVpnEndpoint

It answers them with HTTP 500. Both scanners then retry with backoff (seconds
of sleep per scan: most of the agent's wall time at default settings) and
the four checks cannot be compared: Prowler emits nothing, the agent an
`error` result. Real AWS answers all of them, so this launcher adds them to
moto's EC2 responder before starting the server, keeping per account and
region what the Enable/Modify/Create calls set (AWS's defaults until then:
unblocked, no IMDS preference, no endpoints). Responses go through moto's
own model-driven serializer, so their shape is the EC2 API's.

Only what the parity estate needs is modelled: no validation beyond the
enumerations, no pagination, no filters other than endpoint ids.
"""

import sys

from moto.core.responses import ActionResult
from moto.ec2.exceptions import InvalidParameterValueError
from moto.ec2.responses import EC2Response
from moto.ec2.utils import random_id
from moto.server import main

# (account, region) -> settings, and (account, region) -> [endpoint]
SETTINGS = {}
ENDPOINTS = {}


def _settings(resp):
    return SETTINGS.setdefault(
        (resp.current_account, resp.region),
        {"snapshots": "unblocked", "images": "unblocked", "imds": {}},
    )


def _choice(value, allowed, name):
    if value not in allowed:
        raise InvalidParameterValueError(f"{value!r} ({name}: one of {', '.join(sorted(allowed))})")
    return value


def get_snapshot_block_public_access_state(self):
    self.error_on_dryrun()
    return ActionResult({"State": _settings(self)["snapshots"], "ManagedBy": "account"})


def enable_snapshot_block_public_access(self):
    self.error_on_dryrun()
    state = _choice(self._get_param("State"), {"block-all-sharing", "block-new-sharing"}, "State")
    _settings(self)["snapshots"] = state
    return ActionResult({"State": state})


def get_image_block_public_access_state(self):
    self.error_on_dryrun()
    return ActionResult(
        {"ImageBlockPublicAccessState": _settings(self)["images"], "ManagedBy": "account"}
    )


def enable_image_block_public_access(self):
    self.error_on_dryrun()
    state = _choice(
        self._get_param("ImageBlockPublicAccessState"), {"block-new-sharing"}, "ImageBlockPublicAccessState"
    )
    _settings(self)["images"] = state
    return ActionResult({"ImageBlockPublicAccessState": state})


def get_instance_metadata_defaults(self):
    self.error_on_dryrun()
    return ActionResult({"AccountLevel": dict(_settings(self)["imds"], ManagedBy="account")})


def modify_instance_metadata_defaults(self):
    self.error_on_dryrun()
    imds = _settings(self)["imds"]
    tokens = self._get_param("HttpTokens")
    if tokens is not None:
        if _choice(tokens, {"optional", "required", "no-preference"}, "HttpTokens") == "no-preference":
            imds.pop("HttpTokens", None)
        else:
            imds["HttpTokens"] = tokens
    hops = self._get_int_param("HttpPutResponseHopLimit")
    if hops is not None:
        if hops == -1:
            imds.pop("HttpPutResponseHopLimit", None)
        else:
            imds["HttpPutResponseHopLimit"] = hops
    return ActionResult({"Return": True})


def create_client_vpn_endpoint(self):
    self.error_on_dryrun()
    # moto's id generator, which follows its /moto-api/seed like every other id
    endpoint_id = random_id(prefix="cvpn-endpoint")
    logs = self._get_param("ConnectionLogOptions") or {}
    tags = []
    for spec in self._get_param("TagSpecifications", []) or []:
        tags.extend(spec.get("Tags", []))
    endpoint = {
        "ClientVpnEndpointId": endpoint_id,
        "Description": self._get_param("Description") or "",
        "Status": {"Code": "pending-associate"},
        "ClientCidrBlock": self._get_param("ClientCidrBlock"),
        "ServerCertificateArn": self._get_param("ServerCertificateArn"),
        "TransportProtocol": self._get_param("TransportProtocol") or "udp",
        "VpcId": self._get_param("VpcId"),
        "ConnectionLogOptions": {
            "Enabled": bool(logs.get("Enabled")),
            **({"CloudwatchLogGroup": logs["CloudwatchLogGroup"]} if logs.get("CloudwatchLogGroup") else {}),
        },
        "Tags": tags,
    }
    ENDPOINTS.setdefault((self.current_account, self.region), []).append(endpoint)
    return ActionResult({"ClientVpnEndpointId": endpoint_id, "Status": endpoint["Status"]})


def describe_client_vpn_endpoints(self):
    self.error_on_dryrun()
    wanted = set(self._get_param("ClientVpnEndpointIds", []) or [])
    found = [
        e
        for e in ENDPOINTS.get((self.current_account, self.region), [])
        if not wanted or e["ClientVpnEndpointId"] in wanted
    ]
    return ActionResult({"ClientVpnEndpoints": found})


for _handler in (
    get_snapshot_block_public_access_state,
    enable_snapshot_block_public_access,
    get_image_block_public_access_state,
    enable_image_block_public_access,
    get_instance_metadata_defaults,
    modify_instance_metadata_defaults,
    create_client_vpn_endpoint,
    describe_client_vpn_endpoints,
):
    if hasattr(EC2Response, _handler.__name__):
        # A newer moto implements it: its own version wins.
        continue
    setattr(EC2Response, _handler.__name__, _handler)

if __name__ == "__main__":
    main(sys.argv[1:])
