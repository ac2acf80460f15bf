"""Notebook 03: key policies, trusting the account, identity policies and role separation.

Deterministic outputs: seeded cloud, frozen clock; ARNs with random key IDs are
replaced by "<key ARN>" before printing.
"""

from ._cells import code, md
from ._course import next_cell_text

FILENAME = "03_key_policies.ipynb"


def cells():
    return [
        md("""
            # 03 · Key policies and role separation

            Who may use a KMS key? In most AWS services an IAM policy in your account is enough. **Not in KMS.**
            Every KMS key has a **key policy**, and nothing is allowed unless the key policy allows it, directly
            or by trusting the account. This notebook shows the default key policy at work, a key policy that
            does *not* trust the account, and the course notes' example policy that separates the people who
            **manage** a key from the people who **use** it.
        """),
        md("""
            ## Objectives

            By the end of this notebook you will be able to:

            - explain what the statement naming `arn:aws:iam::ACCOUNT:root` does in a key policy;
            - show that an IAM policy alone gives no access to a key whose policy does not trust the account;
            - write a key policy that separates key administrators from key users, and test it;
            - read a permission decision with `cloud.explain` and find the statement that decided it;
            - say what the policy lockout safety check protects you from, and spot a policy that locks the
              account out;
            - give the order in which KMS evaluates a request, and write an explicit `Deny` that wins over any
              `Allow`, with `NotPrincipal` or, better, a condition on `aws:PrincipalArn`;
            - hand one operation to one principal with a grant, constrain it by encryption context, and revoke it.
        """),
        code("""
            import json
            import textwrap
            from datetime import datetime, timezone

            import kms_teach
            from botocore.exceptions import ClientError

            cloud = kms_teach.Cloud(seed=303, clock=kms_teach.Clock(datetime(2026, 3, 3, 9, 0, tzinfo=timezone.utc), frozen=True))
            ACCOUNT = "111122223333"
            kms = cloud.client("kms", region_name="us-east-1")  # the account's root user
            iam = cloud.client("iam")
            for name in ("alice", "keyadmin", "keyuser"):
                iam.create_user(UserName=name)

            def as_user(name):
                return cloud.client("kms", region_name="us-east-1", principal=f"arn:aws:iam::{ACCOUNT}:user/{name}")

            def say(text, width=110):
                # long explanations, wrapped between words; each continuation indented under its line
                for line in str(text).splitlines():
                    indent = " " * (len(line) - len(line.lstrip()) + 4)
                    print(textwrap.fill(line, width, subsequent_indent=indent, break_long_words=False,
                                        break_on_hyphens=False))

            def attempt(client, label, call):
                try:
                    call(client)
                    print(f"{label:45} allowed")
                    return True
                except ClientError as err:
                    print(f"{label:45} {err.response['Error']['Code']}")
                    return False

            print("users:", [u["UserName"] for u in iam.list_users()["Users"]])
        """),
        md("""
            ## 1. The default key policy trusts the account

            ### Concept

            A key created without a policy gets the default key policy. Its one statement allows `kms:*` to the
            principal `arn:aws:iam::111122223333:root`. That principal means **the account**, not only its root
            user: it tells KMS "the IAM policies of this account decide". So with the default policy, a user can
            use the key exactly when one of their IAM policies allows it.
        """),
        code("""
            default_key = kms.create_key(Description="default policy")["KeyMetadata"]["KeyId"]
            alice = as_user("alice")

            attempt(alice, "alice encrypts (no IAM policy yet)", lambda c: c.encrypt(KeyId=default_key, Plaintext=b"x"))
            iam.put_user_policy(UserName="alice", PolicyName="use-kms-keys", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"],
                              "Resource": f"arn:aws:kms:*:{ACCOUNT}:key/*"},
            }))
            assert attempt(alice, "alice encrypts (IAM policy allows it)", lambda c: c.encrypt(KeyId=default_key, Plaintext=b"x"))
        """),
        md("""
            ## 2. A key that does not trust the account

            ### Concept

            In high-security setups you may leave the account out of the key policy and name every person in it
            instead. Then IAM policies in the account **count for nothing** on that key, however broad they are.
            Even the account's root user is locked out, unless the policy names it. (The lockout safety check
            normally stops you from creating such a key by accident; here we bypass it on purpose.)
        """),
        code("""
            closed_policy = json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "Only keyadmin", "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/keyadmin"},
                    "Action": "kms:*", "Resource": "*",
                }],
            })
            try:
                kms.create_key(Policy=closed_policy)
            except ClientError as err:
                print("without the bypass:", err.response["Error"]["Code"], "-", err.response["Error"]["Message"])

            closed_key = kms.create_key(Policy=closed_policy, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
            attempt(alice, "alice encrypts (IAM policy allows kms:*)", lambda c: c.encrypt(KeyId=closed_key, Plaintext=b"x"))
            attempt(kms, "the account's root user describes it", lambda c: c.describe_key(KeyId=closed_key))
            assert attempt(as_user("keyadmin"), "keyadmin encrypts", lambda c: c.encrypt(KeyId=closed_key, Plaintext=b"x"))
        """),
        md("""
            The lockout safety check asks one question of every new key policy: **after this change, could the
            caller still change the key policy?** A one-digit slip is enough to fail it. This policy means to
            trust the account but names `111122223334`, someone else's account:
        """),
        code("""
            typo = json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "Enable IAM User Permissions", "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223334:root"}, "Action": "kms:*", "Resource": "*"}]})
            try:
                kms.put_key_policy(KeyId=default_key, PolicyName="default", Policy=typo)
            except ClientError as err:
                print("PutKeyPolicy:", err.response["Error"]["Code"], "-", err.response["Error"]["Message"])
            else:
                raise AssertionError("the lockout safety check must refuse a policy that trusts another account only")
        """),
        md("""
            ## 3. Role separation: administrators and users

            ### Concept

            The course notes' example key policy (as the console writes it) has four statements: the account
            trust, one for **key administrators** (`Create*`, `Describe*`, `Enable*`, `Disable*`, `Put*`,
            `ScheduleKeyDeletion`, ... but *not* `Encrypt` or `Decrypt`), one for **key users** (`Encrypt`,
            `Decrypt`, `ReEncrypt*`, `GenerateDataKey*`, `DescribeKey`) and one that lets users create grants
            only for AWS resources. Administrators can manage the key, even schedule its deletion, but cannot
            read any data encrypted under it; users can use it but cannot change it.
        """),
        code("""
            notes_policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
                    {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/keyadmin"},
                     "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                                "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                                "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
                                "kms:RotateKeyOnDemand"],
                     "Resource": "*"},
                    {"Sid": "Allow use of the key", "Effect": "Allow",
                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/keyuser"},
                     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                     "Resource": "*"},
                    {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/keyuser"},
                     "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
                     "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
                ],
            }
            key = kms.create_key(Description="separated", Policy=json.dumps(notes_policy))["KeyMetadata"]
            key_id, key_arn = key["KeyId"], key["Arn"]
            admin, user = as_user("keyadmin"), as_user("keyuser")

            secret = user.encrypt(KeyId=key_id, Plaintext=b"quarterly numbers")["CiphertextBlob"]
            results = {
                "user decrypts": attempt(user, "keyuser decrypts", lambda c: c.decrypt(CiphertextBlob=secret)),
                "user deletes": attempt(user, "keyuser schedules deletion", lambda c: c.schedule_key_deletion(KeyId=key_id)),
                "admin decrypts": attempt(admin, "keyadmin decrypts", lambda c: c.decrypt(CiphertextBlob=secret)),
                "admin disables": attempt(admin, "keyadmin disables the key", lambda c: c.disable_key(KeyId=key_id)),
                "admin enables": attempt(admin, "keyadmin enables it again", lambda c: c.enable_key(KeyId=key_id)),
            }
            assert results == {"user decrypts": True, "user deletes": False, "admin decrypts": False,
                               "admin disables": True, "admin enables": True}
        """),
        md("""
            ### Why was each call decided that way?

            `cloud.explain(principal, action, key)` runs the same permissions engine the calls use, without
            making a call, and lists every statement it considered with the reason it did or did not apply.
        """),
        code("""
            def show(principal, action):
                decision = cloud.explain(f"arn:aws:iam::{ACCOUNT}:user/{principal}", action, key_id)
                say(decision.explain().replace(key_arn, "<key ARN>"))
                print()
                return decision

            assert not show("keyadmin", "kms:Decrypt").allowed
            assert show("keyuser", "kms:Decrypt").allowed
        """),
        md("""
            The **role matrix** asks the permissions engine about every person and action at once. Click a cell
            to read its explanation; edit the key policy below it and press Apply to see the matrix change.
        """),
        code("""
            from kms_teach.widgets import RoleMatrix

            matrix = RoleMatrix(cloud, key_id,
                                principals=[f"arn:aws:iam::{ACCOUNT}:user/keyadmin", f"arn:aws:iam::{ACCOUNT}:user/keyuser",
                                            f"arn:aws:iam::{ACCOUNT}:user/alice"],
                                actions=["kms:Encrypt", "kms:Decrypt", "kms:DisableKey", "kms:ScheduleKeyDeletion",
                                         "kms:PutKeyPolicy"])
            matrix
        """, tags=["nbval-ignore-output"]),
        md("""
            Notice the first statement, the account trust, *applies* to keyadmin's Decrypt too: it says the
            account's IAM policies decide. keyadmin has no IAM policy that allows `kms:Decrypt`, so nothing
            allows it. Give keyadmin such an IAM policy and the separation is gone: **with a key policy that
            trusts the account, role separation also depends on the IAM policies in the account.**

            The fourth statement only lets keyuser create grants *for AWS resources* (when an AWS service such
            as EBS asks on the user's behalf). A grant made directly is refused:
        """),
        code("""
            grant_request = dict(KeyId=key_id, GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:user/alice", Operations=["Decrypt"])
            attempt(user, "keyuser creates a grant directly", lambda c: c.create_grant(**grant_request))
            decision = cloud.explain(f"arn:aws:iam::{ACCOUNT}:user/keyuser", "kms:CreateGrant", key_id,
                                     via_service="ec2.us-east-1.amazonaws.com",
                                     operations=["Decrypt"], grantee_principal=f"arn:aws:iam::{ACCOUNT}:user/alice")
            print("the same grant asked for by EC2 on keyuser's behalf:", "allowed" if decision.allowed else "denied")
            assert decision.allowed
        """),
        md("""
            ## 4. An explicit Deny wins

            ### Concept

            So far every statement said `"Effect": "Allow"`. A statement can also say **`"Effect": "Deny"`**,
            and a Deny that applies always wins: no Allow in any key policy, IAM policy or grant can undo it.
            KMS decides every request in this order (AWS KMS Developer Guide, "Determining access to AWS KMS
            keys": no principal has any permission "unless they are explicitly allowed, and never denied, in a
            key policy, IAM policy, or grant"):

            ![The order in which KMS decides: an explicit Deny in any policy denies; else the key policy, an
            IAM policy through the account trust, or a grant may allow; else the request is denied by
            default](figures/policy-evaluation.svg)

            An IAM policy can deny access to a KMS key even when the key policy does not trust the account;
            only its Allows need the account trust. A grant can only allow.

            ### Try it: only keyadmin may delete this key

            alice has an IAM policy that allows `kms:*` on every key, and the key trusts the account: she may
            do anything with it, even schedule its deletion. A Deny statement in the key policy stops everyone
            except keyadmin from scheduling deletion. AWS recommends writing "everyone except" as
            `"Principal": {"AWS": "*"}` with the condition `ArnNotEquals` on `aws:PrincipalArn`:
        """),
        code("""
            iam.put_user_policy(UserName="alice", PolicyName="all-of-kms", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}))
            iam.put_user_policy(UserName="keyadmin", PolicyName="delete-keys", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["kms:ScheduleKeyDeletion",
                                                                                     "kms:CancelKeyDeletion"], "Resource": "*"}}))
            guarded = kms.create_key(Description="guarded")["KeyMetadata"]["KeyId"]
            assert attempt(alice, "alice may disable it (IAM: kms:*)", lambda c: c.disable_key(KeyId=guarded))
            kms.enable_key(KeyId=guarded)

            only_keyadmin_deletes = {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
                    {"Sid": "Only keyadmin schedules deletion", "Effect": "Deny", "Principal": {"AWS": "*"},
                     "Action": "kms:ScheduleKeyDeletion", "Resource": "*",
                     "Condition": {"ArnNotEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/keyadmin"}}},
                ],
            }
            kms.put_key_policy(KeyId=guarded, PolicyName="default", Policy=json.dumps(only_keyadmin_deletes))

            results = {
                "alice": attempt(alice, "alice schedules deletion", lambda c: c.schedule_key_deletion(KeyId=guarded)),
                "root": attempt(kms, "the account's root user schedules deletion",
                                lambda c: c.schedule_key_deletion(KeyId=guarded)),
                "keyadmin": attempt(as_user("keyadmin"), "keyadmin schedules deletion",
                                    lambda c: c.schedule_key_deletion(KeyId=guarded)),
            }
            as_user("keyadmin").cancel_key_deletion(KeyId=guarded)
            assert results == {"alice": False, "root": False, "keyadmin": True}
        """),
        md("""
            `cloud.explain` shows why: alice's IAM policy allows it, and the key policy's account trust lets
            that count, but the Deny applies, and it decides:
        """),
        code("""
            decision = cloud.explain(f"arn:aws:iam::{ACCOUNT}:user/alice", "kms:ScheduleKeyDeletion", guarded)
            say(decision.explain().replace(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{guarded}", "<key ARN>"))
            assert not decision.allowed and [r.effect for r in decision.deciding] == ["Deny"]
        """),
        md("""
            The Deny guards only this key. Press *Apply* on the role matrix of section 3 now (it asks the
            permissions engine again): alice's row there turns green in every column, because the IAM policy
            `all-of-kms` she got in this section counts through that key's account trust. That is the
            auditor's worry of self-check 3, live.
        """),
        md("""
            ### NotPrincipal, and why AWS advises against it

            The older way to write "everyone except" is **`NotPrincipal`** with `"Effect": "Deny"`: the
            statement applies to every principal *not* named. It is easy to get wrong, because AWS does not
            check only the caller's own ARN: it may check the account first and then the user (for a role
            session: the account, then the role, then the session), and the Deny applies at the first one
            that is not named. So a principal is exempt only when `NotPrincipal` names its account **and**
            itself. The trap: forget the account, and the user you meant to exempt is denied too. Name the
            account and the user, and the user is exempt while everyone else of the account stays denied
            (the account alone exempts only its root user). AWS's IAM documentation ("AWS JSON policy
            elements: NotPrincipal") spells this out, no longer recommends `NotPrincipal` for new policies,
            and recommends a Deny with an `ArnNotEquals` condition on `aws:PrincipalArn` instead, as above.
            Here is the trap, and its fix:
        """),
        code("""
            keyadmin_arn, alice_arn = f"arn:aws:iam::{ACCOUNT}:user/keyadmin", f"arn:aws:iam::{ACCOUNT}:user/alice"

            def deny_all_but(*exempt):
                policy = json.loads(json.dumps(only_keyadmin_deletes))
                policy["Statement"][1] = {"Sid": "Deny all but keyadmin (NotPrincipal)", "Effect": "Deny",
                                          "NotPrincipal": {"AWS": list(exempt)},
                                          "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}
                kms.put_key_policy(KeyId=guarded, PolicyName="default", Policy=json.dumps(policy))
                return {who: cloud.explain(arn, "kms:ScheduleKeyDeletion", guarded)
                        for who, arn in (("keyadmin", keyadmin_arn), ("alice", alice_arn))}

            trap = deny_all_but(keyadmin_arn)
            print("NotPrincipal [keyadmin] alone: keyadmin may delete:", trap["keyadmin"].allowed)
            for reason in trap["keyadmin"].reasons:
                say(f"   {reason}")
            fixed = deny_all_but(keyadmin_arn, f"arn:aws:iam::{ACCOUNT}:root")
            print("NotPrincipal [keyadmin, the account]: keyadmin may delete:", fixed["keyadmin"].allowed,
                  "| alice may delete:", fixed["alice"].allowed)
            assert not trap["keyadmin"].allowed and not trap["alice"].allowed
            assert fixed["keyadmin"].allowed and not fixed["alice"].allowed
            _ = kms.put_key_policy(KeyId=guarded, PolicyName="default", Policy=json.dumps(only_keyadmin_deletes))
        """),
        md("""
            With the account named, the root user is exempt as well (its chain is the account alone), which the
            `aws:PrincipalArn` version above did not allow: one more reason to prefer the condition, which
            says exactly whom it spares.
        """),
        md("""
            ## 5. Grants: handing over one permission on one key

            ### Concept

            Besides the key policy and IAM policies, KMS has a third way to allow a call: a **grant**. A grant
            is attached to one KMS key and says "this grantee principal may perform these operations", for
            example only `Decrypt`. Grants are how AWS services such as EBS get temporary use of your key for
            one volume. They only ever *allow*: a grant cannot override an explicit Deny. A grant can carry
            **constraints** on the encryption context, so it covers only matching requests. It stays until it is
            **retired** or **revoked**. `RetireGrant` may be called by the grant's retiring principal, by the
            grantee principal *if the grant includes the `RetireGrant` operation*, and by the account in which
            the grant was created (AWS KMS API Reference, `RetireGrant`); `RevokeGrant` by anyone allowed
            `kms:RevokeGrant` on the key. `CreateGrant` returns a **grant token**: on AWS a new grant can take a
            few minutes to work everywhere, and a request that carries the token uses the grant at once.

            ### Try it

            A new user, carol, has no IAM policy and the key policy does not name her, so she cannot decrypt.
            keyadmin (whose statement allows `kms:Create*`) grants her `Decrypt`, but only for the finance
            department's data:
        """),
        code("""
            iam.create_user(UserName="carol")
            carol = as_user("carol")
            finance = {"dept": "finance"}
            finance_report = user.encrypt(KeyId=key_id, Plaintext=b"finance report", EncryptionContext=finance)["CiphertextBlob"]
            hr_report = user.encrypt(KeyId=key_id, Plaintext=b"hr report", EncryptionContext={"dept": "hr"})["CiphertextBlob"]

            assert not attempt(carol, "carol decrypts (no grant yet)",
                               lambda c: c.decrypt(CiphertextBlob=finance_report, EncryptionContext=finance))
            grant = admin.create_grant(KeyId=key_id, GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:user/carol",
                                       Operations=["Decrypt"], Name="carol-reads-finance",
                                       Constraints={"EncryptionContextSubset": finance})
            token = grant["GrantToken"]
            results = {
                "finance": attempt(carol, "carol decrypts finance data (with the token)",
                                   lambda c: c.decrypt(CiphertextBlob=finance_report, EncryptionContext=finance,
                                                       GrantTokens=[token])),
                "hr": attempt(carol, "carol decrypts hr data",
                              lambda c: c.decrypt(CiphertextBlob=hr_report, EncryptionContext={"dept": "hr"})),
                "encrypt": attempt(carol, "carol encrypts (not in the grant)",
                                   lambda c: c.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext=finance)),
            }
            assert results == {"finance": True, "hr": False, "encrypt": False}
        """),
        md("""
            The permissions engine names the grant as the reason, exactly as it names a policy statement:
        """),
        code("""
            decision = cloud.explain(f"arn:aws:iam::{ACCOUNT}:user/carol", "kms:Decrypt", key_id, encryption_context=finance)
            print(decision.summary)
            for reason in decision.deciding:
                say("   " + str(reason).replace(key_arn, "<key ARN>"))
            assert decision.allowed

            for g in kms.list_grants(KeyId=key_id)["Grants"]:
                print(g["Name"], g["Operations"], g["Constraints"], "grantee:", g["GranteePrincipal"].split(":")[-1])
        """),
        md("""
            Revoking the grant takes the permission away again. keyadmin may revoke (`kms:Revoke*`); carol is
            back to where she started:
        """),
        code("""
            admin.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
            assert kms.list_grants(KeyId=key_id)["Grants"] == []
            assert not attempt(carol, "carol decrypts after the revocation",
                               lambda c: c.decrypt(CiphertextBlob=finance_report, EncryptionContext=finance))
        """),
        md("""
            ## What you saw

            - A key policy must allow a call, directly or by trusting the account (`arn:aws:iam::ACCOUNT:root`),
              which lets the account's IAM policies decide.
            - Without the account trust, IAM policies are inert for that key, and even the root user is out;
              the lockout safety check guards against creating such a key by accident.
            - The notes' key policy separates administrators (manage, schedule deletion) from users (encrypt,
              decrypt): each is refused the other's operations.
            - `cloud.explain` shows the statement behind every decision.
            - An explicit Deny in any policy wins over every Allow; write "everyone except" with
              `"Principal": "*"` and `ArnNotEquals` on `aws:PrincipalArn` rather than `NotPrincipal` (which
              exempts a user only when it names the user and the account).
            - A grant hands one grantee some operations on one key, optionally only for a matching encryption
              context, until it is retired or revoked; its grant token makes it usable at once.

            ## Self-check

            1. A key's policy has only the account-trust statement. Bob has no IAM policies. Can Bob decrypt?
            2. A key's policy names only Bob. Alice has an IAM policy allowing `kms:*` on all keys. Can Alice use the key?
            3. Why might an auditor worry about a key policy that trusts the account, even with separate admin and user statements?
            4. A key policy allows bob `kms:Decrypt`; bob's IAM policy has a statement `"Effect": "Deny", "Action":
               "kms:Decrypt"`. Can bob decrypt?

            <details><summary>Answers</summary>

            1. No: the trust statement hands the decision to IAM, and no IAM policy of Bob's allows it.
            2. No: the key policy does not trust the account, so IAM policies count for nothing on that key.
            3. Because anyone in the account with a broad IAM policy (say `kms:*` on `*`) can use the key,
               whatever the admin and user statements say.
            4. No: an explicit Deny in any policy wins, and an IAM policy may deny even what the key policy
               allows.

            </details>
        """),
        md(next_cell_text("03")),
    ]
