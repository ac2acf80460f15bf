"""Key-policy helpers shared by the self-checks and hidden checks of exercise 03.

The self-checks use the notes' names (``keyadmin``, ``keyuser``, account 111122223333); the hidden checks
pass a random source (``rng``), which gives every person a new name and the account a new ID, so an answer
that writes those names into its policies instead of using its arguments fails.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import ACCOUNT, fresh

ACTIONS = ("DescribeKey", "PutKeyPolicy", "EnableKey", "DisableKey", "EnableKeyRotation", "ScheduleKeyDeletion",
           "CancelKeyDeletion", "Encrypt", "Decrypt", "GenerateDataKey", "ReEncryptFrom", "ReEncryptTo", "CreateGrant")
ALL_KMS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
# who -> (the notes' user name, has kms:* in an IAM policy: it counts only where the key policy trusts the account)
_PEOPLE = {"admin": ("keyadmin", False), "user": ("keyuser", False), "stranger": ("stranger", False),
           "iam_admin": ("iamadmin", True), "contractor": ("contractor", True)}
_WORDS = ("ops", "sec", "data", "pay", "ledger", "vault", "audit", "batch", "web", "report", "etl", "hr")


@dataclass(frozen=True)
class Cast:
    """The account and the IAM user names of one run of the checks."""

    account: str = ACCOUNT
    names: tuple = tuple((who, name) for who, (name, _) in _PEOPLE.items())

    @property
    def other_account(self) -> str:
        """One digit away from the account: the typo of lockout case C."""
        return self.account[:-1] + str((int(self.account[-1]) + 1) % 10)

    def arns(self) -> dict:
        people = {"root": f"arn:aws:iam::{self.account}:root", "other_root": f"arn:aws:iam::{self.other_account}:root"}
        people.update({who: f"arn:aws:iam::{self.account}:user/{name}" for who, name in self.names})
        return people


def cast(rng=None) -> Cast:
    """The notes' cast, or (given a random source) a new account ID and new user names."""
    if rng is None:
        return Cast()
    account = ACCOUNT
    while account in (ACCOUNT, "111122223334") or account.startswith("0"):
        account = str(rng.randrange(10**11, 10**12))
    names = tuple((who, f"{rng.choice(_WORDS)}-{who.replace('_', '')}-{rng.randrange(16**4):04x}") for who in _PEOPLE)
    return Cast(account, names)


def _cloud_with_people(seed: int, the_cast: Cast):
    cloud, kms = fresh(seed=seed, account_id=the_cast.account)
    iam = cloud.client("iam")
    for who, name in the_cast.names:
        iam.create_user(UserName=name)
        if _PEOPLE[who][1]:
            iam.put_user_policy(UserName=name, PolicyName="all-kms", PolicyDocument=json.dumps(ALL_KMS))
    return cloud, kms, the_cast.arns()


def _key_with(kms, policy) -> str:
    text = policy if isinstance(policy, str) else json.dumps(policy)
    # The lockout safety check would refuse some answers outright; the checks ask the engine instead.
    # The ARN, not the ID: a principal of another account names the key by ARN.
    return kms.create_key(Policy=text, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["Arn"]


def policy_matrix(make_policy, *, iam_admin: bool = False, seed: int = 31, rng=None):
    """Who may do what under ``make_policy(account, admin_arn, user_arn)``: ({who: {action: allowed}}, account).

    ``who`` is admin, user, stranger (a user named nowhere), root, other_root (another account's root user)
    and, with ``iam_admin``, an IAM user with kms:* in its IAM policy."""
    the_cast = cast(rng)
    cloud, kms, people = _cloud_with_people(seed, the_cast)
    key_id = _key_with(kms, make_policy(cloud.account_id, people["admin"], people["user"]))
    whom = ["admin", "user", "stranger", "root", "other_root"] + (["iam_admin"] if iam_admin else [])
    matrix = {who: {a: cloud.explain(people[who], f"kms:{a}", key_id).allowed for a in ACTIONS} for who in whom}
    return matrix, cloud.account_id


def lockout_cases(rng=None):
    """(label, broken policy, expectations) for exercise 03 task 2; with ``rng``, a new cast and the
    statements of each policy in a random order."""
    the_cast = cast(rng)
    people = the_cast.arns()
    acct = the_cast.account
    user = {"Sid": "Key user", "Effect": "Allow", "Principal": {"AWS": people["user"]},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}
    contractor = {"Sid": "No decrypting for contractors", "Effect": "Deny",
                  "Principal": {"AWS": people["contractor"]}, "Action": "kms:Decrypt", "Resource": "*"}
    checks = [("root", "PutKeyPolicy", True), ("root", "DescribeKey", True), ("user", "Decrypt", True),
              ("user", "Encrypt", True), ("contractor", "Decrypt", False), ("stranger", "Decrypt", False),
              ("other_root", "DescribeKey", False), ("other_root", "Decrypt", False)]
    expectations = {"account": acct, "checks": checks, "cast": the_cast}
    # Case B's Deny is deliberate: it must keep everyone but the user (and now root) out, IAM admins too. Its
    # NotPrincipal names the user without the account, so on AWS it denies the user too: the fix must exempt
    # the user for real (IAM User Guide, "AWS JSON policy elements: NotPrincipal").
    deliberate = {"account": acct, "cast": the_cast,
                  "checks": checks + [("iam_admin", "Decrypt", False), ("iam_admin", "PutKeyPolicy", False)]}
    version = "2012-10-17"
    cases = [
        ("no statement for the account",
         {"Version": version, "Statement": [user, contractor]}, expectations),
        ("a Deny for everyone but the user",
         {"Version": version, "Statement": [
             {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": people["root"]},
              "Action": "kms:*", "Resource": "*"},
             user,
             {"Sid": "Only the user", "Effect": "Deny", "NotPrincipal": {"AWS": [people["user"]]},
              "Action": "kms:*", "Resource": "*"},
             contractor]}, deliberate),
        ("a typo in the account ID",
         {"Version": version, "Statement": [
             {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
              "Principal": {"AWS": people["other_root"]}, "Action": "kms:*", "Resource": "*"},
             user, contractor]}, expectations),
    ]
    if rng is not None:
        for _label, policy, _ in cases:
            rng.shuffle(policy["Statement"])
    return cases


# What to look at when a fixed policy of task 2 gets one principal's decision wrong (a hint, not the answer).
LOCKOUT_HINTS = {
    "root": "the account is trusted through an Allow statement for arn:aws:iam::ACCOUNT:root, with the account ID "
            "fix_lockout is given",
    "user": "a principal the policy allowed must keep its access (a Deny whose NotPrincipal names the user but "
            "not the account denies the user too)",
    "contractor": "a deliberate Deny must stay (an explicit Deny wins over every Allow)",
    "stranger": 'nobody new may gain access: no Principal "*" without a condition that names who',
    "other_root": "no other account may be trusted: check the account ID in each Principal",
    "iam_admin": "the policy's Deny is meant to keep everyone but the user out; exempt only the root user from it "
                 "(NotPrincipal exempts a principal only when it names the principal and its account; AWS "
                 "recommends Principal \"*\" with ArnNotEquals on aws:PrincipalArn)",
}


def explain_all(policy, expectations, seed: int = 32) -> dict:
    """{(who, action): allowed} for the principals and actions ``expectations["checks"]`` names."""
    cloud, kms, people = _cloud_with_people(seed, expectations.get("cast", Cast()))
    key_id = _key_with(kms, policy)
    return {(who, action): cloud.explain(people[who], f"kms:{action}", key_id).allowed
            for who, action, _ in expectations["checks"]}
