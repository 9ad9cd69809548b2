"""Bad input, generally: any valid platform (tests/fixtures/random_platforms.py) with ONE value
anywhere in it replaced by a wrong one — another type, out of range, empty, a reserved or
malformed string, an unknown key — is either still valid or refused with a ``SpecError`` whose
every problem names the field (``  - <path>: <what and the fix>``), before anything is created.
Never a traceback from deeper in the validation (a TypeError on an unhashable value was one)."""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenancy.plan.validate import load_platform
from tenancy.spec import SpecError
from tests.fixtures.random_platforms import platform
from tests.fixtures.specs import spec_with

WRONG: list[Any] = [None, "", "x", -1, 0, 10**9, 1.5, True, [], {}, ["a"], {"a": 1}, [{"a": 1}], "10.0.0.0/8",
                    "0.0.0.0/0", "-bad-", "UPPER", "a" * 80, "arn:aws:iam::1:role/x", "1.29", "1.36", 65536,
                    "tcp", "kube-system", "tenancy-x"]
PROBLEM = re.compile(r"^  - [A-Za-z][\w\[\]\-]*(?: \(.*?\))?(?:\.[\w\[\]\-]+)*: \S")
"""One problem line: the field's path (``tenants[2] (t0).quota.pods``), a colon, the message."""


def _paths(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*path, i))


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def _judge(spec: dict[str, Any]) -> None:
    try:
        load_platform(spec)
    except SpecError as e:
        lines = str(e).splitlines()
        assert lines[0].startswith("invalid platform spec"), str(e)
        problems = [x for x in lines[1:] if x.startswith("  - ")]
        assert problems, str(e)
        assert all(PROBLEM.match(x) for x in problems), str(e)


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False), data=st.data())
def test_one_wrong_value_anywhere_is_refused_naming_its_field_or_still_valid(rng: random.Random,
                                                                             data: st.DataObject) -> None:
    spec = platform(rng)
    path = data.draw(st.sampled_from(list(_paths(spec))), label="path")
    bad = copy.deepcopy(spec)
    if data.draw(st.booleans(), label="unknown key") and isinstance(_parent(bad, path), dict):
        _parent(bad, path)["unknownKey"] = 1
    else:
        _set(bad, path, data.draw(st.sampled_from(WRONG), label="value"))
    _judge(bad)


def _parent(obj: Any, path: tuple[Any, ...]) -> Any:
    for p in path[:-1]:
        obj = obj[p]
    return obj


@pytest.mark.parametrize("value", [{"a": 1}, [1], None, True, "3"])
def test_regression_a_pool_slot_of_the_wrong_type_is_a_field_error(value: Any) -> None:
    """A dict as ``nodePools[0].slot`` raised ``TypeError: unhashable type`` in the slot bookkeeping."""
    spec = spec_with(nodePools=[{"name": "shared", "slot": value}])
    with pytest.raises(SpecError, match=r"nodePools\[0\] \(shared\)\.slot"):
        load_platform(spec)
    if value is not None:  # a retired tenant's slot is optional (a pooled tenant had none)
        retired = spec_with(retiredTenants=[{"name": "old", "slot": value}])
        with pytest.raises(SpecError, match=r"retiredTenants\[0\]"):
            load_platform(retired)
