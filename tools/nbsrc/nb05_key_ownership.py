"""Notebook 05: who owns a key - customer managed keys, AWS managed keys and AWS owned keys.

Deterministic outputs: seeded cloud, frozen clock; key IDs are not printed (the
AWS managed key's ID is random), ARNs are replaced by "<key ARN>".
"""

from ._cells import code, md
from ._course import next_cell_text

FILENAME = "05_key_ownership.ipynb"


def cells():
    return [
        md("""
            # 05 · Who owns a key: customer managed, AWS managed and AWS owned keys

            Every key so far was one *you* created. But most data in AWS is encrypted by AWS services (S3, EBS,
            RDS, DynamoDB ...) and many of them never ask you for a key. Whose keys do they use? The course
            notes sort KMS keys by who owns and manages them. This notebook makes each kind appear, shows what
            its key policy allows, and lets you try what you can and cannot do with each. About 30 minutes.
        """),
        md("""
            ## Objectives

            By the end of this notebook you will be able to:

            - tell customer managed keys, AWS managed keys and AWS owned keys apart, and say who controls each;
            - watch an AWS service create an AWS managed key in your account the first time it needs one;
            - read an AWS managed key's key policy and explain why you can use it through its service but not
              directly, and why nobody can change it;
            - say where AWS owned keys are, and why they appear neither in `ListKeys` nor in your audit trail;
            - choose between a customer managed key and an AWS managed key for a job.
        """),
        code("""
            import json
            from datetime import datetime, timezone

            import kms_teach
            from botocore.exceptions import ClientError

            cloud = kms_teach.Cloud(seed=505, clock=kms_teach.Clock(datetime(2026, 5, 5, 9, 0, tzinfo=timezone.utc), frozen=True))
            kms = cloud.client("kms", region_name="us-east-1")
            s3 = cloud.client("s3", region_name="us-east-1")

            mine = kms.create_key(Description="cat robot plans")["KeyMetadata"]
            kms.create_alias(AliasName="alias/catrobot", TargetKeyId=mine["KeyId"])
            print("keys in the account:", len(kms.list_keys()["Keys"]))
        """),
        # ------------------------------------------------------------------ 1
        md("""
            ## 1. Three kinds of owner

            ### Concept

            | | customer managed key | AWS managed key | AWS owned key |
            |---|---|---|---|
            | who creates it | you (`CreateKey`) | an AWS service, the first time you ask it to encrypt with KMS | an AWS service, for its own use |
            | where it lives | your account | your account | an AWS account of the service's, shared by many customers |
            | you can see it (`ListKeys`, `DescribeKey`) | yes | yes, with `KeyManager` `AWS` and an alias `alias/aws/<service>` | no |
            | its key policy | yours to write | written by AWS: no one can change it | not yours |
            | who may use it | whoever its policies allow | principals of your account, **only through its service** | the service |
            | rotation | off until you enable it; 90 to 2560 days; on demand too | every year, always | as the service decides |
            | its use in your CloudTrail | yes | yes | no |

            The course notes call the first two **customer owned**, and you are the customer: both live in your
            account. The difference is who *manages* them. (AWS KMS Developer Guide, "AWS KMS keys": customer
            keys and AWS keys.)

            Our account has one key so far, customer managed:
        """),
        code("""
            md = kms.describe_key(KeyId="alias/catrobot")["KeyMetadata"]
            print("KeyManager:", md["KeyManager"], "| rotation on?", kms.get_key_rotation_status(KeyId=md["KeyId"])["KeyRotationEnabled"])
            assert md["KeyManager"] == "CUSTOMER"
        """),
        # ------------------------------------------------------------------ 2
        md("""
            ## 2. An AWS managed key appears

            ### Concept

            The AWS managed key of a service is created **the first time you use that service's KMS encryption
            without naming a key**. Its alias, `alias/aws/s3` for S3, is reserved from the start (notebook 00
            saw the reserved aliases without a key); the key behind it appears on first use. One per service,
            per account, per Region.

            Put an object into S3 with SSE-KMS (server-side encryption with KMS) and no key named:
        """),
        code("""
            aliases = {a["AliasName"]: a for page in kms.get_paginator("list_aliases").paginate() for a in page["Aliases"]}
            print("alias/aws/s3 before S3 used KMS, has a key?", "TargetKeyId" in aliases["alias/aws/s3"])

            s3.create_bucket(Bucket="cat-robot-plans")
            out = s3.put_object(Bucket="cat-robot-plans", Key="plan.txt", Body=b"attack at dawn", ServerSideEncryption="aws:kms")
            print("S3 encrypted the object with:", out["ServerSideEncryption"])

            managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
            print("alias/aws/s3 now has a key, managed by:", managed["KeyManager"])
            print("its description:", managed["Description"])
            print("keys in the account now:", len(kms.list_keys()["Keys"]))
            assert managed["KeyManager"] == "AWS" and out["SSEKMSKeyId"] == managed["Arn"]
        """),
        md("""
            S3 called KMS for you: `GenerateDataKey` under the new key, for this one object (notebook 02 showed
            why S3 uses a data key per object). The audit trail records the call **as yours** (you asked S3 to
            store the object), made **through S3**:
        """),
        code("""
            event = [e for e in cloud.audit.events if e["eventName"] == "GenerateDataKey"][-1]
            print("caller:    ", event["userIdentity"]["arn"])
            print("came from: ", event["sourceIPAddress"], "(a service, not an IP address)")
            print("context:   ", event["requestParameters"]["encryptionContext"])
        """),
        # ------------------------------------------------------------------ 3
        md("""
            ## 3. The AWS managed key's key policy

            ### Concept

            You may read an AWS managed key's key policy, and you should. It has two statements:

            1. **use through the service**: every principal of *your* account (`kms:CallerAccount`) may encrypt,
               decrypt and generate data keys with it, but **only when the request comes through S3 in this
               Region** (`kms:ViaService` is `s3.us-east-1.amazonaws.com`). The principal still needs S3's own
               permissions for the object;
            2. **direct read access to the metadata**: the account may call `Describe*`, `Get*` and `List*`.

            Nothing in it allows `PutKeyPolicy`, `DisableKey`, `ScheduleKeyDeletion` or any other management
            call, to anyone: that is why nobody, not even the root user, can change an AWS managed key. (AWS
            KMS Developer Guide, "AWS managed keys"; the policy AWS writes is in "Key policies for AWS managed
            keys".)
        """),
        code("""
            policy = json.loads(kms.get_key_policy(KeyId=managed["KeyId"], PolicyName="default")["Policy"])
            for st in policy["Statement"]:
                print(f"{st['Sid']}:")
                print("   Action:   ", st["Action"])
                print("   Condition:", st.get("Condition", "none"))
        """),
        md("""
            `cloud.explain` asks the permissions engine the two questions: may the account's root user encrypt
            with it directly, and through S3?
        """),
        code("""
            root = f"arn:aws:iam::{cloud.account_id}:root"
            direct = cloud.explain(root, "kms:Encrypt", managed["KeyId"])
            via_s3 = cloud.explain(root, "kms:Encrypt", managed["KeyId"], via_service="s3.us-east-1.amazonaws.com")
            print("directly:   ", "ALLOWED" if direct.allowed else "DENIED", "-", direct.summary)
            print("through S3: ", "ALLOWED" if via_s3.allowed else "DENIED", "-", via_s3.summary)
            assert not direct.allowed and via_s3.allowed
        """),
        # ------------------------------------------------------------------ 4
        md("""
            ## 4. Try it: what each kind of key lets you do

            The **key ownership** widget lists the account's keys with who manages each, and makes real calls
            when you press its buttons (as the account's root user). Try *Encrypt directly*, *DisableKey* and
            *PutKeyPolicy* on `alias/catrobot`, then on `alias/aws/s3`, and read AWS's answers; then *Encrypt
            through S3* with the AWS managed key. *PutObject with SSE-S3* stores an object under an **AWS
            owned** key: watch that no new key appears in the list.
        """),
        code("""
            from kms_teach.widgets import KeyOwnership

            ownership = KeyOwnership(cloud, bucket="ownership-demo")
            ownership
        """, tags=["nbval-ignore-output"]),
        md("""
            The same experiments in code, so that you can read the answers here too:
        """),
        code("""
            for action in ("Encrypt directly", "Encrypt through S3", "PutKeyPolicy", "DisableKey"):
                for key in ("alias/catrobot", "alias/aws/s3"):
                    a = ownership.try_action(action, key)
                    print(f"{action:19} {key:15} {'allowed' if a.ok else 'refused: ' + a.answer.split(':')[0]}")
            _ = kms.enable_key(KeyId=mine["KeyId"])  # the DisableKey above worked on our own key: turn it back on
        """),
        # ------------------------------------------------------------------ 5
        md("""
            ## 5. AWS owned keys: the ones you never see

            ### Concept

            S3's default encryption, **SSE-S3**, encrypts every object too, with a data key per object, but the
            keys that protect those data keys are **AWS owned keys** in the notes' sense: they belong to S3,
            live in an account of S3's and serve many customers. (S3's documentation calls them *Amazon S3
            managed keys*; S3 keeps them itself, not in KMS.) You cannot list them, see their policy, or find
            their use in your CloudTrail; you also never pay for them or manage them. Many services use AWS
            owned keys by default; DynamoDB's default encryption, for example, is documented as "an AWS owned
            key".
        """),
        code("""
            keys_before = {k["KeyId"] for k in kms.list_keys()["Keys"]}
            mark = len(cloud.audit.events)
            out = s3.put_object(Bucket="cat-robot-plans", Key="memo.txt", Body=b"buy more tuna", ServerSideEncryption="AES256")
            kms_calls = [e["eventName"] for e in cloud.audit.events[mark:] if e["eventSource"] == "kms.amazonaws.com"]
            print("S3 encrypted the object with:", out["ServerSideEncryption"], "(SSE-S3)")
            print("KMS calls in your audit trail for it:", kms_calls)
            print("new KMS keys in the account:", len({k["KeyId"] for k in kms.list_keys()["Keys"]} - keys_before))
            assert kms_calls == [] and "SSEKMSKeyId" not in out
            print("S3 still reads it:", s3.get_object(Bucket="cat-robot-plans", Key="memo.txt")["Body"].read())
        """),
        # ------------------------------------------------------------------ 6
        md("""
            ## 6. Which to choose

            ### Concept

            - **An AWS owned key** (the default of many services) when you need encryption at rest and nothing
              more: no cost, nothing to manage, but no control and no audit trail of its use in your account.
            - **An AWS managed key** when you want KMS and your own CloudTrail record of every use, without
              managing a key: it is free to keep, rotates every year, and works only through its service, in
              your account.
            - **A customer managed key** when you need control: your own key policy (for example, to let
              another account decrypt, or to separate administrators from users, as in notebook 03), your own
              rotation period, grants, disabling it to cut off access at once, or deleting it. You pay a monthly
              fee for each one.

            Both kinds in your account rotate, as the notes say; only the customer managed one lets you choose
            when, and only it can be disabled or deleted. (AWS KMS pricing and "Rotate AWS KMS keys".)
        """),
        code("""
            for alias in ("alias/catrobot", "alias/aws/s3"):
                key = kms.describe_key(KeyId=alias)["KeyMetadata"]
                status = kms.get_key_rotation_status(KeyId=key["KeyId"])
                period = status.get("RotationPeriodInDays")
                print(f"{alias:15} {key['KeyManager']:9} rotation {'every ' + str(period) + ' days' if status['KeyRotationEnabled'] else 'off'}")
            try:
                kms.disable_key_rotation(KeyId=managed["KeyId"])
            except ClientError as err:
                print("turn off the AWS managed key's rotation:", err.response["Error"]["Code"])
        """),
        md("""
            ## What you saw

            - Customer managed keys are yours: you create them, write their key policy, choose their rotation,
              and can disable or delete them.
            - An AWS managed key (`alias/aws/s3`) appears in your account when a service first needs one. Its
              key policy lets the account's principals use it **only through that service** (`kms:ViaService`,
              `kms:CallerAccount`) and read its metadata; it grants no management action, so nobody can change
              it. It rotates every year.
            - AWS owned keys belong to the services, serve many accounts, and never appear in your account or
              your audit trail (SSE-S3 uses them).
            - Every use of a key in your account, direct or through a service, is in your audit trail.

            ## Self-check

            **1.** Your application calls `kms.encrypt(KeyId="alias/aws/s3", ...)` directly and gets
            `AccessDeniedException`. The key exists and the caller is the account's root user. Why?

            <details>
            <summary>Show answer</summary>

            The AWS managed key's policy allows encryption only when the request comes through S3
            (`kms:ViaService`). A direct call matches no statement that allows it. Use a customer managed key
            for your own encryption.

            </details>

            **2.** Can you disable the AWS managed key `alias/aws/s3`, or change its key policy?

            <details>
            <summary>Show answer</summary>

            No. Its key policy allows the account to read its metadata (`Describe*`, `Get*`, `List*`) and to
            use it through S3; it allows no management action to anyone, and you cannot change the policy.

            </details>

            **3.** A bucket uses SSE-S3. Where do you look for the KMS key that protects its objects?

            <details>
            <summary>Show answer</summary>

            Nowhere in your account: SSE-S3 uses AWS owned keys, which belong to S3. They are not listed by
            `ListKeys` and their use is not in your CloudTrail.

            </details>
        """),
        md(next_cell_text("05")),
    ]
