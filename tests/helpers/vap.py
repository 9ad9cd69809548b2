"""Evaluate a ValidatingAdmissionPolicy's CEL the way the API server does, with cel-python.

This is an independent evaluator: it reads only the rendered policy/binding manifests (not the
Python that wrote them) and follows the admission semantics of admissionregistration.k8s.io/v1:

1. ``matchConstraints``: resource rules (group/version/resource/operation) and the namespace
   selector, matched against the namespace's labels;
2. the binding's ``matchResources`` namespace selector, and its ``validationActions``;
3. ``matchConditions``: all must be true, else the policy does not apply (they see no
   ``namespaceObject``, as on the API server);
4. ``variables`` in order, each visible to later ones as ``variables.<name>``;
5. ``validations``: each false one is a violation, reported with its ``messageExpression``
   (falling back to ``message`` if that errors, as the API server does).

Only core CEL is available (cel-python has no Kubernetes CEL libraries), which is exactly the
contract the policy promises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import celpy

_env = celpy.Environment()
_cache: dict[str, Any] = {}


def _program(expr: str) -> Any:
    if expr not in _cache:
        _cache[expr] = _env.program(_env.compile(expr))
    return _cache[expr]


def cel(expr: str, activation: dict[str, Any]) -> Any:
    """Evaluate ``expr``; raise on CEL errors (cel-python returns them as values)."""
    out = _program(expr).evaluate(activation)
    if isinstance(out, celpy.CELEvalError):
        raise out
    return out


def _selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for req in selector.get("matchExpressions") or []:
        key, op, values = req["key"], req["operator"], req.get("values") or []
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
    return True


def _rule_matches(rules: list[dict[str, Any]], operation: str, resource: str, group: str = "") -> bool:
    for r in rules:
        if (group in r["apiGroups"] or "*" in r["apiGroups"]) \
                and ("v1" in r["apiVersions"] or "*" in r["apiVersions"]) \
                and (operation in r["operations"] or "*" in r["operations"]) \
                and (resource in r["resources"] or "*" in r["resources"]):
            return True
    return False


@dataclass
class Decision:
    applies: bool
    """False when the policy (or binding) does not select the request at all."""
    violations: list[str] = field(default_factory=list)
    """Messages of the failed validations (empty: admitted)."""
    actions: list[str] = field(default_factory=list)

    @property
    def denied(self) -> bool:
        return self.applies and bool(self.violations) and "Deny" in self.actions


def admit(policy: dict[str, Any], binding: dict[str, Any], pod: dict[str, Any], namespace: dict[str, Any],
          operation: str = "CREATE", old_pod: dict[str, Any] | None = None, resource: str = "pods",
          user: str = "tenant-user", groups: tuple[str, ...] = ("system:authenticated",),
          group: str = "", kind: str = "") -> Decision:
    """Run ``policy`` bound by ``binding`` on a request for ``resource`` (of API ``group``, core by
    default) in ``namespace``, made by ``user``."""
    assert binding["spec"]["policyName"] == policy["metadata"]["name"], "binding does not bind this policy"
    spec = policy["spec"]
    ns_labels = (namespace.get("metadata") or {}).get("labels") or {}
    mc = spec["matchConstraints"]
    if not _rule_matches(mc["resourceRules"], operation, resource, group):
        return Decision(False)
    if not _selector_matches(mc.get("namespaceSelector"), ns_labels):
        return Decision(False)
    if not _selector_matches((binding["spec"].get("matchResources") or {}).get("namespaceSelector"), ns_labels):
        return Decision(False)
    activation: dict[str, Any] = {
        "object": celpy.json_to_cel(pod),
        "oldObject": celpy.json_to_cel(old_pod),
        "namespaceObject": celpy.json_to_cel(namespace),
        "request": celpy.json_to_cel({"operation": operation, "namespace": namespace["metadata"]["name"],
                                      "resource": {"group": group, "version": "v1", "resource": resource},
                                      "kind": {"group": group, "version": "v1", "kind": kind or pod.get("kind", "")
                                               if pod else kind},
                                      "userInfo": {"username": user, "groups": list(groups)}}),
        "params": celpy.json_to_cel(None),
    }
    # Match conditions see no namespace (and no variables): the API server evaluates them with a nil
    # namespaceObject (apiserver/pkg/admission/plugin/policy/matchconditions: ``Filter.ForInput(..., nil,
    # RuntimeCELCostBudgetMatchConditions)``), so ``namespaceObject.metadata`` fails there ("no such key").
    # Refused outright here (cel-python's has() on a missing name is lenient): a policy whose match
    # condition reads the namespace fails every request it meets on a real server.
    conditions = {k: v for k, v in activation.items() if k != "namespaceObject"}
    for cond in spec.get("matchConditions") or []:
        if re.search(r"\b(namespaceObject|variables)\b", cond["expression"]):
            raise ValueError(f"matchCondition {cond['name']!r} reads namespaceObject or variables, which the API "
                             "server does not give match conditions (it fails with 'no such key')")
        if not bool(cel(cond["expression"], conditions)):
            return Decision(False)
    variables: dict[str, Any] = {}
    for var in spec.get("variables") or []:
        activation["variables"] = celpy.celtypes.MapType(
            {celpy.celtypes.StringType(k): v for k, v in variables.items()})
        variables[var["name"]] = cel(var["expression"], activation)
    activation["variables"] = celpy.celtypes.MapType({celpy.celtypes.StringType(k): v for k, v in variables.items()})
    violations: list[str] = []
    for v in spec["validations"]:
        if bool(cel(v["expression"], activation)):
            continue
        msg = v.get("message") or f"failed expression: {v['expression']}"
        if v.get("messageExpression"):
            try:
                msg = str(cel(v["messageExpression"], activation))
            except Exception:  # the API server falls back to `message`
                pass
        violations.append(msg)
    return Decision(True, violations, list(binding["spec"]["validationActions"]))
