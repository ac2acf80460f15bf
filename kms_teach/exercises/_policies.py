"""Key-policy helpers shared by the self-checks and hidden checks of exercise 03."""

from __future__ import annotations

import json

from . import fresh

ACTIONS = ("DescribeKey", "PutKeyPolicy", "EnableKey", "DisableKey", "EnableKeyRotation", "ScheduleKeyDeletion",
           "CancelKeyDeletion", "Encrypt", "Decrypt", "GenerateDataKey", "ReEncryptFrom", "ReEncryptTo", "CreateGrant")
OTHER_ACCOUNT = "111122223334"  # one digit away from the default account: the typo of lockout case C
ALL_KMS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}


def _cloud_with_people(seed: int):
    cloud, kms = fresh(seed=seed)
    iam = cloud.client("iam")
    acct = cloud.account_id
    people = {"root": f"arn:aws:iam::{acct}:root", "other_root": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}
    for who, name, powerful in (("admin", "keyadmin", False), ("user", "keyuser", False),
                                ("stranger", "stranger", False), ("iam_admin", "iamadmin", True),
                                ("contractor", "contractor", True)):
        iam.create_user(UserName=name)
        if powerful:  # kms:* in an IAM policy: it counts only where the key policy trusts the account
            iam.put_user_policy(UserName=name, PolicyName="all-kms", PolicyDocument=json.dumps(ALL_KMS))
        people[who] = f"arn:aws:iam::{acct}:user/{name}"
    return cloud, kms, people


def _key_with(kms, policy) -> str:
    text = policy if isinstance(policy, str) else json.dumps(policy)
    # The lockout safety check would refuse some answers outright; the checks ask the engine instead.
    # The ARN, not the ID: a principal of another account names the key by ARN.
    return kms.create_key(Policy=text, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["Arn"]


def policy_matrix(make_policy, *, iam_admin: bool = False, seed: int = 31):
    """Who may do what under ``make_policy(account, admin_arn, user_arn)``: {who: {action: allowed}}."""
    cloud, kms, people = _cloud_with_people(seed)
    key_id = _key_with(kms, make_policy(cloud.account_id, people["admin"], people["user"]))
    whom = ["admin", "user", "stranger", "root"] + (["iam_admin"] if iam_admin else [])
    matrix = {who: {a: cloud.explain(people[who], f"kms:{a}", key_id).allowed for a in ACTIONS} for who in whom}
    return matrix, cloud.account_id


def lockout_cases():
    """(label, broken policy, expectations) for exercise 03 task 2."""
    _, _, people = _cloud_with_people(1)
    acct = people["root"].split(":")[4]
    user = {"Sid": "Key user", "Effect": "Allow", "Principal": {"AWS": people["user"]},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}
    contractor = {"Sid": "No decrypting for contractors", "Effect": "Deny",
                  "Principal": {"AWS": people["contractor"]}, "Action": "kms:Decrypt", "Resource": "*"}
    checks = [("root", "PutKeyPolicy", True), ("root", "DescribeKey", True), ("user", "Decrypt", True),
              ("user", "Encrypt", True), ("contractor", "Decrypt", False), ("stranger", "Decrypt", False),
              ("other_root", "DescribeKey", False), ("other_root", "Decrypt", False)]
    expectations = {"account": acct, "checks": checks}
    # Case B's Deny is deliberate: it must keep everyone but the user (and now root) out, IAM admins too.
    deliberate = {"account": acct, "checks": checks + [("iam_admin", "Decrypt", False),
                                                       ("iam_admin", "PutKeyPolicy", False)]}
    version = "2012-10-17"
    return [
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
              "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
             user, contractor]}, expectations),
    ]


def explain_all(policy, expectations, seed: int = 32) -> dict:
    """{(who, action): allowed} for the principals and actions ``expectations["checks"]`` names."""
    cloud, kms, people = _cloud_with_people(seed)
    key_id = _key_with(kms, policy)
    return {(who, action): cloud.explain(people[who], f"kms:{action}", key_id).allowed
            for who, action, _ in expectations["checks"]}
