"""Notebook 01: the encrypt and decrypt flows, what a ciphertext carries, and the encryption context.

Deterministic outputs (seeded cloud, frozen clock); asserts make a run that
teaches the wrong thing fail.
"""

from ._cells import code, md
from ._course import next_cell_text

FILENAME = "01_encrypt_decrypt.ipynb"


def cells():
    return [
        md("""
            # 01 · Encrypt and decrypt: what happens inside KMS

            In the first notebook you encrypted and decrypted a message. This notebook slows that down and
            looks at each step: what you send, what KMS checks, what it uses, and what comes back. You will see
            why `Decrypt` needs no key ID, why encrypt and decrypt are *separate* permissions, and how the
            encryption context protects a ciphertext from being used out of place.
        """),
        md("""
            ## Objectives

            By the end of this notebook you will be able to:

            - list the steps KMS takes for `Encrypt` and for `Decrypt`, and say where the key is at each one;
            - explain why `Decrypt` needs no key ID, and find which key and backing key a ciphertext needs;
            - give one person permission to encrypt but not to decrypt, and show it working;
            - use an encryption context, predict when `Decrypt` will refuse a ciphertext, and give a user
              access limited to one encryption context with a grant;
            - say what `IncorrectKeyException` and `InvalidCiphertextException` mean;
            - run the course notes' aws CLI commands against the notebook's own KMS.
        """),
        md("""
            ## 1. Setting up

            A fresh simulated cloud with a frozen clock and a fixed seed, so every run prints the same thing.
            We create the key from the course notes and give it the alias `alias/catrobot`.
        """),
        code("""
            from datetime import datetime, timezone

            import kms_teach
            from botocore.exceptions import ClientError

            cloud = kms_teach.Cloud(seed=101, clock=kms_teach.Clock(datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc), frozen=True))
            kms = cloud.client("kms", region_name="us-east-1")

            key = kms.create_key(Description="battle plans key")["KeyMetadata"]
            key_id, key_arn = key["KeyId"], key["Arn"]
            kms.create_alias(AliasName="alias/catrobot", TargetKeyId=key_id)
            print("key state:", key["KeyState"])
            print("alias/catrobot ->", kms.describe_key(KeyId="alias/catrobot")["KeyMetadata"]["KeyId"] == key_id)
        """),
        md("""
            ## 2. The encrypt flow

            ### Concept

            When you call `Encrypt`, four things happen, in this order:

            1. **You name a key, you send the data.** You send the plaintext (at most 4 KB) and *which* key to
               use: a key ID, a key ARN, or an alias. You never send or receive the key itself.
            2. **KMS checks permissions.** It asks: may this caller use `kms:Encrypt` with this key? The answer
               comes from the key policy, the caller's IAM policies and any grants (a later notebook).
            3. **KMS checks the key's state.** A disabled key, or one waiting to be deleted, refuses to work.
            4. **KMS uses the key's current backing key** (the actual key material, kept encrypted on disk and
               decrypted only inside KMS) to encrypt your data, and returns the ciphertext.

            Every call is written to an audit trail (in AWS: CloudTrail). Let's encrypt and then look at the
            trail's record of the call.
        """),
        code("""
            plans = b"Attack the laser pointer at dawn."
            out = kms.encrypt(KeyId="alias/catrobot", Plaintext=plans)
            ciphertext = out["CiphertextBlob"]

            print("the response names the key:", out["KeyId"] == key_arn)
            print("algorithm:                 ", out["EncryptionAlgorithm"])
            print("plaintext bytes:           ", len(plans))
            print("ciphertext bytes:          ", len(ciphertext))
            assert plans not in ciphertext

            event = cloud.audit.events[-1]
            print()
            print("audit event:", event["eventName"], "by", event["userIdentity"]["arn"])
            print("on our key: ", event["resources"][0]["ARN"] == key_arn)
            print("the plaintext is not in the audit trail:", plans.decode() not in str(cloud.audit.events))
        """),
        md("""
            The ciphertext is longer than the plaintext: besides the encrypted data it carries what KMS needs to
            decrypt it later. That is what lets `Decrypt` work without you naming a key.

            ## 3. What a ciphertext carries

            ### Concept

            A KMS ciphertext blob is not only scrambled data. KMS adds **metadata that identifies the KMS key**
            (and the backing key) that encrypted it, so that `Decrypt` can find the key by itself. AWS says so
            in the `Decrypt` API reference ("KMS can get this information from metadata that it adds to the
            symmetric ciphertext blob") but does not publish the blob's format: treat the blob as opaque bytes
            and ask KMS. The metadata is not secret, but it is *authenticated*: change one byte and decryption
            fails, as notebook 00 showed.

            `Decrypt` tells you what the blob named: the key's ARN, and `KeyMaterialId`, the backing key it used.
        """),
        code("""
            answer = kms.decrypt(CiphertextBlob=ciphertext)
            current_material = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]

            print("the blob named the key:        ", answer["KeyId"] == key_arn)
            print("and the current backing key:   ", answer["KeyMaterialId"] == current_material)
            print("we never said which key to use: the call had only CiphertextBlob")
            assert answer["Plaintext"] == plans and answer["KeyMaterialId"] == current_material
        """),
        md("""
            ### Aside: how the simulator does it

            `kms_teach` has to put that metadata somewhere too. Its own layout (documented in
            `docs/ciphertext-format.md`, and **not** AWS's, which is not public) is a 90-byte header with the
            account, the key ID and the backing key's ID, then the AES-256-GCM ciphertext and its tag. The
            **ciphertext inspector** labels every byte of a simulator blob; with a kernel running you can paste
            another one (base64, as the aws CLI prints it) into it. Nothing later in the course depends on this
            layout.
        """),
        code("""
            from kms_teach.widgets import CiphertextInspector, EncryptFlow

            inspector = CiphertextInspector(ciphertext, cloud=cloud)
            inspector
        """, tags=["nbval-ignore-output"]),
        md("""
            ## 4. The decrypt flow

            ### Concept

            `Decrypt` is the encrypt flow in reverse, with one difference: **you don't name a key**. KMS reads the
            key ID from the ciphertext's metadata, checks that *you* may use `kms:Decrypt` with *that* key, checks
            the key's state, picks the backing key the ciphertext names (even if the key has been rotated since), and
            returns the plaintext.
        """),
        code("""
            back = kms.decrypt(CiphertextBlob=ciphertext)
            print("plaintext:       ", back["Plaintext"])
            print("decrypted by:    ", back["KeyId"] == key_arn)
            print("with backing key:", back["KeyMaterialId"] == current_material)
            assert back["Plaintext"] == plans
        """),
        md("""
            You *may* name the key anyway. Then KMS also checks that the ciphertext really belongs to that key:
            if not, it refuses with `IncorrectKeyException` instead of trying. Naming the key is good practice in
            real applications: it stops a ciphertext made with someone else's key from being decrypted by your
            code by mistake.
        """),
        code("""
            other_key = kms.create_key(Description="some other key")["KeyMetadata"]["KeyId"]

            print("naming the right key:", kms.decrypt(CiphertextBlob=ciphertext, KeyId="alias/catrobot")["Plaintext"] == plans)
            try:
                kms.decrypt(CiphertextBlob=ciphertext, KeyId=other_key)
            except ClientError as err:
                print("naming another key:  ", err.response["Error"]["Code"])
            else:
                raise AssertionError("KMS must refuse a ciphertext that belongs to another key")
        """),
        md("""
            Step through a real `Decrypt` call with the **flow diagram**: each step shows the real values of the
            call (what was sent, what the permissions engine decided, the key's state, the backing key used).
        """),
        code("""
            flow = EncryptFlow(cloud, key_id, operation="Decrypt", ciphertext=ciphertext)
            flow
        """, tags=["nbval-ignore-output"]),
        md("""
            ## 5. Encrypt and decrypt are separate permissions

            ### Concept

            In KMS each operation is its own permission: `kms:Encrypt`, `kms:Decrypt`,
            `kms:GenerateDataKey`, ... A common, sensible setup lets one application *encrypt* (say, a web
            front end that stores customer records) but only another one *decrypt* them (a back-office job).
            The course notes call keeping such duties apart **role separation**.

            Let's make an IAM user `frontend` whose identity policy allows only `kms:Encrypt`. Our key has the
            default key policy, which *trusts the account*: it lets IAM policies in this account grant access.
        """),
        code("""
            import json

            iam = cloud.client("iam")
            iam.create_user(UserName="frontend")
            iam.put_user_policy(
                UserName="frontend",
                PolicyName="encrypt-only",
                PolicyDocument=json.dumps({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key_arn}],
                }),
            )
            frontend = cloud.client("kms", region_name="us-east-1", principal="arn:aws:iam::111122223333:user/frontend")

            record = frontend.encrypt(KeyId=key_arn, Plaintext=b"customer record 42")["CiphertextBlob"]
            print("frontend encrypted a record:", len(record), "bytes")
            try:
                frontend.decrypt(CiphertextBlob=record)
            except ClientError as err:
                print("frontend decrypts:", err.response["Error"]["Code"])
                print(err.response["Error"]["Message"].replace(key_arn, "<key ARN>"))
            else:
                raise AssertionError("an encrypt-only user must not decrypt")
        """),
        md("""
            `cloud.explain` asks the same permissions engine *why*, without making the call. It lists every
            statement it considered and marks what decided.
        """),
        code("""
            import textwrap

            decision = cloud.explain("arn:aws:iam::111122223333:user/frontend", "kms:Decrypt", key_id)
            for line in decision.explain().replace(key_arn, "<key ARN>").splitlines():  # wrapped between words
                print(textwrap.fill(line, 110, subsequent_indent=" " * (len(line) - len(line.lstrip()) + 4),
                                    break_long_words=False, break_on_hyphens=False))
            assert not decision.allowed
        """),
        md("""
            ## 6. The encryption context

            ### Concept

            An **encryption context** is a set of non-secret key-value pairs you pass to `Encrypt`. KMS binds it
            to the ciphertext cryptographically (as *additional authenticated data*). It is not stored in the
            ciphertext: to decrypt, you must pass **exactly the same pairs** again (their order doesn't matter).
            Use it to say what the data is for, e.g. `{"record": "42", "table": "customers"}`: a ciphertext
            copied into the wrong row can then no longer be decrypted there. The context also appears in the
            audit trail, so you can see *what* was decrypted, not only that something was.
        """),
        code("""
            context = {"table": "customers", "record": "42"}
            sealed = kms.encrypt(KeyId=key_id, Plaintext=b"Jane Doe, 42 Main St", EncryptionContext=context)["CiphertextBlob"]

            same_pairs_other_order = {"record": "42", "table": "customers"}
            print("same pairs, other order:", kms.decrypt(CiphertextBlob=sealed, EncryptionContext=same_pairs_other_order)["Plaintext"])

            for label, attempt in [
                ("no context at all", {}),
                ("another record", {"table": "customers", "record": "43"}),
                ("an extra pair", {**context, "copied": "yes"}),
                ("different case", {"Table": "customers", "record": "42"}),
            ]:
                try:
                    kms.decrypt(CiphertextBlob=sealed, EncryptionContext=attempt)
                except ClientError as err:
                    print(f"{label:17}: {err.response['Error']['Code']}")
                else:
                    raise AssertionError(f"decrypting with {label} must fail")

            logged = [e for e in cloud.audit.events if e["eventName"] == "Encrypt"][-1]
            print()
            print("the audit trail records the context:", logged["requestParameters"]["encryptionContext"])
        """),
        md("""
            Every failure above is the same `InvalidCiphertextException`, KMS's answer whenever a ciphertext
            cannot be authenticated: a wrong or missing encryption context, or a ciphertext that was changed.
            KMS does not say which, on purpose: a precise error would help an attacker guess the context.

            ### Permissions that depend on the encryption context

            Because KMS sees the encryption context of every request, permissions can depend on it. A
            multi-tenant application can keep one key for all its tenants and still let a reporting user read
            only tenant `acme`'s records. One way is a key policy (or IAM policy) statement with the condition
            key `kms:EncryptionContext:tenant` (notebook 03 writes such statements); another is a **grant**:
            a permission attached to the key for one grantee, which may carry a constraint on the encryption
            context (notebook 03 covers grants in full). Here the account's root user grants `reporter`
            `Decrypt`, only for requests whose context is exactly `{"tenant": "acme"}`:
        """),
        code("""
            iam = cloud.client("iam")
            iam.create_user(UserName="reporter")
            reporter_arn = "arn:aws:iam::111122223333:user/reporter"
            reporter = cloud.client("kms", region_name="us-east-1", principal=reporter_arn)

            acme = kms.encrypt(KeyId=key_id, Plaintext=b"acme: 12 robots", EncryptionContext={"tenant": "acme"})["CiphertextBlob"]
            globex = kms.encrypt(KeyId=key_id, Plaintext=b"globex: 3 robots", EncryptionContext={"tenant": "globex"})["CiphertextBlob"]

            grant = kms.create_grant(KeyId=key_id, GranteePrincipal=reporter_arn, Operations=["Decrypt"],
                                     Constraints={"EncryptionContextEquals": {"tenant": "acme"}})
            print("reporter reads acme:  ", reporter.decrypt(CiphertextBlob=acme, EncryptionContext={"tenant": "acme"},
                                                               GrantTokens=[grant["GrantToken"]])["Plaintext"])
            try:
                reporter.decrypt(CiphertextBlob=globex, EncryptionContext={"tenant": "globex"})
            except ClientError as err:
                print("reporter reads globex:", err.response["Error"]["Code"])
            else:
                raise AssertionError("the grant covers only tenant acme")
        """),
        md("""
            ## 7. The same with the aws CLI

            ### Concept

            The course notes encrypt a file with the **aws CLI**. `cloud.serve()` puts this notebook's cloud
            behind a local HTTP endpoint that speaks AWS's protocols and checks real request signatures;
            `endpoint.env` holds the environment variables that point the stock aws CLI at it: the endpoint URL,
            and a credentials file with access keys that this cloud's IAM issued to the account's root user.
            The next cell puts them into this notebook's environment, so that shell cells use them too.
        """),
        code("""
            import os
            import sys

            endpoint = cloud.serve()
            saved_environment = dict(os.environ)
            os.environ.update(endpoint.env)
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
                os.environ.pop(name, None)  # real AWS keys of yours would win over the credentials file
            os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]  # this venv's aws CLI

            with open("battleplans.txt", "w") as f:
                f.write("attack the laser pointer at dawn\\n")
            print("the aws CLI now talks to this notebook's endpoint on", os.environ["AWS_ENDPOINT_URL"].split("//")[1].split(":")[0])
        """),
        md("""
            Here are the notes' two commands, line for line. The notes put a comment after several lines; a
            comment after a `\\` line continuation would end the command in bash, so the comments are in this
            table instead:

            | part | what it does |
            |---|---|
            | `--key-id alias/catrobot` | the key to use: a key ID, an ARN, or an alias as `alias/<name>` |
            | `--plaintext fileb://battleplans.txt` | `fileb://` reads the file as raw bytes (`file://` would read text) |
            | `--output text --query CiphertextBlob` | print only the `CiphertextBlob` field of the answer, which the CLI prints in base64 |
            | `\\| base64 --decode > not_battleplans.enc` | turn that base64 back into binary, into a file |
            | `--ciphertext-blob fileb://not_battleplans.enc` | the encrypted file; no key is named, the blob says which |
            | `--query Plaintext \\| base64 --decode > decryptedplans.txt` | the `Plaintext` field, base64-decoded into a file |

            Encrypt:
        """),
        code("""
            %%bash
            aws kms encrypt \\
              --key-id alias/catrobot \\
              --plaintext fileb://battleplans.txt \\
              --output text \\
              --query CiphertextBlob \\
              | base64 --decode > not_battleplans.enc
        """),
        md("""
            Decrypt, without naming a key:
        """),
        code("""
            %%bash
            aws kms decrypt \\
              --ciphertext-blob fileb://not_battleplans.enc \\
              --output text \\
              --query Plaintext | base64 --decode > decryptedplans.txt
        """),
        md("""
            Both files exist, the round trip gave back the original, and the encrypted file is a ciphertext of
            our key (boto3 decrypts it too). The CLI's calls went through the same KMS, the same permission
            checks and the same audit trail as your boto3 calls. Then the endpoint stops, the environment is
            put back and the files are removed:
        """),
        code("""
            print("encrypted file:", os.path.getsize("not_battleplans.enc"), "bytes")
            print("decrypted:     ", open("decryptedplans.txt").read().strip())
            print("made by our key:", kms.decrypt(CiphertextBlob=open("not_battleplans.enc", "rb").read())["KeyId"] == key_arn)
            assert open("decryptedplans.txt").read() == open("battleplans.txt").read()
            cli_calls = [e for e in cloud.audit.events if e["eventName"] in ("Encrypt", "Decrypt") and "aws-cli" in e.get("userAgent", "")]
            print("calls the aws CLI made, as the audit trail saw them:", [e["eventName"] for e in cli_calls])

            endpoint.stop()
            os.environ.clear()
            os.environ.update(saved_environment)
            for name in ("battleplans.txt", "not_battleplans.enc", "decryptedplans.txt"):
                os.remove(name)
        """),
        md("""
            ## What you saw

            - `Encrypt` sends data and the *name* of a key; KMS checks permission, checks the key's state, and
              encrypts with the key's current backing key. The key never leaves KMS.
            - A ciphertext carries metadata that names the KMS key and backing key that made it, so `Decrypt`
              needs no key ID; naming one anyway makes KMS refuse ciphertexts of other keys
              (`IncorrectKeyException`). AWS's blob format is not public: treat blobs as opaque.
            - `kms:Encrypt` and `kms:Decrypt` are separate permissions: an encrypt-only user can't read back
              what it wrote, and `cloud.explain` shows which statement decided.
            - The encryption context must match exactly to decrypt (else `InvalidCiphertextException`); it is
              recorded in the audit trail, and permissions can depend on it (a grant's constraint, a policy
              condition).
            - The course notes' aws CLI commands run verbatim against `cloud.serve()`, through the same KMS.

            ## Self-check

            1. Your application stores ciphertexts but forgot which KMS key made them. Can it still decrypt them?
            2. A user may call `kms:Decrypt` but not `kms:Encrypt`. Can they read data that others encrypted
               with that key?
            3. You encrypted with `{"user": "alice"}` and decrypt with `{"User": "alice"}`. What happens?

            <details><summary>Answers</summary>

            1. Yes: the key ID is inside each ciphertext, and `Decrypt` needs no key ID (it still needs
               permission to decrypt with that key).
            2. Yes: decrypting needs only `kms:Decrypt` on the key that made the ciphertext.
            3. `InvalidCiphertextException`: encryption context keys and values are case-sensitive and must match
               exactly.

            </details>
        """),
        md(next_cell_text("01")),
    ]
