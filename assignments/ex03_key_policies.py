# ---
# assignment: ex03_key_policies
# title: Key policies - role separation, a lockout fixed, and a key that does not trust the account
# ---

# %% [markdown]
# # Exercise 03: key policies
#
# Goes with notebook [03_key_policies](../notebooks/03_key_policies.ipynb). Each function returns a **key policy** as a Python dict
# (`{"Version": "2012-10-17", "Statement": [...]}`, or the same as JSON text); the checks create keys with
# it and ask the permissions engine who may do what. Use the ARNs and the account ID your function is
# given: the hidden checks call it with other names and another account. `cloud.explain(principal, action, key_id)` is your friend:
# it gives the same decision a call would get, with the statements that decided it.

# %% [setup]
import copy
import json

import kms_teach
from kms_teach.exercises import ex03 as check

cloud = kms_teach.Cloud(seed=2026)
kms = cloud.client("kms", region_name="us-east-1")
ACCOUNT = cloud.account_id

# %% [markdown]
# ## Task 1 (3 points): administrators manage, users use
#
# Write `separated_policy(account, admin_arn, user_arn)`. The key administrator `admin_arn` may manage
# the key (at least DescribeKey, PutKeyPolicy, EnableKey, DisableKey, EnableKeyRotation,
# ScheduleKeyDeletion, CancelKeyDeletion) but must **not** be able to use it for cryptography; the
# key user `user_arn` may use it (Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey) but not
# manage it. Nobody else may do anything except through the account, if you trust it.

# %% [answer t1]
def separated_policy(account, admin_arn, user_arn):
    ### BEGIN SOLUTION
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Allow access for Key Administrators", "Effect": "Allow", "Principal": {"AWS": admin_arn},
             "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                        "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                        "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
                        "kms:RotateKeyOnDemand"],
             "Resource": "*"},
            {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": user_arn},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
             "Resource": "*"},
        ],
    }
    ### END SOLUTION

# %% [check t1 points=3 "Separate key administrators from key users"]
check.t1(separated_policy)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import grading_rng, policy_matrix
matrix, acct = policy_matrix(lambda a, admin, user: separated_policy(a, admin, user), rng=grading_rng())
for action in ("DescribeKey", "PutKeyPolicy", "EnableKey", "DisableKey", "EnableKeyRotation",
               "ScheduleKeyDeletion", "CancelKeyDeletion"):
    assert matrix["admin"][action], (f"the administrator may not {action}: is admin_arn (the argument, not a name "
                                     "of your own) the Principal of a statement that allows it?")
for action in ("Encrypt", "Decrypt", "GenerateDataKey", "ReEncryptFrom"):
    assert not matrix["admin"][action], (f"the administrator may {action}: administrators must not use the key "
                                         "(list the management actions; kms:* includes cryptography)")
for action in ("Encrypt", "Decrypt", "GenerateDataKey", "ReEncryptTo", "DescribeKey"):
    assert matrix["user"][action], (f"the key user may not {action}: is user_arn (the argument) the Principal "
                                    "of a statement that allows it?")
for action in ("PutKeyPolicy", "ScheduleKeyDeletion", "DisableKey", "CreateGrant"):
    assert not matrix["user"][action], f"the key user may {action}: users must not manage the key"
assert not any(matrix["stranger"].values()), \
    (f"a user named nowhere, with no IAM policy, may {[a for a, ok in matrix['stranger'].items() if ok]}: "
     'look for a Principal "*" or an account-wide principal in an Allow statement')
assert not any(matrix["other_root"].values()), "another account may use or manage the key: which account do you trust?"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 2 (3 points): find and fix a lockout
#
# Each of the three policies printed below leaves the account unable to manage its key (ask
# `cloud.explain` why). Write `fix_lockout(policy, account)`, which returns a fixed copy: the account's root user (and
# through it, IAM) can manage the key again, every principal the policy already allowed keeps its
# access, everything the policy denied on purpose stays denied, and no other account is trusted.
# Notebook 03 taught what you need: the account trust (section 1), an explicit Deny and `NotPrincipal`
# (section 4). Careful with `NotPrincipal`: AWS exempts a principal only when it names the principal
# *and* its account (forget the account and the named user is denied too; the account alone exempts
# only its root user). AWS recommends `"Principal": "*"` with an `aws:PrincipalArn` condition instead.

# %% [setup]
# The three broken policies of task 2, with the notes' account and names (the hidden checks use others).
for label, broken in check.lockout_policies():
    print(f"{label}:")
    for statement in broken["Statement"]:
        print("   ", json.dumps(statement))

# %% [answer t2]
def fix_lockout(policy, account):
    ### BEGIN SOLUTION
    root = f"arn:aws:iam::{account}:root"
    fixed = copy.deepcopy(policy)
    kept = []
    for st in fixed["Statement"]:
        principal = st.get("Principal", {})
        names = principal.get("AWS", []) if isinstance(principal, dict) else principal
        names = [names] if isinstance(names, str) else names
        if st.get("Effect") == "Allow" and any(n.endswith(":root") and n != root for n in names):
            continue  # trusts another account (a typo in the account ID): drop it
        if st.get("Effect") == "Deny" and "NotPrincipal" in st:
            # NotPrincipal [user] alone denies the user too: AWS checks the account first, and a
            # principal is exempt only when NotPrincipal names it and its account (IAM User Guide, "AWS
            # JSON policy elements: NotPrincipal"). AWS's advice: Principal "*" with an ArnNotEquals
            # condition on aws:PrincipalArn, naming the user and the root user (exempt, as the task asks).
            others = st.pop("NotPrincipal").get("AWS", [])
            others = [others] if isinstance(others, str) else others
            st["Principal"] = {"AWS": "*"}
            st.setdefault("Condition", {})["ArnNotEquals"] = {"aws:PrincipalArn": others + [root]}
        kept.append(st)
    if not any(st.get("Effect") == "Allow" and st.get("Principal") in ({"AWS": root}, {"AWS": [root]})
               for st in kept):
        kept.insert(0, {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": root},
                        "Action": "kms:*", "Resource": "*"})
    fixed["Statement"] = kept
    return fixed
    ### END SOLUTION

# %% [check t2 points=3 "Fix a policy that locks the account out"]
check.t2(fix_lockout)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import LOCKOUT_HINTS, explain_all, grading_rng, lockout_cases
for label, broken, expectations in lockout_cases(grading_rng()):
    fixed = fix_lockout(copy.deepcopy(broken), expectations["account"])
    assert fixed is not None, "fix_lockout returned None: return the fixed policy"
    got = explain_all(fixed, expectations)
    for who, action, allowed in expectations["checks"]:
        assert got[(who, action)] == allowed, \
            f"{label}: after the fix, {who} {'may not' if allowed else 'may'} {action}: {LOCKOUT_HINTS[who]}"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 3 (4 points): a key that does not trust the account
#
# For the most sensitive data some teams give a key a policy that does **not** trust the account:
# IAM policies then grant nothing on it, not even to IAM administrators. Write
# `high_security_policy(account, admin_arn, app_arn)`: the administrator manages the key (as in
# task 1) and never uses it, the application role `app_arn` uses it (Encrypt, Decrypt,
# GenerateDataKey), and nobody else, including the account's root user and IAM users with `kms:*`
# in their IAM policies, can use it.

# %% [answer t3]
def high_security_policy(account, admin_arn, app_arn):
    ### BEGIN SOLUTION
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Key administrators", "Effect": "Allow", "Principal": {"AWS": admin_arn},
             "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                        "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion",
                        "kms:CancelKeyDeletion"],
             "Resource": "*"},
            {"Sid": "The application", "Effect": "Allow", "Principal": {"AWS": app_arn},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], "Resource": "*"},
        ],
    }
    ### END SOLUTION

# %% [check t3 points=4 "A high-security key policy without the account trust"]
check.t3(high_security_policy)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import grading_rng, policy_matrix
matrix, acct = policy_matrix(lambda a, admin, app: high_security_policy(a, admin, app), iam_admin=True,
                             rng=grading_rng())
for action in ("Encrypt", "Decrypt", "GenerateDataKey"):
    assert matrix["user"][action], (f"the application may not {action}: is app_arn (the argument) the Principal "
                                    "of a statement that allows it?")
    for who in ("admin", "root", "iam_admin", "stranger", "other_root"):
        assert not matrix[who][action], (f"{who} may {action}: only the application may use this key (a statement "
                                         "for the account's root user lets IAM policies grant it too)")
for action in ("PutKeyPolicy", "DescribeKey", "ScheduleKeyDeletion", "DisableKey"):
    assert matrix["admin"][action], (f"the administrator may not {action}: the key could not be managed (is "
                                     "admin_arn, the argument, the Principal of the administrators' statement?)")
for action in ("PutKeyPolicy", "ScheduleKeyDeletion"):
    assert not matrix["user"][action], f"the application may {action}: the application uses the key, never manages it"
    assert not matrix["iam_admin"][action], f"an IAM administrator may {action}: is the account trusted?"
### END HIDDEN TESTS
