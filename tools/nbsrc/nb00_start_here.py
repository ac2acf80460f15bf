"""Notebook 00: start here. The course, the simulated cloud and its clock, and a first KMS key.

Every printed output is deterministic (seeded cloud, frozen clock, dates shown
in UTC), so strict nbval compares all of it. The asserts make a run that
teaches the wrong thing fail, even when it does not crash.
"""

from ._cells import code, md
from ._course import next_cell_text

FILENAME = "00_start_here.ipynb"


def cells():
    return [
        md("""
            # 00 · Start here: your first KMS key

            Welcome! This course teaches **AWS Key Management Service (KMS)** by doing. Each notebook is a short
            lesson that you run yourself, cell by cell, against a small simulated AWS cloud that lives inside the
            notebook. You don't need an AWS account, nothing costs money, and nothing goes over the internet.

            **How to work through a notebook.** Run the cells in order from the top. Shift+Enter runs a cell and
            moves to the next one. Read the text before each cell, guess what it will print, then run it. If
            things get muddled, choose *Kernel → Restart Kernel and Run All Cells*. Every notebook starts from
            an empty cloud, so it gives the same results each time you run it from the top.

            **The course:** eight notebooks, each followed by an exercise. [The syllabus](syllabus.ipynb) lists
            them with their goals and times. This one takes about 35 minutes.
        """),
        md("""
            ## Objectives

            By the end of this notebook you will be able to:

            - say what the simulated cloud is, and why the code you write here also runs on real AWS;
            - make a KMS client and move the simulated cloud's clock forward;
            - create a KMS key, read its metadata with `DescribeKey`, and say what the console's *Create key*
              wizard asks for;
            - give a key an alias, and list every key and alias of an account a page at a time;
            - encrypt with the alias, and decrypt without naming any key;
            - explain two basic rules of KMS: keys never leave KMS, and `Encrypt` takes at most 4 KB;
            - read a key's default key policy;
            - explain why KMS is a *Regional* and a *public* service, and how a VPC reaches it privately.
        """),
        # ------------------------------------------------------------------ 1
        md("""
            ## 1. What this course is

            ### Concept

            KMS is the AWS service that creates and protects cryptographic keys. You never get a KMS key into
            your own hands. Instead you ask KMS to *use* it for you: "encrypt these bytes with key X", "decrypt
            this". KMS checks that you are allowed to, does the work inside the service, and returns the result.

            `kms_teach` gives you a KMS of your own. It is a local simulator that does real cryptography
            (AES-256-GCM) and follows the behaviour AWS documents for KMS: the same operations, parameters, key
            states and error codes. You talk to it through a **genuine boto3 client**, the same Python SDK object
            you would use with AWS. boto3 checks your parameters, builds real HTTP requests and reads the replies.
            The only difference is that the simulator answers those requests inside this Python process, so
            nothing goes over the network.

            So the KMS code you write in this course is ordinary boto3 code. To run it against real AWS you
            change one line, the one that creates the client:

            | here, in the simulator | on real AWS |
            |---|---|
            | `kms = cloud.client("kms", region_name="us-east-1")` | `kms = boto3.client("kms", region_name="us-east-1")` |

            On real AWS you also need credentials, you pay for every KMS key each month it exists, and deleting a
            key takes a waiting period of 7 to 30 days. In the few places where the simulator knowingly differs
            from AWS, the `kms_teach` source code says so in a note marked `Fidelity:`.
        """),
        # ------------------------------------------------------------------ 2
        md("""
            ## 2. A private cloud with its own clock

            ### Concept

            `kms_teach.Cloud()` creates an empty AWS that lives in memory. It has one account, `111122223333`
            (the example account ID that AWS's own documentation uses), every Region that has KMS, and no keys
            yet. Its clients act as that account's root user unless you say otherwise.

            A lot of what KMS does depends on time: keys can rotate automatically once a year, and a deleted key
            is only really destroyed after a waiting period of 7 to 30 days. Nobody wants to wait days in a
            notebook, so the cloud has its own clock, `cloud.clock`. `cloud.clock.now()` tells you the simulated
            time, and `cloud.clock.advance(days=...)` moves it forward. Anything that falls due in between
            happens before `advance` returns.

            The simplest cloud's clock follows your computer's clock:
        """),
        code("""
            import kms_teach

            plain = kms_teach.Cloud()  # in memory; its clock follows your computer's clock
            print("account:       ", plain.account_id)
            print("default Region:", plain.region)
            print("clock frozen?  ", plain.clock.frozen)
        """),
        md("""
            In the course notebooks we fix two things, so that the output you get is exactly the output stored
            in the notebook:

            - a **frozen clock**, which starts at a date we choose and moves only when we advance it;
            - a **seed**, which makes the simulator's random choices (key IDs, key material) the same on every run.

            Real AWS has neither, of course. This is the cloud we use from now on:
        """),
        code("""
            from datetime import datetime, timezone

            clock = kms_teach.Clock(datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc), frozen=True)
            cloud = kms_teach.Cloud(seed=2026, clock=clock)

            print(cloud)
            print("now:", cloud.clock.now())
        """),
        md("""
            Move the clock forward a month. `advance` returns the new time:
        """),
        code("""
            later = cloud.clock.advance(days=30)
            print("after advance(days=30):", later)
            assert cloud.clock.now() == datetime(2026, 1, 31, 9, 0, tzinfo=timezone.utc)

            try:
                cloud.clock.advance(days=-1)
            except ValueError as err:
                print("advance(days=-1):", err)
            else:
                raise AssertionError("the clock should refuse to go backwards")
        """),
        md("""
            ### Hands-on: a KMS client

            `cloud.client("kms", region_name=...)` gives you a KMS client for one Region. Let's check that it is
            a real botocore client (botocore is the engine under boto3). Its endpoint is on `.invalid`, a
            top-level domain that is reserved so it can never exist on the internet. That is one more guarantee
            that nothing leaves your machine.
        """),
        code("""
            import botocore.client

            kms = cloud.client("kms", region_name="us-east-1")

            print(type(kms))
            print("a botocore client?", isinstance(kms, botocore.client.BaseClient))
            print("Region:  ", kms.meta.region_name)
            print("endpoint:", kms.meta.endpoint_url)
            assert isinstance(kms, botocore.client.BaseClient)
        """),
        md("""
            When KMS refuses a request, boto3 raises `botocore.exceptions.ClientError`, just as it does with
            real AWS. The error code (which kind of failure) is in `err.response["Error"]["Code"]`. Checking that
            code is how you handle KMS errors in real programs too. Let's ask about a key that doesn't exist:
        """),
        code("""
            from botocore.exceptions import ClientError

            try:
                kms.describe_key(KeyId="alias/does-not-exist")
            except ClientError as err:
                print("raised:       ", type(err).__module__ + "." + type(err).__name__)
                print("a ClientError?", isinstance(err, ClientError))
                print("code:         ", err.response["Error"]["Code"])
                print("message:      ", err.response["Error"]["Message"])
            else:
                raise AssertionError("describing a missing key should fail")
        """),
        md("""
            boto3 raised `NotFoundException`, a subclass of `ClientError` that it makes for each error code the KMS
            API declares. You can catch it as `kms.exceptions.NotFoundException`. Catching `ClientError` and
            checking the code works for every error, so that is what this course usually does.
        """),
        # ------------------------------------------------------------------ 3
        md("""
            ## 3. Create a KMS key

            ### Concept

            A KMS key is a **logical container**. On the outside it has an ID, an ARN, a creation date, a
            description, a state and a key policy. Inside it holds one or more **backing keys**: the actual secret
            key material (here a 256-bit AES key) that encrypts and decrypts. A new key has exactly one backing
            key. Rotation, in a later notebook, adds new ones and keeps all the old ones, so that old ciphertexts
            still decrypt. You never handle backing keys yourself. You name the container, and KMS picks the
            right backing key.

            KMS keys used to be called **customer master keys (CMKs)**; older documentation, and some API
            parameter names, still say CMK. You, your applications and AWS services can all use them.

            ![The key hierarchy: a KMS key holds backing keys; data keys are encrypted under them; your data is
            encrypted with data keys](figures/key-hierarchy.svg)

            The picture shows where this course is going: a KMS key, its backing keys, the **data keys** it
            protects (notebook 02) and your data. For now, one KMS key with one backing key.

            `CreateKey` with no options makes the most common kind of key: a symmetric encryption key that KMS
            generates and that you, the customer, manage. In the AWS console the same key is made by the
            **Create key** wizard (*KMS > Customer managed keys > Create key*). Each page of the wizard is a
            parameter of the API calls it makes when you press *Finish*:

            ![A sketch of the console's Create key wizard: configure key, add labels, key administrators, key
            users, review; Finish calls CreateKey and CreateAlias](figures/console-create-key.svg)

            - *Configure key*: the key type and usage become `KeySpec` and `KeyUsage`; the advanced options,
              key material generated by KMS or imported, single-Region or multi-Region, become `Origin` and
              `MultiRegion` (notebook 06 uses both). They can never change after the key exists.
            - *Add labels*: the alias (the console insists on one; the API makes it a separate call,
              `CreateAlias`, section 5), a description and tags.
            - *Key administrators* and *key users*: the console writes them into the key policy, the
              four-statement policy of the course notes that notebook 03 takes apart.

            (AWS documents the wizard in "Create a symmetric encryption KMS key" in the AWS KMS Developer
            Guide. The sketch is drawn for this course, not a screenshot, and the real console's look changes
            over time.)
        """),
        code("""
            response = kms.create_key(Description="Cat robot battle plans")
            key_id = response["KeyMetadata"]["KeyId"]
            print("KeyId:", key_id)
        """),
        md("""
            `DescribeKey` returns the key's metadata, which is everything about the container. boto3 gives dates
            in your computer's time zone, so we convert them to UTC to make them the same for everyone.
        """),
        code("""
            metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]

            for field in ["KeyId", "Arn", "Description", "CreationDate", "KeyState", "Enabled",
                          "KeyUsage", "KeySpec", "Origin", "KeyManager", "CurrentKeyMaterialId"]:
                value = metadata[field]
                if isinstance(value, datetime):
                    value = value.astimezone(timezone.utc)
                print(f"{field:21} {value}")

            assert metadata["KeyState"] == "Enabled"
            assert metadata["Arn"] == f"arn:aws:kms:us-east-1:{cloud.account_id}:key/{key_id}"
            assert metadata["CreationDate"] == cloud.clock.now()
        """),
        md("""
            | field | what it tells you |
            |---|---|
            | `KeyId` | the key's unique ID in its account and Region |
            | `Arn` | its full name across AWS: `arn:aws:kms:<Region>:<account>:key/<KeyId>` |
            | `CreationDate` | read from the cloud's clock: 30 days after our start date, because we advanced it |
            | `KeyState`, `Enabled` | `Enabled` means the key can be used. Other states (`Disabled`, `PendingDeletion`, …) come later |
            | `KeyUsage` | `ENCRYPT_DECRYPT`: this key encrypts and decrypts (other kinds sign, or compute MACs) |
            | `KeySpec` | `SYMMETRIC_DEFAULT`: a 256-bit AES-GCM key; the same secret encrypts and decrypts |
            | `Origin` | `AWS_KMS`: KMS generated the key material itself (it can also be imported) |
            | `KeyManager` | `CUSTOMER`: you created it and you manage it. AWS services create *AWS managed* keys for you |
            | `CurrentKeyMaterialId` | names the backing key in use now. It is only a name, not the key material |
        """),
        # ------------------------------------------------------------------ 4
        md("""
            ## 4. Keys never leave KMS

            ### Concept

            No KMS operation hands you a KMS key's secret material. You can bring your own material *into* KMS
            (`ImportKeyMaterial`), but there is no way to get any material out. The only thing you can do with
            a KMS key is ask KMS to use it. AWS keeps the material inside hardware security modules (HSMs)
            validated under the U.S. government's FIPS 140 standard for cryptographic modules: today FIPS 140-3
            Security Level 3. The course notes' "FIPS 140-2 Level 2", and why exams ask about it, are in
            notebook 07.

            You can check this yourself. boto3 ships a description of the whole KMS API (its *service model*),
            and it lists every operation KMS has:
        """),
        code("""
            operations = kms.meta.service_model.operation_names

            print("operations about key material:", sorted(op for op in operations if "KeyMaterial" in op))
            print("any Export... operation?      ", any(op.startswith("Export") for op in operations))
            assert not any(op.startswith("Export") for op in operations)
        """),
        md("""
            Both of those operations send material *to* KMS or delete imported material. Neither one returns it.
            (Later you will meet *data keys*, which KMS generates precisely so that you can take them away.
            They are a different thing from the KMS key that protects them.)
        """),
        # ------------------------------------------------------------------ 5
        md("""
            ## 5. Give the key a name: aliases

            ### Concept

            A key ID is hard to remember, and code that hard-codes it is tied to that one key. An **alias** is a
            friendly name that points at a key, such as `alias/catrobot`. Code can name the alias, and later you
            can point the alias at another key without changing the code. An alias belongs to one account and
            one Region, just like the key it points at. Names that start with `alias/aws/` are reserved for AWS
            managed keys.
        """),
        code("""
            kms.create_alias(AliasName="alias/catrobot", TargetKeyId=key_id)

            by_alias = kms.describe_key(KeyId="alias/catrobot")["KeyMetadata"]
            print("alias/catrobot points at:", by_alias["KeyId"])
            assert by_alias["KeyId"] == key_id

            for alias in kms.list_aliases(KeyId=key_id)["Aliases"]:
                print(alias["AliasName"], "=", alias["AliasArn"])
        """),
        # ------------------------------------------------------------------ 6
        md("""
            ## 6. Many keys: listing them a page at a time

            ### Concept

            `ListKeys` and `ListAliases` list the keys and aliases of the account in one Region, but **not all
            at once**: each answer is one *page*. `ListKeys` returns at most 100 keys unless you ask for another
            `Limit` (1 to 1000), `ListAliases` at most 50 (`Limit` 1 to 100). When more are left, the answer says
            `Truncated: True` and gives a `NextMarker`; you pass it back as `Marker` to get the next page, until
            `Truncated` is `False`. Code that reads only the first page works in a test account and silently
            misses keys in a real one. (AWS documents this in the `ListKeys` and `ListAliases` API reference:
            "Use this parameter in a subsequent request after you receive a response with truncated results.")

            Say a team has made 120 keys in `ap-southeast-2`. The first page holds only 100 of them:
        """),
        code("""
            sydney = cloud.client("kms", region_name="ap-southeast-2")
            for n in range(120):
                sydney.create_key(Description=f"team key {n}")

            first = sydney.list_keys()
            print("keys on the first page:", len(first["Keys"]))
            print("Truncated:             ", first["Truncated"])
            print("NextMarker given?      ", "NextMarker" in first)
            assert len(first["Keys"]) == 100 and first["Truncated"]
        """),
        md("""
            To see them all, keep asking with the marker until the answer is no longer truncated:
        """),
        code("""
            keys, marker = [], None
            while True:
                page = sydney.list_keys(Marker=marker) if marker else sydney.list_keys()
                keys += page["Keys"]
                if not page["Truncated"]:
                    break
                marker = page["NextMarker"]
            print("keys, over every page:", len(keys))
            assert len(keys) == 120 and len({k["KeyId"] for k in keys}) == 120
        """),
        md("""
            boto3 writes that loop for you: a **paginator** makes the calls, passes each marker back, and gives
            you the pages one by one. It is the usual way to list anything in AWS. The same works for aliases;
            here a page size of 5 shows the pages. Notice that KMS lists aliases starting with `alias/aws/`
            even before any AWS managed key exists: those aliases are reserved for AWS services (notebook 05),
            and they have no `TargetKeyId` until the service first needs its key.
        """),
        code("""
            paginator = sydney.get_paginator("list_keys")
            print("keys, with the paginator:", sum(len(page["Keys"]) for page in paginator.paginate()))

            alias_pages = list(kms.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 5}))
            aliases = [a for page in alias_pages for a in page["Aliases"]]
            print("alias pages of 5:", len(alias_pages), "| aliases in us-east-1:", len(aliases))
            print("ours:", [a["AliasName"] for a in aliases if not a["AliasName"].startswith("alias/aws/")])
            print("reserved for AWS services, without a key yet:",
                  sum(1 for a in aliases if a["AliasName"].startswith("alias/aws/") and "TargetKeyId" not in a))
        """),
        # ------------------------------------------------------------------ 7
        md("""
            ## 7. Encrypt and decrypt

            ### Concept

            To **encrypt**, you send KMS your plaintext and name a key. You can use its key ID, its ARN, an alias
            name or an alias ARN. KMS checks that you are allowed to use the key, encrypts with the key's
            current backing key, and returns a **ciphertext blob**. The key stays inside KMS. Only your data
            travels.
        """),
        code("""
            plaintext = b"battle plans"

            encrypted = kms.encrypt(KeyId="alias/catrobot", Plaintext=plaintext)
            ciphertext = encrypted["CiphertextBlob"]

            print("type:", type(ciphertext).__name__, "| length:", len(ciphertext), "bytes")
            print("a peek at its last 16 bytes:", ciphertext[-16:].hex())
            print("does it contain the plaintext?", plaintext in ciphertext)
            print("KeyId in the response:", encrypted["KeyId"])
            assert plaintext not in ciphertext
        """),
        md("""
            The ciphertext is opaque bytes. It is much longer than the 12 bytes we sent, because it also carries
            what KMS needs to decrypt it later. Notice that the response names the key by its **ARN**, not by the
            alias: KMS worked out which key the alias pointed at.

            To **decrypt**, you send only the ciphertext. You don't have to say which key to use, because the
            ciphertext itself records which KMS key made it, and which of that key's backing keys. KMS still
            checks that you are allowed to decrypt with that key. (Naming the key anyway is optional, and a good
            habit in real applications, as a later notebook shows.)
        """),
        code("""
            decrypted = kms.decrypt(CiphertextBlob=ciphertext)  # note: no KeyId

            print("Plaintext:     ", decrypted["Plaintext"])
            print("decrypted with:", decrypted["KeyId"])
            assert decrypted["Plaintext"] == plaintext
            assert decrypted["KeyId"] == metadata["Arn"]
            assert decrypted["KeyMaterialId"] == metadata["CurrentKeyMaterialId"]
        """),
        md("""
            Two more things are worth seeing. First, encrypting the same plaintext twice gives *different*
            ciphertexts. Each encryption uses fresh random values, so an eavesdropper cannot tell that two
            messages are the same. Second, a ciphertext is *authenticated*: change a single bit and KMS refuses
            to decrypt it, rather than returning wrong plaintext.
        """),
        code("""
            again = kms.encrypt(KeyId="alias/catrobot", Plaintext=plaintext)["CiphertextBlob"]
            print("same ciphertext both times?      ", again == ciphertext)
            print("both decrypt to the same message?", kms.decrypt(CiphertextBlob=again)["Plaintext"] == plaintext)
            assert again != ciphertext

            tampered = ciphertext[:-1] + bytes([ciphertext[-1] ^ 0x01])  # flip the very last bit
            try:
                kms.decrypt(CiphertextBlob=tampered)
            except ClientError as err:
                print("decrypting a tampered ciphertext:", err.response["Error"]["Code"])
            else:
                raise AssertionError("a tampered ciphertext must not decrypt")
        """),
        # ------------------------------------------------------------------ 8
        md("""
            ## 8. The 4 KB limit

            ### Concept

            `Encrypt` takes at most **4096 bytes** of plaintext. A KMS key is meant for small secrets, such as a
            password, a token or another key, and not for files. boto3 checks a parameter's type before sending
            it, but it doesn't check this maximum. So an oversized request reaches KMS, and KMS rejects it with a
            `ValidationException`.
        """),
        code("""
            exactly_4kb = kms.encrypt(KeyId="alias/catrobot", Plaintext=b"x" * 4096)
            print("4096 bytes: encrypted into", len(exactly_4kb["CiphertextBlob"]), "bytes")

            try:
                kms.encrypt(KeyId="alias/catrobot", Plaintext=b"x" * 4097)
            except ClientError as err:
                print("4097 bytes:", type(err).__name__, err.response["Error"]["Code"])
                print("           ", err.response["Error"]["Message"].replace(": Member", ":\\n             Member"))
            else:
                raise AssertionError("KMS should refuse more than 4096 bytes")
        """),
        md("""
            So how does AWS encrypt a 5 GB object in S3? With **data keys**: KMS generates a fresh key for the
            data, you encrypt the data yourself with that key, and you keep only an encrypted copy of the data
            key, which your KMS key protects. This is *envelope encryption*, and later notebooks cover it.
        """),
        # ------------------------------------------------------------------ 9
        md("""
            ## 9. The key policy

            ### Concept

            Every KMS key has exactly one **key policy**, named `default`. It is a JSON resource policy that says
            who may do what with the key. For most AWS resources, an IAM policy in the account is enough to grant
            access. KMS keys are different: nobody can use a key unless its key policy allows it, either directly
            or by trusting the account so that IAM policies count. When you create a key without giving a policy,
            KMS attaches its default key policy:
        """),
        code("""
            policy_text = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
            print(policy_text)
        """),
        code("""
            import json

            statement = json.loads(policy_text)["Statement"][0]
            print("Effect:   ", statement["Effect"])
            print("Principal:", statement["Principal"]["AWS"])
            print("Action:   ", statement["Action"])

            assert statement["Effect"] == "Allow" and statement["Action"] == "kms:*"
            assert statement["Principal"]["AWS"] == f"arn:aws:iam::{cloud.account_id}:root"
        """),
        md("""
            The policy **trusts the account**. The principal `arn:aws:iam::111122223333:root` stands for the
            whole account, not only its root user. It means "the IAM policies in this account decide who may use
            this key". Without that statement, no IAM policy could grant anyone access to the key. Our client acts
            as the account's root user, so everything in this notebook is allowed. Users, roles and separating
            key administrators from key users come later in the course.
        """),
        # ------------------------------------------------------------------ 10
        md("""
            ## 10. A Regional and public service

            ### Concept

            KMS is a **Regional** service: every Region has its own, separate KMS, like a separate product. A
            key and its aliases exist in exactly one Region, and the key material never leaves it. Ask KMS in
            `eu-west-1` about our `us-east-1` key:
        """),
        code("""
            eu = cloud.client("kms", region_name="eu-west-1")

            try:
                eu.describe_key(KeyId=key_id)
            except ClientError as err:
                print("eu-west-1 says:", err.response["Error"]["Code"], "-", err.response["Error"]["Message"])
            else:
                raise AssertionError("a key must not be visible in another Region")
            print("keys in eu-west-1:", eu.list_keys()["Keys"])
        """),
        md("""
            KMS is also a **public** service: each Region's KMS answers at a public HTTPS endpoint, such as
            `https://kms.us-east-1.amazonaws.com`, that anyone can reach from anywhere on the internet. Reaching
            it is not the same as being let in: every request must be signed with AWS credentials, and the key
            policy and IAM policies decide what the signer may do. Here our client's endpoint is on `.invalid`,
            but boto3 knows the real addresses (working out an address sends no request):
        """),
        code("""
            import boto3
            from botocore.config import Config

            session = boto3.session.Session()
            for region in ("us-east-1", "eu-west-1"):
                print(f"{region:10} {session.client('kms', region_name=region).meta.endpoint_url}")
            fips = session.client("kms", region_name="us-east-1", config=Config(use_fips_endpoint=True))
            print("FIPS       " + fips.meta.endpoint_url)
        """),
        md("""
            ![KMS as a public Regional service: a laptop reaches the public endpoint over the internet; an EC2
            instance in a private subnet reaches it through a VPC interface endpoint](figures/public-service.svg)

            Applications inside a VPC often have no route to the internet. They reach KMS privately through a
            **VPC interface endpoint** (AWS PrivateLink, service name `com.amazonaws.<region>.kms`). With its
            private DNS name enabled, the usual name `kms.<region>.amazonaws.com` resolves to the endpoint
            inside the VPC, so SDKs and the aws CLI work unchanged, and a key policy can insist on it with the
            condition key `aws:SourceVpce`. (AWS KMS Developer Guide, "Connecting to AWS KMS through a VPC
            endpoint".) The simulator has no network to model; the notebook's endpoint on `.invalid` stands for
            all of this.

            *Multi-Region keys* are related keys that share key material across Regions. They are a deliberate
            exception to "one key, one Region", and notebook 06 uses them.
        """),
        # ------------------------------------------------------------------ 11
        md("""
            ## 11. Let a year go by

            ### Concept

            Nothing happens to a key just because time passes. A customer managed key doesn't rotate unless you
            turn rotation on, and it stays usable until you disable it or schedule it for deletion. Let's move the
            clock forward a year and check:
        """),
        code("""
            cloud.clock.advance(days=365)
            print("now:", cloud.clock.now())

            print("key state:               ", kms.describe_key(KeyId="alias/catrobot")["KeyMetadata"]["KeyState"])
            print("automatic rotation on?   ", kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])
            print("old ciphertext decrypts? ", kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == plaintext)
            assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == plaintext
        """),
        # ------------------------------------------------------------------ wrap-up
        md("""
            ## What you saw

            - `kms_teach.Cloud()` is a private, in-memory AWS (account `111122223333`) with a clock you control:
              `cloud.clock.now()` and `cloud.clock.advance(days=...)`.
            - `cloud.client("kms", ...)` is a genuine botocore client, and failures are `ClientError`s with AWS's
              error codes. The same code runs against AWS with `boto3.client("kms", ...)`.
            - A KMS key is a logical container (ID, ARN, dates, state, policy) over backing key material that you
              never see: **keys never leave KMS**.
            - An alias such as `alias/catrobot` is a movable name for a key. The console's *Create key* wizard
              is `CreateKey` (type, origin, Region scope, policy) plus `CreateAlias`.
            - `ListKeys` and `ListAliases` answer a page at a time: follow `NextMarker` while `Truncated`, or
              let a paginator do it.
            - `Encrypt` names a key and returns an opaque, authenticated ciphertext blob. `Decrypt` doesn't need
              a key ID, because the ciphertext carries it.
            - `Encrypt` accepts at most 4096 bytes. Larger data uses data keys (coming later).
            - The default key policy trusts the account, so IAM policies can then grant access.
            - Keys and aliases are Regional: in another Region, the key doesn't exist. KMS is a public service,
              at one HTTPS endpoint per Region, and a VPC reaches it privately through an interface endpoint.
        """),
        md("""
            ## Self-check

            Try to answer each question before you open its answer.

            **1.** You encrypted with `alias/catrobot` and then decrypted without naming any key. How did KMS
            know which key to use?

            <details>
            <summary>Show answer</summary>

            The ciphertext blob records which KMS key (and which of its backing keys) encrypted it. KMS reads
            that, checks that you may decrypt with that key, and decrypts. The `KeyId` in Decrypt's response
            shows which key it was. The alias was only used to find the key when you encrypted.

            </details>

            **2.** You need to protect a 10 MB file with KMS. Can you pass it to `Encrypt`?

            <details>
            <summary>Show answer</summary>

            No. `Encrypt` accepts at most 4096 bytes of plaintext, and KMS answers a larger request with a
            `ValidationException`. Instead you use a data key from `GenerateDataKey` to encrypt the file yourself
            (envelope encryption). KMS only protects the small data key.

            </details>

            **3.** Your script counts the account's keys with `len(kms.list_keys()["Keys"])` and prints 100.
            Is that how many keys there are?

            <details>
            <summary>Show answer</summary>

            Not necessarily: 100 is the size of the first page. If the answer says `Truncated: True`, there
            are more; call again with `Marker=NextMarker` until `Truncated` is `False`, or use
            `kms.get_paginator("list_keys")`.

            </details>

            **4.** A colleague working in `eu-west-1` calls `DescribeKey` with your key's ID and gets
            `NotFoundException`. Yet the key exists. Why?

            <details>
            <summary>Show answer</summary>

            KMS is regional. Your key (and its alias) exists only in `us-east-1`, and the KMS in `eu-west-1` is
            a separate service that has never heard of it. Your colleague must use a `us-east-1` client, or you
            need a multi-Region key.

            </details>
        """),
        md(next_cell_text("00")),
    ]
