"""Self-checks of exercise 03 (key policies)."""

from __future__ import annotations

import copy

from . import Failed, allows_everyone, expect, self_check
from ._policies import explain_all, lockout_cases, policy_matrix

_NAMES = {"admin": "the administrator", "user": "the key user", "stranger": "a user named nowhere",
          "root": "the account's root user", "iam_admin": "an IAM user with kms:* in its IAM policy",
          "contractor": "the contractor", "other_root": "another account"}


def _policy_ok(policy) -> None:
    expect(isinstance(policy, dict) and isinstance(policy.get("Statement"), list),
           'return a dict like {"Version": "2012-10-17", "Statement": [...]}')
    expect(not allows_everyone(policy), 'an Allow statement names Principal "*": that is everyone, in every '
                                        "account; name the principals instead")


@self_check("Task 1")
def t1(separated_policy) -> None:
    _policy_ok(separated_policy("111122223333", "arn:aws:iam::111122223333:user/a",
                                "arn:aws:iam::111122223333:user/u"))
    matrix, _ = policy_matrix(separated_policy)
    if matrix["admin"]["Decrypt"]:
        raise Failed("the administrator may Decrypt: administrators manage the key but must not use it "
                     "(list management actions only; kms:* gives them everything)")
    expect(matrix["admin"]["PutKeyPolicy"], "the administrator may not PutKeyPolicy: the key could not be managed")
    expect(matrix["user"]["Decrypt"] and matrix["user"]["Encrypt"], "the key user may not Encrypt and Decrypt")
    expect(not matrix["user"]["ScheduleKeyDeletion"], "the key user may schedule the key's deletion")


@self_check("Task 2")
def t2(fix_lockout) -> None:
    label, broken, expectations = lockout_cases()[0]
    fixed = fix_lockout(copy.deepcopy(broken), expectations["account"])
    _policy_ok(fixed)
    got = explain_all(fixed, expectations)
    for who, action, allowed in expectations["checks"]:
        if got[(who, action)] != allowed:
            raise Failed(f"({label}) after the fix {_NAMES[who]} {'may not' if allowed else 'may'} {action}"
                         + (": the account is trusted through a statement for its root user, "
                            "arn:aws:iam::ACCOUNT:root" if who == "root" else ""))


@self_check("Task 3")
def t3(high_security_policy) -> None:
    _policy_ok(high_security_policy("111122223333", "arn:aws:iam::111122223333:user/a",
                                    "arn:aws:iam::111122223333:role/app"))
    matrix, _ = policy_matrix(high_security_policy, iam_admin=True)
    if matrix["iam_admin"]["Decrypt"] or matrix["root"]["Decrypt"]:
        raise Failed("the account's root user (and so any IAM user with kms:* in its IAM policy) may Decrypt: "
                     "a high-security policy has no statement for arn:aws:iam::ACCOUNT:root")
    expect(matrix["user"]["Decrypt"], "the application may not Decrypt")
    expect(matrix["admin"]["PutKeyPolicy"], "nobody may PutKeyPolicy: without the account trust, only the "
                                            "administrator named in the policy can ever change it")
