"""Interactive views of a :class:`kms_teach.Cloud` for Jupyter (ipywidgets and matplotlib).

This is the only part of kms_teach that imports ipywidgets or matplotlib;
``import kms_teach`` never imports it. Every widget is driven by real calls on
the learner's Cloud (genuine boto3 clients, ``cloud.explain``, ``cloud.audit``)
and keeps no state of the Cloud's: after each action it reads the Cloud again
and redraws, so a change made elsewhere shows after ``.refresh()``.

>>> from kms_teach.widgets import KeyStateMachine
>>> KeyStateMachine(cloud, key_id)           # doctest: +SKIP

Each widget has ``.widget`` (the ipywidgets container), displays itself with
``display(w)`` (the widget, plus a ``text/plain`` summary for a notebook read
without a kernel), ``.text()`` (that summary), ``.refresh()``, and
``.last_error`` (the AWS error code and message it shows when a call is refused).

* :class:`CiphertextInspector` - a ciphertext blob's fields labelled on its bytes
* :class:`PolicyExplainer` - may this principal do this action on this key, and why?
* :class:`RoleMatrix` - principals x actions, each cell explained; edit the key policy
* :class:`KeyStateMachine` - key states and transitions, with the real calls
* :class:`RotationTimeline` - backing keys over simulated time, ciphertexts pinned to them
* :class:`AuditTrailViewer` - the CloudTrail events, filtered, newest first
* :class:`EncryptFlow` - one real Encrypt / Decrypt / GenerateDataKey, step by step
* :class:`DataKeyLifecycle` - envelope encryption and decryption: where the data key's two copies are
* :class:`KeyOwnership` - customer managed, AWS managed and AWS owned keys, and what each lets you do
* :class:`SignVerifyFlow` - sign inside KMS with an asymmetric key, verify outside with the public key
* :class:`MultiRegionMap` - a multi-Region key's primary and replicas on a map; ciphertexts that travel
* :class:`Quiz` - questions from a bank with feedback per answer; the answers are saved in the notebook
* :func:`key_state_table` - which operations work in which key state, asked of a KMS of its own

Every widget's display bundle also carries ``text/html``: a static picture of what it shows
(``.static_html()``), which a notebook read before it runs (or on GitHub) displays instead of the widget.
"""

from ._audit import AuditTrailViewer
from ._base import ErrorInfo, View
from ._flow import EncryptFlow, Step
from ._inspector import BlobField, CiphertextInspector
from ._lifecycle import DataKeyLifecycle, LifecycleStep
from ._multiregion import MultiRegionMap
from ._ownership import Attempt, KeyOwnership
from ._policy import PolicyExplainer, RoleMatrix
from ._quiz import Quiz
from ._rotation import RotationTimeline, Sample
from ._signing import SignStep, SignVerifyFlow
from ._states import KeyStateMachine
from ._tables import key_state_table

__all__ = [
    "CiphertextInspector",
    "PolicyExplainer",
    "RoleMatrix",
    "KeyStateMachine",
    "Quiz",
    "RotationTimeline",
    "AuditTrailViewer",
    "EncryptFlow",
    "DataKeyLifecycle",
    "KeyOwnership",
    "SignVerifyFlow",
    "MultiRegionMap",
    "key_state_table",
    "View",
    "ErrorInfo",
    "Step",
    "LifecycleStep",
    "Sample",
    "BlobField",
    "Attempt",
    "SignStep",
]
