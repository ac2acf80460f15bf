"""Layer 4: the HTTP endpoint (``kms-teach serve``) and AWS Signature Version 4.

:mod:`.server` serves a :class:`~kms_teach.Cloud` over HTTP on the loopback
interface; :mod:`.sigv4` verifies the signatures of its requests.
"""
