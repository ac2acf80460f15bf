"""Layer 2: where the simulated cloud keeps its records (always encrypted at rest on disk)."""

from .base import Changes, MemoryStore
from .sqlite import SQLiteStore

__all__ = ["Changes", "MemoryStore", "SQLiteStore"]
