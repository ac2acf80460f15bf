# ---
# assignment: ex06_key_types
# title: Key types - signatures checked outside KMS, HMAC tags, and imported key material that expires
# ---

# %% [markdown]
# # Exercise 06: key types and imported key material
#
# Goes with notebook [06_key_types](../notebooks/06_key_types.ipynb). Asymmetric keys sign inside KMS while anyone can verify outside
# with the public key; HMAC keys make and check tags; and a key with **imported** key material stops
# working when the material expires, until you import the *same* material again.

# %% [setup]
from datetime import timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

import kms_teach
from kms_teach.exercises import ex06 as check

cloud = kms_teach.Cloud(seed=2026)
kms = cloud.client("kms", region_name="us-east-1")

# %% [markdown]
# ## Task 1 (3 points): sign in KMS, verify anywhere
#
# `key_id` is an `ECC_NIST_P256` signing key. Write `sign(kms, key_id, message)`, which returns KMS's
# `ECDSA_SHA_256` signature of the bytes `message`, and `verify_outside(public_key_der, message,
# signature)`, which checks such a signature **without KMS**, with the `cryptography` package and the
# DER public key from GetPublicKey, and returns True or False. KMS returns an `ECDSA_SHA_256` signature
# **DER-encoded** (ANSI X9.62, RFC 3279 section 2.2.3), which is the form `cryptography`'s `verify` takes as
# it is: no conversion to raw `r || s` is needed. ([Notebook 06, section 1](../notebooks/06_key_types.ipynb)
# signs in KMS and verifies outside it.)

# %% [answer t1]
def sign(kms, key_id, message):
    ### BEGIN SOLUTION
    return kms.sign(KeyId=key_id, Message=message, MessageType="RAW",
                    SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    ### END SOLUTION


def verify_outside(public_key_der, message, signature):
    ### BEGIN SOLUTION
    public_key = serialization.load_der_public_key(public_key_der)
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
    ### END SOLUTION

# %% [check t1 points=3 "Sign in KMS, verify outside"]
check.t1(sign, verify_outside)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh
cloud_, kms_ = fresh(seed=51)
key_id = kms_.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
der = kms_.get_public_key(KeyId=key_id)["PublicKey"]
public = serialization.load_der_public_key(der)
for message in (b"pay 100 to bob", bytes(range(256)) * 15):
    signature = sign(kms_, key_id, message)
    assert isinstance(signature, bytes), "sign must return Sign's Signature (bytes, DER-encoded)"
    try:
        public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("sign's signature does not verify for the message with the key's public key: sign "
                             "the message itself (MessageType RAW), with ECDSA_SHA_256, and return it unchanged")
    assert verify_outside(der, message, signature) is True, \
        "verify_outside rejected a good signature: load the DER public key and verify with ECDSA over SHA-256"
    assert verify_outside(der, message + b"!", signature) is False, \
        "verify_outside accepted a changed message: a failed verification raises InvalidSignature; return False"
other = kms_.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
foreign = kms_.sign(KeyId=other, Message=b"m", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
assert verify_outside(der, b"m", foreign) is False, \
    "verify_outside accepted another key's signature: verify with the public key it is given"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 2 (3 points): HMAC tags
#
# `key_id` is an `HMAC_256` key. Write `tag(kms, key_id, message)`, which returns KMS's
# `HMAC_SHA_256` tag of `message`, and `tag_ok(kms, key_id, message, mac)`, which asks KMS whether
# `mac` is the right tag and returns True or False (a wrong tag is an answer, not a crash).

# %% [answer t2]
def tag(kms, key_id, message):
    ### BEGIN SOLUTION
    return kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm="HMAC_SHA_256")["Mac"]
    ### END SOLUTION


def tag_ok(kms, key_id, message, mac):
    ### BEGIN SOLUTION
    try:
        return kms.verify_mac(KeyId=key_id, Message=message, Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"]
    except kms.exceptions.KMSInvalidMacException:
        return False
    ### END SOLUTION

# %% [check t2 points=3 "Make and check HMAC tags in KMS"]
check.t2(tag, tag_ok)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import fresh
cloud_, kms_ = fresh(seed=52)
key_id = kms_.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
other = kms_.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
for message in (b"session=42", b"x" * 4000):
    mac = tag(kms_, key_id, message)
    assert kms_.verify_mac(KeyId=key_id, Message=message, Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"], \
        "tag did not return KMS's HMAC_SHA_256 tag: the HMAC key's secret never leaves KMS, so KMS makes the tag"
    assert tag_ok(kms_, key_id, message, mac) is True, "tag_ok rejected a good tag: ask KMS (VerifyMac)"
    assert tag_ok(kms_, key_id, message + b"1", mac) is False, \
        "tag_ok accepted a tag for another message: a wrong tag is an error of VerifyMac; return False for it"
    assert tag_ok(kms_, other, message, mac) is False, \
        "tag_ok accepted a tag made with another key: verify with the key_id it is given"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 3 (4 points): imported key material that expires
#
# `key_id` is a KMS key created with `Origin="EXTERNAL"` (no key material yet). Write
# `import_material(kms, key_id, material, valid_to)`: wrap the 32 bytes `material` for KMS
# (GetParametersForImport with `RSAES_OAEP_SHA_256` and an `RSA_2048` wrapping key, then encrypt the
# material with that public key **outside** KMS) and import it so that it **expires at `valid_to`**
# (a datetime), or never expires when `valid_to` is None. After the material expires, calling your
# function again with the same material must bring the key, and everything it encrypted, back.

# %% [answer t3]
def import_material(kms, key_id, material, valid_to):
    ### BEGIN SOLUTION
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    wrapping_key = serialization.load_der_public_key(params["PublicKey"])
    wrapped = wrapping_key.encrypt(material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                          algorithm=hashes.SHA256(), label=None))
    if valid_to is None:
        kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    else:
        kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)
    ### END SOLUTION

# %% [check t3 points=4 "Import key material, let it expire, bring it back"]
check.t3(import_material)
### BEGIN HIDDEN TESTS
import hashlib
from kms_teach.exercises import fresh, error_code
cloud_, kms_ = fresh(seed=53)
material = hashlib.sha256(b"material from our own HSM").digest()
key_id = kms_.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
valid_to = cloud_.clock.now() + timedelta(days=30)
import_material(kms_, key_id, material, valid_to)
md = kms_.describe_key(KeyId=key_id)["KeyMetadata"]
assert md["KeyState"] == "Enabled", \
    f"after the import the key is {md['KeyState']}: was ImportKeyMaterial called with the wrapped material?"
assert md.get("ExpirationModel") == "KEY_MATERIAL_EXPIRES", \
    "the material was imported without an expiry: look at ImportKeyMaterial's ExpirationModel"
assert md.get("ValidTo") == valid_to, f"the material expires at {md.get('ValidTo')}, not {valid_to}: pass ValidTo"
blob = kms_.encrypt(KeyId=key_id, Plaintext=b"kept under our material")["CiphertextBlob"]
cloud_.clock.advance(days=31)
assert kms_.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport", \
    "the material did not expire at valid_to"
try:
    import_material(kms_, key_id, material, None)
except Exception as exc:
    raise AssertionError(f"importing the same material again after it expired failed ({error_code(exc) or exc}): "
                         "get new import parameters and wrap the very material the key had")
md = kms_.describe_key(KeyId=key_id)["KeyMetadata"]
assert md["KeyState"] == "Enabled" and md.get("ExpirationModel") == "KEY_MATERIAL_DOES_NOT_EXPIRE", \
    "with valid_to=None the material must never expire"
assert kms_.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept under our material", \
    "after importing the same material again, old ciphertexts must decrypt"
### END HIDDEN TESTS
