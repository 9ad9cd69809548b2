"""The guardrails of ``tenancy check`` as a Pulumi CrossGuard policy pack.

One ``StackValidationPolicy`` per rule of :mod:`tenancy.review.check` (they need the whole resource
graph), with the rule's enforcement level and a config schema::

    pulumi preview --policy-pack policy-pack            # policy-pack/ in this repository
    pulumi preview --policy-pack policy-pack --policy-pack-config cfg.json

``cfg.json`` may set, per policy, ``enforcementLevel`` (``advisory``, ``mandatory``,
``disabled``) and ``excludeTenants`` (tenants whose violations are not reported).

The policies see the stack as the engine sends it (``PolicyResource``: type, props, urn,
parent); :func:`resources_of` turns that into the render's resource shape, so the rules are the
same code as ``tenancy check``. Differences from an offline render, handled here:

* a resource's tenant comes from its ``tenancy:index:Tenant`` ancestor (parent chain), as in a
  render;
* ``AnalyzerResource`` carries no resource id: a resource's id is its ``id`` property when the
  engine sends one, else its URN. Security-group rules reference group ids, so for groups
  created in the same preview (ids unknown) ``sg-cross-tenant-declared`` cannot resolve peers
  and stays silent rather than guessing;
* unknown values (a preview of resources not created yet: a new platform's KMS key ARN, a new pooled
  tenant's security group ids) never make a mandatory violation. Each rule runs twice, once with every
  unknown value absent and once with each present (a placeholder of its type); a violation found both
  ways does not depend on them and is reported, one found only with the values absent is not decided
  yet: the policy then raises pulumi-policy's ``UnknownValueError``, which the analyzer reports as the
  advisory "can't run policy … during preview", and the rule runs in full at ``pulumi up``;
* under a real preview a remote component (``eks:index:Cluster``) has children
  (``aws:eks/cluster:Cluster``…); the rules read both shapes.

Requires ``pulumi-policy`` (``pip install 'tenancy[policy]'``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyPack,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UnknownValueError,
)

from tenancy.review import check
from tenancy.review.facts import facts_of
from tenancy.spec.wire import TENANT_OWNER_TYPES as TENANT_COMPONENTS

PACK_NAME = "tenancy-guardrails"
LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY,
          "disabled": EnforcementLevel.DISABLED}
CONFIG_SCHEMA = {
    "excludeTenants": {"type": "array", "items": {"type": "string"}, "default": [],
                       "description": "tenants whose violations are not reported (e.g. during a migration)"},
}


PLACEHOLDER = "<unknown until created>"
"""What an unknown string (or array element) reads as in the "present" evaluation."""


def _placeholder(error: UnknownValueError) -> Any:
    """A known value of the unknown's type, for the evaluation with every unknown present."""
    kind = error.unknown_type_sentinel
    if kind == UNKNOWN_ARRAY_VALUE:
        return [PLACEHOLDER]
    if kind == UNKNOWN_OBJECT_VALUE:
        return {}
    if kind == UNKNOWN_BOOLEAN_VALUE:
        return True
    if kind == UNKNOWN_NUMBER_VALUE:
        return 0
    return PLACEHOLDER


def _plain(value: Any, unknown: list[UnknownValueError] | None = None, present: bool = False) -> Any:
    """A plain copy of (possibly proxied) props. An unknown value becomes None, or with ``present`` a
    placeholder of its type; each one met is appended to ``unknown``."""

    def _unknown(error: UnknownValueError) -> Any:
        if unknown is not None:
            unknown.append(error)
        return _placeholder(error) if present else None

    if isinstance(value, Mapping):
        out = {}
        for k in list(value):
            try:
                out[k] = _plain(value[k], unknown, present)
            except UnknownValueError as e:
                out[k] = _unknown(e)
        return out
    if isinstance(value, (list, tuple)) or (hasattr(value, "__getitem__") and hasattr(value, "__len__")
                                             and not isinstance(value, (str, bytes))):
        items = []
        for i in range(len(value)):
            try:
                items.append(_plain(value[i], unknown, present))
            except UnknownValueError as e:
                items.append(_unknown(e))
        return items
    return value


def _tenant(r: PolicyResource) -> str | None:
    """The tenant owning ``r``: its nearest ancestor that is one tenant's component — a platform's
    ``Tenant``, or a ``TenantBundle`` / ``TeamTenant`` in a stack that builds the in-cluster layer
    alone (a team stack), each named after its tenant."""
    cur: PolicyResource | None = r
    while cur is not None:
        if cur.resource_type in TENANT_COMPONENTS:
            return cur.name
        cur = cur.parent
    return None


def resources_of(resources: Iterable[PolicyResource], unknown: list[UnknownValueError] | None = None,
                 present: bool = False) -> list[dict[str, Any]]:
    """The engine's view of a stack, in the shape of a render's ``resources`` (unknown values: see
    :func:`_plain`)."""
    out = []
    for r in resources:
        props = _plain(r.props, unknown, present)
        out.append({"urn": r.urn, "type": r.resource_type, "name": r.name, "id": props.get("id") or r.urn,
                    "parent": r.parent.urn if r.parent is not None else None, "tenant": _tenant(r),
                    "custom": not r.resource_type.startswith("tenancy:"), "inputs": props, "outputs": props})
    return out


def _policy(rule: check.Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        excluded = set(args.get_config().get("excludeTenants") or [])
        unknown: list[UnknownValueError] = []
        res = resources_of(args.resources, unknown)
        urns = {r["urn"] for r in res}
        found = [v for v in rule.check(res, facts_of(res)) if v.tenant not in excluded]
        undecided = []
        if unknown and found:
            with_values = resources_of(args.resources, present=True)
            holds = set(rule.check(with_values, facts_of(with_values)))
            undecided = [v for v in found if v not in holds]
        for v in found:
            if v in undecided:
                continue
            where = f"[{v.tenant}] " if v.tenant else ""
            report_violation(f"{where}{v.message}", v.resource if v.resource in urns else None)
        if undecided:  # reported by pulumi-policy as the advisory "can't run policy ... during preview"
            raise unknown[0]

    return StackValidationPolicy(
        name=rule.id, description=rule.description, validate=validate,
        enforcement_level=LEVELS[rule.enforcement],
        config_schema=PolicyConfigSchema(properties=dict(CONFIG_SCHEMA)),
    )


def policies() -> list[Policy]:
    """One stack policy per guardrail of :data:`tenancy.review.check.RULES`."""
    return [_policy(r) for r in check.RULES]


def pack() -> PolicyPack:
    """The policy pack (constructing it starts the analyzer server: call it only from the pack's
    ``__main__``)."""
    return PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=list(policies()),
                      description="tenancy's multi-tenant isolation guardrails (tenancy check)")
