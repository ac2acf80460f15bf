"""Layer 3: the simulated Amazon S3, which encrypts every object (SSE-S3 and SSE-KMS)."""

from .service import OPERATIONS, S3

__all__ = ["S3", "OPERATIONS"]
