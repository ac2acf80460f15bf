"""Every error code an operation can answer with is one AWS documents for it.

For each operation of each service, the error classes it can raise are found
by reading the code (every ``raise``, every helper it calls, through
``try``/``except``), and each one's code must be

* one botocore's model lists for that operation (``operation_model.error_shapes``), or
* one AWS documents as common to the service (the lists below, with their pages), or
* one of the few listed deviations below, each with its reason.

The reading over-approximates within a function (a helper that can raise
``TagException`` counts for every operation that calls it) and cannot follow
calls through objects it is handed (the permissions engine is added by hand
below); it never runs the code.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import textwrap
import types

import pytest

from kms_teach import _errors
from kms_teach._errors import AWSError, KMSErrorInS3
from kms_teach._policy.authz import Permissions
from kms_teach._services.cloudtrail import CloudTrail
from kms_teach._services.iam import IAM, IAM_OPERATIONS, STS_OPERATIONS
from kms_teach._services.iam.service import STS
from kms_teach._services.kms import KMS
from kms_teach._services.kms.common import _CRYPTO_RULE, STATE_RULES
from kms_teach._services.kms.service import OPERATIONS as KMS_OPERATIONS
from kms_teach._services.s3.service import OPERATIONS as S3_OPERATIONS
from kms_teach._services.s3.service import S3
from kms_teach._wire import service_model

# The errors common to the API actions of all AWS services ("Common Errors", the same page in the API
# Reference of every service, e.g. https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html
# and https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html).
COMMON = frozenset({
    "AccessDeniedException", "IncompleteSignature", "InternalFailure", "InvalidAction", "InvalidClientTokenId",
    "InvalidParameterCombination", "InvalidParameterValue", "InvalidQueryParameter", "MalformedQueryString",
    "MissingAction", "MissingAuthenticationToken", "MissingParameter", "NotAuthorized", "OptInRequired",
    "RequestExpired", "ServiceUnavailable", "ThrottlingException", "ValidationError",
})

# Amazon S3 documents its errors in one list for every operation (Amazon S3 API Reference, "Error responses",
# "List of error codes": https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList),
# with the HTTP status of each: the codes kms_teach's S3 answers with, and their statuses there.
S3_DOCUMENTED = {
    "AccessDenied": 403, "AccessControlListNotSupported": 400, "BadDigest": 400, "BucketAlreadyExists": 409,
    "BucketAlreadyOwnedByYou": 409, "BucketNotEmpty": 409, "IllegalLocationConstraintException": 400,
    "InternalError": 500, "InvalidArgument": 400, "InvalidBucketAclWithObjectOwnership": 400,
    "InvalidBucketName": 400, "InvalidDigest": 400, "InvalidLocationConstraint": 400, "InvalidRange": 416,
    "InvalidRequest": 400, "InvalidStorageClass": 400, "KeyTooLongError": 400, "MalformedPolicy": 400,
    "MalformedXML": 400, "MetadataTooLarge": 400, "MethodNotAllowed": 405, "NoSuchBucket": 404,
    "NoSuchBucketPolicy": 404, "NoSuchKey": 404, "NotImplemented": 501, "NotModified": 304,
    "PermanentRedirect": 301, "PreconditionFailed": 412,
    # Multipart upload's (the same list of "Error responses").
    "EntityTooLarge": 400, "EntityTooSmall": 400, "InvalidPart": 400, "InvalidPartNumber": 416,
    "InvalidPartOrder": 400, "NoSuchUpload": 404,
}

# Codes kms_teach answers with that neither the model of the operation nor a common list names, and why.
DEVIATIONS = {
    "kms": {
        # botocore's KMS model has no ValidationException shape, but its documentation of PutKeyPolicy says the
        # request "fails with a ValidationException": the common errors' ValidationError, as KMS's JSON names it.
        "ValidationException": "every operation (a request that breaks a constraint of the API)",
        # Fidelity: the common errors' NotAuthorized ("You do not have permission to perform this action"), which
        # kms_teach answers as NotAuthorizedException for an alias in alias/aws/ (an AWS managed key's).
        "NotAuthorizedException": "CreateAlias, UpdateAlias, DeleteAlias",
        # KMS's own list for the operation omits a code it can plainly answer with: the operation takes the
        # member that this code refuses (GrantTokens, a marker, a key ID of a key that can be disabled).
        "InvalidGrantTokenException": "DescribeKey, GetPublicKey, ListGrants (they take GrantTokens)",
        "InvalidMarkerException": "ListKeyPolicies (it takes a Marker)",
        # "alias/" names no alias: the code CreateAlias documents for a name that is not valid.
        "InvalidAliasNameException": "UpdateAlias, DeleteAlias of the name alias/",
        # Fidelity: what kms_teach does not simulate is refused with UnsupportedOperationException (a Recipient
        # for Nitro Enclaves, a SourceArn grant constraint), also where the operation's list omits the code.
        "UnsupportedOperationException": "Decrypt, GenerateDataKey*, DeriveSharedSecret, CreateGrant",
    },
    "iam": {
        # IAM and STS answer "AccessDenied" (HTTP 403) when a policy does not allow the action; the common errors
        # page spells it AccessDeniedException.
        "AccessDenied": "every operation",
    },
    "sts": {
        "AccessDenied": "AssumeRole",
        # A store that cannot be written answers IAM's ServiceFailure for STS too (STS's common list would say
        # InternalFailure).
        "ServiceFailure": "AssumeRole, GetCallerIdentity",
    },
    "s3": {
        # S3 reports a KMS error it met calling KMS for the caller as KMS.<KMS's code> (KMSErrorInS3).
        "KMS.*": "PutObject, GetObject, HeadObject (SSE-KMS)",
    },
    "cloudtrail": {},
}


# ---------------------------------------------------------------------------
# Reading the code: which error classes can a function raise?
# ---------------------------------------------------------------------------


# The bases of the tree are never raised (only their leaves are): a mention of one (an annotation,
# an ``except AWSError``) is not an error an operation answers with.
_BASES = frozenset({AWSError, _errors.KMSError, _errors.IAMError, _errors.CloudTrailError, _errors.S3Error})


def _is_error(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, AWSError) and obj not in _BASES


def _ours(fn) -> bool:
    return isinstance(fn, types.FunctionType) and fn.__module__.startswith("kms_teach.")


def _errors_in_value(value, depth: int = 0) -> set[type]:
    """Error classes inside a module-level constant (the key-state table's tuples, for one)."""
    if _is_error(value):
        return {value}
    if depth > 4:
        return set()
    if isinstance(value, dict):
        items = list(value.keys()) + list(value.values())
    elif isinstance(value, (tuple, list, frozenset, set)):
        items = list(value)
    else:
        return set()
    found: set[type] = set()
    for item in items:
        found |= _errors_in_value(item, depth + 1)
    return found


def _resolve_handler(node, fn) -> tuple[type, ...]:
    """The exception classes an ``except`` clause catches (nothing if it cannot tell)."""
    if node is None:
        return (BaseException,)
    names = node.elts if isinstance(node, ast.Tuple) else [node]
    out = []
    for n in names:
        if isinstance(n, ast.Name):
            obj = fn.__globals__.get(n.id) or getattr(builtins, n.id, None)
            if isinstance(obj, type) and issubclass(obj, BaseException):
                out.append(obj)
    return tuple(out)


class Reader:
    """Follows one service's handlers through the functions they call."""

    def __init__(self, owner: type, summaries: dict | None = None, skip: frozenset = frozenset()):
        self.owner = owner
        self.summaries = summaries or {}  # function name -> set of error classes (instead of reading it)
        self.skip = skip  # module-level names not to read (handled precisely elsewhere)
        self._memo: dict = {}

    def errors(self, fn) -> set[type]:
        fn = inspect.unwrap(fn)
        if fn.__name__ in self.summaries:
            return set(self.summaries[fn.__name__])
        key = fn.__code__
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = set()  # a cycle contributes nothing new
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        found = self._block(tree.body, fn)
        self._memo[key] = found
        return found

    def _block(self, statements, fn) -> set[type]:
        found: set[type] = set()
        for stmt in statements:
            found |= self._node(stmt, fn)
        return found

    def _node(self, node, fn) -> set[type]:
        if isinstance(node, ast.Try):
            raised = self._block(node.body, fn)
            for handler in node.handlers:
                caught = _resolve_handler(handler.type, fn)
                reraises = any(isinstance(n, ast.Raise) and n.exc is None for n in ast.walk(handler))
                if not reraises:
                    raised = {e for e in raised if not issubclass(e, caught)}
                raised |= self._block(handler.body, fn)
            return raised | self._block(node.orelse, fn) | self._block(node.finalbody, fn)
        found: set[type] = set()
        for child in ast.iter_child_nodes(node):
            found |= self._node(child, fn)
        if isinstance(node, ast.Name):
            found |= self._name(node.id, fn)
        elif isinstance(node, ast.Attribute):
            found |= self._attribute(node, fn)
        return found

    def _name(self, name: str, fn) -> set[type]:
        if name in self.skip:
            return set()
        obj = fn.__globals__.get(name)
        if obj is None and fn.__closure__:
            cells = dict(zip(fn.__code__.co_freevars, fn.__closure__))
            obj = cells[name].cell_contents if name in cells else None
        if _is_error(obj):
            return {obj}
        if _ours(obj):
            return self.errors(obj)
        if isinstance(obj, functools._lru_cache_wrapper) and _ours(obj.__wrapped__):
            return self.errors(obj.__wrapped__)
        if isinstance(obj, (dict, tuple, list, frozenset)):
            return _errors_in_value(obj)
        return set()

    def _attribute(self, node: ast.Attribute, fn) -> set[type]:
        base = node.value
        # ``service``/``kms``: the service a declared step (kms_teach._services.base.Operation) is handed.
        if isinstance(base, ast.Name) and base.id in ("self", "cls", "type", "service", "kms"):
            for klass in self.owner.__mro__:
                if node.attr in vars(klass):
                    member = vars(klass)[node.attr]
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if isinstance(member, property):
                        member = member.fget
                    if _ours(member):
                        return self.errors(member)
                    return _errors_in_value(member) if not callable(member) else set()
            return set()
        if isinstance(base, ast.Name):
            module = fn.__globals__.get(base.id)
            if isinstance(module, types.ModuleType):
                obj = getattr(module, node.attr, None)
                if _is_error(obj):
                    return {obj}
                if _ours(obj):
                    return self.errors(obj)
        return set()


# ---------------------------------------------------------------------------
# Each service's operations
# ---------------------------------------------------------------------------


class _KeyState(AWSError):
    """Stands for "what STATE_RULES refuses for this operation" where KMS._check_state is reached."""


def _state_errors(operation: str) -> set[type]:
    rule = STATE_RULES.get(operation, _CRYPTO_RULE)
    return {refusal[0] for refusal in rule.values() if refusal}


def _kms_reader() -> Reader:
    # Stored policies were validated when they were stored: parsing one again for a decision cannot fail.
    permissions = Reader(Permissions, summaries={"_parsed": set()})
    return Reader(KMS, skip=frozenset({"STATE_RULES", "_CRYPTO_RULE"}), summaries={
        # KMS._check_state(operation, key) refuses what STATE_RULES says for that operation: added per operation.
        "_check_state": {_KeyState},
        # The permissions engine is handed to KMS (its authorizer): read it where KMS calls it.
        "_authorize": permissions.errors(Permissions.__call__),
        "_check_lockout": permissions.errors(Permissions.check_lockout),
    })


def declared_errors(service: type, operation: str, reader: Reader, engine: set[type]) -> set[type]:
    """The error classes of every step the service base runs for a declared operation (base.Service.call)."""
    op = service.OPERATIONS[operation]
    handler = getattr(op.handler, "__wrapped__", op.handler)  # IAM's handlers take (ctx, request, now)
    classes = reader.errors(handler) | reader.errors(op.resolve)
    if op.validate is not None:
        classes |= reader.errors(op.validate)
    classes |= reader.errors(op.authorize) if op.authorize is not None else engine
    if op.states:
        classes |= {refusal[0] for refusal in op.states.values() if refusal}
    return classes


def kms_errors(operation: str, reader: Reader | None = None) -> set[str]:
    reader = reader or _kms_reader()
    engine = Reader(Permissions, summaries={"_parsed": set()}).errors(Permissions.__call__)
    classes = declared_errors(KMS, operation, reader, engine) | {_errors.KMSInternalException}  # the base's call
    if _KeyState in classes:
        classes = (classes - {_KeyState}) | _state_errors(operation)
    return {cls.code for cls in classes}


def iam_errors(operation: str, prefix: str = "_op_") -> set[str]:
    # Parsing a stored policy cannot fail (it was validated when stored); new documents are parsed in a try
    # that turns the parser's KMS-worded errors into IAM's MalformedPolicyDocument.
    reader = Reader(IAM, summaries={"_parsed_trust_policy": set(), "_parsed_identity_policy": set()})
    service = IAM if prefix == "_op_" else STS
    # The permissions engine answers IAM's and STS's refusals with the class they hand it (denied=AccessDenied).
    classes = declared_errors(service, operation, reader, {_errors.AccessDenied}) | reader.errors(IAM._commit) | {
        _errors.ServiceFailure}
    return {cls.code for cls in classes}


def s3_errors(operation: str) -> set[str]:
    # The permissions engine answers S3's refusals with the class S3 hands it (denied=AccessDenied).
    classes = declared_errors(S3, operation, Reader(S3), {_errors.AccessDenied}) | {_errors.InternalError}
    codes = {cls.code for cls in classes if cls is not KMSErrorInS3}
    if KMSErrorInS3 in classes:
        codes.add("KMS.*")
    return codes


def cloudtrail_errors(operation: str) -> set[str]:
    engine = Reader(Permissions, summaries={"_parsed": set()}).errors(Permissions.__call__)
    classes = declared_errors(CloudTrail, operation, Reader(CloudTrail), engine) | {_errors.InternalFailure}
    return {cls.code for cls in classes}


def model_errors(service: str, operation: str) -> set[str]:
    op = service_model(service).operation_model(operation)
    return {shape.metadata.get("error", {}).get("code", shape.name) for shape in op.error_shapes}


CASES = (
    [("kms", op) for op in KMS_OPERATIONS]
    + [("iam", op) for op in IAM_OPERATIONS]
    + [("sts", op) for op in STS_OPERATIONS]
    + [("s3", op) for op in S3_OPERATIONS]
    + [("cloudtrail", "LookupEvents")]
)


@pytest.fixture(scope="module")
def kms_reader():
    return _kms_reader()


@pytest.mark.parametrize("service, operation", CASES)
def test_each_code_an_operation_answers_with_is_documented_for_it(service, operation, kms_reader):
    codes = {
        "kms": lambda: kms_errors(operation, kms_reader),
        "iam": lambda: iam_errors(operation),
        "sts": lambda: iam_errors(operation, "_sts_"),
        "s3": lambda: s3_errors(operation),
        "cloudtrail": lambda: cloudtrail_errors(operation),
    }[service]()
    assert codes, f"{service} {operation}: the reading found no error at all (it is broken)"
    allowed = model_errors(service, operation) | COMMON | set(DEVIATIONS[service])
    if service == "s3":
        allowed |= set(S3_DOCUMENTED)
    undocumented = codes - allowed
    assert not undocumented, f"{service} {operation} can answer {sorted(undocumented)}, which AWS does not document"


def test_the_reading_finds_what_the_code_raises():
    # A cross-check of the reader itself: codes each of these operations is known (by its tests) to answer with.
    reader = _kms_reader()
    assert {"NotFoundException", "DisabledException", "KMSInvalidStateException", "InvalidKeyUsageException",
            "AccessDeniedException", "DryRunOperationException", "InvalidGrantTokenException"} <= kms_errors(
        "Encrypt", reader)
    assert {"InvalidCiphertextException", "IncorrectKeyException"} <= kms_errors("Decrypt", reader)
    assert {"MalformedPolicyDocumentException", "LimitExceededException"} <= kms_errors("PutKeyPolicy", reader)
    assert "DisabledException" not in kms_errors("DescribeKey", reader)  # DescribeKey works in every key state
    assert {"NoSuchEntity", "AccessDenied"} <= iam_errors("GetUser")
    assert "ValidationException" not in iam_errors("PutUserPolicy")  # the policy parser's errors are caught there
    assert {"NoSuchBucket", "KMS.*", "AccessDenied"} <= s3_errors("GetObject")
    assert "InvalidNextTokenException" in cloudtrail_errors("LookupEvents")


def test_s3_answers_with_the_documented_status_of_each_code():
    for cls in vars(_errors).values():
        if isinstance(cls, type) and issubclass(cls, _errors.S3Error) and cls not in (_errors.S3Error, KMSErrorInS3):
            assert S3_DOCUMENTED[cls.code] == cls.status, cls
    assert S3_DOCUMENTED["AccessDenied"] == _errors.AccessDenied.status


def test_each_deviation_is_still_needed():
    """A deviation no operation needs any more is removed from the list."""
    reader = _kms_reader()
    used = {service: set() for service in DEVIATIONS}
    for service, operation in CASES:
        if service == "kms":
            codes, model = kms_errors(operation, reader), model_errors("kms", operation)
        elif service in ("iam", "sts"):
            codes, model = iam_errors(operation, "_op_" if service == "iam" else "_sts_"), model_errors(service, operation)
        elif service == "s3":
            codes, model = s3_errors(operation), model_errors("s3", operation) | set(S3_DOCUMENTED)
        else:
            codes, model = cloudtrail_errors(operation), model_errors("cloudtrail", operation)
        used[service] |= codes - model - COMMON
    for service, deviations in DEVIATIONS.items():
        assert set(deviations) <= used[service], (service, set(deviations) - used[service])
