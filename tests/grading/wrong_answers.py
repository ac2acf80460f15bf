"""Plausible wrong answers, per assignment and task: (what the mistake is, the answer cell's code).

Each must fail its task's hidden checks (tests/grading/test_assignments.py). They are the mistakes a
learner is likely to make, so a hidden check that lets one through is too weak.
"""

from __future__ import annotations

WRONG: dict[str, dict[str, list[tuple[str, str]]]] = {}

WRONG["ex00_first_steps"] = {
    "t1": [
        ("returns the ARN", '''
def make_key(kms, description, alias):
    md = kms.create_key(Description=description)["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=md["KeyId"])
    return md["Arn"]
'''),
        ("forgets the alias", '''
def make_key(kms, description, alias):
    return kms.create_key(Description=description)["KeyMetadata"]["KeyId"]
'''),
        ("an asymmetric key", '''
def make_key(kms, description, alias):
    key_id = kms.create_key(Description=description, KeySpec="RSA_2048",
                            KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return key_id
'''),
    ],
    "t2": [
        ("identity 'encryption'", '''
def protect(kms, key_ref, text):
    return text.encode("utf-8")

def reveal(kms, blob):
    return blob.decode("utf-8")
'''),
        ("returns base64 text of the blob", '''
import base64

def protect(kms, key_ref, text):
    return base64.b64encode(kms.encrypt(KeyId=key_ref, Plaintext=text.encode())["CiphertextBlob"])

def reveal(kms, blob):
    return kms.decrypt(CiphertextBlob=base64.b64decode(blob))["Plaintext"].decode()
'''),
        ("encrypts under a key of its own", '''
def protect(kms, key_ref, text):
    mine = kms.create_key()["KeyMetadata"]["KeyId"]
    return kms.encrypt(KeyId=mine, Plaintext=text.encode())["CiphertextBlob"]

def reveal(kms, blob):
    return kms.decrypt(CiphertextBlob=blob)["Plaintext"].decode()
'''),
    ],
    "t3": [
        ("reads only the first page of ListKeys", '''
def find_key(cloud, regions, description):
    for region in regions:
        client = cloud.client("kms", region_name=region)
        for key in client.list_keys()["Keys"]:
            md = client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if md["Description"] == description:
                return region, md["KeyId"]
    return None
'''),
        ("searches its own list of Regions", '''
def find_key(cloud, regions, description):
    for region in ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "ap-south-1"]:
        client = cloud.client("kms", region_name=region)
        for page in client.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                md = client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                if md["Description"] == description:
                    return region, md["KeyId"]
    return None
'''),
        ("returns the ARN", '''
def find_key(cloud, regions, description):
    for region in regions:
        client = cloud.client("kms", region_name=region)
        for page in client.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                md = client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                if md["Description"] == description:
                    return region, md["Arn"]
    return None
'''),
    ],
}

WRONG["ex01_encrypt_decrypt"] = {
    "t1": [
        ("no encryption context", '''
def encrypt_record(kms, key_id, record, tenant):
    return kms.encrypt(KeyId=key_id, Plaintext=record)["CiphertextBlob"]
'''),
        ("a context with more than the tenant", '''
def encrypt_record(kms, key_id, record, tenant):
    return kms.encrypt(KeyId=key_id, Plaintext=record,
                       EncryptionContext={"tenant": tenant, "app": "billing"})["CiphertextBlob"]
'''),
        ("the tenant as the context's key", '''
def encrypt_record(kms, key_id, record, tenant):
    return kms.encrypt(KeyId=key_id, Plaintext=record, EncryptionContext={tenant: "tenant"})["CiphertextBlob"]
'''),
    ],
    "t2": [
        ("no encryption context", '''
def decrypt_record(kms, blob, tenant):
    return kms.decrypt(CiphertextBlob=blob)["Plaintext"]
'''),
        ("retries without the context", '''
def decrypt_record(kms, blob, tenant):
    try:
        return kms.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": tenant})["Plaintext"]
    except Exception:
        return kms.decrypt(CiphertextBlob=blob)["Plaintext"]
'''),
        ("swallows the error", '''
def decrypt_record(kms, blob, tenant):
    try:
        return kms.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": tenant})["Plaintext"]
    except Exception:
        return b""
'''),
    ],
    "t3": [
        ("a grant without a constraint", '''
def allow_tenant_reader(kms, key_id, user_arn, tenant):
    kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn, Operations=["Decrypt"])
'''),
        ("a grant for Encrypt too", '''
def allow_tenant_reader(kms, key_id, user_arn, tenant):
    kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn, Operations=["Decrypt", "Encrypt", "GenerateDataKey"],
                     Constraints={"EncryptionContextEquals": {"tenant": tenant}})
'''),
        ("a key policy statement for Principal *", '''
import json

def allow_tenant_reader(kms, key_id, user_arn, tenant):
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    policy["Statement"].append({"Sid": "Readers", "Effect": "Allow", "Principal": {"AWS": "*"},
                                "Action": "kms:Decrypt", "Resource": "*",
                                "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": tenant}}})
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
'''),
    ],
}

WRONG["ex02_data_keys"] = {
    "t1": [
        ("sends the data to Encrypt", '''
def seal(kms, key_id, data):
    return {"encrypted_key": b"", "nonce": b"",
            "ciphertext": kms.encrypt(KeyId=key_id, Plaintext=data)["CiphertextBlob"]}
'''),
        ("keeps the plaintext data key as 'encrypted_key'", '''
def seal(kms, key_id, data):
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = os.urandom(12)
    return {"encrypted_key": dk["Plaintext"], "nonce": nonce,
            "ciphertext": AESGCM(dk["Plaintext"]).encrypt(nonce, data, None)}
'''),
        ("one data key for every record", '''
_cache = {}

def seal(kms, key_id, data):
    if key_id not in _cache:
        _cache[key_id] = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    dk = _cache[key_id]
    nonce = os.urandom(12)
    return {"encrypted_key": dk["CiphertextBlob"], "nonce": nonce,
            "ciphertext": AESGCM(dk["Plaintext"]).encrypt(nonce, data, None)}
'''),
    ],
    "t2": [
        ("decrypts the ciphertext with KMS", '''
def unseal(kms, record):
    return kms.decrypt(CiphertextBlob=record["ciphertext"])["Plaintext"]
'''),
        ("uses the encrypted data key as the AES key", '''
def unseal(kms, record):
    return AESGCM(record["encrypted_key"][:32]).decrypt(record["nonce"], record["ciphertext"], None)
'''),
        ("ignores authentication failures", '''
def unseal(kms, record):
    dek = kms.decrypt(CiphertextBlob=record["encrypted_key"])["Plaintext"]
    try:
        return AESGCM(dek).decrypt(record["nonce"], record["ciphertext"], None)
    except Exception:
        return b""
'''),
    ],
    "t3": [
        ("a plaintext data key next to the file", '''
def seal_file(kms, key_id, src, dst):
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = os.urandom(12)
    Path(str(dst) + ".key").write_bytes(dk["Plaintext"])
    Path(dst).write_bytes(nonce + AESGCM(dk["Plaintext"]).encrypt(nonce, Path(src).read_bytes(), None))


def open_file(kms, path):
    raw = Path(path).read_bytes()
    return AESGCM(Path(str(path) + ".key").read_bytes()).decrypt(raw[:12], raw[12:], None)
'''),
        ("the data key in base64 in a JSON file", '''
import base64, json

def seal_file(kms, key_id, src, dst):
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = os.urandom(12)
    body = AESGCM(dk["Plaintext"]).encrypt(nonce, Path(src).read_bytes(), None)
    Path(dst).write_text(json.dumps({"key": base64.b64encode(dk["Plaintext"]).decode(),
                                     "encrypted_key": base64.b64encode(dk["CiphertextBlob"]).decode(),
                                     "nonce": nonce.hex(), "body": base64.b64encode(body).decode()}))


def open_file(kms, path):
    doc = json.loads(Path(path).read_text())
    dek = kms.decrypt(CiphertextBlob=base64.b64decode(doc["encrypted_key"]))["Plaintext"]
    return AESGCM(dek).decrypt(bytes.fromhex(doc["nonce"]), base64.b64decode(doc["body"]), None)
'''),
        ("the whole file sent to Encrypt", '''
def seal_file(kms, key_id, src, dst):
    Path(dst).write_bytes(kms.encrypt(KeyId=key_id, Plaintext=Path(src).read_bytes())["CiphertextBlob"])


def open_file(kms, path):
    return kms.decrypt(CiphertextBlob=Path(path).read_bytes())["Plaintext"]
'''),
    ],
}

_ADMIN_ACTIONS = '''["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                 "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion",
                 "kms:CancelKeyDeletion"]'''

WRONG["ex03_key_policies"] = {
    "t1": [
        ("administrators get kms:*", '''
def separated_policy(account, admin_arn, user_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": user_arn},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"}]}
'''),
        ("users are Principal *", '''
def separated_policy(account, admin_arn, user_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": ''' + _ADMIN_ACTIONS + ''', "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"}]}
'''),
        ("one statement for both", '''
def separated_policy(account, admin_arn, user_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": [admin_arn, user_arn]},
         "Action": ''' + _ADMIN_ACTIONS + ''' + ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*",
                                               "kms:GenerateDataKey*"],
         "Resource": "*"}]}
'''),
    ],
    "t2": [
        ("returns the policy unchanged", '''
def fix_lockout(policy, account):
    return policy
'''),
        ("allows everyone everything", '''
def fix_lockout(policy, account):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]}
'''),
        ("drops every Deny and adds the root statement", '''
def fix_lockout(policy, account):
    kept = [s for s in policy["Statement"] if s.get("Effect") != "Deny"]
    kept.insert(0, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*", "Resource": "*"})
    return dict(policy, Statement=kept)
'''),
        ("only adds the root statement", '''
def fix_lockout(policy, account):
    return dict(policy, Statement=[{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                                    "Action": "kms:*", "Resource": "*"}] + policy["Statement"])
'''),
    ],
    "t3": [
        ("still trusts the account", '''
def high_security_policy(account, admin_arn, app_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": ''' + _ADMIN_ACTIONS + ''', "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": app_arn},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}
'''),
        ("no administrator: nobody can ever change it", '''
def high_security_policy(account, admin_arn, app_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": app_arn},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}
'''),
        ("the administrator gets kms:*", '''
def high_security_policy(account, admin_arn, app_arn):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": app_arn},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}
'''),
    ],
}

WRONG["ex04_rotation"] = {
    "t1": [
        ("the default period only", '''
def enable_rotation(kms, key_id, days):
    kms.enable_key_rotation(KeyId=key_id)
'''),
        ("rotates once, now", '''
def enable_rotation(kms, key_id, days):
    kms.rotate_key_on_demand(KeyId=key_id)
'''),
        ("enables, then rotates at once", '''
def enable_rotation(kms, key_id, days):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=days)
    kms.rotate_key_on_demand(KeyId=key_id)
'''),
    ],
    "t2": [
        ("the current backing key", '''
def backing_key_of(kms, blob):
    key_id = kms.decrypt(CiphertextBlob=blob)["KeyId"]
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
'''),
        ("the KMS key's ID", '''
def backing_key_of(kms, blob):
    return kms.decrypt(CiphertextBlob=blob)["KeyId"]
'''),
        ("the original backing key", '''
def backing_key_of(kms, blob):
    key_id = kms.decrypt(CiphertextBlob=blob)["KeyId"]
    return kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"][0]["KeyMaterialId"]
'''),
    ],
    "t3": [
        ("returns the blobs unchanged (rotation re-encrypts, does it not?)", '''
def refresh(kms, key_id, blobs):
    kms.rotate_key_on_demand(KeyId=key_id)
    return list(blobs)
'''),
        ("Decrypt then Encrypt", '''
def refresh(kms, key_id, blobs):
    return [kms.encrypt(KeyId=key_id, Plaintext=kms.decrypt(CiphertextBlob=b)["Plaintext"])["CiphertextBlob"]
            for b in blobs]
'''),
        ("ReEncrypt under a new KMS key", '''
def refresh(kms, key_id, blobs):
    new_key = kms.create_key()["KeyMetadata"]["KeyId"]
    return [kms.re_encrypt(CiphertextBlob=b, DestinationKeyId=new_key)["CiphertextBlob"] for b in blobs]
'''),
    ],
}

WRONG["ex05_key_ownership"] = {
    "t1": [
        ("every key, AWS managed too", """
def customer_managed_keys(kms):
    return {k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]}
"""),
        ("reads only the first page of ListKeys", """
def customer_managed_keys(kms):
    mine = set()
    for key in kms.list_keys()["Keys"]:
        if kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyManager"] == "CUSTOMER":
            mine.add(key["KeyId"])
    return mine
"""),
        ("tells them apart by the description", """
def customer_managed_keys(kms):
    mine = set()
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            md = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if not md["Description"].startswith("Default key that protects"):
                mine.add(key["KeyId"])
    return mine
"""),
        ("the keys with an alias not under alias/aws/", """
def customer_managed_keys(kms):
    return {a["TargetKeyId"] for page in kms.get_paginator("list_aliases").paginate() for a in page["Aliases"]
            if "TargetKeyId" in a and not a["AliasName"].startswith("alias/aws/")}
"""),
    ],
    "t2": [
        ("SSE-S3 (an AWS owned key)", """
def store_with_aws_managed_key(s3, bucket, name, body):
    out = s3.put_object(Bucket=bucket, Key=name, Body=body, ServerSideEncryption="AES256")
    return out.get("SSEKMSKeyId")
"""),
        ("returns the whole PutObject answer", """
def store_with_aws_managed_key(s3, bucket, name, body):
    return s3.put_object(Bucket=bucket, Key=name, Body=body, ServerSideEncryption="aws:kms")
"""),
        ("returns the alias, not the key ARN", """
def store_with_aws_managed_key(s3, bucket, name, body):
    s3.put_object(Bucket=bucket, Key=name, Body=body, ServerSideEncryption="aws:kms")
    return "alias/aws/s3"
"""),
    ],
    "t3": [
        ("hard-codes us-east-1", """
def required_service(kms, key_ref):
    md = kms.describe_key(KeyId=key_ref)["KeyMetadata"]
    return "s3.us-east-1.amazonaws.com" if md["KeyManager"] == "AWS" else None
"""),
        ("never looks at KeyManager", """
def required_service(kms, key_ref):
    return f"s3.{kms.meta.region_name}.amazonaws.com"
"""),
        ("goes by the alias's name", """
def required_service(kms, key_ref):
    if key_ref.startswith("alias/aws/"):
        return f"{key_ref.split('/')[2]}.{kms.meta.region_name}.amazonaws.com"
    return None
"""),
    ],
}

WRONG["ex06_key_types"] = {
    "t1": [
        ("a verifier that always says yes", '''
def sign(kms, key_id, message):
    return kms.sign(KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")["Signature"]


def verify_outside(public_key_der, message, signature):
    return True
'''),
        ("signs the message as if it were a digest", '''
import hashlib

def sign(kms, key_id, message):
    return kms.sign(KeyId=key_id, Message=hashlib.sha256(hashlib.sha256(message).digest()).digest(),
                    MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")["Signature"]


def verify_outside(public_key_der, message, signature):
    public_key = serialization.load_der_public_key(public_key_der)
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
'''),
        ("lets a bad signature raise", '''
def sign(kms, key_id, message):
    return kms.sign(KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")["Signature"]


def verify_outside(public_key_der, message, signature):
    serialization.load_der_public_key(public_key_der).verify(signature, message, ec.ECDSA(hashes.SHA256()))
    return True
'''),
    ],
    "t2": [
        ("a local HMAC keyed with the key ID", '''
import hmac, hashlib

def tag(kms, key_id, message):
    return hmac.new(key_id.encode(), message, hashlib.sha256).digest()


def tag_ok(kms, key_id, message, mac):
    return hmac.compare_digest(tag(kms, key_id, message), mac)
'''),
        ("a wrong tag crashes", '''
def tag(kms, key_id, message):
    return kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm="HMAC_SHA_256")["Mac"]


def tag_ok(kms, key_id, message, mac):
    return kms.verify_mac(KeyId=key_id, Message=message, Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"]
'''),
        ("every error means 'valid'", '''
def tag(kms, key_id, message):
    return kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm="HMAC_SHA_256")["Mac"]


def tag_ok(kms, key_id, message, mac):
    try:
        kms.verify_mac(KeyId=key_id, Message=message, Mac=mac, MacAlgorithm="HMAC_SHA_256")
    except Exception:
        pass
    return True
'''),
    ],
    "t3": [
        ("never expires", '''
def import_material(kms, key_id, material, valid_to):
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    wrapped = serialization.load_der_public_key(params["PublicKey"]).encrypt(
        material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
'''),
        ("wraps with SHA-1 under a SHA-256 wrapping algorithm", '''
def import_material(kms, key_id, material, valid_to):
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    wrapped = serialization.load_der_public_key(params["PublicKey"]).encrypt(
        material, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)
'''),
        ("fresh random material each time", '''
import os

def import_material(kms, key_id, material, valid_to):
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    wrapped = serialization.load_der_public_key(params["PublicKey"]).encrypt(
        os.urandom(32), padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    extra = {"ValidTo": valid_to} if valid_to else {}
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_EXPIRES" if valid_to else "KEY_MATERIAL_DOES_NOT_EXPIRE",
                            **extra)
'''),
    ],
}

_EVENTS = '''
def _events(cloudtrail, **kwargs):
    for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page["Events"]:
            yield json.loads(event["CloudTrailEvent"])

'''

WRONG["ex07_audit_trail"] = {
    "t1": [
        ("counts refused calls too", _EVENTS + '''
def who_decrypted(cloudtrail, key_arn):
    return {e["userIdentity"]["arn"] for e in _events(cloudtrail)
            if e["eventName"] == "Decrypt" and any(r.get("ARN") == key_arn for r in e.get("resources") or [])}
'''),
        ("ignores which key", _EVENTS + '''
def who_decrypted(cloudtrail, key_arn):
    return {e["userIdentity"]["arn"] for e in _events(cloudtrail)
            if e["eventName"] == "Decrypt" and not e.get("errorCode")}
'''),
        ("reads only the first page", '''
def who_decrypted(cloudtrail, key_arn):
    found = set()
    for event in cloudtrail.lookup_events()["Events"]:
        e = json.loads(event["CloudTrailEvent"])
        if e["eventName"] == "Decrypt" and not e.get("errorCode") and \\
                any(r.get("ARN") == key_arn for r in e.get("resources") or []):
            found.add(e["userIdentity"]["arn"])
    return found
'''),
    ],
    "t2": [
        ("every error, not only AccessDenied", _EVENTS + '''
def refused(cloudtrail):
    out = [(e["eventTime"], e["userIdentity"]["arn"], e["eventName"]) for e in _events(cloudtrail) if e.get("errorCode")]
    return [(a, n) for _, a, n in sorted(out, key=lambda x: x[0])]
'''),
        ("newest first, as lookup_events gives them", _EVENTS + '''
def refused(cloudtrail):
    return [(e["userIdentity"]["arn"], e["eventName"]) for e in _events(cloudtrail)
            if e.get("errorCode") == "AccessDeniedException"]
'''),
        ("the first page only", '''
def refused(cloudtrail):
    out = []
    for event in cloudtrail.lookup_events()["Events"]:
        e = json.loads(event["CloudTrailEvent"])
        if e.get("errorCode") == "AccessDeniedException":
            out.append((e["eventTime"], e["userIdentity"]["arn"], e["eventName"]))
    return [(a, n) for _, a, n in sorted(out, key=lambda x: x[0])]
'''),
    ],
    "t3": [
        ("ignores the time window", _EVENTS + '''
def decrypts_between(cloudtrail, start, end):
    counts = {}
    for e in _events(cloudtrail):
        if e["eventName"] == "Decrypt" and not e.get("errorCode"):
            counts[e["userIdentity"]["arn"]] = counts.get(e["userIdentity"]["arn"], 0) + 1
    return counts
'''),
        ("counts refused calls", _EVENTS + '''
def decrypts_between(cloudtrail, start, end):
    counts = {}
    for e in _events(cloudtrail, StartTime=start, EndTime=end):
        if e["eventName"] == "Decrypt":
            counts[e["userIdentity"]["arn"]] = counts.get(e["userIdentity"]["arn"], 0) + 1
    return counts
'''),
        ("counts every call, not only Decrypt", _EVENTS + '''
def decrypts_between(cloudtrail, start, end):
    counts = {}
    for e in _events(cloudtrail, StartTime=start, EndTime=end):
        if not e.get("errorCode") and e["userIdentity"]["arn"].split(":")[-1] != "root":
            counts[e["userIdentity"]["arn"]] = counts.get(e["userIdentity"]["arn"], 0) + 1
    return counts
'''),
    ],
}

# Found by review: each of these once got the task's points.
WRONG["ex01_encrypt_decrypt"]["t3"].append(("a grant that also lets the reporter create grants", '''
def allow_tenant_reader(kms, key_id, user_arn, tenant):
    kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn,
                     Operations=["Decrypt", "CreateGrant", "RetireGrant", "DescribeKey"],
                     Constraints={"EncryptionContextEquals": {"tenant": tenant}})
'''))
WRONG["ex02_data_keys"]["t3"].append(("a debug log of GenerateDataKey's answer", '''
import json

def seal_file(kms, key_id, src, dst):
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    Path(str(dst) + ".log").write_text(json.dumps({k: v for k, v in dk.items() if k != "ResponseMetadata"},
                                                  default=str))
    nonce = os.urandom(12)
    ek = dk["CiphertextBlob"]
    body = AESGCM(dk["Plaintext"]).encrypt(nonce, Path(src).read_bytes(), None)
    Path(dst).write_bytes(len(ek).to_bytes(2, "big") + ek + nonce + body)


def open_file(kms, path):
    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[:2], "big")
    dek = kms.decrypt(CiphertextBlob=raw[2:2 + n])["Plaintext"]
    return AESGCM(dek).decrypt(raw[2 + n:14 + n], raw[14 + n:], None)
'''))
WRONG["ex02_data_keys"]["t3"].append(("the data key as a JSON list of numbers", '''
import json

def seal_file(kms, key_id, src, dst):
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = os.urandom(12)
    body = AESGCM(dk["Plaintext"]).encrypt(nonce, Path(src).read_bytes(), None)
    Path(dst).write_text(json.dumps({"key": list(dk["Plaintext"]), "nonce": nonce.hex(), "body": body.hex()}))


def open_file(kms, path):
    doc = json.loads(Path(path).read_text())
    return AESGCM(bytes(doc["key"])).decrypt(bytes.fromhex(doc["nonce"]), bytes.fromhex(doc["body"]), None)
'''))
WRONG["ex03_key_policies"]["t2"].append(("drops the deliberate Deny and adds the root statement", '''
def fix_lockout(policy, account):
    root = f"arn:aws:iam::{account}:root"
    kept = [s for s in policy["Statement"] if "NotPrincipal" not in s
            and not (s.get("Effect") == "Allow" and str(s.get("Principal")).endswith(":root'}") and root not in str(s))]
    kept.insert(0, {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"})
    return dict(policy, Statement=kept)
'''))

WRONG["ex02_data_keys"]["t3"].append(("the plaintext data key kept in /tmp", '''
import tempfile, uuid

def seal_file(kms, key_id, src, dst):
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    Path(tempfile.gettempdir(), f"dek-{uuid.uuid4().hex}.bin").write_bytes(dk["Plaintext"])  # "for later"
    nonce = os.urandom(12)
    ek = dk["CiphertextBlob"]
    body = AESGCM(dk["Plaintext"]).encrypt(nonce, Path(src).read_bytes(), None)
    Path(dst).write_bytes(len(ek).to_bytes(2, "big") + ek + nonce + body)


def open_file(kms, path):
    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[:2], "big")
    dek = kms.decrypt(CiphertextBlob=raw[2:2 + n])["Plaintext"]
    return AESGCM(dek).decrypt(raw[2 + n:14 + n], raw[14 + n:], None)
'''))

# Answers that write the notes' names (keyadmin, keyuser, account 111122223333) into the policy instead of
# using the function's arguments: the hidden checks use random names and accounts, so each must fail.
_NOTES_ADMIN, _NOTES_USER = "arn:aws:iam::111122223333:user/keyadmin", "arn:aws:iam::111122223333:user/keyuser"
WRONG["ex03_key_policies"]["t1"].append(("hard-codes the notes' names and account", f'''
def separated_policy(account, admin_arn, user_arn):
    return {{"Version": "2012-10-17", "Statement": [
        {{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::111122223333:root"}}, "Action": "kms:*",
         "Resource": "*"}},
        {{"Effect": "Allow", "Principal": {{"AWS": "{_NOTES_ADMIN}"}}, "Action": ''' + _ADMIN_ACTIONS + f''',
         "Resource": "*"}},
        {{"Effect": "Allow", "Principal": {{"AWS": "{_NOTES_USER}"}},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"}}]}}
'''))
WRONG["ex03_key_policies"]["t2"].append(("returns the notes' policy, fixed by hand", f'''
def fix_lockout(policy, account):
    return {{"Version": "2012-10-17", "Statement": [
        {{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::111122223333:root"}}, "Action": "kms:*",
         "Resource": "*"}},
        {{"Effect": "Allow", "Principal": {{"AWS": "{_NOTES_USER}"}},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}},
        {{"Effect": "Deny", "Principal": {{"AWS": "arn:aws:iam::111122223333:user/contractor"}},
         "Action": "kms:Decrypt", "Resource": "*"}}]}}
'''))
WRONG["ex03_key_policies"]["t3"].append(("hard-codes the notes' account and names", f'''
def high_security_policy(account, admin_arn, app_arn):
    return {{"Version": "2012-10-17", "Statement": [
        {{"Effect": "Allow", "Principal": {{"AWS": "{_NOTES_ADMIN}"}}, "Action": ''' + _ADMIN_ACTIONS + f''',
         "Resource": "*"}},
        {{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::111122223333:role/app"}},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}}]}}
'''))

# Right answers written differently from the worked solution: both the self-check and the hidden checks
# must accept each (tests/grading/test_self_checks.py runs both on every answer here and in WRONG).
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
