# Wrong answers for ex03_key_policies: plausible mistakes, each of which must lose its task.
# `kms-teach assign --validate` grades each one (in place of its task's answer) and the project's tests
# do too; a hidden check that lets one through is too weak. Format: docs/grading.md.

# %% [wrong t1 "administrators get kms:*"]
def separated_policy(account, admin_arn, user_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": user_arn},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"}]}

# %% [wrong t1 "users are Principal *"]
def separated_policy(account, admin_arn, user_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                 "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion",
                 "kms:CancelKeyDeletion"], "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"}]}

# %% [wrong t1 "one statement for both"]
def separated_policy(account, admin_arn, user_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": [admin_arn, user_arn]},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                 "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion",
                 "kms:CancelKeyDeletion"] + ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*",
                                               "kms:GenerateDataKey*"],
         "Resource": "*"}]}

# %% [wrong t2 "returns the policy unchanged"]
def fix_lockout(policy, account):
    return policy

# %% [wrong t2 "allows everyone everything"]
def fix_lockout(policy, account):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]}

# %% [wrong t2 "drops every Deny and adds the root statement"]
def fix_lockout(policy, account):
    kept = [s for s in policy["Statement"] if s.get("Effect") != "Deny"]
    kept.insert(0, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*", "Resource": "*"})
    return dict(policy, Statement=kept)

# %% [wrong t2 "only adds the root statement"]
def fix_lockout(policy, account):
    return dict(policy, Statement=[{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                                    "Action": "kms:*", "Resource": "*"}] + policy["Statement"])

# %% [wrong t2 "drops the deliberate Deny and adds the root statement"]
def fix_lockout(policy, account):
    root = f"arn:aws:iam::{account}:root"
    kept = [s for s in policy["Statement"] if "NotPrincipal" not in s
            and not (s.get("Effect") == "Allow" and str(s.get("Principal")).endswith(":root'}") and root not in str(s))]
    kept.insert(0, {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"})
    return dict(policy, Statement=kept)

# %% [wrong t2 "NotPrincipal names the account instead of the user (exempts only the root user)"]
def fix_lockout(policy, account):
    root = f"arn:aws:iam::{account}:root"
    kept = [dict(s, NotPrincipal={"AWS": [root]}) if "NotPrincipal" in s else s for s in policy["Statement"]
            if not (s.get("Effect") == "Allow" and str(s.get("Principal")).endswith(":root'}") and root not in str(s))]
    if not any(s.get("Principal") == {"AWS": root} for s in kept):
        kept.insert(0, {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"})
    return dict(policy, Statement=kept)

# %% [wrong t3 "still trusts the account"]
def high_security_policy(account, admin_arn, app_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                 "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion",
                 "kms:CancelKeyDeletion"], "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": app_arn},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}

# %% [wrong t3 "no administrator: nobody can ever change it"]
def high_security_policy(account, admin_arn, app_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": app_arn},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}

# %% [wrong t3 "the administrator gets kms:*"]
def high_security_policy(account, admin_arn, app_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": app_arn},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}

# %% [wrong t1 "hard-codes the notes' names and account"]
def separated_policy(account, admin_arn, user_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/keyadmin"}, "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                 "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion",
                 "kms:CancelKeyDeletion"],
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/keyuser"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"}]}

# %% [wrong t2 "returns the notes' policy, fixed by hand"]
def fix_lockout(policy, account):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/keyuser"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:user/contractor"},
         "Action": "kms:Decrypt", "Resource": "*"}]}

# %% [wrong t3 "hard-codes the notes' account and names"]
def high_security_policy(account, admin_arn, app_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/keyadmin"}, "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                 "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion",
                 "kms:CancelKeyDeletion"],
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}
