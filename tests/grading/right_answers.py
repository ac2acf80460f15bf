"""Right answers written differently from the worked solution, per assignment and task: (how it differs,
the answer cell's code). Both the self-check and the hidden checks must accept each
(tests/grading/test_self_checks.py runs both on every answer here and on the instructor's wrong answers
beside the sources, ``assignments/exNN_*.wrong.py``).
"""

from __future__ import annotations

_ADMIN_ACTIONS = '''["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                 "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion",
                 "kms:CancelKeyDeletion"]'''

RIGHT: dict[str, dict[str, list[tuple[str, str]]]] = {
    "ex03_key_policies": {
        "t1": [("the policy as JSON text", '''
import json

def separated_policy(account, admin_arn, user_arn):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": ''' + _ADMIN_ACTIONS + ''', "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": user_arn},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"}]})
''')],
        "t2": [("Principal * with an aws:PrincipalArn condition, as AWS recommends", '''
import copy

def fix_lockout(policy, account):
    root = f"arn:aws:iam::{account}:root"
    out = []
    for st in copy.deepcopy(policy)["Statement"]:
        aws = (st.get("Principal") or {}).get("AWS", "") if isinstance(st.get("Principal"), dict) else ""
        if st["Effect"] == "Allow" and str(aws).endswith(":root") and aws != root:
            continue
        if "NotPrincipal" in st:
            exempt = st.pop("NotPrincipal")["AWS"]
            exempt = [exempt] if isinstance(exempt, str) else exempt
            st["Principal"] = "*"
            st["Condition"] = {"ArnNotEquals": {"aws:PrincipalArn": exempt + [root]}}
        out.append(st)
    if not any(st["Effect"] == "Allow" and st.get("Principal") == {"AWS": root} for st in out):
        out.insert(0, {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"})
    return {"Version": policy.get("Version", "2012-10-17"), "Statement": out}
'''), ("NotPrincipal kept, naming the user and the account (AWS exempts a principal only then)", '''
import copy

def fix_lockout(policy, account):
    root = f"arn:aws:iam::{account}:root"
    out = []
    for st in copy.deepcopy(policy)["Statement"]:
        aws = (st.get("Principal") or {}).get("AWS", "") if isinstance(st.get("Principal"), dict) else ""
        if st["Effect"] == "Allow" and str(aws).endswith(":root") and aws != root:
            continue
        if "NotPrincipal" in st:
            exempt = st["NotPrincipal"]["AWS"]
            st["NotPrincipal"]["AWS"] = ([exempt] if isinstance(exempt, str) else exempt) + [root]
        out.append(st)
    if not any(st["Effect"] == "Allow" and st.get("Principal") == {"AWS": root} for st in out):
        out.insert(0, {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"})
    return {"Version": policy.get("Version", "2012-10-17"), "Statement": out}
''')],
        "t3": [("the key user allowed through Principal * and an aws:PrincipalArn condition", '''
def high_security_policy(account, admin_arn, app_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": ''' + _ADMIN_ACTIONS + ''', "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": "*", "Condition": {"ArnEquals": {"aws:PrincipalArn": app_arn}}}]}
''')],
    },
    "ex05_key_ownership": {
        "t1": [("a Marker loop and a list", '''
def customer_managed_keys(kms):
    found, marker = [], None
    while True:
        page = kms.list_keys(Marker=marker) if marker else kms.list_keys()
        for key in page["Keys"]:
            if kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyManager"] == "CUSTOMER":
                found.append(key["KeyId"])
        if not page.get("Truncated"):
            return found
        marker = page["NextMarker"]
''')],
        "t2": [("asks HeadObject for the key afterwards", '''
def store_with_aws_managed_key(s3, bucket, name, body):
    s3.put_object(Bucket=bucket, Key=name, Body=body, ServerSideEncryption="aws:kms")
    return s3.head_object(Bucket=bucket, Key=name)["SSEKMSKeyId"]
''')],
    },
}
