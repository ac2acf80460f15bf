"""Benchmark: asymmetric KMS keys against the raw cryptography they do.

    .venv/bin/python bench/bench_keytypes.py            # full run (about 30 s on 2 cores)
    .venv/bin/python bench/bench_keytypes.py --quick    # smoke run
    .venv/bin/python bench/bench_keytypes.py --json bench/results/keytypes.json

For Sign and Verify with an ECC_NIST_P256 key (ECDSA_SHA_256, a 256-byte
message) and Encrypt and Decrypt with an RSA_2048 key (RSAES_OAEP_SHA_256, a
190-byte plaintext, the largest RSA_2048 takes), three systems run in
interleaved rounds:

raw
    the same operation done directly with pyca ``cryptography`` on a local key:
    the cryptographic floor, what the operation costs without KMS at all.
floor
    ``cloud.client("kms")`` answered with a canned response (captured from
    kms_teach for the same call): the protocol floor, botocore's share.
kms_teach
    ``cloud.client("kms")`` as a learner gets it.

Reported: kms_teach / raw (what KMS costs over local cryptography, through a
genuine boto3 client) and kms_teach / floor (kms_teach's own share over
botocore). There is no target for these: the figures show learners why an
application signs or encrypts large volumes locally (data keys, data key
pairs) rather than calling KMS for each item.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ensure_repo_on_path, environment, interleaved, load_average, Ratio, table, us, write_results  # noqa: E402

ensure_repo_on_path()

import kms_teach  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402

from kms_teach._cloud import _RawBody  # noqa: E402

REGION = "us-east-1"
MESSAGE = os.urandom(256)
RSA_PLAINTEXT = os.urandom(190)
RAW, FLOOR, KT = "raw cryptography", "floor", "kms_teach"
MODES = {
    "full": dict(rounds=31, batch_s=0.05, warmup=20),
    "quick": dict(rounds=5, batch_s=0.01, warmup=3),
}


def canned_client(cloud, call):
    """A client answered with the exact response kms_teach gives to ``call(client)``."""
    client = cloud.client("kms", region_name=REGION)
    real = client._kms_teach_transport
    seen = {}

    def spy(request, **kwargs):
        response = real(request, **kwargs)
        seen["reply"] = (response.status_code, dict(response.headers), response.raw.getvalue())
        return AWSResponse(request.url, response.status_code, response.headers, _RawBody(seen["reply"][2]))

    client.meta.events.unregister("before-send", real)
    client.meta.events.register("before-send", spy)
    call(client)
    status, headers, body = seen["reply"]
    assert status == 200, body
    client.meta.events.unregister("before-send", spy)

    def canned(request, **kwargs):
        return AWSResponse(request.url, status, headers, _RawBody(body))

    client.meta.events.register("before-send", canned)
    client._bench_canned = canned
    return client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    cfg = MODES[mode]
    started = time.perf_counter()
    env = environment("boto3", "botocore", "cryptography", "kms-teach")
    print(f"kms_teach key-type benchmark ({mode} mode); Python {env['python']}, nproc={env['nproc']}, "
          f"cryptography {env['versions']['cryptography']}", flush=True)

    cloud = kms_teach.Cloud()
    kt = cloud.client("kms", region_name=REGION)
    ecc = kt.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    rsa_id = kt.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    signature = kt.sign(KeyId=ecc, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    ciphertext = kt.encrypt(KeyId=rsa_id, Plaintext=RSA_PLAINTEXT, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]

    # The raw floor: the same algorithms with local keys of the same sizes.
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pub = ec_key.public_key()
    raw_sig = ec_key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    raw_ct = rsa_key.public_key().encrypt(RSA_PLAINTEXT, oaep)
    # ...and a check that kms_teach's results are what the raw operations accept.
    serialization.load_der_public_key(kt.get_public_key(KeyId=ecc)["PublicKey"]).verify(
        signature, MESSAGE, ec.ECDSA(hashes.SHA256()))
    assert kt.decrypt(CiphertextBlob=ciphertext, KeyId=rsa_id, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == RSA_PLAINTEXT

    fl = {
        "Sign": canned_client(cloud, lambda c: c.sign(KeyId=ecc, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")),
        "Verify": canned_client(cloud, lambda c: c.verify(KeyId=ecc, Message=MESSAGE, Signature=signature,
                                                          SigningAlgorithm="ECDSA_SHA_256")),
        "Encrypt": canned_client(cloud, lambda c: c.encrypt(KeyId=rsa_id, Plaintext=RSA_PLAINTEXT,
                                                            EncryptionAlgorithm="RSAES_OAEP_SHA_256")),
        "Decrypt": canned_client(cloud, lambda c: c.decrypt(CiphertextBlob=ciphertext, KeyId=rsa_id,
                                                            EncryptionAlgorithm="RSAES_OAEP_SHA_256")),
    }
    ops = {
        "Sign ECC_NIST_P256": {
            RAW: lambda: ec_key.sign(MESSAGE, ec.ECDSA(hashes.SHA256())),
            FLOOR: lambda: fl["Sign"].sign(KeyId=ecc, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256"),
            KT: lambda: kt.sign(KeyId=ecc, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256"),
        },
        "Verify ECC_NIST_P256": {
            RAW: lambda: ec_pub.verify(raw_sig, MESSAGE, ec.ECDSA(hashes.SHA256())),
            FLOOR: lambda: fl["Verify"].verify(KeyId=ecc, Message=MESSAGE, Signature=signature,
                                               SigningAlgorithm="ECDSA_SHA_256"),
            KT: lambda: kt.verify(KeyId=ecc, Message=MESSAGE, Signature=signature, SigningAlgorithm="ECDSA_SHA_256"),
        },
        "Encrypt RSA_2048": {
            RAW: lambda: rsa_key.public_key().encrypt(RSA_PLAINTEXT, oaep),
            FLOOR: lambda: fl["Encrypt"].encrypt(KeyId=rsa_id, Plaintext=RSA_PLAINTEXT,
                                                 EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
            KT: lambda: kt.encrypt(KeyId=rsa_id, Plaintext=RSA_PLAINTEXT, EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
        },
        "Decrypt RSA_2048": {
            RAW: lambda: rsa_key.decrypt(raw_ct, oaep),
            FLOOR: lambda: fl["Decrypt"].decrypt(CiphertextBlob=ciphertext, KeyId=rsa_id,
                                                 EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
            KT: lambda: kt.decrypt(CiphertextBlob=ciphertext, KeyId=rsa_id, EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
        },
    }
    results, rows = {}, []
    for op, contestants in ops.items():
        s = interleaved(contestants, rounds=cfg["rounds"], target_batch_s=cfg["batch_s"], warmup=cfg["warmup"])
        vs_raw, vs_floor = Ratio.of(s[KT], s[RAW]), Ratio.of(s[KT], s[FLOOR])
        results[op] = {"systems": {n: x.summary() for n, x in s.items()}, "kms_teach_vs_raw": vs_raw.to_dict(),
                       "kms_teach_vs_floor": vs_floor.to_dict()}
        rows.append([op, us(s[RAW].median), us(s[FLOOR].median), us(s[KT].median), str(vs_raw), str(vs_floor)])
        print(f"  {op}: done", flush=True)
    print()
    print(table(["operation", "raw us", "floor us", "kms_teach us", "kms_teach/raw time", "kms_teach/floor time"], rows))
    wall = time.perf_counter() - started
    env["loadavg_at_end"] = load_average()
    print(f"\nLoad average at end: {env['loadavg_at_end']}. Wall time {wall:.0f} s.")
    write_results(args.json, {"benchmark": "bench/bench_keytypes.py", "mode": mode, "environment": env,
                              "operations": results, "wall_s": round(wall, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
