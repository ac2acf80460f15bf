"""Layer 3: the simulated AWS Identity and Access Management and Security Token Service."""

from .service import IAM, IAM_OPERATIONS, SESSION_NAME, STS_OPERATIONS

__all__ = ["IAM", "IAM_OPERATIONS", "STS_OPERATIONS", "SESSION_NAME"]
