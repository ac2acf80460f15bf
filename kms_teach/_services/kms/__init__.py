"""Layer 3: the simulated AWS Key Management Service.

:mod:`.service` holds the :class:`KMS` and its one request path; the
operation groups (:mod:`.keytypes`, :mod:`.multiregion`, :mod:`.imports`,
:mod:`.grants`) and what they share (:mod:`.common`) sit beside it.
"""

from .common import AWS_MANAGED_ALIASES
from .service import KMS

__all__ = ["KMS", "AWS_MANAGED_ALIASES"]
