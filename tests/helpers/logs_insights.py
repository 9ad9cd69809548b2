"""A small evaluator for the subset of the CloudWatch Logs Insights query language tenancy's saved
queries use — an independent judge (no Logs Insights engine runs here), written from the AWS
query syntax reference (CWL_QuerySyntax: ``fields``, ``parse``, ``filter``, ``stats``, ``sort``;
comparison ``=``/``!=``, ``in [...]``, ``like /regex/``, ``and``/``or``/``not``, and the IP
function ``isIpv4InSubnet``), not from tenancy's code.

Log events are dicts with ``@logStream`` and ``@message``; a JSON ``@message`` is discovered like
Logs Insights does (nested keys flattened with dots, list items as ``.0``, ``.1``…). Anything
outside the subset raises ``ValueError`` — a query that grows past it fails its test rather than
being judged wrongly.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

Event = Mapping[str, Any]


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(f"{prefix}.{i}", v, out)
    else:
        out[prefix] = value


def discover(event: Event) -> dict[str, Any]:
    fields = dict(event)
    try:
        body = json.loads(str(event.get("@message", "")))
    except ValueError:
        body = None
    if isinstance(body, dict):
        _flatten("", body, fields)
    return fields


def _split_commands(query: str) -> list[str]:
    out, cur, quote, regex = [], "", None, False
    for ch in query:
        if quote:
            cur += ch
            quote = None if ch == quote else quote
            continue
        if ch == '"':
            quote = ch
        elif ch == "/" and not regex and re.search(r"\blike\s*$", cur):
            regex = True
        elif ch == "/" and regex:
            regex = False
        if ch == "|" and not regex:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    out.append(cur.strip())
    return [c for c in out if c]


_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<re>/(?:[^/\\]|\\.)*/)|(?P<op>!=|=|\(|\)|\[|\]|,)'
                    r'|(?P<num>-?\d+(?:\.\d+)?)|(?P<id>[@A-Za-z_][\w.@-]*))')


def _tokens(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"outside the evaluated subset at {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Expr:
    """Recursive descent: or → and → not → comparison → atom."""

    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        t = self.peek()
        if t is None or (value is not None and t[1] != value):
            raise ValueError(f"expected {value!r}, got {t}")
        self.i += 1
        return t

    def parse(self) -> Any:
        node = self._or()
        if self.peek() is not None:
            raise ValueError(f"trailing {self.peek()}")
        return node

    def _or(self) -> Any:
        node = self._and()
        while self.peek() == ("id", "or"):
            self.take()
            node = ("or", node, self._and())
        return node

    def _and(self) -> Any:
        node = self._not()
        while self.peek() == ("id", "and"):
            self.take()
            node = ("and", node, self._not())
        return node

    def _not(self) -> Any:
        if self.peek() == ("id", "not"):
            self.take()
            return ("not", self._not())
        return self._cmp()

    def _cmp(self) -> Any:
        left = self._atom()
        t = self.peek()
        if t in (("op", "="), ("op", "!=")):
            self.take()
            return (t[1], left, self._atom())
        if t == ("id", "in"):
            self.take()
            return ("in", left, self._atom())
        if t == ("id", "like"):
            self.take()
            kind, pat = self.take()
            if kind != "re":
                raise ValueError("like needs a /regex/ here")
            return ("like", left, re.compile(pat[1:-1]))
        return left

    def _atom(self) -> Any:
        kind, v = self.take()
        if kind == "str":
            return ("lit", json.loads(v))
        if kind == "num":
            return ("lit", float(v))
        if v == "(":
            node = self._or()
            self.take(")")
            return node
        if v == "[":
            items = []
            while self.peek() != ("op", "]"):
                items.append(self._atom())
                if self.peek() == ("op", ","):
                    self.take()
            self.take("]")
            return ("list", items)
        if kind == "id" and self.peek() == ("op", "("):
            self.take("(")
            args = [self._or()]
            while self.peek() == ("op", ","):
                self.take()
                args.append(self._or())
            self.take(")")
            if v != "isIpv4InSubnet":
                raise ValueError(f"function {v} is outside the evaluated subset")
            return ("ipin", *args)
        if kind == "id":
            return ("field", v)
        raise ValueError(f"unexpected {v!r}")


def _eval(node: Any, row: Mapping[str, Any]) -> Any:
    op = node[0]
    if op == "lit":
        return node[1]
    if op == "field":
        return row.get(node[1])
    if op == "list":
        return [_eval(n, row) for n in node[1]]
    if op == "and":
        return bool(_eval(node[1], row)) and bool(_eval(node[2], row))
    if op == "or":
        return bool(_eval(node[1], row)) or bool(_eval(node[2], row))
    if op == "not":
        return not _eval(node[1], row)
    if op in ("=", "!="):
        a, b = _eval(node[1], row), _eval(node[2], row)
        same = a is not None and (str(a) == str(b) or _num(a) == _num(b) is not None)
        return same if op == "=" else (a is not None and not same)
    if op == "in":
        a = _eval(node[1], row)
        return a is not None and str(a) in [str(x) for x in _eval(node[2], row)]
    if op == "like":
        a = _eval(node[1], row)
        return a is not None and node[2].search(str(a)) is not None
    if op == "ipin":
        a, net = _eval(node[1], row), _eval(node[2], row)
        try:
            return ipaddress.IPv4Address(str(a)) in ipaddress.IPv4Network(str(net))
        except ValueError:
            return False
    raise ValueError(op)


def _num(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _glob(pattern: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in pattern.split("*")]
    return re.compile("^" + "(.*?)".join(parts) + "$")


def run(query: str, events: Iterable[Event]) -> list[dict[str, Any]]:
    """The result rows of ``query`` over ``events``."""
    rows = [discover(e) for e in events]
    for cmd in _split_commands(query):
        verb, _, rest = cmd.partition(" ")
        if verb == "fields":
            continue  # projection only: every field stays available to later commands
        elif verb == "parse":
            m = re.match(r'^@message\s+"((?:[^"\\]|\\.)*)"\s+as\s+(.+)$', rest.strip())
            if not m:
                raise ValueError(f"parse form outside the subset: {rest!r}")
            rx, names = _glob(m.group(1)), [n.strip() for n in m.group(2).split(",")]
            out = []
            for r in rows:
                hit = rx.match(str(r.get("@message", "")))
                ok = hit is not None and len(hit.groups()) == len(names)
                out.append({**r, **dict(zip(names, hit.groups(), strict=True))} if hit is not None and ok else r)
            rows = out
        elif verb == "filter":
            expr = _Expr(rest).parse()
            rows = [r for r in rows if _eval(expr, r)]
        elif verb == "stats":
            aggs_text, _, by_text = rest.partition(" by ")
            by = [b.strip() for b in by_text.split(",")] if by_text else []
            aggs = []
            for a in aggs_text.split(","):
                m = re.match(r"^\s*(count|sum)\((\*|[\w.@]+)\)\s+as\s+(\w+)\s*$", a)
                if not m:
                    raise ValueError(f"aggregate outside the subset: {a!r}")
                aggs.append(m.groups())
            groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
            for r in rows:
                groups.setdefault(tuple(r.get(b) for b in by), []).append(r)
            rows = []
            for key, members in groups.items():
                row: dict[str, Any] = dict(zip(by, key, strict=True))
                for fn, arg, name in aggs:
                    row[name] = len(members) if fn == "count" else sum(_num(m.get(arg)) or 0 for m in members)
                rows.append(row)
        elif verb == "sort":
            m = re.match(r"^([\w.@]+)\s*(asc|desc)?$", rest.strip())
            if not m:
                raise ValueError(f"sort outside the subset: {rest!r}")
            rows.sort(key=lambda r: (_num(r.get(m.group(1))) or 0), reverse=m.group(2) != "asc")
        else:
            raise ValueError(f"command {verb!r} outside the evaluated subset")
    return rows
