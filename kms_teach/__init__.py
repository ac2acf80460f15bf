"""kms_teach: learn AWS Key Management Service hands-on, against a faithful local KMS.

>>> import kms_teach
>>> cloud = kms_teach.Cloud()                       # a private, in-memory AWS
>>> kms = cloud.client("kms", region_name="us-east-1")  # a genuine boto3 client
>>> key_id = kms.create_key(Description="battle plans")["KeyMetadata"]["KeyId"]
>>> blob = kms.encrypt(KeyId=key_id, Plaintext=b"attack at dawn")["CiphertextBlob"]
>>> kms.decrypt(CiphertextBlob=blob)["Plaintext"]
b'attack at dawn'
"""

from . import envelope
from ._clock import Clock
from ._cloud import Cloud
from ._crypto import RandomSource
from ._errors import AWSError, KMSTeachError, StoreError
from ._model import DEFAULT_ACCOUNT, DEFAULT_REGION, Principal

__version__ = "0.1.0"

__all__ = [
    "Cloud",
    "Clock",
    "RandomSource",
    "Principal",
    "KMSTeachError",
    "AWSError",
    "StoreError",
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "envelope",
    "__version__",
]
