"""Replay rendered AWS resources into a real AWS API (moto's server) with boto3.

The render records what the program asked for; replaying it into moto lets AWS's own
validation judge it: a subnet outside its VPC, overlapping subnets, a rule referencing a group
that does not exist, a duplicate NACL entry number, an unknown endpoint service — each makes a
call fail. After the replay every handler can read back what moto holds and compare it with the
render.

    from tests.helpers.aws_replay import replay
    result = replay(moto_server, render.resources)          # raises ReplayError on a failed call
    result.moto_id(resource)                                # the id moto gave it

Handlers are a per-type table, so other layers add theirs from their own test modules::

    from tests.helpers.aws_replay import handler, checker, ReplayContext

    @handler("aws:iam/role:Role")
    def _role(ctx: ReplayContext, r: dict) -> str:
        ...  # create it with ctx.client("iam"), using ctx.resolve(r["inputs"]) for references
        return moto_id                      # and ctx.alias(rendered_value, moto_value) for ARNs

    @checker("aws:iam/role:Role")
    def _role_check(ctx, r, moto_id) -> list[str]:  # mismatches, empty when it reads back as rendered
        ...

Rendered ids, ARNs and names of replayed resources are translated to moto's (``ctx.resolve``),
also inside policy JSON; the fake render account is translated to moto's account.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

RENDER_ACCOUNT = "111122223333"

Create = Callable[["ReplayContext", dict[str, Any]], "str | None"]
Check = Callable[["ReplayContext", dict[str, Any], "str | None"], list[str]]


@dataclass
class TypeHandler:
    create: Create
    check: Check | None = None


HANDLERS: dict[str, TypeHandler] = {}
"""Type token → handler. Add entries with :func:`handler` and :func:`checker`."""


def handler(type_token: str) -> Callable[[Create], Create]:
    """Register the function creating resources of ``type_token`` in moto."""

    def register(fn: Create) -> Create:
        existing = HANDLERS.get(type_token)
        HANDLERS[type_token] = TypeHandler(fn, existing.check if existing else None)
        return fn

    return register


def checker(type_token: str) -> Callable[[Check], Check]:
    """Register the function reading a replayed resource back (returns mismatch messages)."""

    def register(fn: Check) -> Check:
        if type_token not in HANDLERS:
            raise KeyError(f"register the handler for {type_token} before its checker")
        HANDLERS[type_token].check = fn
        return fn

    return register


class ReplayError(AssertionError):
    """A call into moto failed, or a resource did not read back as rendered."""


class ReplayContext:
    """State of one replay: clients, and the translation from rendered values to moto's."""

    def __init__(self, server: Any, resources: list[dict[str, Any]]):
        self.server = server
        self.resources = resources
        self.by_urn = {r["urn"]: r for r in resources}
        self.by_id = {r["id"]: r for r in resources if r.get("id")}
        self.values: dict[str, str] = {}
        self.moto_ids: dict[str, str | None] = {}
        self.extra: dict[str, Any] = {}
        """Free-form state handlers share (e.g. moto's account id)."""
        self._clients: dict[str, Any] = {}
        self.account = self.client("sts").get_caller_identity()["Account"]
        self.values[RENDER_ACCOUNT] = self.account

    def add(self, resources: Iterable[dict[str, Any]]) -> None:
        """Make ``resources`` (another layer's, replayed on this context next) known to it."""
        for r in resources:
            if r["urn"] not in self.by_urn:
                self.resources.append(r)
                self.by_urn[r["urn"]] = r
                if r.get("id"):
                    self.by_id[r["id"]] = r

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.server.client(service)
        return self._clients[service]

    def alias(self, rendered: Any, moto: Any) -> None:
        """From now on, ``rendered`` (an id, ARN or name) means ``moto``."""
        if isinstance(rendered, str) and rendered and isinstance(moto, str):
            self.values[rendered] = moto

    def resolve(self, value: Any) -> Any:
        """``value`` with every rendered id/ARN/name of a replayed resource replaced by moto's."""
        if isinstance(value, str):
            if value in self.values:
                return self.values[value]
            if any(c in value for c in ":/{"):  # ARNs and JSON documents: substrings
                for rendered in sorted(self.values, key=len, reverse=True):
                    if len(rendered) >= 12 and rendered in value:
                        value = value.replace(rendered, self.values[rendered])
            return value
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def ref(self, rendered_id: str) -> str:
        """The moto id of a rendered id, which must have been replayed already."""
        if rendered_id not in self.values:
            owner = self.by_id.get(rendered_id)
            what = f"{owner['type']} {owner['name']}" if owner else "no rendered resource"
            raise ReplayError(f"{rendered_id!r} ({what}) was not replayed before it was referenced")
        return self.values[rendered_id]

    def moto_id(self, resource: Mapping[str, Any]) -> str | None:
        return self.moto_ids[resource["urn"]]


@dataclass
class ReplayResult:
    ctx: ReplayContext
    replayed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def moto_id(self, resource: Mapping[str, Any]) -> str | None:
        return self.ctx.moto_id(resource)


def _order(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dependencies first (the render's ``dependencies`` plus any input naming another
    resource's id), ties in render order."""
    by_urn = {r["urn"]: r for r in resources}
    by_id = {r["id"]: r["urn"] for r in resources if r.get("id")}

    def deps(r: dict[str, Any]) -> set[str]:
        out = {d for d in r.get("dependencies") or [] if d in by_urn}
        stack = [r.get("inputs")]
        while stack:
            v = stack.pop()
            if isinstance(v, str) and v in by_id:
                out.add(by_id[v])
            elif isinstance(v, list):
                stack.extend(v)
            elif isinstance(v, dict):
                stack.extend(v.values())
        out.discard(r["urn"])
        return out

    pending = {r["urn"]: deps(r) for r in resources}
    done: set[str] = set()
    out: list[dict[str, Any]] = []
    while pending:
        ready = [u for u, d in pending.items() if d <= done]
        if not ready:
            raise ReplayError(f"dependency cycle among {sorted(pending)[:5]}")
        for u in sorted(ready, key=lambda u: resources.index(by_urn[u])):
            out.append(by_urn[u])
            done.add(u)
            del pending[u]
    return out


def replay(server: Any, resources: Iterable[dict[str, Any]], *,
           include: Callable[[dict[str, Any]], bool] | None = None, check: bool = True,
           ctx: ReplayContext | None = None, handlers: Mapping[str, TypeHandler] | None = None) -> ReplayResult:
    """Create every custom resource of ``resources`` (``result.resources`` of a render) in moto,
    in dependency order, then read each back (``check``).

    ``include`` picks the resources to replay (default: every custom resource, and each must
    have a handler). Raises :class:`ReplayError` naming the resource on the first failed call,
    and listing every mismatch found on read-back.

    Several layers share one replay: pass the ``ctx`` of an earlier call to continue it (the
    resources replayed before stay referenceable, their rendered ids and ARNs keep translating),
    and ``handlers`` when a layer creates a type differently from this table (e.g. its own IAM
    roles); default: :data:`HANDLERS`.
    """
    table = HANDLERS if handlers is None else handlers
    chosen = [r for r in resources if r.get("custom") and (include is None or include(r))]
    missing = sorted({r["type"] for r in chosen if r["type"] not in table})
    if missing:
        raise ReplayError("no replay handler for: " + ", ".join(missing)
                          + " (register one with tests.helpers.aws_replay.handler, or narrow `include`)")
    if ctx is None:
        ctx = ReplayContext(server, chosen)
    else:
        ctx.add(chosen)
    result = ReplayResult(ctx)
    for r in _order(chosen):
        try:
            moto_id = table[r["type"]].create(ctx, r)
        except (ClientError, BotoCoreError) as exc:
            raise ReplayError(f"{r['type']} {r['name']}: AWS refused it: {exc}") from exc
        ctx.moto_ids[r["urn"]] = moto_id
        if r.get("id") and moto_id:
            ctx.alias(r["id"], moto_id)
        result.replayed.append(r)
    if check:
        problems: list[str] = []
        for r in result.replayed:
            chk = table[r["type"]].check
            if chk is not None:
                problems += [f"{r['type']} {r['name']}: {p}" for p in chk(ctx, r, ctx.moto_id(r))]
        if problems:
            raise ReplayError("replayed resources do not read back as rendered:\n  " + "\n  ".join(problems))
    return result


def id_map_handler(fn: Callable[[Any, dict[str, Any], dict[str, str]], str | None]) -> Create:
    """A handler written as ``fn(server, resource, id_map)`` (rendered value → moto value, the
    identity layer's convention) as a handler of this table: ``id_map`` is the context's
    translation (values of 12 characters or more, as :meth:`ReplayContext.resolve` uses), and
    what ``fn`` adds to it becomes an alias of the context."""

    def create(ctx: ReplayContext, r: dict[str, Any]) -> str | None:
        id_map = {k: v for k, v in ctx.values.items() if len(k) >= 12}
        out = fn(ctx.server, r, id_map)
        for k, v in id_map.items():
            if ctx.values.get(k) != v:
                ctx.alias(k, v)
        return out

    return create


# --------------------------------------------------------------------------------------------
# Helpers for handlers


def num(value: Any) -> Any:
    """Pulumi numbers arrive as floats: 443.0 → 443."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def tag_spec(resource_type: str, tags: Mapping[str, str] | None) -> list[dict[str, Any]]:
    if not tags:
        return []
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}]


def tags_of(described: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in described.get("Tags") or []}


def compare(what: str, rendered: Any, actual: Any) -> list[str]:
    return [] if rendered == actual else [f"{what}: rendered {rendered!r}, AWS holds {actual!r}"]


def _zone(ctx: ReplayContext, rendered: str | None) -> str | None:
    """The moto zone for a rendered zone name (same name if moto has it, else same letter)."""
    if rendered is None:
        return None
    zones = ctx.extra.get("zones")
    if zones is None:
        zones = [z["ZoneName"] for z in ctx.client("ec2").describe_availability_zones()["AvailabilityZones"]]
        ctx.extra["zones"] = zones
    if rendered in zones:
        return rendered
    for z in zones:
        if z[-1] == rendered[-1]:
            ctx.alias(rendered, z)
            return z
    raise ReplayError(f"moto's region has no zone like {rendered!r} (zones: {zones})")


# --------------------------------------------------------------------------------------------
# EC2 / VPC handlers (the network layer)

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
IGW = "aws:ec2/internetGateway:InternetGateway"
EIP = "aws:ec2/eip:Eip"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
RTA = "aws:ec2/routeTableAssociation:RouteTableAssociation"
SG = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

NETWORK_TYPES = frozenset({VPC, SUBNET, IGW, EIP, NAT, ROUTE_TABLE, ROUTE, RTA, SG, DEFAULT_SG, SG_INGRESS,
                           SG_EGRESS, ENDPOINT, NACL, NACL_RULE, FLOW_LOG, LOG_GROUP, IAM_ROLE, IAM_ROLE_POLICY})


@handler(VPC)
def _vpc(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i = r["inputs"]
    ec2 = ctx.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=i["cidrBlock"], TagSpecifications=tag_spec("vpc", i.get("tags")))["Vpc"]
    vid = vpc["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vid, EnableDnsSupport={"Value": bool(i.get("enableDnsSupport", True))})
    ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": bool(i.get("enableDnsHostnames", False))})
    return vid


@checker(VPC)
def _vpc_check(ctx: ReplayContext, r: dict[str, Any], vid: str | None) -> list[str]:
    i, ec2 = r["inputs"], ctx.client("ec2")
    vpc = ec2.describe_vpcs(VpcIds=[vid])["Vpcs"][0]
    dns = ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsSupport")["EnableDnsSupport"]["Value"]
    host = ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]
    return (compare("cidr", i["cidrBlock"], vpc["CidrBlock"]) + compare("tags", i.get("tags") or {}, tags_of(vpc))
            + compare("enableDnsSupport", i.get("enableDnsSupport", True), dns)
            + compare("enableDnsHostnames", i.get("enableDnsHostnames", False), host))


@handler(SUBNET)
def _subnet(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i = r["inputs"]
    kw: dict[str, Any] = {"VpcId": ctx.ref(i["vpcId"]), "CidrBlock": i["cidrBlock"],
                          "TagSpecifications": tag_spec("subnet", i.get("tags"))}
    zone = _zone(ctx, i.get("availabilityZone"))
    if zone:
        kw["AvailabilityZone"] = zone
    sid = ctx.client("ec2").create_subnet(**kw)["Subnet"]["SubnetId"]
    if i.get("mapPublicIpOnLaunch"):
        ctx.client("ec2").modify_subnet_attribute(SubnetId=sid, MapPublicIpOnLaunch={"Value": True})
    return sid


@checker(SUBNET)
def _subnet_check(ctx: ReplayContext, r: dict[str, Any], sid: str | None) -> list[str]:
    i = r["inputs"]
    s = ctx.client("ec2").describe_subnets(SubnetIds=[sid])["Subnets"][0]
    return (compare("cidr", i["cidrBlock"], s["CidrBlock"]) + compare("vpc", ctx.ref(i["vpcId"]), s["VpcId"])
            + compare("zone", _zone(ctx, i.get("availabilityZone")), s["AvailabilityZone"])
            + compare("tags", i.get("tags") or {}, tags_of(s))
            + compare("mapPublicIpOnLaunch", bool(i.get("mapPublicIpOnLaunch")), s["MapPublicIpOnLaunch"]))


@handler(IGW)
def _igw(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i, ec2 = r["inputs"], ctx.client("ec2")
    gid = ec2.create_internet_gateway(TagSpecifications=tag_spec("internet-gateway", i.get("tags")))[
        "InternetGateway"]["InternetGatewayId"]
    if i.get("vpcId"):
        ec2.attach_internet_gateway(InternetGatewayId=gid, VpcId=ctx.ref(i["vpcId"]))
    return gid


@checker(IGW)
def _igw_check(ctx: ReplayContext, r: dict[str, Any], gid: str | None) -> list[str]:
    g = ctx.client("ec2").describe_internet_gateways(InternetGatewayIds=[gid])["InternetGateways"][0]
    attached = [a["VpcId"] for a in g.get("Attachments") or []]
    return compare("attachments", [ctx.ref(r["inputs"]["vpcId"])], attached)


@handler(EIP)
def _eip(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i = r["inputs"]
    a = ctx.client("ec2").allocate_address(Domain=i.get("domain", "vpc"),
                                           TagSpecifications=tag_spec("elastic-ip", i.get("tags")))
    ctx.alias(r["outputs"].get("allocationId"), a["AllocationId"])
    return a["AllocationId"]


@handler(NAT)
def _nat(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i = r["inputs"]
    kw: dict[str, Any] = {"SubnetId": ctx.ref(i["subnetId"]), "ConnectivityType": i.get("connectivityType", "public"),
                          "TagSpecifications": tag_spec("natgateway", i.get("tags"))}
    if i.get("allocationId"):
        kw["AllocationId"] = ctx.ref(i["allocationId"])
    return ctx.client("ec2").create_nat_gateway(**kw)["NatGateway"]["NatGatewayId"]


@checker(NAT)
def _nat_check(ctx: ReplayContext, r: dict[str, Any], nid: str | None) -> list[str]:
    i = r["inputs"]
    n = ctx.client("ec2").describe_nat_gateways(NatGatewayIds=[nid])["NatGateways"][0]
    alloc = [a.get("AllocationId") for a in n.get("NatGatewayAddresses") or []]
    return (compare("subnet", ctx.ref(i["subnetId"]), n["SubnetId"])
            + compare("allocation", [ctx.ref(i["allocationId"])], alloc))


@handler(ROUTE_TABLE)
def _route_table(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i = r["inputs"]
    return ctx.client("ec2").create_route_table(
        VpcId=ctx.ref(i["vpcId"]), TagSpecifications=tag_spec("route-table", i.get("tags")))["RouteTable"][
        "RouteTableId"]


@checker(ROUTE_TABLE)
def _route_table_check(ctx: ReplayContext, r: dict[str, Any], rid: str | None) -> list[str]:
    """Routes and associations together: what moto holds equals what the render declares."""
    rt = ctx.client("ec2").describe_route_tables(RouteTableIds=[rid])["RouteTables"][0]
    want_routes = sorted(
        (x["inputs"]["destinationCidrBlock"],
         ctx.resolve(x["inputs"].get("gatewayId") or x["inputs"].get("natGatewayId")))
        for x in ctx.resources if x["type"] == ROUTE and x["inputs"].get("routeTableId") == r["id"])
    have_routes = sorted((x["DestinationCidrBlock"], x.get("GatewayId") or x.get("NatGatewayId"))
                         for x in rt["Routes"] if x.get("GatewayId") != "local" and "DestinationCidrBlock" in x)
    want_assoc = sorted(ctx.resolve(x["inputs"]["subnetId"]) for x in ctx.resources
                        if x["type"] == RTA and x["inputs"].get("routeTableId") == r["id"])
    have_assoc = sorted(a["SubnetId"] for a in rt.get("Associations") or [] if a.get("SubnetId"))
    return (compare("routes", want_routes, have_routes) + compare("associated subnets", want_assoc, have_assoc)
            + compare("tags", r["inputs"].get("tags") or {}, tags_of(rt)))


@handler(ROUTE)
def _route(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i = r["inputs"]
    kw: dict[str, Any] = {"RouteTableId": ctx.ref(i["routeTableId"]), "DestinationCidrBlock": i["destinationCidrBlock"]}
    if i.get("gatewayId"):
        kw["GatewayId"] = ctx.ref(i["gatewayId"])
    if i.get("natGatewayId"):
        kw["NatGatewayId"] = ctx.ref(i["natGatewayId"])
    ctx.client("ec2").create_route(**kw)
    return f"r-{kw['RouteTableId']}{i['destinationCidrBlock']}"


@handler(RTA)
def _rta(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i = r["inputs"]
    return ctx.client("ec2").associate_route_table(
        RouteTableId=ctx.ref(i["routeTableId"]), SubnetId=ctx.ref(i["subnetId"]))["AssociationId"]


def _rule_key(ctx: ReplayContext, r: dict[str, Any]) -> tuple[Any, ...]:
    """A rendered rule in moto's terms: (egress, protocol, from, to, peer)."""
    i = r["inputs"]
    proto = str(i["ipProtocol"])
    ports = (-1, -1) if proto == "-1" else (num(i.get("fromPort")), num(i.get("toPort")))
    peer = (ctx.resolve(i["referencedSecurityGroupId"]) if i.get("referencedSecurityGroupId")
            else ctx.resolve(i["prefixListId"]) if i.get("prefixListId") else i.get("cidrIpv4"))
    return (r["type"] == SG_EGRESS, proto, *ports, peer)


def _moto_rule_key(x: Mapping[str, Any]) -> tuple[Any, ...]:
    peer = ((x.get("ReferencedGroupInfo") or {}).get("GroupId") or x.get("PrefixListId") or x.get("CidrIpv4"))
    return (x["IsEgress"], x["IpProtocol"], x.get("FromPort", -1), x.get("ToPort", -1), peer)


@handler(SG)
def _sg(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i, ec2 = r["inputs"], ctx.client("ec2")
    gid = ec2.create_security_group(
        GroupName=i.get("name") or r["name"], Description=i.get("description") or "Managed by Pulumi",
        VpcId=ctx.ref(i["vpcId"]), TagSpecifications=tag_spec("security-group", i.get("tags")))["GroupId"]
    if not i.get("egress"):
        # The AWS provider removes the allow-all egress rule AWS adds to every new group.
        ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[{"IpProtocol": "-1",
                                                                      "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    return gid


@checker(SG)
def _sg_check(ctx: ReplayContext, r: dict[str, Any], gid: str | None) -> list[str]:
    """Every rule moto holds on the group is a rendered rule for it, and the other way round."""
    ec2 = ctx.client("ec2")
    g = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    have = sorted(map(str, (_moto_rule_key(x) for x in ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"])))
    want = sorted(map(str, (_rule_key(ctx, x) for x in ctx.resources
                            if x["type"] in (SG_INGRESS, SG_EGRESS) and x["inputs"]["securityGroupId"] == r["id"])))
    return (compare("rules", want, have) + compare("name", r["inputs"].get("name"), g["GroupName"])
            + compare("vpc", ctx.ref(r["inputs"]["vpcId"]), g["VpcId"])
            + compare("tags", r["inputs"].get("tags") or {}, tags_of(g)))


@handler(DEFAULT_SG)
def _default_sg(ctx: ReplayContext, r: dict[str, Any]) -> str:
    """Like the provider: adopt the VPC's default group and strip every rule not declared."""
    i, ec2 = r["inputs"], ctx.client("ec2")
    if i.get("ingress") or i.get("egress"):
        raise ReplayError("inline rules on the default security group are not replayed; declare none")
    g = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [ctx.ref(i["vpcId"])]},
                                              {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
    if g.get("IpPermissions"):
        ec2.revoke_security_group_ingress(GroupId=g["GroupId"], IpPermissions=g["IpPermissions"])
    if g.get("IpPermissionsEgress"):
        ec2.revoke_security_group_egress(GroupId=g["GroupId"], IpPermissions=g["IpPermissionsEgress"])
    return g["GroupId"]


@checker(DEFAULT_SG)
def _default_sg_check(ctx: ReplayContext, r: dict[str, Any], gid: str | None) -> list[str]:
    rules = ctx.client("ec2").describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
    return compare("rules", [], rules)


def _authorize(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i = r["inputs"]
    perm: dict[str, Any] = {"IpProtocol": str(i["ipProtocol"])}
    if perm["IpProtocol"] != "-1":
        perm["FromPort"], perm["ToPort"] = num(i["fromPort"]), num(i["toPort"])
    desc = {"Description": i["description"]} if i.get("description") else {}
    if i.get("referencedSecurityGroupId"):
        perm["UserIdGroupPairs"] = [{"GroupId": ctx.ref(i["referencedSecurityGroupId"]), **desc}]
    elif i.get("prefixListId"):
        perm["PrefixListIds"] = [{"PrefixListId": ctx.ref(i["prefixListId"]), **desc}]
    elif i.get("cidrIpv4"):
        perm["IpRanges"] = [{"CidrIp": i["cidrIpv4"], **desc}]
    else:
        raise ReplayError(f"rule {r['name']} has no peer (cidrIpv4, prefixListId or referencedSecurityGroupId)")
    ec2 = ctx.client("ec2")
    call = ec2.authorize_security_group_egress if r["type"] == SG_EGRESS else ec2.authorize_security_group_ingress
    out = call(GroupId=ctx.ref(i["securityGroupId"]), IpPermissions=[perm])
    return out["SecurityGroupRules"][0]["SecurityGroupRuleId"]


handler(SG_INGRESS)(_authorize)
handler(SG_EGRESS)(_authorize)


@handler(ENDPOINT)
def _endpoint(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i, ec2 = r["inputs"], ctx.client("ec2")
    services = ctx.extra.get("services")
    if services is None:
        services = ctx.extra["services"] = set(ec2.describe_vpc_endpoint_services()["ServiceNames"])
    if i["serviceName"] not in services:
        raise ReplayError(f"{r['name']}: {i['serviceName']!r} is not a VPC endpoint service of the region")
    kw: dict[str, Any] = {"VpcId": ctx.ref(i["vpcId"]), "ServiceName": i["serviceName"],
                          "VpcEndpointType": i.get("vpcEndpointType", "Gateway"),
                          "TagSpecifications": tag_spec("vpc-endpoint", i.get("tags"))}
    for key, arg in (("routeTableIds", "RouteTableIds"), ("subnetIds", "SubnetIds"),
                     ("securityGroupIds", "SecurityGroupIds")):
        if i.get(key):
            kw[arg] = [ctx.ref(x) for x in i[key]]
    if "privateDnsEnabled" in i:
        kw["PrivateDnsEnabled"] = bool(i["privateDnsEnabled"])
    ep = ec2.create_vpc_endpoint(**kw)["VpcEndpoint"]
    if kw["VpcEndpointType"] == "Gateway":
        pls = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [i["serviceName"]]}])
        ctx.alias(r["outputs"].get("prefixListId"), pls["PrefixLists"][0]["PrefixListId"])
    return ep["VpcEndpointId"]


@checker(ENDPOINT)
def _endpoint_check(ctx: ReplayContext, r: dict[str, Any], eid: str | None) -> list[str]:
    i = r["inputs"]
    ep = ctx.client("ec2").describe_vpc_endpoints(VpcEndpointIds=[eid])["VpcEndpoints"][0]
    out = compare("service", i["serviceName"], ep["ServiceName"]) + compare("type", i["vpcEndpointType"],
                                                                             ep["VpcEndpointType"])
    out += compare("route tables", sorted(ctx.resolve(i.get("routeTableIds") or [])), sorted(ep["RouteTableIds"]))
    out += compare("subnets", sorted(ctx.resolve(i.get("subnetIds") or [])), sorted(ep["SubnetIds"]))
    out += compare("groups", sorted(ctx.resolve(i.get("securityGroupIds") or [])),
                   sorted(g["GroupId"] for g in ep["Groups"]))
    return out


@handler(NACL)
def _nacl(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i, ec2 = r["inputs"], ctx.client("ec2")
    if i.get("ingress") or i.get("egress"):
        raise ReplayError("inline NACL entries are not replayed; use NetworkAclRule resources")
    acl = ec2.create_network_acl(VpcId=ctx.ref(i["vpcId"]), TagSpecifications=tag_spec("network-acl", i.get("tags")))[
        "NetworkAcl"]["NetworkAclId"]
    for sid in i.get("subnetIds") or []:
        sid = ctx.ref(sid)
        cur = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [sid]}])["NetworkAcls"]
        assoc = next(a["NetworkAclAssociationId"] for a in cur[0]["Associations"] if a["SubnetId"] == sid)
        ec2.replace_network_acl_association(AssociationId=assoc, NetworkAclId=acl)
    return acl


@checker(NACL)
def _nacl_check(ctx: ReplayContext, r: dict[str, Any], acl: str | None) -> list[str]:
    a = ctx.client("ec2").describe_network_acls(NetworkAclIds=[acl])["NetworkAcls"][0]
    have = sorted((e["RuleNumber"], e["Egress"], e["RuleAction"], e.get("CidrBlock"), str(e["Protocol"]))
                  for e in a["Entries"] if e["RuleNumber"] != 32767)
    want = sorted((num(x["inputs"]["ruleNumber"]), bool(x["inputs"].get("egress")), x["inputs"]["ruleAction"],
                   x["inputs"].get("cidrBlock"), str(x["inputs"]["protocol"]))
                  for x in ctx.resources if x["type"] == NACL_RULE and x["inputs"]["networkAclId"] == r["id"])
    subnets = sorted(s["SubnetId"] for s in a["Associations"])
    return compare("entries", want, have) + compare("subnets", sorted(ctx.resolve(r["inputs"].get("subnetIds") or [])),
                                                    subnets)


@handler(NACL_RULE)
def _nacl_rule(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i = r["inputs"]
    kw: dict[str, Any] = {"NetworkAclId": ctx.ref(i["networkAclId"]), "RuleNumber": num(i["ruleNumber"]),
                          "Protocol": str(i["protocol"]), "RuleAction": i["ruleAction"],
                          "Egress": bool(i.get("egress")), "CidrBlock": i["cidrBlock"]}
    if i.get("fromPort") is not None:
        kw["PortRange"] = {"From": num(i["fromPort"]), "To": num(i["toPort"])}
    ctx.client("ec2").create_network_acl_entry(**kw)
    return f"{kw['NetworkAclId']}-{kw['RuleNumber']}-{kw['Egress']}"


@handler(LOG_GROUP)
def _log_group(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i, logs = r["inputs"], ctx.client("logs")
    name = i.get("name") or r["outputs"]["name"]
    logs.create_log_group(logGroupName=name, **({"tags": i["tags"]} if i.get("tags") else {}))
    if i.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=num(i["retentionInDays"]))
    g = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    moto_arn = g["arn"][:-2] if g["arn"].endswith(":*") else g["arn"]
    ctx.alias(r["outputs"].get("arn"), moto_arn)
    return name


@checker(LOG_GROUP)
def _log_group_check(ctx: ReplayContext, r: dict[str, Any], name: str | None) -> list[str]:
    g = ctx.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    return compare("retention", num(r["inputs"].get("retentionInDays")), g.get("retentionInDays"))


@handler(IAM_ROLE)
def _role(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i, iam = r["inputs"], ctx.client("iam")
    name = i.get("name") or r["outputs"]["name"]
    kw: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": ctx.resolve(i["assumeRolePolicy"]),
                          "Path": i.get("path") or "/"}
    if i.get("description"):
        kw["Description"] = i["description"]
    if i.get("tags"):
        kw["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(i["tags"].items())]
    role = iam.create_role(**kw)["Role"]
    ctx.alias(r["outputs"].get("arn"), role["Arn"])
    return name


@checker(IAM_ROLE)
def _role_check(ctx: ReplayContext, r: dict[str, Any], name: str | None) -> list[str]:
    role = ctx.client("iam").get_role(RoleName=name)["Role"]
    doc = role["AssumeRolePolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    return compare("trust policy", json.loads(ctx.resolve(r["inputs"]["assumeRolePolicy"])), doc)


@handler(IAM_ROLE_POLICY)
def _role_policy(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i = r["inputs"]
    role = ctx.resolve(i["role"])
    ctx.client("iam").put_role_policy(RoleName=role, PolicyName=i.get("name") or r["name"],
                                      PolicyDocument=ctx.resolve(i["policy"]))
    return f"{role}:{i.get('name') or r['name']}"


@checker(IAM_ROLE_POLICY)
def _role_policy_check(ctx: ReplayContext, r: dict[str, Any], rid: str | None) -> list[str]:
    role, name = str(rid).split(":", 1)
    doc = ctx.client("iam").get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    return compare("policy", json.loads(ctx.resolve(r["inputs"]["policy"])), doc)


@handler(FLOW_LOG)
def _flow_log(ctx: ReplayContext, r: dict[str, Any]) -> str:
    i = r["inputs"]
    kw: dict[str, Any] = {"TrafficType": i["trafficType"], "LogDestinationType": i.get("logDestinationType",
                                                                                       "cloud-watch-logs"),
                          "LogDestination": ctx.resolve(i["logDestination"])}
    for key, kind in (("vpcId", "VPC"), ("subnetId", "Subnet"), ("eniId", "NetworkInterface")):
        if i.get(key):
            kw["ResourceIds"], kw["ResourceType"] = [ctx.ref(i[key])], kind
    if i.get("iamRoleArn"):
        kw["DeliverLogsPermissionArn"] = ctx.resolve(i["iamRoleArn"])
    if i.get("logFormat"):
        kw["LogFormat"] = i["logFormat"]
    if i.get("maxAggregationInterval"):
        kw["MaxAggregationInterval"] = num(i["maxAggregationInterval"])
    out = ctx.client("ec2").create_flow_logs(**kw)
    if out.get("Unsuccessful"):
        raise ReplayError(f"{r['name']}: {out['Unsuccessful']}")
    return out["FlowLogIds"][0]


@checker(FLOW_LOG)
def _flow_log_check(ctx: ReplayContext, r: dict[str, Any], fid: str | None) -> list[str]:
    i = r["inputs"]
    fl = ctx.client("ec2").describe_flow_logs(FlowLogIds=[fid])["FlowLogs"][0]
    return (compare("traffic", i["trafficType"], fl["TrafficType"])
            + compare("destination", ctx.resolve(i["logDestination"]), fl["LogDestination"])
            + compare("format", i.get("logFormat"), fl.get("LogFormat"))
            + _flow_log_targets(ctx, fl))


def _flow_log_targets(ctx: ReplayContext, fl: Mapping[str, Any]) -> list[str]:
    """The destination and the delivery role exist (moto's own delivery status only looks at
    LogGroupName, which the provider does not send)."""
    out: list[str] = []
    if fl["LogDestinationType"] == "cloud-watch-logs":
        group = fl["LogDestination"].split(":", 6)[6]
        groups = ctx.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        if not any(g["logGroupName"] == group for g in groups):
            out.append(f"log group {group!r} does not exist")
        role = fl.get("DeliverLogsPermissionArn", "").rsplit("/", 1)[-1]
        try:
            ctx.client("iam").get_role(RoleName=role)
        except ClientError:
            out.append(f"delivery role {role!r} does not exist")
    return out
