"""Layer 4: AWS's wire protocols, driven by botocore's service models.

One codec per protocol family, each compiled from botocore's model of the
service: :mod:`.json` (JSON 1.1: KMS, CloudTrail), :mod:`.query` (query: IAM,
STS) and :mod:`.rest_xml` (REST-XML: S3), over what they share in :mod:`.base`.
The same codecs answer the in-process boto3 clients and the HTTP endpoint, through one contract:
``protocol.answer(WireRequest(method, url, headers, body), ctx) -> WireResponse``.
"""

from .base import WireRequest, WireResponse, boto3_session, isolated_session, service_model
from .json import JsonProtocol
from .query import QueryProtocol
from .rest_xml import S3_CLIENT_CONFIG, RestXmlProtocol

__all__ = [
    "WireRequest", "WireResponse", "boto3_session", "isolated_session", "service_model",
    "JsonProtocol", "QueryProtocol", "RestXmlProtocol", "S3_CLIENT_CONFIG",
]
