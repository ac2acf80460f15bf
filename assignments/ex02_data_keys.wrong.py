# Wrong answers for ex02_data_keys: plausible mistakes, each of which must lose its task.
# `kms-teach assign --validate` grades each one (in place of its task's answer) and the project's tests
# do too; a hidden check that lets one through is too weak. Format: docs/grading.md.

# %% [wrong t1 "sends the data to Encrypt"]
def seal(kms, key_id, data):
    return {"encrypted_key": b"", "nonce": b"",
            "ciphertext": kms.encrypt(KeyId=key_id, Plaintext=data)["CiphertextBlob"]}

# %% [wrong t1 "keeps the plaintext data key as 'encrypted_key'"]
def seal(kms, key_id, data):
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = os.urandom(12)
    return {"encrypted_key": dk["Plaintext"], "nonce": nonce,
            "ciphertext": AESGCM(dk["Plaintext"]).encrypt(nonce, data, None)}

# %% [wrong t1 "one data key for every record"]
_cache = {}

def seal(kms, key_id, data):
    if key_id not in _cache:
        _cache[key_id] = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    dk = _cache[key_id]
    nonce = os.urandom(12)
    return {"encrypted_key": dk["CiphertextBlob"], "nonce": nonce,
            "ciphertext": AESGCM(dk["Plaintext"]).encrypt(nonce, data, None)}

# %% [wrong t2 "decrypts the ciphertext with KMS"]
def unseal(kms, record):
    return kms.decrypt(CiphertextBlob=record["ciphertext"])["Plaintext"]

# %% [wrong t2 "uses the encrypted data key as the AES key"]
def unseal(kms, record):
    return AESGCM(record["encrypted_key"][:32]).decrypt(record["nonce"], record["ciphertext"], None)

# %% [wrong t2 "ignores authentication failures"]
def unseal(kms, record):
    dek = kms.decrypt(CiphertextBlob=record["encrypted_key"])["Plaintext"]
    try:
        return AESGCM(dek).decrypt(record["nonce"], record["ciphertext"], None)
    except Exception:
        return b""

# %% [wrong t3 "a plaintext data key next to the file"]
def seal_file(kms, key_id, src, dst):
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = os.urandom(12)
    Path(str(dst) + ".key").write_bytes(dk["Plaintext"])
    Path(dst).write_bytes(nonce + AESGCM(dk["Plaintext"]).encrypt(nonce, Path(src).read_bytes(), None))


def open_file(kms, path):
    raw = Path(path).read_bytes()
    return AESGCM(Path(str(path) + ".key").read_bytes()).decrypt(raw[:12], raw[12:], None)

# %% [wrong t3 "the data key in base64 in a JSON file"]
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

# %% [wrong t3 "the whole file sent to Encrypt"]
def seal_file(kms, key_id, src, dst):
    Path(dst).write_bytes(kms.encrypt(KeyId=key_id, Plaintext=Path(src).read_bytes())["CiphertextBlob"])


def open_file(kms, path):
    return kms.decrypt(CiphertextBlob=Path(path).read_bytes())["Plaintext"]

# %% [wrong t3 "a debug log of GenerateDataKey's answer"]
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

# %% [wrong t3 "the data key as a JSON list of numbers"]
import json

def seal_file(kms, key_id, src, dst):
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = os.urandom(12)
    body = AESGCM(dk["Plaintext"]).encrypt(nonce, Path(src).read_bytes(), None)
    Path(dst).write_text(json.dumps({"key": list(dk["Plaintext"]), "nonce": nonce.hex(), "body": body.hex()}))


def open_file(kms, path):
    doc = json.loads(Path(path).read_text())
    return AESGCM(bytes(doc["key"])).decrypt(bytes.fromhex(doc["nonce"]), bytes.fromhex(doc["body"]), None)

# %% [wrong t3 "the plaintext data key kept in /tmp"]
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
