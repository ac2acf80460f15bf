# Wrong answers for ex06_key_types: plausible mistakes, each of which must lose its task.
# `kms-teach assign --validate` grades each one (in place of its task's answer) and the project's tests
# do too; a hidden check that lets one through is too weak. Format: docs/grading.md.

# %% [wrong t1 "a verifier that always says yes"]
def sign(kms, key_id, message):
    return kms.sign(KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")["Signature"]


def verify_outside(public_key_der, message, signature):
    return True

# %% [wrong t1 "signs the message as if it were a digest"]
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

# %% [wrong t1 "lets a bad signature raise"]
def sign(kms, key_id, message):
    return kms.sign(KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")["Signature"]


def verify_outside(public_key_der, message, signature):
    serialization.load_der_public_key(public_key_der).verify(signature, message, ec.ECDSA(hashes.SHA256()))
    return True

# %% [wrong t2 "a local HMAC keyed with the key ID"]
import hmac, hashlib

def tag(kms, key_id, message):
    return hmac.new(key_id.encode(), message, hashlib.sha256).digest()


def tag_ok(kms, key_id, message, mac):
    return hmac.compare_digest(tag(kms, key_id, message), mac)

# %% [wrong t2 "a wrong tag crashes"]
def tag(kms, key_id, message):
    return kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm="HMAC_SHA_256")["Mac"]


def tag_ok(kms, key_id, message, mac):
    return kms.verify_mac(KeyId=key_id, Message=message, Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"]

# %% [wrong t2 "every error means 'valid'"]
def tag(kms, key_id, message):
    return kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm="HMAC_SHA_256")["Mac"]


def tag_ok(kms, key_id, message, mac):
    try:
        kms.verify_mac(KeyId=key_id, Message=message, Mac=mac, MacAlgorithm="HMAC_SHA_256")
    except Exception:
        pass
    return True

# %% [wrong t3 "never expires"]
def import_material(kms, key_id, material, valid_to):
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    wrapped = serialization.load_der_public_key(params["PublicKey"]).encrypt(
        material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")

# %% [wrong t3 "wraps with SHA-1 under a SHA-256 wrapping algorithm"]
def import_material(kms, key_id, material, valid_to):
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    wrapped = serialization.load_der_public_key(params["PublicKey"]).encrypt(
        material, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)

# %% [wrong t3 "fresh random material each time"]
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
