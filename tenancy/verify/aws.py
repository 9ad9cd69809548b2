"""AWS checks of ``tenancy verify``: pure logic over what an :class:`AwsReader` read.

The reader (``tenancy.verify.clients.AwsClient``: boto3 with the caller's credentials) only
describes: security groups and their rules, node groups, IAM roles with their inline and
attached policies, the data bucket's name. Rendered resources are found by their rendered
*names* (security group ``name``, node group ``nodeGroupName``, role ``name``, the bucket's
``bucketPrefix``): the render's ids are the mock engine's, never AWS's.

- :func:`drift`: each rendered security group, node group and tenant role exists; every rule on
  a rendered security group is a rendered rule and the other way round; node groups carry their
  rendered taints and labels; roles hold exactly their rendered inline policy names and managed
  policy attachments. Extras on a tenant's group or role are ``drift.aws.extra``.
- :func:`live_resources`: the render's resources with these replaced by their live state
  (live ids translated back to the render's), for :mod:`tenancy.review.facts`; policy *documents* are
  judged there, by what they grant (S3 prefixes, who may assume the role), not by text (the
  render's ARNs hold mock ids).
- :func:`s3_ranges`: the S3 address ranges in each live ``tenancy-allow-s3`` NetworkPolicy
  against AWS's managed prefix list ``com.amazonaws.<region>.s3`` as it is now. The security
  groups follow the list by reference (``prefixListId``); a NetworkPolicy can only hold CIDRs
  (``ipBlock``: the VPC CNI's network policy agent enforces the standard NetworkPolicy API,
  aws/aws-network-policy-agent), so the stack copies the list's entries at deploy time
  (``aws.ec2.getPrefixList``) and they go stale when AWS changes the list. Ranges AWS added are
  missing (pods' S3 requests to them are dropped); ranges AWS removed are still allowed (egress
  to addresses that are no longer S3's). The fix is a ``pulumi up`` of the stack, which reads
  the list again.
- :func:`s3_behaviour`: each workload role against its own prefix and its neighbours' (and the
  bucket root), through an :class:`S3Prober`. On real AWS: the IAM policy simulator
  (``iam:SimulatePrincipalPolicy``, :class:`SimulatorProber`), which evaluates the role's identity
  policies without touching data. The AWS API emulator used in tests (moto) does not implement the
  simulator; tests probe with real calls under IAM enforcement instead (tests/helpers).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tenancy.plan.cluster_policies import S3_RULE as CNP_S3_RULE
from tenancy.plan.kubernetes import NP_S3
from tenancy.review import facts as F
from tenancy.review.logs_facts import log_facts
from tenancy.spec.naming import tenant_s3_prefix
from tenancy.spec.wire import AWS_LAUNCH_TEMPLATE as LAUNCH_TEMPLATE
from tenancy.spec.wire import AWS_LOG_GROUP as LOG_GROUP
from tenancy.spec.wire import AWS_SECURITY_GROUP as SG
from tenancy.spec.wire import AWS_SG_EGRESS_RULE as SG_EGRESS
from tenancy.spec.wire import AWS_SG_INGRESS_RULE as SG_INGRESS
from tenancy.verify.kube import peers
from tenancy.verify.report import Result, failed, passed, skipped

DRIFT, EXTRA = "drift.aws", "drift.aws.extra"
S3_RANGES = "drift.s3-ranges"
S3_CHECK, PLACEMENT_CHECK, NETWORK_CHECK = "behaviour.s3", "behaviour.placement", "behaviour.network"
RENDER_ACCOUNT = "111122223333"
"""The account the render's mock engine uses in ARNs."""


@dataclass
class AwsState:
    """What the reader found for one render (every map keyed by the rendered name)."""

    account: str = ""
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    """SG name → {"GroupId", "VpcId", "rules": [describe_security_group_rules entries]}."""
    node_groups: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """rendered node-group key (:func:`node_group_key`) → describe_nodegroup's ``nodegroup`` (None: not found)."""
    roles: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """role name → {"Arn", "trust": doc, "inline": {name: doc}, "attached": {arn: doc or None}}."""
    bucket: str | None = None
    launch_templates: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """rendered node-group key → the ``LaunchTemplateData`` of the version its live node group uses."""
    access_entries: dict[str, dict[str, Any]] | None = None
    """principal ARN → describe_access_entry's ``accessEntry`` (None: not read)."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Live value → rendered value for ids the render only knows as mock values (the S3 gateway
    endpoint's prefix list, found by its service name)."""
    s3_prefix_list: S3PrefixList | None = None
    """AWS's managed prefix list of S3 in the platform's Region, as it is now (None: not read)."""
    log_groups: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """Rendered tenant log group name → describe_log_groups' entry (None: not found)."""


@dataclass(frozen=True)
class S3PrefixList:
    """``com.amazonaws.<region>.s3``: AWS keeps its entries current (``describe_managed_prefix_lists``,
    ``get_managed_prefix_list_entries``)."""

    name: str
    id: str
    cidrs: tuple[str, ...]


class AwsReader(Protocol):
    def read(self, resources: Sequence[Mapping[str, Any]]) -> AwsState: ...


class S3Prober(Protocol):
    def allowed(self, role_arn: str, bucket: str, key: str) -> bool:
        """May the role read and write the object ``key`` of ``bucket``?"""
        ...


# --------------------------------------------------------------------------------------------
# What the render says


def _of(resources: Sequence[Mapping[str, Any]], typ: str) -> list[Mapping[str, Any]]:
    return [r for r in resources if r["type"] == typ and r.get("custom", True)]


def rendered_groups(resources: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str((r.get("inputs") or {}).get("name") or r["name"]): r for r in _of(resources, SG)}


def rendered_roles(resources: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Tenant roles (the ones isolation depends on) by name, and the roles that read or write a
    tenant's log group (observability.logs: the readers, the log router)."""
    log_roles: set[str] = set()
    if any(r["type"] == LOG_GROUP for r in resources):
        by_type: dict[str, list[Mapping[str, Any]]] = {}
        for r in resources:
            by_type.setdefault(r["type"], []).append(r)
        logs = log_facts(resources, F.role_documents(by_type)[0], {})
        log_roles = {role for (role, g, _) in logs.access if logs.tenant_of(g)}
    named = ((str((r.get("inputs") or {}).get("name") or r["name"]), r) for r in _of(resources, F.IAM_ROLE))
    return {name: r for name, r in named if r.get("tenant") or name in log_roles}


def rendered_log_groups(resources: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Tenant log groups (tagged ``tenancy/tenant``) by name."""
    return {str((r.get("inputs") or {}).get("name")): r for r in _of(resources, LOG_GROUP)
            if ((r.get("inputs") or {}).get("tags") or {}).get(F.TENANT_LABEL)}


def log_group_drift(resources: Sequence[Mapping[str, Any]], state: AwsState) -> list[Result]:
    """Each tenant log group exists with a KMS key and the rendered retention."""
    out: list[Result] = []
    for name, r in sorted(rendered_log_groups(resources).items()):
        i = r.get("inputs") or {}
        tenant, what = i["tags"][F.TENANT_LABEL], f"log group {name}"
        live = state.log_groups.get(name)
        if live is None:
            out.append(failed(DRIFT, tenant, what, "missing from AWS"))
            continue
        problems = []
        if i.get("kmsKeyId") and not live.get("kmsKeyId"):
            problems.append("not encrypted with a KMS key")
        if _num(i.get("retentionInDays")) != _num(live.get("retentionInDays")):
            problems.append(f"retention {live.get('retentionInDays')} days, rendered {_num(i.get('retentionInDays'))}")
        out.append(failed(DRIFT, tenant, what, "; ".join(problems)) if problems
                   else passed(DRIFT, tenant, what, f"KMS-encrypted, kept {_num(live.get('retentionInDays'))} days"))
    return out


def node_group_key(r: Mapping[str, Any]) -> str:
    """How a rendered node group is found in EKS: its fixed ``nodeGroupName`` or, as the platform
    renders them (replacements create the new group first), its ``nodeGroupNamePrefix`` — EKS
    holds the prefix plus a suffix the provider chose (:func:`live_node_group_name`)."""
    i = r.get("inputs") or {}
    if i.get("nodeGroupName"):
        return str(i["nodeGroupName"])
    if i.get("nodeGroupNamePrefix"):
        return str(i["nodeGroupNamePrefix"]).removesuffix("-")
    return str(r["name"])


def live_node_group_name(r: Mapping[str, Any], live_names: Sequence[str]) -> list[str]:
    """The live node groups that are this rendered one: the exact name, or every name that
    starts with the rendered prefix (two while a replacement is in flight)."""
    i = r.get("inputs") or {}
    if i.get("nodeGroupName"):
        return [n for n in live_names if n == i["nodeGroupName"]]
    prefix = i.get("nodeGroupNamePrefix")
    if prefix:
        return sorted(n for n in live_names if n.startswith(str(prefix)))
    return [n for n in live_names if n == r["name"]]


def rendered_node_groups(resources: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {node_group_key(r): r for r in _of(resources, F.NODE_GROUP)}


def _num(v: Any) -> int:
    return int(v) if v is not None else -1


def _rule_key(i: Mapping[str, Any], egress: bool) -> tuple[Any, ...]:
    proto = str(i.get("ipProtocol", "-1"))
    lo, hi = (-1, -1) if proto == "-1" else (_num(i.get("fromPort")), _num(i.get("toPort")))
    peer = i.get("referencedSecurityGroupId") or i.get("prefixListId") or i.get("cidrIpv4") or i.get("cidrIpv6")
    return (egress, proto, lo, hi, str(peer))


def _fmt_rule(k: tuple[Any, ...], names: Mapping[str, str]) -> str:
    egress, proto, lo, hi, peer = k
    ports = "all" if proto == "-1" else f"{proto}/{lo}-{hi}"
    return f"{'egress to' if egress else 'ingress from'} {names.get(peer, peer)} {ports}"


# --------------------------------------------------------------------------------------------
# Translating live values to the render's


def _live_rule_inputs(x: Mapping[str, Any], to_rendered: Mapping[str, str]) -> dict[str, Any]:
    i: dict[str, Any] = {"securityGroupId": to_rendered.get(x["GroupId"], x["GroupId"]),
                         "ipProtocol": str(x["IpProtocol"])}
    if str(x["IpProtocol"]) != "-1":
        i["fromPort"], i["toPort"] = x.get("FromPort"), x.get("ToPort")
    ref = (x.get("ReferencedGroupInfo") or {}).get("GroupId")
    if ref:
        i["referencedSecurityGroupId"] = to_rendered.get(ref, ref)
    elif x.get("PrefixListId"):
        i["prefixListId"] = to_rendered.get(x["PrefixListId"], x["PrefixListId"])
    elif x.get("CidrIpv4"):
        i["cidrIpv4"] = x["CidrIpv4"]
    elif x.get("CidrIpv6"):
        i["cidrIpv6"] = x["CidrIpv6"]
    return i


def _prefix_lists(resources: Sequence[Mapping[str, Any]]) -> set[str]:
    return {str((r.get("inputs") or {}).get("prefixListId")) for r in resources
            if r["type"] in (SG_INGRESS, SG_EGRESS) and (r.get("inputs") or {}).get("prefixListId")}


def _rendered_account(value: str, account: str) -> str:
    return value.replace(f":{account}:", f":{RENDER_ACCOUNT}:") if account else value


def live_resources(resources: Sequence[Mapping[str, Any]], state: AwsState) -> list[dict[str, Any]]:
    """``resources`` with security group rules, node group taints/labels and tenant roles' trust
    and policies replaced by what AWS holds (resources AWS does not hold are left out)."""
    groups = rendered_groups(resources)
    roles = rendered_roles(resources)
    ngs = rendered_node_groups(resources)
    to_rendered = {g["GroupId"]: str(groups[name]["id"]) for name, g in state.groups.items() if name in groups}
    to_rendered.update(state.aliases)
    found_ids = set(to_rendered.values())
    missing_groups = {str(groups[n]["id"]) for n in groups if n not in state.groups}
    role_keys: dict[str, str] = {}
    for name, r in roles.items():
        for k in (r.get("id"), name, (r.get("outputs") or {}).get("arn")):
            if k:
                role_keys[str(k)] = name
    lt_of = {str(((r.get("inputs") or {}).get("launchTemplate") or {}).get("id")): name for name, r in ngs.items()}
    out: list[dict[str, Any]] = []
    for r in resources:
        t, i = r["type"], r.get("inputs") or {}
        if t in (SG_INGRESS, SG_EGRESS) and (str(i.get("securityGroupId")) in found_ids | missing_groups):
            continue  # replaced by the live rules below (or gone with its group)
        if t == SG and str(r.get("id")) in missing_groups:
            continue
        if t == F.NODE_GROUP:
            name = node_group_key(r)
            live = state.node_groups.get(name)
            if name in ngs and name in state.node_groups:
                if live is None:
                    continue
                res = copy.deepcopy(dict(r))
                res["inputs"]["taints"] = [{"key": x.get("key"), "value": x.get("value"), "effect": x.get("effect")}
                                           for x in live.get("taints") or []]
                res["inputs"]["labels"] = dict(live.get("labels") or {})
                out.append(res)
                continue
        if t == F.IAM_ROLE and str(i.get("name") or r["name"]) in roles:
            name = str(i.get("name") or r["name"])
            if name in state.roles:
                live_role = state.roles[name]
                if live_role is None:
                    continue
                res = copy.deepcopy(dict(r))
                res["inputs"]["assumeRolePolicy"] = json.dumps(live_role["trust"])
                res["inputs"]["inlinePolicies"] = []
                out.append(res)
                for pname, doc in sorted(live_role["inline"].items()):
                    out.append({"urn": f"live::{F.IAM_ROLE_POLICY}::{name}/{pname}", "type": F.IAM_ROLE_POLICY,
                                "name": pname, "id": None, "tenant": r.get("tenant"), "custom": True,
                                "inputs": {"role": name, "name": pname, "policy": json.dumps(doc)}, "outputs": {}})
                rendered_attached = {str((a.get("inputs") or {}).get("policyArn")) for a in resources
                                     if a["type"] == F.IAM_ATTACHMENT and role_keys.get(str(a["inputs"].get("role")))
                                     == name}
                for arn, doc in sorted(live_role["attached"].items()):
                    if _rendered_account(arn, state.account) in rendered_attached or doc is None:
                        continue
                    out.append({"urn": f"live::{F.IAM_POLICY}::{arn}", "type": F.IAM_POLICY, "name": arn,
                                "id": None, "tenant": None, "custom": True, "inputs": {"policy": json.dumps(doc)},
                                "outputs": {"arn": arn}})
                    out.append({"urn": f"live::{F.IAM_ATTACHMENT}::{name}/{arn}", "type": F.IAM_ATTACHMENT,
                                "name": f"{name}-{arn}", "id": None, "tenant": r.get("tenant"), "custom": True,
                                "inputs": {"role": name, "policyArn": arn}, "outputs": {}})
                continue
        if t == LAUNCH_TEMPLATE and str(r.get("id")) in lt_of:
            data = state.launch_templates.get(lt_of[str(r["id"])])
            if data is not None:
                res = copy.deepcopy(dict(r))
                res["inputs"]["vpcSecurityGroupIds"] = [to_rendered.get(g, g) for g in _lt_groups(data)]
                res["inputs"].pop("networkInterfaces", None)
                out.append(res)
                continue
        if t == F.IAM_ROLE_POLICY and role_keys.get(str(i.get("role"))) in state.roles:
            continue  # replaced by the live inline policies above
        if t == SG:
            res = copy.deepcopy(dict(r))
            res["inputs"].pop("ingress", None)
            res["inputs"].pop("egress", None)
            out.append(res)
            continue
        out.append(dict(r))
    for name, g in sorted(state.groups.items()):
        if name not in groups:
            continue
        for x in g["rules"]:
            typ = SG_EGRESS if x["IsEgress"] else SG_INGRESS
            out.append({"urn": f"live::{typ}::{x.get('SecurityGroupRuleId')}", "type": typ,
                        "name": str(x.get("SecurityGroupRuleId")), "id": x.get("SecurityGroupRuleId"),
                        "tenant": groups[name].get("tenant"), "custom": True,
                        "inputs": _live_rule_inputs(x, to_rendered), "outputs": {}})
    return out


def _lt_groups(data: Mapping[str, Any]) -> list[str]:
    groups = list(data.get("SecurityGroupIds") or [])
    for ni in data.get("NetworkInterfaces") or []:
        groups += list(ni.get("Groups") or [])
    return sorted(set(groups))


# --------------------------------------------------------------------------------------------
# Drift


def _launch_template_drift(resources: Sequence[Mapping[str, Any]], state: AwsState,
                           to_rendered: Mapping[str, str], names: Mapping[str, str]) -> list[Result]:
    """The launch template version each node group runs: its nodes' security groups and IMDS settings."""
    out: list[Result] = []
    lts = {str(r.get("id")): r for r in _of(resources, LAUNCH_TEMPLATE)}
    for name, ng in sorted(rendered_node_groups(resources).items()):
        rid = str(((ng.get("inputs") or {}).get("launchTemplate") or {}).get("id"))
        lt = lts.get(rid)
        if lt is None or state.node_groups.get(name) is None:
            continue
        tenant, i = ng.get("tenant"), lt.get("inputs") or {}
        what = f"launch template of node group {name}"
        data = state.launch_templates.get(name)
        if data is None:
            out.append(failed(DRIFT, tenant, what, "the node group runs no readable launch template"))
            continue
        want = set(i.get("vpcSecurityGroupIds") or []) | {
            g for ni in i.get("networkInterfaces") or [] for g in ni.get("securityGroups") or []}
        have = {to_rendered.get(g, g) for g in _lt_groups(data)}
        problems = [f"nodes lack security group {names.get(g, g)}" for g in sorted(want - have)]
        problems += [f"nodes get security group {names.get(g, g)}, not in the render" for g in sorted(have - want)]
        md, live_md = i.get("metadataOptions") or {}, data.get("MetadataOptions") or {}
        for key, live_key in (("httpTokens", "HttpTokens"), ("httpPutResponseHopLimit", "HttpPutResponseHopLimit"),
                              ("httpEndpoint", "HttpEndpoint")):
            if key in md and str(_norm(md[key])) != str(_norm(live_md.get(live_key))):
                problems.append(f"metadata option {key}: rendered {_norm(md[key])}, live {live_md.get(live_key)}")
        out.append(failed(DRIFT, tenant, what, "; ".join(problems)) if problems
                   else passed(DRIFT, tenant, what, "security groups and instance metadata options as rendered"))
    return out


def _norm(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _access_entry_drift(resources: Sequence[Mapping[str, Any]], state: AwsState) -> list[Result]:
    """Access entries: each rendered one maps its principal to its rendered groups; no other
    entry maps anyone to a tenant's groups (``tenancy:<tenant>:…``)."""
    if state.access_entries is None:
        return [skipped(DRIFT, None, "access entries", "the AWS API answered ListAccessEntries with 404 "
                                                      "(not served): access entries not verified")
                ] if _of(resources, F.ACCESS_ENTRY) else []
    out: list[Result] = []
    live = {_rendered_account(arn, state.account): e for arn, e in state.access_entries.items()}
    rendered = {str((r.get("inputs") or {}).get("principalArn")): r for r in _of(resources, F.ACCESS_ENTRY)}
    tenants = {r.get("tenant") for r in resources if r.get("tenant")}
    for arn, r in sorted(rendered.items()):
        tenant, what = r.get("tenant"), f"access entry {arn}"
        e = live.get(arn)
        if e is None:
            out.append(failed(DRIFT, tenant, what, "missing from the cluster"))
            continue
        want, have = sorted((r.get("inputs") or {}).get("kubernetesGroups") or []), sorted(e.get("kubernetesGroups")
                                                                                            or [])
        out.append(failed(DRIFT, tenant, what, f"Kubernetes groups {have}, rendered {want}") if want != have
                   else passed(DRIFT, tenant, what, "groups as rendered"))
    for arn, e in sorted(live.items()):
        if arn in rendered:
            continue
        for g in e.get("kubernetesGroups") or []:
            parts = str(g).split(":")
            if len(parts) == 3 and parts[0] == "tenancy" and parts[1] in tenants:
                out.append(failed(EXTRA, parts[1], f"access entry {arn}",
                                  f"maps the principal to {g}, not in the render"))
    return out


def drift(resources: Sequence[Mapping[str, Any]], state: AwsState) -> list[Result]:
    out: list[Result] = []
    groups = rendered_groups(resources)
    names = {str(r["id"]): n for n, r in groups.items()}
    to_rendered = {g["GroupId"]: str(groups[n]["id"]) for n, g in state.groups.items() if n in groups}
    to_rendered.update(state.aliases)
    rules_by_group: dict[str, set[tuple[Any, ...]]] = {}
    for r in resources:
        if r["type"] in (SG_INGRESS, SG_EGRESS):
            i = r.get("inputs") or {}
            rules_by_group.setdefault(str(i.get("securityGroupId")), set()).add(_rule_key(i, r["type"] == SG_EGRESS))
    for name, r in sorted(groups.items()):
        tenant = r.get("tenant")
        what = f"security group {name}"
        live = state.groups.get(name)
        if live is None:
            out.append(failed(DRIFT, tenant, what, "missing from AWS"))
            continue
        want = rules_by_group.get(str(r["id"]), set())
        have = {_rule_key(_live_rule_inputs(x, to_rendered), bool(x["IsEgress"])) for x in live["rules"]}
        missing, extra = sorted(want - have, key=str), sorted(have - want, key=str)
        for k in missing:
            out.append(failed(DRIFT, tenant, what, f"rendered rule missing: {_fmt_rule(k, names)}"))
        for k in extra:
            out.append(failed(EXTRA, tenant, what, f"rule not in the render: {_fmt_rule(k, names)} "
                                                   f"({live['GroupId']})"))
        if not missing and not extra:
            out.append(passed(DRIFT, tenant, what, f"{len(have)} rule(s) as rendered ({live['GroupId']})"))
    out += _launch_template_drift(resources, state, to_rendered, names)
    out += _access_entry_drift(resources, state)
    out += log_group_drift(resources, state)
    for name, r in sorted(rendered_node_groups(resources).items()):
        tenant, what = r.get("tenant"), f"node group {name}"
        ng = state.node_groups.get(name)
        if ng is None:
            out.append(failed(DRIFT, tenant, what, "missing from AWS"))
            continue
        i = r.get("inputs") or {}
        want_t = {(x.get("key"), x.get("value"), x.get("effect")) for x in i.get("taints") or []}
        have_t = {(x.get("key"), x.get("value"), x.get("effect")) for x in ng.get("taints") or []}
        problems = [f"taint {k}={v}:{e} missing" for k, v, e in sorted(want_t - have_t, key=str)]
        problems += [f"taint {k}={v}:{e} not in the render" for k, v, e in sorted(have_t - want_t, key=str)]
        labels = ng.get("labels") or {}
        problems += [f"label {k}={v} is {labels.get(k)!r}" for k, v in sorted((i.get("labels") or {}).items())
                     if labels.get(k) != v]
        out.append(failed(DRIFT, tenant, what, "; ".join(problems)) if problems
                   else passed(DRIFT, tenant, what, "taints and labels as rendered"))
    for name, r in sorted(rendered_roles(resources).items()):
        tenant, what = r.get("tenant"), f"IAM role {name}"
        role = state.roles.get(name)
        if role is None:
            out.append(failed(DRIFT, tenant, what, "missing from AWS"))
            continue
        keys = {str(k) for k in (r.get("id"), name, (r.get("outputs") or {}).get("arn")) if k}
        want_inline = {str((p.get("inputs") or {}).get("name") or p["name"]) for p in resources
                       if p["type"] == F.IAM_ROLE_POLICY and str((p.get("inputs") or {}).get("role")) in keys}
        want_inline |= {str(p.get("name")) for p in (r.get("inputs") or {}).get("inlinePolicies") or []}
        want_att = {str((a.get("inputs") or {}).get("policyArn")) for a in resources
                    if a["type"] == F.IAM_ATTACHMENT and str((a.get("inputs") or {}).get("role")) in keys}
        have_inline = set(role["inline"])
        have_att = {_rendered_account(a, state.account) for a in role["attached"]}
        problems, extras = [], []
        problems += [f"inline policy {p} missing" for p in sorted(want_inline - have_inline)]
        problems += [f"managed policy {p} not attached" for p in sorted(want_att - have_att)]
        extras += [f"inline policy {p} not in the render" for p in sorted(have_inline - want_inline)]
        extras += [f"managed policy {p} attached, not in the render" for p in sorted(have_att - want_att)]
        for p in problems:
            out.append(failed(DRIFT, tenant, what, p))
        for p in extras:
            out.append(failed(EXTRA, tenant, what, p))
        if not problems and not extras:
            out.append(passed(DRIFT, tenant, what, "policies as rendered (documents judged by the isolation facts)"))
    return out


def s3_policy_ranges(resources: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str | None, list[str]]]:
    """``NetworkPolicy <namespace>/tenancy-allow-s3`` → (tenant, the CIDRs its egress allows), for
    every such policy; and ``ClusterNetworkPolicy tenancy-tenant-<t>`` → (tenant, the networks of its ``s3`` rule),
    for every tenant wall that has one (the same ranges, copied at deploy time)."""
    out: dict[str, tuple[str | None, list[str]]] = {}
    for r in resources:
        i = r.get("inputs") or {}
        meta = i.get("metadata") or {}
        if r["type"] == F.CLUSTER_NETWORK_POLICY:
            nets = [str(n) for e in (i.get("spec") or {}).get("egress") or [] if e.get("name") == CNP_S3_RULE
                    for to in e.get("to") or [] for n in to.get("networks") or []]
            if nets:
                out[f"ClusterNetworkPolicy {meta.get('name')}"] = (r.get("tenant"), nets)
            continue
        if r["type"] != F.NETWORK_POLICY or meta.get("name") != NP_S3:
            continue
        cidrs = [str(to["ipBlock"]["cidr"]) for e in (i.get("spec") or {}).get("egress") or []
                 for to in e.get("to") or [] if (to.get("ipBlock") or {}).get("cidr")]
        out[f"NetworkPolicy {meta.get('namespace')}/{meta.get('name')}"] = (r.get("tenant"), cidrs)
    return out


_S3_FIX = (". The ranges are copied from the prefix list at deploy time: run `pulumi up` for the stack that owns the "
           "policy (it reads the list again; a team stack's tenant: the platform's stack first, whose s3CidrBlocks "
           "output it reads), and schedule it (AWS announces changes on the AmazonIpSpaceChanged SNS topic)")


def s3_ranges(live: Sequence[Mapping[str, Any]], state: AwsState) -> list[Result]:
    """The live ``tenancy-allow-s3`` policies' ranges against AWS's S3 prefix list now (module
    docstring). ``live`` must hold the cluster's objects: the render's ranges are the mock engine's."""
    policies = s3_policy_ranges(live)
    if not policies:
        return []
    pl = state.s3_prefix_list
    if pl is None:
        return [skipped(S3_RANGES, None, "S3 prefix list",
                        "AWS's S3 managed prefix list was not found (no S3 gateway endpoint in the render)")]
    now = set(pl.cidrs)
    out = []
    for what, (tenant, cidrs) in sorted(policies.items()):
        obj = what
        added, gone = sorted(now - set(cidrs)), sorted(set(cidrs) - now)
        problems = []
        if added:
            problems.append(f"{pl.name} ({pl.id}) now also lists {', '.join(added)}: pods' S3 requests to "
                            f"{'it' if len(added) == 1 else 'them'} are dropped")
        if gone:
            problems.append(f"{', '.join(gone)} {'is' if len(gone) == 1 else 'are'} no longer in {pl.name} "
                            f"({pl.id}) but still allowed: egress to addresses that are not S3's")
        if problems:
            out.append(failed(S3_RANGES, tenant, obj, "; ".join(problems) + _S3_FIX))
        else:
            out.append(passed(S3_RANGES, tenant, obj, f"the {len(now)} range(s) of {pl.name} ({pl.id}), as AWS "
                                                      "lists them now"))
    return out


# --------------------------------------------------------------------------------------------
# Behaviour


def placement_behaviour(render_facts: F.IsolationFacts, live_facts: F.IsolationFacts) -> list[Result]:
    out = []
    for t in sorted(render_facts.placement):
        want = set(render_facts.placement[t]["taints"])
        have = set((live_facts.placement.get(t) or {}).get("taints") or [])
        missing = sorted(want - have)
        out.append(failed(PLACEMENT_CHECK, t, f"{t}'s node groups", f"taint(s) missing: {', '.join(missing)}")
                   if missing else passed(PLACEMENT_CHECK, t, f"{t}'s node groups", f"carry {', '.join(sorted(want))}"))
    return out


def network_behaviour(render_facts: F.IsolationFacts, live_facts: F.IsolationFacts) -> list[Result]:
    """For every tenant: no other tenant's nodes reach it through security groups unless the
    render's own rules admit that pair (a declared ``allowFrom``)."""
    tenants = sorted(render_facts.tenants)
    out = []
    for t in tenants:
        bad = []
        for other in tenants:
            if other == t:
                continue
            have = (live_facts.network.get((other, t)) or {}).get("securityGroup") or []
            want = (render_facts.network.get((other, t)) or {}).get("securityGroup") or []
            if have and not F.covers(want, have):
                bad.append(f"{other} → {t} ({', '.join(F._fmt_ports(have))})")
        out.append(failed(NETWORK_CHECK, t, f"security groups of {t}'s nodes",
                          "admit undeclared tenants: " + "; ".join(bad)) if bad
                   else passed(NETWORK_CHECK, t, f"security groups of {t}'s nodes",
                               "admit no tenant beyond the declared edges"))
    return out


def workload_roles(render_facts: F.IsolationFacts) -> dict[str, list[str]]:
    """tenant → names of its roles that the render grants its own S3 prefix."""
    out: dict[str, list[str]] = {}
    for (owner, role, target, access) in render_facts.s3:
        if owner == target and access == "objects":
            out.setdefault(owner, [])
            if role not in out[owner]:
                out[owner].append(role)
    return {t: sorted(v) for t, v in out.items()}


def s3_behaviour(render_facts: F.IsolationFacts, state: AwsState, prober: S3Prober) -> list[Result]:
    out: list[Result] = []
    if not state.bucket:
        return [failed(S3_CHECK, None, "data bucket", "not found in AWS")] if workload_roles(render_facts) else []
    tenants = sorted(render_facts.tenants)
    for t, roles in sorted(workload_roles(render_facts).items()):
        for role in roles:
            live = state.roles.get(role)
            what = f"IAM role {role}"
            if live is None:
                out.append(failed(S3_CHECK, t, what, "missing from AWS"))
                continue
            probes = [(tenant_s3_prefix(t) + "tenancy-verify-probe", True)]
            probes += [(tenant_s3_prefix(p) + "tenancy-verify-probe", False) for p in peers(t, tenants)]
            probes.append(("tenancy-verify-probe", False))
            bad = []
            for key, must in probes:
                if prober.allowed(live["Arn"], state.bucket, key) != must:
                    bad.append(f"{'denied' if must else 'allowed'} s3://{state.bucket}/{key}")
            out.append(failed(S3_CHECK, t, what, "; ".join(bad)) if bad else
                       passed(S3_CHECK, t, what, f"own prefix allowed; {len(probes) - 1} other prefix(es) denied"))
    return out
