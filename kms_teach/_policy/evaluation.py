"""Layer 2: evaluating policy statements against a request, with the reasons.

This module answers "does this statement apply to this request, and why (or
why not)?" for every part of a statement: Principal/NotPrincipal,
Action/NotAction, Resource/NotResource and every Condition operator AWS
uses with KMS. The permissions engine combines the per-statement results of a
key policy, the caller's identity policies and the key's grants into one
decision; because the same :class:`StatementResult` objects explain the
decision, an explanation can never disagree with what a call does.

Condition semantics (IAM User Guide, "Condition operators" and "Multivalued
context keys"):

* several operators in one Condition, and several keys under one operator,
  must all be true (AND); several values for one key: any may match (OR);
* a missing key makes a positive operator false and a negated one
  (``StringNotEquals``, ``ArnNotLike``, ...) true; ``...IfExists`` makes a
  missing key true;
* ``ForAnyValue:`` is true when some request value matches (false when the key
  is missing or empty); ``ForAllValues:`` when every request value matches
  (true when the key is missing or empty);
* ``Null`` tests presence: ``"true"`` means the key must be absent.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from .document import Statement

__all__ = [
    "EvalRequest",
    "StatementResult",
    "evaluate_statement",
    "wildcard_match",
    "CONDITION_OPERATORS",
]

Value = Any  # str | bool | int | float | datetime | list of those


class EvalRequest:
    """What is being asked: who, which action, on what, with which context keys."""

    __slots__ = ("principal_arn", "principal_account", "principal_type", "action", "resource", "context", "role_arn",
                 "principal_id")

    def __init__(self, principal_arn: str, principal_account: str, principal_type: str, action: str, resource: str,
                 context: dict[str, Value] | None = None, role_arn: str | None = None, *,
                 principal_id: str | None = None):
        self.principal_arn = principal_arn
        self.principal_account = principal_account
        self.principal_type = principal_type  # Root, IAMUser, AssumedRole, AWSService
        self.action = action  # e.g. "kms:Encrypt"
        self.resource = resource  # ARN
        self.context = context if context is not None else {}
        # For assumed-role sessions: the role's ARN (a key policy names roles, not sessions).
        self.role_arn = role_arn
        # The caller's unique ID (AIDA... for a user; AROA...:session for a role session): a policy
        # statement bound to a user or role matches only the principal of that unique ID.
        self.principal_id = principal_id

    def value(self, key: str) -> Value | None:
        # Condition keys are case-insensitive; their tag/context suffixes are not.
        if key in self.context:
            return self.context[key]
        lowered = _lower_prefix(key)
        for k, v in self.context.items():
            if _lower_prefix(k) == lowered:
                return v
        return None


def _lower_prefix(key: str) -> str:
    """Lower-case the condition key's name but keep a context suffix (kms:EncryptionContext:<key>) as is."""
    for prefix in ("kms:encryptioncontext:", "aws:resourcetag/", "aws:requesttag/", "aws:principaltag/"):
        if key.lower().startswith(prefix):
            return prefix + key[len(prefix):]
    return key.lower()


@dataclass(frozen=True)
class StatementResult:
    """How one statement fared against one request."""

    source: str  # "key policy", "identity policy <name>", ...
    statement: Statement
    applies: bool  # every part matched: the statement's Effect applies
    principal_match: str | None  # None, "principal" (names the caller) or "account" (names the caller's account root)
    detail: str  # why it applies, or the first part that did not match

    @property
    def effect(self) -> str:
        return self.statement.effect

    @property
    def label(self) -> str:
        return f"{self.source}, {self.statement.label}"


# ---------------------------------------------------------------------------
# Wildcards
# ---------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, case_insensitive: bool) -> re.Pattern:
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if case_insensitive else 0))


def wildcard_match(pattern: str, value: str, *, case_insensitive: bool = False) -> bool:
    """IAM's ``*`` (any run of characters) and ``?`` (one character) matching."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if case_insensitive else pattern == value
    return _wildcard_regex(pattern, case_insensitive).fullmatch(value) is not None


def _arn_match(pattern: str, arn: str) -> bool:
    """ArnLike: each of the six colon-separated parts matched on its own (wildcards do not cross parts)."""
    p_parts = pattern.split(":", 5)
    a_parts = arn.split(":", 5)
    if len(p_parts) != 6 or len(a_parts) != 6:
        return wildcard_match(pattern, arn)
    return all(wildcard_match(p, a) for p, a in zip(p_parts, a_parts))


# ---------------------------------------------------------------------------
# Principals
# ---------------------------------------------------------------------------

_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")
_ROLE = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(?:.*/)?([^/]+)$")


def _principal_matches(block: dict[str, list[str]], req: EvalRequest, bindings: dict[str, str] | None = None
                       ) -> str | None:
    """'principal' if the block names the caller, 'account' if it names the caller's account, else None.

    ``bindings`` maps the user and role ARNs the policy named, when it was stored, to their unique IDs:
    such a name matches only the principal of that unique ID, so a user or role deleted and created
    again under the same name is not the one the policy meant ("If you delete and recreate the user,
    ... the new user does not have access", IAM User Guide, "Unique identifiers"). A policy may also
    name a unique ID itself (as AWS shows a deleted principal).
    """
    if "*" in block:
        return "principal"
    if req.principal_type == "AWSService":
        return "principal" if req.principal_arn in block.get("Service", []) or "*" in block.get("Service", []) else None
    best = None
    caller_id = req.principal_id.split(":", 1)[0] if req.principal_id else None
    for name in block.get("AWS", []):
        if name == "*":
            return "principal"
        if name == req.principal_arn or (req.role_arn is not None and name == req.role_arn):
            # A caller without a unique ID (a Principal made by hand, not by IAM) is matched by ARN.
            bound = bindings.get(name) if bindings else None
            if bound is None or caller_id is None or bound == caller_id:
                return "principal"
            continue
        if caller_id is not None and name == caller_id:
            return "principal"
        account = name if name.isdigit() else (_ROOT.match(name).group(1) if _ROOT.match(name) else None)
        if account is not None and account == req.principal_account:
            # The account root stands for the account: it admits the root user itself, and
            # delegates to the account's IAM policies for everyone else.
            if req.principal_type == "Root":
                return "principal"
            best = "account"
    return best


def _not_principal_gaps(block: dict[str, list[str]], req: EvalRequest, bindings: dict[str, str] | None = None
                        ) -> list[str]:
    """What of the caller's chain a Deny's NotPrincipal does not name: empty when the caller is exempt.

    AWS checks each identity of a caller's chain against NotPrincipal: the account, then the user; for an
    assumed-role session the account, then the role, then the session (IAM User Guide, "AWS JSON policy
    elements: NotPrincipal",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html: "you
    must also specify the account ARN of the not-denied principal. Otherwise, the policy might deny access
    to the entire account containing the principal"). So naming the account alone exempts only its root
    user, and naming a user without the account exempts nobody of that account.

    Fidelity: AWS says a Deny "might" reach an identity left out, depending on the service; the
    simulation always takes the strict reading (every link of the chain must be named), which is also
    the only reading under which a policy is sure to work on AWS.
    """
    if "*" in block or "*" in block.get("AWS", []):
        return []
    if req.principal_type == "AWSService":
        named = req.principal_arn in block.get("Service", [])
        return [] if named else [req.principal_arn]
    names = block.get("AWS", [])
    caller_id = req.principal_id.split(":", 1)[0] if req.principal_id else None

    def names_identity(arn: str | None) -> bool:
        if arn is None:
            return False
        if arn in names:
            # A name bound to a unique ID when the policy was stored names only that principal.
            bound = bindings.get(arn) if bindings else None
            if bound is None or caller_id is None or bound == caller_id:
                return True
        # A policy may name a unique ID (AIDA... for a user, AROA... for a role).
        return caller_id is not None and caller_id in names

    def names_account() -> bool:
        for name in names:
            account = name if name.isdigit() else (_ROOT.match(name).group(1) if _ROOT.match(name) else None)
            if account is not None and account == req.principal_account:
                return True
        return False

    gaps = [] if names_account() else [f"the account {req.principal_account}"]
    if req.principal_type == "Root":
        return gaps
    if req.principal_type == "AssumedRole" and req.role_arn is not None:
        if not names_identity(req.role_arn):
            gaps.append(f"the role {req.role_arn}")
        if req.principal_arn not in names:
            gaps.append(f"the session {req.principal_arn}")
        return gaps
    if not names_identity(req.principal_arn):
        gaps.append(req.principal_arn)
    return gaps


# ---------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------


def _as_list(value: Value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def _to_str(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _to_number(value: Value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number == number else None  # NaN compares with nothing


def _to_date(value: Value) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    text = str(value)
    try:
        return _dt.datetime.fromtimestamp(float(text), _dt.timezone.utc)
    except (ValueError, OverflowError, OSError):  # not a number, or an epoch past the calendar (10^17)
        pass
    try:
        parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)
    except (ValueError, OverflowError):
        return None


def _cmp_string(op: str):
    if op == "StringEquals":
        return lambda a, b: _to_str(a) == b
    if op == "StringEqualsIgnoreCase":
        return lambda a, b: _to_str(a).lower() == b.lower()
    if op == "StringLike":
        return lambda a, b: wildcard_match(b, _to_str(a))
    raise KeyError(op)


def _cmp_numeric(op: str):
    tests = {
        "NumericEquals": lambda x, y: x == y,
        "NumericLessThan": lambda x, y: x < y,
        "NumericLessThanEquals": lambda x, y: x <= y,
        "NumericGreaterThan": lambda x, y: x > y,
        "NumericGreaterThanEquals": lambda x, y: x >= y,
    }
    test = tests[op]

    def cmp(a, b):
        x, y = _to_number(a), _to_number(b)
        return x is not None and y is not None and test(x, y)

    return cmp


def _cmp_date(op: str):
    tests = {
        "DateEquals": lambda x, y: x == y,
        "DateLessThan": lambda x, y: x < y,
        "DateLessThanEquals": lambda x, y: x <= y,
        "DateGreaterThan": lambda x, y: x > y,
        "DateGreaterThanEquals": lambda x, y: x >= y,
    }
    test = tests[op]

    def cmp(a, b):
        x, y = _to_date(a), _to_date(b)
        return x is not None and y is not None and test(x, y)

    return cmp


def _cmp_ip(a, b) -> bool:
    try:
        return ipaddress.ip_address(_to_str(a)) in ipaddress.ip_network(b, strict=False)
    except ValueError:
        return False


# positive operator -> comparison(request value, policy value); negations are derived
_POSITIVE = {
    "StringEquals": _cmp_string("StringEquals"),
    "StringEqualsIgnoreCase": _cmp_string("StringEqualsIgnoreCase"),
    "StringLike": _cmp_string("StringLike"),
    "NumericEquals": _cmp_numeric("NumericEquals"),
    "NumericLessThan": _cmp_numeric("NumericLessThan"),
    "NumericLessThanEquals": _cmp_numeric("NumericLessThanEquals"),
    "NumericGreaterThan": _cmp_numeric("NumericGreaterThan"),
    "NumericGreaterThanEquals": _cmp_numeric("NumericGreaterThanEquals"),
    "DateEquals": _cmp_date("DateEquals"),
    "DateLessThan": _cmp_date("DateLessThan"),
    "DateLessThanEquals": _cmp_date("DateLessThanEquals"),
    "DateGreaterThan": _cmp_date("DateGreaterThan"),
    "DateGreaterThanEquals": _cmp_date("DateGreaterThanEquals"),
    "Bool": lambda a, b: _to_str(a).lower() == b.lower(),
    "BinaryEquals": lambda a, b: _to_str(a) == b,
    "IpAddress": _cmp_ip,
    "ArnEquals": lambda a, b: _to_str(a) == b,
    "ArnLike": lambda a, b: _arn_match(b, _to_str(a)),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
CONDITION_OPERATORS = frozenset(_POSITIVE) | frozenset(_NEGATED) | {"Null"}


def split_operator(operator: str) -> tuple[str | None, str, bool]:
    """(set qualifier or None, base operator, if-exists) of a condition operator; KeyError if unknown."""
    qualifier = None
    for q in ("ForAnyValue:", "ForAllValues:"):
        if operator.startswith(q):
            qualifier, operator = q[:-1], operator[len(q):]
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    base = operator[: -len("IfExists")] if if_exists else operator
    if base not in CONDITION_OPERATORS:
        raise KeyError(operator)
    return qualifier, base, if_exists


def _condition_holds(operator: str, key: str, policy_values: list[str], req: EvalRequest) -> tuple[bool, str]:
    try:
        qualifier, base, if_exists = split_operator(operator)
    except KeyError:
        return False, f"unknown condition operator {operator}"
    raw = req.value(key)
    present = raw is not None and not (isinstance(raw, (list, tuple)) and len(raw) == 0 and qualifier is None)
    shown = _describe_value(raw)
    if base == "Null":
        want_absent = any(v.lower() == "true" for v in policy_values)
        absent = raw is None or (isinstance(raw, (list, tuple)) and not raw)
        ok = absent == want_absent
        return ok, f"Null {key} = {policy_values[0]}: the key is {'absent' if absent else 'present'}"
    negated = base in _NEGATED
    cmp = _POSITIVE[_NEGATED[base]] if negated else _POSITIVE[base]
    values = _as_list(raw)
    if qualifier == "ForAllValues":
        if not values:
            return True, f"{operator} {key}: no request values, so every one of them matches"
        ok = all((not any(cmp(v, p) for p in policy_values)) if negated else any(cmp(v, p) for p in policy_values)
                 for v in values)
        return ok, f"{operator} {key} {policy_values}: request values {shown}"
    if qualifier == "ForAnyValue":
        if not values:
            return False, f"{operator} {key}: the request has no value for it"
        ok = any((not any(cmp(v, p) for p in policy_values)) if negated else any(cmp(v, p) for p in policy_values)
                 for v in values)
        return ok, f"{operator} {key} {policy_values}: request values {shown}"
    if not present:
        if if_exists:
            return True, f"{operator} {key}: the key is absent, so ...IfExists holds"
        if negated:
            return True, f"{operator} {key}: the key is absent, so the negated operator holds"
        return False, f"{operator} {key}: the request has no {key}"
    matched = any(cmp(v, p) for v in values for p in policy_values)
    ok = not matched if negated else matched
    return ok, f"{operator} {key} {policy_values}: request value {shown}"


def _describe_value(value: Value) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_to_str(v) for v in value) + "]"
    return repr(_to_str(value))


# ---------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------


def _any_action(patterns: Iterable[str], action: str) -> bool:
    return any(p == "*" or wildcard_match(p, action, case_insensitive=True) for p in patterns)


def _any_resource(patterns: Iterable[str], resource: str) -> bool:
    return any(p == "*" or _arn_match(p, resource) for p in patterns)


def evaluate_statement(
    statement: Statement, req: EvalRequest, source: str, *, resource_policy: bool,
    bindings: dict[str, str] | None = None,
) -> StatementResult:
    """Does ``statement`` apply to ``req``? With the reason, part by part (``bindings``: see
    :func:`_principal_matches`)."""

    def no(detail: str, principal_match: str | None = None) -> StatementResult:
        return StatementResult(source, statement, False, principal_match, detail)

    principal_match = None
    not_principal_note = ""
    if resource_policy:
        if statement.principal is not None:
            principal_match = _principal_matches(statement.principal, req, bindings)
            if principal_match is None:
                return no(f"its Principal does not name {req.principal_arn} or its account")
        elif statement.not_principal is not None:
            gaps = _not_principal_gaps(statement.not_principal, req, bindings)
            if not gaps:
                return no(f"its NotPrincipal names {req.principal_arn} and every identity it acts through, "
                          "so it is exempt")
            principal_match = "principal"
            not_principal_note = _not_principal_note(req, gaps)
        else:
            return no("it names no principal")
    if statement.action is not None:
        if not _any_action(statement.action, req.action):
            return no(f"its Action {statement.action} does not include {req.action}", principal_match)
    elif statement.not_action is not None:
        if _any_action(statement.not_action, req.action):
            return no(f"its NotAction excludes {req.action}", principal_match)
    else:
        return no("it has no Action", principal_match)
    if statement.resource is not None:
        if not _any_resource(statement.resource, req.resource):
            return no(f"its Resource {statement.resource} does not include {req.resource}", principal_match)
    elif statement.not_resource is not None:
        if _any_resource(statement.not_resource, req.resource):
            return no(f"its NotResource excludes {req.resource}", principal_match)
    else:
        return no("it has no Resource", principal_match)
    held = []
    for operator, tests in statement.condition.items():
        for key, values in tests.items():
            ok, why = _condition_holds(operator, key, values, req)
            if not ok:
                return no(f"condition not met: {why}", principal_match)
            held.append(why)
    detail = f"{statement.effect} {req.action}" + (f" (conditions met: {'; '.join(held)})" if held else "")
    if principal_match == "account":
        detail += f"; it names the account {req.principal_account}, so the account's IAM policies decide"
    detail += not_principal_note
    return StatementResult(source, statement, True, principal_match, detail)


def _not_principal_note(req: EvalRequest, gaps: list[str]) -> str:
    """Why a NotPrincipal that names part of the caller's chain still lets the statement apply to it
    (nothing to say when it names none of it: the caller is simply one of the others)."""
    if len(gaps) >= _chain_length(req):
        return ""
    return (f"; its NotPrincipal does not name {' or '.join(gaps)}: AWS exempts a principal only when "
            "NotPrincipal names its account and the principal itself (for a role session: the account, "
            "the role and the session)")


def _chain_length(req: EvalRequest) -> int:
    return {"Root": 1, "AssumedRole": 3 if req.role_arn is not None else 2}.get(req.principal_type, 2)

