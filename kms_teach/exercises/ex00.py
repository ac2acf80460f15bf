"""Self-checks of exercise 00 (first steps)."""

from __future__ import annotations

from . import Failed, error_code, expect, fresh, self_check


@self_check("Task 1")
def t1(make_key) -> None:
    _, kms = fresh()
    key_id = make_key(kms, "my first key", "alias/first")
    expect(isinstance(key_id, str), f"make_key returned {type(key_id).__name__}; return the key ID, a string")
    expect(not key_id.startswith(("arn:", "alias/")),
           "make_key returned an ARN or alias; return the key ID (CreateKey's KeyMetadata.KeyId)")
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    expect(md["Description"] == "my first key", "the key's description is not the one passed to make_key")
    expect(md["KeySpec"] == "SYMMETRIC_DEFAULT" and md["KeyUsage"] == "ENCRYPT_DECRYPT",
           f"the key is {md['KeySpec']} for {md['KeyUsage']}: a symmetric encryption key is what CreateKey makes "
           "when you ask for nothing else")
    aliases = [a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"]]
    expect("alias/first" in aliases, "the key has no alias alias/first: call CreateAlias with the full alias name")


@self_check("Task 2")
def t2(protect, reveal) -> None:
    _, kms = fresh()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = protect(kms, key_id, "attack at dawn")
    expect(isinstance(blob, (bytes, bytearray)), f"protect returned {type(blob).__name__}; return CiphertextBlob (bytes)")
    expect(b"attack at dawn" not in blob,
           "the message is readable in what protect returned: that is not encryption (call kms.encrypt)")
    try:
        plain = kms.decrypt(CiphertextBlob=bytes(blob))["Plaintext"]
    except Exception as exc:
        raise Failed(f"KMS cannot decrypt it ({error_code(exc) or exc}): return Encrypt's CiphertextBlob "
                             "as it is (not base64, not the whole response)") from None
    expect(plain == b"attack at dawn", "KMS decrypts it to something else than the UTF-8 bytes of the text")
    used = kms.decrypt(CiphertextBlob=bytes(blob))["KeyId"]
    expect(used.endswith(key_id), "protect encrypted under another KMS key than the one it was given (key_ref)")
    expect(reveal(kms, blob) == "attack at dawn",
           "reveal did not give the text back (Decrypt's Plaintext is bytes: decode it as UTF-8)")


@self_check("Task 3")
def t3(find_key) -> None:
    cloud, _ = fresh()
    mumbai = cloud.client("kms", region_name="ap-south-1")
    for i in range(100):  # the key wanted is on the second page of ListKeys (100 keys a page)
        mumbai.create_key(Description=f"filler {i}")
    placed = mumbai.create_key(Description="the one")["KeyMetadata"]["KeyId"]
    cloud.client("kms", region_name="us-east-1").create_key(Description="another")
    found = find_key(cloud, ["us-east-1", "ap-south-1"], "the one")
    if found is None and find_key(cloud, ["ap-south-1"], "filler 3") is not None:
        raise Failed("find_key found nothing, although ap-south-1 has the key after 100 others: ListKeys answers "
                     "100 keys a page; read every page (Marker, or a paginator), as in notebook 00 section 6")
    expect(found is not None, "find_key found nothing: did you make a client for each Region of the list?")
    expect(tuple(found) == ("ap-south-1", placed), f"find_key returned {found!r}; expected ('ap-south-1', "
                                                    "the key ID)")
    expect(find_key(cloud, ["us-east-1"], "the one") is None,
           "the key is in ap-south-1 only: a Region's KMS cannot see another Region's keys, so return None")
