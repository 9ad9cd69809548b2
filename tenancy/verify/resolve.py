"""Values only the cloud knows: the render's mock values mapped to the deployment's real ones.

The render runs the program under Pulumi's mock engine (:mod:`tenancy.render.mocks`): its
Kubernetes objects carry the mock engine's account (``111122223333``), KMS key ARNs, security
group ids and IAM role ARNs wherever the program put a cloud-assigned value into an in-cluster
object — the StorageClass's ``kmsKeyId``, a pooled tenant's SecurityGroupPolicy ``groupIds``, a
ServiceAccount's ``eks.amazonaws.com/role-arn``. A real deployment holds AWS's values there, so
comparing them literally reports every untouched platform as drifted.

This module (pure; the reads are :meth:`tenancy.verify.clients.AwsClient.resolve`) finds every such
value in the render (:func:`cloud_refs`: each with how AWS finds the real one — the account from
``sts:GetCallerIdentity``, a KMS key by its rendered alias (``kms:DescribeKey``), a security group
by its rendered name (``ec2:DescribeSecurityGroups``, same-named groups of another platform left
out by the platform tag), a role by its rendered name (``iam:GetRole``)), and, given a
:class:`Resolution`, rewrites the rendered objects with the real values (:func:`resolve_live`) before
``drift.kubernetes`` compares them. A resolution comes from AWS, from the stack's real outputs
(:func:`from_stack_outputs`: ``pulumi stack output --json --show-secrets``, matched leaf by leaf with
the render's own ``outputs.json``), or both. A value nothing resolves is **not verified**: the
field is left out of the comparison and reported ``skip`` (never ``pass``); with AWS, a value AWS
does not hold (the alias, group or role is gone) fails. Tampering stays visible: the resolved
value is the one the deployment must hold, so a StorageClass on another key, a foreign group in a
SecurityGroupPolicy or a ServiceAccount annotated with another tenant's role differ from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenancy.render.result import is_kubernetes_object, manifest_of
from tenancy.spec.wire import AWS_IAM_ROLE, AWS_KMS_ALIAS, AWS_KMS_KEY, AWS_SECURITY_GROUP, PLATFORM_TAG
from tenancy.verify.kube import DRIFT, Live, Unverified, describe
from tenancy.verify.report import Result, failed, passed, skipped

RENDER_ACCOUNT = "111122223333"
"""The account the render's mock engine uses in ARNs (:data:`tenancy.render.mocks.ACCOUNT_ID`)."""
ACCOUNT, KMS_KEY, SECURITY_GROUP, IAM_ROLE = "account", "kms-key", "security-group", "iam-role"
NOT_VERIFIED = "not verified"
S3_OUTPUT = "s3CidrBlocks"
"""The platform stack's output holding the S3 ranges its ``tenancy-allow-s3`` policies were given."""
MIN_TOKEN = 12
"""Shortest mock value looked for inside a longer string (an account id is 12 digits)."""


@dataclass(frozen=True)
class CloudRef:
    """One mock value of the render and how the cloud finds its real value."""

    kind: str
    """:data:`ACCOUNT`, :data:`KMS_KEY`, :data:`SECURITY_GROUP` or :data:`IAM_ROLE`."""
    name: str
    """What AWS finds it by: the key's alias, the group's or the role's name ("" for the account)."""
    attribute: str
    """Which of the found resource's values: ``arn`` or ``id``."""
    tags: tuple[tuple[str, str], ...] = ()
    """A security group's rendered tags (the platform tag tells same-named groups apart)."""

    @property
    def what(self) -> str:
        return {ACCOUNT: "the AWS account", KMS_KEY: f"KMS key {self.name or '(no alias rendered)'}",
                SECURITY_GROUP: f"security group {self.name}", IAM_ROLE: f"IAM role {self.name}"}[self.kind]

    @property
    def platform(self) -> str | None:
        return dict(self.tags).get(PLATFORM_TAG)


def cloud_refs(resources: Sequence[Mapping[str, Any]]) -> Refs:
    """Every mock value the render's AWS resources got from the mock engine → how AWS finds the real one."""
    aliases: dict[str, list[str]] = {}
    for r in resources:
        if r["type"] == AWS_KMS_ALIAS:
            i = r.get("inputs") or {}
            aliases.setdefault(str(i.get("targetKeyId")), []).append(str(i.get("name")))
    out = Refs({RENDER_ACCOUNT: CloudRef(ACCOUNT, "", "id")})
    for r in resources:
        t, i, o = r["type"], r.get("inputs") or {}, r.get("outputs") or {}
        if t == AWS_KMS_KEY:
            ids = {str(v) for v in (r.get("id"), o.get("keyId"), o.get("arn")) if v}
            names = sorted({a for k in ids for a in aliases.get(k, [])})
            alias = names[0] if names else ""
            for v in (r.get("id"), o.get("keyId")):
                if v:
                    out[str(v)] = CloudRef(KMS_KEY, alias, "id")
            if o.get("arn"):
                out[str(o["arn"])] = CloudRef(KMS_KEY, alias, "arn")
        elif t == AWS_SECURITY_GROUP and r.get("id"):
            tags = tuple(sorted((str(k), str(v)) for k, v in (i.get("tags") or {}).items()))
            out[str(r["id"])] = CloudRef(SECURITY_GROUP, str(i.get("name") or r["name"]), "id", tags)
        elif t == AWS_IAM_ROLE and o.get("arn"):
            out[str(o["arn"])] = CloudRef(IAM_ROLE, str(i.get("name") or o.get("name") or r["name"]), "arn")
    return out


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


class Refs(dict[str, CloudRef]):
    """Mock value → reference, with one pattern finding them all inside longer strings (one pass
    per string, however many tenants: no loop over the references per string)."""

    _pattern: re.Pattern[str] | None = None

    def tokens(self, s: str) -> list[str]:
        """The mock values in ``s``: the whole string, or (longest first) the ones inside it."""
        if s in self:
            return [s]
        if self._pattern is None:
            longest = sorted((t for t in self if len(t) >= MIN_TOKEN), key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(t) for t in longest) or r"(?!x)x")
        return list(dict.fromkeys(m.group(0) for m in self._pattern.finditer(s)))


def needed(resources: Sequence[Mapping[str, Any]]) -> list[CloudRef]:
    """The references whose mock values appear in the render's Kubernetes objects (what verify
    must resolve; every other AWS resource is found by name in :mod:`tenancy.verify.aws`)."""
    refs = cloud_refs(resources)
    hit: dict[str, CloudRef] = {}
    for r in resources:
        if is_kubernetes_object(r):
            for s in _strings(manifest_of(r)):
                for tok in refs.tokens(s):
                    hit[tok] = refs[tok]
    return sorted(set(hit.values()), key=lambda c: (c.kind, c.name, c.attribute))


@dataclass
class Resolution:
    """The real values of the render's mock ones, and where they came from."""

    values: dict[CloudRef, str] = field(default_factory=dict)
    """Reference → its real value."""
    mock: dict[str, str] = field(default_factory=dict)
    """Mock value → real value, for values the source gives without a reference (stack outputs)."""
    missing: dict[CloudRef, str] = field(default_factory=dict)
    """References the source was asked for and does not hold (with AWS: the alias, group or role is gone)."""
    sources: list[str] = field(default_factory=list)
    """Where the values came from ("AWS", "stack outputs FILE")."""
    s3_cidrs: tuple[str, ...] | None = None
    """The S3 ranges the stack deployed (its ``s3CidrBlocks`` output), when stack outputs were given."""

    def merged(self, other: Resolution) -> Resolution:
        """Both; ``other`` (AWS, as it is now) wins where both resolve a value."""
        return Resolution({**self.values, **other.values}, {**self.mock, **other.mock},
                          {k: v for k, v in {**self.missing, **other.missing}.items()
                           if k not in other.values and k not in self.values},
                          [*self.sources, *other.sources], other.s3_cidrs or self.s3_cidrs)

    def real(self, mock: str, ref: CloudRef) -> str | None:
        if ref in self.values:
            return self.values[ref]
        return self.mock.get(mock)


def from_stack_outputs(rendered: Any, real: Any, source: str) -> Resolution:
    """A resolution from the stack's real outputs: ``rendered`` (the render's ``outputs.json``, the
    mock engine's values of the same outputs) and ``real`` walked together; every string leaf that
    differs maps the mock value to the real one. The account is read off any ARN pair, the S3
    ranges from :data:`S3_OUTPUT`. Secrets (``--show-secrets``) are not needed but do no harm."""
    res = Resolution(sources=[source])

    def walk(a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in a.keys() & b.keys():
                walk(a[k], b[k])
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for x, y in zip(a, b, strict=True):
                walk(x, y)
        elif isinstance(a, str) and isinstance(b, str) and a != b and not a.startswith("<"):
            res.mock[a] = b
            pa, pb = a.split(":"), b.split(":")
            if a.startswith("arn:") and b.startswith("arn:") and len(pa) > 4 and len(pb) > 4 and \
                    pa[4] == RENDER_ACCOUNT and pb[4]:
                res.mock.setdefault(RENDER_ACCOUNT, pb[4])

    walk(rendered, real)
    if isinstance(real, dict) and isinstance(real.get(S3_OUTPUT), list):
        res.s3_cidrs = tuple(sorted(str(c) for c in real[S3_OUTPUT]))
    if isinstance(real, dict) and isinstance(real.get("accountId"), str):
        res.mock[RENDER_ACCOUNT] = real["accountId"]
    return res


def _resolve_value(value: Any, path: str, refs: Refs, res: Resolution,
                   notes: list[tuple[str, str, bool]]) -> Any:
    """``value`` with its mock values replaced by the real ones; ``notes`` gets (path, reason,
    failed) for each value left unresolved."""
    if isinstance(value, dict):
        return {k: _resolve_value(v, f"{path}.{k}", refs, res, notes) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_value(v, f"{path}[{i}]", refs, res, notes) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    tokens = refs.tokens(value)
    if not tokens:
        return value
    out = value
    for tok in tokens:
        ref = refs[tok]
        real = res.real(tok, ref)
        if real is None and ref in res.missing:
            notes.append((path, f"{ref.what}: {res.missing[ref]}", True))
            return Unverified(res.missing[ref])
        account = res.real(RENDER_ACCOUNT, refs[RENDER_ACCOUNT])
        if real is None and ref.kind == IAM_ROLE and account is not None:
            # a role's ARN is arn:<partition>:iam::<account>:role/<path><name>, its name as rendered
            real = tok.replace(f":{RENDER_ACCOUNT}:", f":{account}:")
        if real is None:
            where = " and ".join(res.sources) if res.sources else "no source"
            reason = (f"{ref.what}'s {ref.attribute} is known only to the cloud ({where} did not give it; "
                      "verify with AWS access, or pass --stack-outputs)")
            notes.append((path, reason, False))
            return Unverified(reason)
        out = out.replace(tok, real)
    return out


def resolve_live(live: Live, resources: Sequence[Mapping[str, Any]], res: Resolution) -> tuple[Live, list[Result]]:
    """``live`` with each rendered object's mock values replaced by their real values (what
    ``drift.kubernetes`` then compares), the live objects' real values mapped back to the render's
    for the isolation facts, and a result per object holding such values: ``skip`` (not verified)
    for values nothing resolved, ``fail`` for values AWS does not hold, ``pass`` when all resolved."""
    refs = cloud_refs(resources)
    objects = []
    out: list[Result] = []
    back: dict[str, str] = {}
    for r, m, obj in live.objects:
        notes: list[tuple[str, str, bool]] = []
        resolved = _resolve_value(m, "", refs, res, notes)
        if resolved == m:
            objects.append((r, m, obj))
            continue
        for mock, real in _pairs(m, resolved):
            back[real] = mock
        objects.append((r, resolved, obj))
        what, tenant = describe(m), r.get("tenant")
        bad = [f"{p}: {why}" for p, why, f in notes if f]
        skip = [f"{p}" for p, _, f in notes if not f]
        if bad:
            out.append(failed(DRIFT, tenant, f"{what} (cloud values)", "; ".join(bad)))
        if skip:
            out.append(skipped(DRIFT, tenant, f"{what} (cloud values)",
                               f"{NOT_VERIFIED}: {', '.join(skip)}: " + next(w for _, w, f in notes if not f)))
        if not notes:
            out.append(passed(DRIFT, tenant, f"{what} (cloud values)",
                              f"compared with the real values from {' and '.join(res.sources)}"))
    return Live(objects, live.extras, live.cluster_roles, back={**live.back, **back}), out


def _pairs(rendered: Any, resolved: Any) -> list[tuple[str, str]]:
    """(rendered string, real string) for each leaf the resolution changed (to map live values back)."""
    if isinstance(rendered, dict) and isinstance(resolved, dict):
        return [p for k in rendered for p in _pairs(rendered[k], resolved.get(k))]
    if isinstance(rendered, list) and isinstance(resolved, list):
        return [p for a, b in zip(rendered, resolved, strict=False) for p in _pairs(a, b)]
    if isinstance(rendered, str) and isinstance(resolved, str) and rendered != resolved:
        return [(rendered, resolved)]
    return []


def s3_ranges_not_verified(policies: Mapping[str, tuple[str | None, list[str]]], check: str) -> list[Result]:
    """Without AWS and without stack outputs: each ``tenancy-allow-s3`` policy's ranges, not verified."""
    return [skipped(check, tenant, what,
                    f"{NOT_VERIFIED}: its S3 ranges are the Region's, known only to AWS (verify with AWS access, or "
                    "pass --stack-outputs to compare them with the ranges the stack deployed)")
            for what, (tenant, _) in sorted(policies.items())]


def s3_ranges_against_outputs(policies: Mapping[str, tuple[str | None, list[str]]], cidrs: Sequence[str],
                              check: str, source: str) -> list[Result]:
    """Each live ``tenancy-allow-s3`` policy's ranges against the ranges the stack deployed (its
    ``s3CidrBlocks`` output): a range added or removed in the cluster is a change by hand. (Whether
    AWS's list moved since the deploy needs AWS: ``drift.s3-ranges`` with AWS access.)"""
    want = set(cidrs)
    out = []
    for what, (tenant, have) in sorted(policies.items()):
        added, gone = sorted(set(have) - want), sorted(want - set(have))
        problems = [f"allows {', '.join(added)}, not among the stack's {S3_OUTPUT} ({source})"] if added else []
        problems += [f"lacks {', '.join(gone)} of the stack's {S3_OUTPUT}"] if gone else []
        out.append(failed(check, tenant, what, "; ".join(problems)) if problems else
                   passed(check, tenant, what,
                          f"the {len(want)} range(s) the stack deployed ({source}); whether AWS's list moved since "
                          "needs AWS access"))
    return out

