"""Self-checks of exercise 03 (key policies).

They use a cast of their own (another account ID, other user names): neither the notes' names, which the
exercise prints, nor the hidden checks', which are random. An answer that writes names into its policy
instead of using its arguments fails here already, as it will at grading.
"""

from __future__ import annotations

import copy
import json
import random

from . import Failed, allows_everyone, expect, self_check
from ._policies import LOCKOUT_HINTS, Cast, cast, explain_all, lockout_cases, policy_matrix

_NAMES = {"admin": "the administrator", "user": "the key user", "stranger": "a user named nowhere",
          "root": "the account's root user", "iam_admin": "an IAM user with kms:* in its IAM policy",
          "contractor": "the contractor", "other_root": "another account"}
_SEED = 2027  # the self-checks' cast


def _rng() -> random.Random:
    return random.Random(_SEED)


def lockout_policies() -> list[tuple[str, dict]]:
    """(label, broken policy) of task 2, with the notes' account and names: what the exercise prints."""
    return [(label, policy) for label, policy, _ in lockout_cases()]


def _policy_ok(policy, the_cast: Cast) -> None:
    if isinstance(policy, str):  # JSON text is what PutKeyPolicy takes: the grader accepts it too
        try:
            policy = json.loads(policy)
        except ValueError as exc:
            raise Failed(f"the policy is text but not JSON ({exc})") from None
    expect(isinstance(policy, dict) and isinstance(policy.get("Statement"), list),
           'return a dict like {"Version": "2012-10-17", "Statement": [...]}')
    text = json.dumps(policy)
    notes = Cast()
    written = sorted({name for name in (notes.account, *(f":user/{n}" for _, n in notes.names)) if name in text}
                     - {the_cast.account})
    expect(not written, f"the policy names {', '.join(written)}, which the check did not give your function: use "
                        "its arguments (account and the ARNs), the hidden checks use other names")
    expect(not allows_everyone(policy), 'an Allow statement names Principal "*" with no condition on who the caller '
                                        "is: that is everyone, in every account; name the principals instead")


@self_check("Task 1")
def t1(separated_policy) -> None:
    the_cast = cast(_rng())
    people = the_cast.arns()
    _policy_ok(separated_policy(the_cast.account, people["admin"], people["user"]), the_cast)
    matrix, _ = policy_matrix(separated_policy, rng=_rng())
    if matrix["admin"]["Decrypt"]:
        raise Failed("the administrator may Decrypt: administrators manage the key but must not use it "
                     "(list management actions only; kms:* gives them everything)")
    for action in ("PutKeyPolicy", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion", "EnableKeyRotation"):
        expect(matrix["admin"][action], f"the administrator may not {action}: the key could not be managed")
    for action in ("Encrypt", "Decrypt", "GenerateDataKey", "ReEncryptTo"):
        expect(matrix["user"][action], f"the key user may not {action}")
    for action in ("ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant"):
        expect(not matrix["user"][action], f"the key user may {action}: users use the key, never manage it")
    expect(not any(matrix["stranger"].values()) and not any(matrix["other_root"].values()),
           "someone the policy does not name may use or manage the key")


@self_check("Task 2")
def t2(fix_lockout) -> None:
    for label, broken, expectations in lockout_cases(_rng()):
        fixed = fix_lockout(copy.deepcopy(broken), expectations["account"])
        expect(fixed is not None, "fix_lockout returned None: return the fixed policy")
        _policy_ok(fixed, expectations["cast"])
        got = explain_all(fixed, expectations)
        for who, action, allowed in expectations["checks"]:
            if got[(who, action)] != allowed:
                raise Failed(f"({label}) after the fix {_NAMES[who]} {'may not' if allowed else 'may'} {action}: "
                             + LOCKOUT_HINTS[who])


@self_check("Task 3")
def t3(high_security_policy) -> None:
    the_cast = cast(_rng())
    people = the_cast.arns()
    _policy_ok(high_security_policy(the_cast.account, people["admin"], people["user"]), the_cast)
    matrix, _ = policy_matrix(high_security_policy, iam_admin=True, rng=_rng())
    if matrix["iam_admin"]["Decrypt"] or matrix["root"]["Decrypt"]:
        raise Failed("the account's root user (and so any IAM user with kms:* in its IAM policy) may Decrypt: "
                     "a high-security policy has no statement for arn:aws:iam::ACCOUNT:root")
    for action in ("Encrypt", "Decrypt", "GenerateDataKey"):
        expect(matrix["user"][action], f"the application may not {action}")
    expect(not matrix["admin"]["Decrypt"], "the administrator may Decrypt: administrators manage the key but must "
                                           "not use it (kms:* includes cryptography)")
    expect(matrix["admin"]["PutKeyPolicy"], "nobody may PutKeyPolicy: without the account trust, only the "
                                            "administrator named in the policy can ever change it")
    for action in ("DescribeKey", "ScheduleKeyDeletion", "DisableKey"):
        expect(matrix["admin"][action], f"the administrator may not {action}: the key could not be managed")
    expect(not matrix["user"]["PutKeyPolicy"], "the application may PutKeyPolicy: it uses the key, never manages it")
    expect(not any(matrix["stranger"].values()) and not any(matrix["other_root"].values()),
           "someone the policy does not name may use or manage the key")
