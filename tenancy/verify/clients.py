"""The I/O of ``tenancy verify``: a Kubernetes client (the ``kubernetes`` package: any kubeconfig,
including EKS's ``aws eks get-token`` exec plugin) and an AWS reader (boto3, the caller's
credentials; ``AWS_ENDPOINT_URL`` points it at an emulator).

Read-only by construction: the Kubernetes client sends GETs, SubjectAccessReviews,
SelfSubjectReviews and POSTs with ``dryRun=All``; the AWS reader calls only ``Describe*``,
``Get*``, ``List*``, ``sts:GetCallerIdentity`` and ``iam:SimulatePrincipalPolicy``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tenancy.review import facts as F
from tenancy.spec.wire import AWS_S3_BUCKET, AWS_VPC_ENDPOINT, PLATFORM_TAG
from tenancy.verify.aws import (
    AwsState,
    S3PrefixList,
    live_node_group_name,
    rendered_groups,
    rendered_log_groups,
    rendered_node_groups,
    rendered_roles,
)
from tenancy.verify.resolve import ACCOUNT, IAM_ROLE, KMS_KEY, SECURITY_GROUP, CloudRef, Resolution


class Unreachable(Exception):
    """The platform cannot be reached (exit 1)."""


class Forbidden(Unreachable):
    """The verifying identity may not make a request verify needs (HTTP 403; exit 1): the
    message names the request and the API server's reason (verb, resource, group, scope)."""


def _forbidden(method: str, path: str, body: Any) -> Forbidden:
    return Forbidden(f"{method} {path}: HTTP 403: {_message(body)}")


class MissingDependency(Exception):
    """An optional dependency is not installed (exit 2, with the fix)."""


# --------------------------------------------------------------------------------------------
# Kubernetes


class KubeClient:
    def __init__(self, kubeconfig: Path | None = None, context: str | None = None):
        try:
            from kubernetes import config
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise MissingDependency("tenancy verify needs the Kubernetes client: pip install 'tenancy[verify]' "
                                    "(or pip install kubernetes), or pass --skip-kubernetes") from exc
        try:
            self.api = config.new_client_from_config(config_file=str(kubeconfig) if kubeconfig else None,
                                                     context=context)
        except config.ConfigException as exc:
            raise MissingDependency(f"kubeconfig: {exc}") from exc
        self._resources: dict[tuple[str, str], tuple[str, str, bool]] | None = None

    def request(self, method: str, path: str, body: Any = None, params: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
        """(HTTP status, decoded body) of one call; connection failures raise :class:`Unreachable`."""
        from kubernetes.client.exceptions import ApiException

        hdrs = {"Accept": "application/json", "Content-Type": "application/json", **(headers or {})}
        try:
            resp = self.api.call_api(path, method, query_params=list((params or {}).items()), header_params=hdrs,
                                     body=body, auth_settings=["BearerToken"], _preload_content=False,
                                     _return_http_data_only=True, _request_timeout=60)
            status, data = resp.status, resp.data
        except ApiException as exc:
            status, data = exc.status, exc.body
        except Exception as exc:  # urllib3 connection errors and the like
            raise Unreachable(f"Kubernetes API {self.api.configuration.host}: {exc}") from exc
        if status == 0:
            raise Unreachable(f"Kubernetes API {self.api.configuration.host}: no answer")
        try:
            return status, json.loads(data) if data else {}
        except ValueError:
            return status, data.decode(errors="replace") if isinstance(data, bytes) else data

    def _discover(self) -> dict[tuple[str, str], tuple[str, str, bool]]:
        if self._resources is None:
            out: dict[tuple[str, str], tuple[str, str, bool]] = {}
            versions = [("v1", "/api/v1")]
            status, groups = self.request("GET", "/apis")
            if status == 403:
                raise _forbidden("GET", "/apis", groups)
            if status != 200:
                raise Unreachable(f"Kubernetes API discovery: HTTP {status}: {groups}")
            for g in groups["groups"]:
                versions += [(v["groupVersion"], f"/apis/{v['groupVersion']}") for v in g["versions"]]
            for gv, prefix in versions:
                status, doc = self.request("GET", prefix)
                if status == 403:  # a group left out would read as "not served": objects "missing"
                    raise _forbidden("GET", prefix, doc)
                if status != 200:
                    continue
                for res in doc["resources"]:
                    if "/" not in res["name"]:
                        out.setdefault((gv, res["kind"]), (prefix, res["name"], res["namespaced"]))
            self._resources = out
        return self._resources

    def path(self, api_version: str, kind: str, namespace: str | None = None, name: str | None = None) -> str | None:
        found = self._discover().get((api_version, kind))
        if found is None:
            return None
        prefix, plural, namespaced = found
        ns = f"/namespaces/{namespace}" if namespaced and namespace else ""
        return f"{prefix}{ns}/{plural}" + (f"/{name}" if name else "")

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        path = self.path(api_version, kind, namespace, name)
        if path is None:
            return None  # the server does not serve the kind at all: the object is missing
        status, obj = self.request("GET", path)
        if status == 404:
            return None
        if status == 403:
            raise _forbidden("GET", path, obj)
        if status != 200:
            raise Unreachable(f"GET {path}: HTTP {status}: {_message(obj)}")
        return dict(obj)

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        path = self.path(api_version, kind, namespace)
        if path is None:
            return []
        status, doc = self.request("GET", path)
        if status == 403:
            raise _forbidden("GET", path, doc)
        if status != 200:
            raise Unreachable(f"GET {path}: HTTP {status}: {_message(doc)}")
        return [dict(x) for x in doc.get("items") or []]

    def can(self, user: str, groups: Sequence[str], verb: str, group: str, resource: str,
            namespace: str | None = None, subresource: str = "", name: str = "") -> bool:
        attrs = {"verb": verb, "group": group, "resource": resource}
        for k, v in (("subresource", subresource), ("namespace", namespace or ""), ("name", name)):
            if v:
                attrs[k] = v
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": user, "groups": [*groups, "system:authenticated"], "resourceAttributes": attrs}}
        status, out = self.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        if status == 403:
            raise _forbidden("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", out)
        if status not in (200, 201):
            raise Unreachable(f"SubjectAccessReview: HTTP {status}: {_message(out)}")
        return bool(out["status"].get("allowed"))

    def dry_run_create(self, obj: Mapping[str, Any], user: str, groups: Sequence[str]) -> tuple[bool, int, str]:
        meta = obj.get("metadata") or {}
        path = self.path(str(obj["apiVersion"]), str(obj["kind"]), meta.get("namespace"))
        if path is None:
            return False, 404, f"the server does not serve {obj['kind']}"
        headers = {"Impersonate-User": user}
        if groups:
            if len(groups) > 1:
                raise ValueError("one impersonated group at a time")
            headers["Impersonate-Group"] = groups[0]
        status, out = self.request("POST", path, dict(obj), params={"dryRun": "All"}, headers=headers)
        if status == 403 and "cannot impersonate" in _message(out):
            # the verifier's own refusal, not the persona's: it must not read as "refused by RBAC".
            # The API server names `impersonate` on users/groups, or, where it tried constrained
            # impersonation first (KEP-5284), `impersonate-on:user-info:create` on the object's resource.
            raise _forbidden("POST", f"{path} (impersonating {user}, {', '.join(groups)})", out)
        return status in (200, 201), status, "" if status in (200, 201) else _message(out)

    def whoami(self) -> str:
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        status, out = self.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", review)
        if status not in (200, 201):
            return f"unknown (SelfSubjectReview: HTTP {status})"
        info = (out.get("status") or {}).get("userInfo") or {}
        return f"{info.get('username')} (groups: {', '.join(info.get('groups') or [])})"

    def reachable(self) -> None:
        status, out = self.request("GET", "/version")
        if status == 403:
            raise _forbidden("GET", "/version", out)
        if status != 200:
            raise Unreachable(f"Kubernetes API /version: HTTP {status}: {_message(out)}")


def _message(body: Any) -> str:
    return str(body.get("message", body)) if isinstance(body, dict) else str(body)


# --------------------------------------------------------------------------------------------
# AWS


class AwsClient:
    """boto3 with the caller's credentials and region (``session`` for tests or profiles)."""

    def __init__(self, session: Any = None, endpoint_url: str | None = None):
        import boto3

        self.session = session or boto3.session.Session()
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            kw = {"endpoint_url": self.endpoint_url} if self.endpoint_url else {}
            self._clients[service] = self.session.client(service, **kw)
        return self._clients[service]

    def whoami(self) -> str:
        return str(self._call(lambda: self.client("sts").get_caller_identity())["Arn"])

    def _call(self, fn: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            return fn()
        except (NoCredentialsError, BotoCoreError) as exc:
            raise Unreachable(f"AWS: {exc}") from exc
        except ClientError:
            raise

    def read(self, resources: Sequence[Mapping[str, Any]]) -> AwsState:
        from botocore.exceptions import ClientError

        state = AwsState(account=str(self._call(lambda: self.client("sts").get_caller_identity())["Account"]))
        ec2, eks, iam = self.client("ec2"), self.client("eks"), self.client("iam")
        groups = rendered_groups(resources)
        if groups:
            found = self._call(lambda: ec2.describe_security_groups(
                Filters=[{"Name": "group-name", "Values": sorted(groups)}]))["SecurityGroups"]
            for g in found:
                want = (groups[g["GroupName"]].get("inputs") or {}).get("tags") or {}
                tags = {t["Key"]: t["Value"] for t in g.get("Tags") or []}
                platform = want.get(PLATFORM_TAG)
                if platform and tags.get(PLATFORM_TAG) not in (None, platform):
                    continue  # a same-named group of another platform
                state.groups[g["GroupName"]] = {"GroupId": g["GroupId"], "VpcId": g.get("VpcId"), "rules": []}
            ids = [g["GroupId"] for g in state.groups.values()]
            if ids:
                paginator = ec2.get_paginator("describe_security_group_rules")
                by_id = {g["GroupId"]: g for g in state.groups.values()}
                for page in paginator.paginate(Filters=[{"Name": "group-id", "Values": ids}]):
                    for rule in page["SecurityGroupRules"]:
                        if rule["GroupId"] in by_id:
                            by_id[rule["GroupId"]]["rules"].append(rule)
        live_names: dict[str, list[str]] = {}
        for name, r in rendered_node_groups(resources).items():
            cluster = str((r.get("inputs") or {}).get("clusterName"))
            if cluster not in live_names:
                try:
                    live_names[cluster] = [n for page in eks.get_paginator("list_nodegroups").paginate(
                        clusterName=cluster) for n in page["nodegroups"]]
                except ClientError as exc:
                    if exc.response["Error"]["Code"] not in ("ResourceNotFoundException", "NotFoundException"):
                        raise
                    live_names[cluster] = []
            found_groups = [eks.describe_nodegroup(clusterName=cluster, nodegroupName=n)["nodegroup"]
                            for n in live_node_group_name(r, live_names[cluster])]
            if not found_groups:
                state.node_groups[name] = None
                continue
            # While a replacement is in flight two groups share the prefix: the newer is the one kept.
            state.node_groups[name] = max(found_groups, key=lambda g: str(g.get("createdAt") or ""))
            lt = (state.node_groups[name] or {}).get("launchTemplate") or {}
            if lt.get("id") or lt.get("name"):
                ref = {"LaunchTemplateId": lt["id"]} if lt.get("id") else {"LaunchTemplateName": lt["name"]}
                versions = ec2.describe_launch_template_versions(**ref, Versions=[str(lt.get("version") or "$Default")])
                found = versions.get("LaunchTemplateVersions") or []
                state.launch_templates[name] = found[0]["LaunchTemplateData"] if found else None
            else:
                state.launch_templates[name] = None
        clusters = sorted({str((r.get("inputs") or {}).get("clusterName")) for r in resources
                           if r["type"] == F.ACCESS_ENTRY})
        if clusters:
            entries: dict[str, Any] | None = {}
            try:
                for cluster in clusters:
                    for page in eks.get_paginator("list_access_entries").paginate(clusterName=cluster):
                        for arn in page["accessEntries"]:
                            entries[arn] = eks.describe_access_entry(  # type: ignore[index]
                                clusterName=cluster, principalArn=arn)["accessEntry"]
            except ClientError as exc:
                # An API without access entries (the AWS emulator): reported as skipped, not passed.
                if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404 or \
                        exc.response["Error"]["Code"] == "ResourceNotFoundException":
                    raise
                entries = None
            state.access_entries = entries
        for name in rendered_roles(resources):
            try:
                role = iam.get_role(RoleName=name)["Role"]
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "NoSuchEntity":
                    raise
                state.roles[name] = None
                continue
            inline = {}
            for p in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                inline[p] = _doc(iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"])
            attached: dict[str, Any] = {}
            for a in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                try:
                    pol = iam.get_policy(PolicyArn=a["PolicyArn"])["Policy"]
                    ver = iam.get_policy_version(PolicyArn=a["PolicyArn"], VersionId=pol["DefaultVersionId"])
                    attached[a["PolicyArn"]] = _doc(ver["PolicyVersion"]["Document"])
                except ClientError:
                    attached[a["PolicyArn"]] = None
            state.roles[name] = {"Arn": role["Arn"], "trust": _doc(role["AssumeRolePolicyDocument"]),
                                 "inline": inline, "attached": attached}
        logs = self.client("logs") if rendered_log_groups(resources) else None
        for name in rendered_log_groups(resources):
            found = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]  # type: ignore[union-attr]
                     if g["logGroupName"] == name]
            state.log_groups[name] = found[0] if found else None
        state.bucket = self._bucket(resources)
        state.aliases.update(self._prefix_lists(resources))
        state.s3_prefix_list = self.s3_prefix_list(resources)
        return state

    def resolve(self, refs: Sequence[CloudRef]) -> Resolution:
        """The real values of the render's mock ones (:mod:`tenancy.verify.resolve`): the account
        (``sts:GetCallerIdentity``), KMS keys by their rendered alias (``kms:DescribeKey``), security
        groups by their rendered name (``ec2:DescribeSecurityGroups``; a same-named group of another
        platform, by the platform tag, is not it), roles by name (``iam:GetRole``). A reference AWS
        does not hold goes to ``missing`` (its field fails: the platform lacks it)."""

        res = Resolution(sources=["AWS"])
        for ref in refs:
            if ref.kind == ACCOUNT:
                res.values[ref] = str(self._call(lambda: self.client("sts").get_caller_identity())["Account"])
            elif ref.kind == KMS_KEY and ref.name:
                key = self._unless(lambda r=ref: self.client("kms").describe_key(KeyId=r.name), "NotFoundException")
                if key is None:
                    res.missing[ref] = f"no key has the alias {ref.name} in AWS"
                    continue
                meta = key["KeyMetadata"]
                res.values[ref] = str(meta["Arn"] if ref.attribute == "arn" else meta["KeyId"])
            elif ref.kind == SECURITY_GROUP:
                found = self._call(lambda r=ref: self.client("ec2").describe_security_groups(
                    Filters=[{"Name": "group-name", "Values": [r.name]}]))["SecurityGroups"]
                mine = [g for g in found if ref.platform is None or
                        {t["Key"]: t["Value"] for t in g.get("Tags") or []}.get(PLATFORM_TAG) in (None, ref.platform)]
                if len(mine) == 1:
                    res.values[ref] = str(mine[0]["GroupId"])
                else:
                    res.missing[ref] = (f"no security group named {ref.name} in AWS" if not mine else
                                        f"{len(mine)} security groups are named {ref.name}: which one is meant "
                                        "is not known")
            elif ref.kind == IAM_ROLE:
                role = self._unless(lambda r=ref: self.client("iam").get_role(RoleName=r.name), "NoSuchEntity")
                if role is None:
                    res.missing[ref] = f"no role named {ref.name} in AWS"
                    continue
                res.values[ref] = str(role["Role"]["Arn"])
        return res

    def _unless(self, call: Any, not_found: str) -> Any:
        """``call()``'s answer, or None when AWS answers the error code ``not_found``."""
        from botocore.exceptions import ClientError

        try:
            return self._call(call)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != not_found:
                raise
            return None

    def s3_prefix_list(self, resources: Sequence[Mapping[str, Any]]) -> S3PrefixList | None:
        """AWS's managed prefix list of the render's S3 gateway endpoint (by its service name,
        ``com.amazonaws.<region>.s3``) with its entries as they are now, or None."""
        names = sorted({str((r.get("inputs") or {}).get("serviceName")) for r in resources
                        if r["type"] == AWS_VPC_ENDPOINT and (r.get("inputs") or {}).get("vpcEndpointType") == "Gateway"
                        and str((r.get("inputs") or {}).get("serviceName")).endswith(".s3")})
        if not names:
            return None
        ec2 = self.client("ec2")
        found = [p for page in ec2.get_paginator("describe_managed_prefix_lists").paginate(
            Filters=[{"Name": "prefix-list-name", "Values": names}]) for p in page["PrefixLists"]]
        if not found:
            return None
        pl = found[0]
        cidrs = [e["Cidr"] for page in ec2.get_paginator("get_managed_prefix_list_entries").paginate(
            PrefixListId=pl["PrefixListId"]) for e in page.get("Entries") or []]
        return S3PrefixList(pl["PrefixListName"], pl["PrefixListId"], tuple(sorted(cidrs)))

    def _prefix_lists(self, resources: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """Live → rendered ids of the gateway endpoints' prefix lists (by service name: the
        render holds the mock engine's id)."""
        names = {str((r.get("inputs") or {}).get("serviceName")): str((r.get("outputs") or {}).get("prefixListId"))
                 for r in resources if r["type"] == AWS_VPC_ENDPOINT
                 and (r.get("outputs") or {}).get("prefixListId")}
        if not names:
            return {}
        found = self.client("ec2").describe_prefix_lists(
            Filters=[{"Name": "prefix-list-name", "Values": sorted(names)}])["PrefixLists"]
        return {p["PrefixListId"]: names[p["PrefixListName"]] for p in found if p["PrefixListName"] in names}

    def _bucket(self, resources: Sequence[Mapping[str, Any]]) -> str | None:
        """The live name of the data bucket: the rendered bucket the tenant roles' policies name,
        found by its ``bucket`` or its ``bucketPrefix`` (AWS adds a random suffix)."""
        policies = " ".join(str((r.get("inputs") or {}).get("policy")) for r in resources
                            if r["type"] == F.IAM_ROLE_POLICY and r.get("tenant"))
        rendered = [r for r in resources if r["type"] == AWS_S3_BUCKET
                    and str((r.get("outputs") or {}).get("bucket")) in policies]
        if len(rendered) != 1:
            return None
        i = rendered[0].get("inputs") or {}
        names = [b["Name"] for b in self.client("s3").list_buckets().get("Buckets") or []]
        if i.get("bucket"):
            return str(i["bucket"]) if i["bucket"] in names else None
        prefix = str(i.get("bucketPrefix") or "")
        matches = sorted(n for n in names if prefix and n.startswith(prefix))
        return matches[0] if len(matches) == 1 else None


class SimulatorProber:
    """Real AWS: the IAM policy simulator decides whether a role may read and write an object
    (``iam:SimulatePrincipalPolicy``; identity policies and permissions boundaries, nothing
    touched). moto does not implement it (tests probe with real calls instead)."""

    ACTIONS = ("s3:GetObject", "s3:PutObject")

    def __init__(self, aws: AwsClient):
        self.iam = aws.client("iam")

    def allowed(self, role_arn: str, bucket: str, key: str) -> bool:
        out = self.iam.simulate_principal_policy(PolicySourceArn=role_arn, ActionNames=list(self.ACTIONS),
                                                 ResourceArns=[f"arn:aws:s3:::{bucket}/{key}"])
        return any(r["EvalDecision"] == "allowed" for r in out["EvaluationResults"])


class LogsInsightsRunner:
    """Real AWS: runs a Logs Insights query (``logs:StartQuery``, ``logs:GetQueryResults``) and
    waits for it (at most ``timeout`` seconds)."""

    def __init__(self, aws: AwsClient, timeout: float = 60.0):
        self.logs = aws.client("logs")
        self.timeout = timeout

    def run(self, log_groups: Sequence[str], query: str, hours: int) -> list[dict[str, Any]]:
        import time

        end = int(time.time())
        qid = self.logs.start_query(logGroupNames=list(log_groups), startTime=end - hours * 3600, endTime=end,
                                    queryString=query)["queryId"]
        deadline = time.monotonic() + self.timeout
        while True:
            out = self.logs.get_query_results(queryId=qid)
            if out["status"] in ("Complete", "Failed", "Cancelled", "Timeout"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"query {qid} still {out['status']} after {self.timeout:.0f} s")
            time.sleep(1)
        if out["status"] != "Complete":
            raise RuntimeError(f"query {qid} ended {out['status']}")
        return [{c["field"]: c["value"] for c in row} for row in out.get("results") or []]


def _doc(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    from urllib.parse import unquote

    s = str(value)
    try:
        return dict(json.loads(s))
    except ValueError:
        return dict(json.loads(unquote(s)))


__all__ = ["AwsClient", "Forbidden", "KubeClient", "LogsInsightsRunner", "MissingDependency", "SimulatorProber",
           "Unreachable", "F"]
