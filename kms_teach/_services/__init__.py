"""Layer 3: the simulated services - KMS, IAM and STS, S3, CloudTrail.

Each service answers ``call(operation, request, ctx)`` with snake_case dicts
(the wire layer maps them to and from AWS's protocols) and raises
:class:`~kms_teach._errors.AWSError`. What they share is in :mod:`.base`
(the request context) and :mod:`.audit` (the audit trail).
"""
