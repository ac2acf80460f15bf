"""The AWS Encryption SDK, unchanged: in-process through ``cloud.botocore_session()`` and over the endpoint.

The recipe in ``docs/encryption-sdk.md`` is run as written (both of its code blocks), so the page
cannot drift from what works.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import aws_encryption_sdk
import pytest
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.exceptions import DecryptKeyError, GenerateKeyError

from kms_teach import envelope

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "docs" / "encryption-sdk.md"
SDK = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
CONTEXT = {"purpose": "compatibility", "team": "blue"}


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_the_recipe_runs_as_written(monkeypatch, tmp_path):
    in_process, over_http = _python_blocks(RECIPE)
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    namespace: dict = {}
    exec(compile(in_process, f"{RECIPE}:in-process", "exec"), namespace)
    cloud = namespace["cloud"]
    saved = dict(os.environ)  # the page's second block updates os.environ, as a notebook would
    try:
        assert namespace["decrypted"] == b"attack at dawn"
        header = namespace["sdk_header"]
        assert header.encryption_context["purpose"] == "battle plans"
        assert "aws-crypto-public-key" in header.encryption_context
        # What the page says KMS received: the SDK's extra context pair, on the GenerateDataKey call.
        generated = [e for e in cloud.audit.events if e["eventName"] == "GenerateDataKey"][0]
        assert set(generated["requestParameters"]["encryptionContext"]) == {"purpose", "aws-crypto-public-key"}
        exec(compile(over_http, f"{RECIPE}:over-http", "exec"), namespace)
        message = namespace["message"]
        # Encrypted over the endpoint, decrypted in-process: one cloud, two ways in.
        provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[namespace["key_arn"]],
                                                                    botocore_session=cloud.botocore_session())
        assert SDK.decrypt(source=message, key_provider=provider)[0] == b"attack at dawn"
    finally:
        os.environ.clear()
        os.environ.update(saved)
        cloud.close()


def _provider(cloud, key_arn, **session):
    return aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_arn],
                                                            botocore_session=cloud.botocore_session(**session))


@pytest.mark.parametrize("size", [0, 1, 4096, 1024 * 1024 + 7])
def test_in_process_round_trip_and_envelope_side_by_side(cloud, size):
    from .conftest import payload

    kms = cloud.client("kms")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    data = payload(size)
    message, header = SDK.encrypt(source=data, key_provider=_provider(cloud, key_arn), encryption_context=CONTEXT,
                                  frame_length=65536)
    plaintext, decrypted_header = SDK.decrypt(source=message, key_provider=_provider(cloud, key_arn))
    assert plaintext == data
    assert {k: v for k, v in decrypted_header.encryption_context.items() if k in CONTEXT} == CONTEXT
    # The SDK's encrypted data key is a KMS ciphertext blob of this cloud: KMS decrypts it with the context.
    (edk,) = header.encrypted_data_keys
    assert edk.key_provider.key_info.decode() == key_arn
    blob = edk.encrypted_data_key
    answer = kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(header.encryption_context))
    assert answer["KeyId"] == key_arn and len(answer["Plaintext"]) == 32
    # kms_teach's recipe over the same key and context.
    assert envelope.decrypt_bytes(kms, envelope.encrypt_bytes(kms, key_arn, data, encryption_context=CONTEXT),
                                  encryption_context=CONTEXT) == data


def test_a_tampered_sdk_message_is_refused(cloud):
    key_arn = cloud.client("kms").create_key()["KeyMetadata"]["Arn"]
    message, _ = SDK.encrypt(source=b"x" * 1000, key_provider=_provider(cloud, key_arn))
    damaged = bytearray(message)
    damaged[-200] ^= 1
    with pytest.raises(Exception):
        SDK.decrypt(source=bytes(damaged), key_provider=_provider(cloud, key_arn))


def test_the_sdk_acts_as_the_sessions_principal(cloud):
    iam = cloud.client("iam")
    iam.create_user(UserName="alice")
    alice = "arn:aws:iam::111122223333:user/alice"
    kms = cloud.client("kms")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(GenerateKeyError):  # no policy lets alice generate data keys under the key
        SDK.encrypt(source=b"secret", key_provider=_provider(cloud, key_arn, principal=alice))
    message, _ = SDK.encrypt(source=b"secret", key_provider=_provider(cloud, key_arn))
    with pytest.raises(DecryptKeyError):
        SDK.decrypt(source=message, key_provider=_provider(cloud, key_arn, principal=alice))
    kms.create_grant(KeyId=key_arn, GranteePrincipal=alice, Operations=["Decrypt"])
    assert SDK.decrypt(source=message, key_provider=_provider(cloud, key_arn, principal=alice))[0] == b"secret"
    denied = [e for e in cloud.audit.events if e.get("errorCode") == "AccessDeniedException"]
    assert {e["userIdentity"]["arn"] for e in denied} == {alice}


def test_keys_in_two_regions_each_get_their_regions_client(cloud):
    east = cloud.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    west = cloud.client("kms", region_name="eu-west-1").create_key()["KeyMetadata"]["Arn"]
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[east, west],
                                                                botocore_session=cloud.botocore_session())
    message, header = SDK.encrypt(source=b"both regions", key_provider=provider)
    assert sorted(k.key_provider.key_info.decode() for k in header.encrypted_data_keys) == sorted([east, west])
    # Either Region's key alone decrypts it.
    for arn in (east, west):
        assert SDK.decrypt(source=message, key_provider=_provider(cloud, arn))[0] == b"both regions"


def test_over_the_endpoint_unchanged(endpoint_env, live_cloud):
    """The SDK's own default session, pointed at the endpoint by the environment alone."""
    key_arn = live_cloud.client("kms").create_key()["KeyMetadata"]["Arn"]
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_arn])
    message, _ = SDK.encrypt(source=b"over http" * 100, key_provider=provider, encryption_context=CONTEXT)
    assert SDK.decrypt(source=message, key_provider=provider)[0] == b"over http" * 100
    # The requests were signed with the endpoint's root key and arrived over HTTP.
    events = [e for e in live_cloud.audit.events if e["eventName"] in ("GenerateDataKey", "Decrypt")]
    assert [e["eventName"] for e in events] == ["GenerateDataKey", "Decrypt"]
    assert all(e["userIdentity"].get("accessKeyId") == endpoint_env.access_key_id for e in events)
    # And what went over the wire decrypts in-process, and the other way round.
    in_process = _provider(live_cloud, key_arn)
    assert SDK.decrypt(source=message, key_provider=in_process)[0] == b"over http" * 100
    back, _ = SDK.encrypt(source=b"in process", key_provider=in_process)
    assert SDK.decrypt(source=back, key_provider=provider)[0] == b"in process"
