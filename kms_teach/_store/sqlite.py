"""Layer 2: the persistent store - every record encrypted at rest.

:class:`SQLiteStore` (the same interface as :class:`~kms_teach._store.base.MemoryStore`)
persists to ``DIR/kms.sqlite3``. Every row is encrypted:

  - Each record (a KMS key with its metadata, an alias, the clock) is
    serialised to JSON and sealed with AES-256-GCM under a *record key*; the
    row's name is an HMAC of the record's identity, so even key IDs and alias
    names are not readable in the file.
  - Inside a KMS key's record, each backing key's material is wrapped again,
    on its own, under a *key-material wrapping key* and bound to the key's ARN
    and key material ID, so material cannot be moved from one key to another.
  - Both keys are derived from a 256-bit *root key* that is kept apart from the
    database, in ``DIR/hsm/root-key`` (file mode 0600, folder 0700). It plays the part of
    the HSMs in AWS: without it the database is opaque bytes.

  Every operation that changes state commits in a single SQLite transaction
  (WAL journal, ``synchronous=FULL``): a crash leaves either the whole change
  or none of it.

  The folder belongs to one process at a time (:mod:`kms_teach._store.lock`),
  is mode 0700 and its files 0600 whatever the umask, and a root key that is
  not the user's own (another owner, readable or writable by others, a
  symbolic link) is refused. Deleted records are zeroed (``secure_delete``),
  and a commit that destroys key material (a KMS key deleted, imported
  material deleted) or another secret is followed by a WAL checkpoint that
  empties the WAL: no copy of the folder holds the destroyed record.

Fidelity: in AWS, key material is only ever in plaintext inside FIPS 140-2
Level 2 validated HSMs; here it is in plaintext in the simulator's memory
while it runs, and encrypted on disk.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Iterable

from .._crypto import CryptoError, RandomSource, derive_key, unwrap_secret, wrap_secret
from .._errors import StoreError
from .._model import Alias, BackingKey, KmsKey
from .base import Changes
from .lock import FolderLock

__all__ = ["SQLiteStore"]


class SQLiteStore:
    """An encrypted, transactional store in a directory."""

    persistent = True
    DB_NAME = "kms.sqlite3"
    ROOT_KEY = Path("hsm") / "root-key"

    def __init__(self, path: str | os.PathLike, random: RandomSource, *, holder: str | None = None):
        self.path = Path(path)
        self._random = random
        self._lock = threading.Lock()
        # The key material IDs whose material each KMS key's last written record holds: a commit that
        # drops one (the key deleted, imported material deleted) destroys key material.
        self._material_ids: dict[tuple, frozenset[str]] = {}
        self.folder_lock: FolderLock | None = None
        try:
            self._make_private_folder(self.path)
        except OSError as exc:
            raise StoreError(f"cannot open the store in {self.path}: {exc}") from None
        # One writer per folder, across processes: taken before anything in it is read or written.
        self.folder_lock = FolderLock(self.path, holder=holder)
        try:
            self._open(self.path)
        except BaseException:
            self.folder_lock.release()
            raise

    def _open(self, path: Path) -> None:
        try:
            root = self._root_key()
        except OSError as exc:
            raise StoreError(f"cannot open the store in {self.path}: {exc}") from None
        self._record_key = derive_key(root, b"kms_teach store", b"record encryption key")
        self._name_key = derive_key(root, b"kms_teach store", b"record name key")
        self._material_key = derive_key(root, b"kms_teach store", b"key material wrapping key")
        db_path = self.path / self.DB_NAME
        try:
            # SQLite creates the -wal and -shm files with the database file's mode: create it 0600
            # first, whatever the umask, and narrow any of them an older version left wider.
            self._private_file(db_path, create=True)
            for suffix in ("-wal", "-shm", "-journal"):
                self._private_file(Path(f"{db_path}{suffix}"), create=False)
        except OSError as exc:
            raise StoreError(f"cannot open the store in {self.path}: {exc}") from None
        try:
            self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
            # Deleted and overwritten records are zeroed in the file, not merely unlinked from its b-tree.
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("CREATE TABLE IF NOT EXISTS records (name BLOB PRIMARY KEY, kind TEXT NOT NULL, sealed BLOB NOT NULL)")
            # Blobs (S3 object parts): sealed like records, but never read when the store opens.
            self._db.execute("CREATE TABLE IF NOT EXISTS blobs (name BLOB PRIMARY KEY, sealed BLOB NOT NULL)")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path / self.DB_NAME} is not a kms_teach store: {exc}") from None

    # -- the folder -----------------------------------------------------------

    @staticmethod
    def _make_private_folder(folder: Path) -> None:
        """The data folder, mode 0700 whatever the umask (only its owner may list or enter it)."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(folder)
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(f"{folder} is not a folder")
        if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(folder, 0o700)

    @staticmethod
    def _private_file(path: Path, *, create: bool) -> None:
        """``path`` mode 0600 (created empty if ``create``); never through a symbolic link."""
        flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_CREAT if create else 0)
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            if create:
                raise
            return
        except OSError as exc:
            if os.path.islink(path):
                raise StoreError(f"{path} is a symbolic link; kms_teach does not follow it") from None
            raise exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise StoreError(f"{path} is not a regular file")
            if stat.S_IMODE(st.st_mode) != 0o600:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)

    # -- the root key ---------------------------------------------------------

    def _root_key(self) -> bytes:
        key_path = self.path / self.ROOT_KEY
        hsm = key_path.parent
        try:
            hsm.mkdir(mode=0o700, exist_ok=True)
        except FileExistsError:
            pass
        st = os.lstat(hsm)
        if not stat.S_ISDIR(st.st_mode):
            raise StoreError(f"{hsm} is not a folder (a symbolic link or a file); kms_teach keeps its root key "
                             f"only in a private folder of its own")
        if st.st_uid != os.getuid():
            raise StoreError(f"{hsm} is owned by user {st.st_uid}, not by you (user {os.getuid()}): a root key "
                             f"kept there could have been planted or read. Remove the folder, or restore it as yours.")
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(hsm, 0o700)
        try:
            fd = os.open(key_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            fd = None
        except OSError as exc:
            if os.path.islink(key_path):
                raise StoreError(f"{key_path} is a symbolic link; kms_teach trusts a root key only in a file "
                                 f"of its own") from None
            raise
        if fd is not None:
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode):
                    raise StoreError(f"{key_path} is not a regular file")
                if st.st_uid != os.getuid():
                    raise StoreError(
                        f"{key_path} is owned by user {st.st_uid}, not by you (user {os.getuid()}): kms_teach "
                        f"refuses a root key someone else could have planted. If it is yours, "
                        f"restore its owner (chown) and mode 0600.")
                if st.st_mode & 0o077:
                    raise StoreError(
                        f"{key_path} has mode {stat.S_IMODE(st.st_mode):04o}: others could read or replace "
                        f"the root key that protects every record. kms_teach refuses it; if it is still "
                        f"secret, make it private (chmod 600 {key_path}), else start a new folder.")
                data = fh.read(33)
            if len(data) != 32:
                raise StoreError(f"{key_path} is damaged: a root key is 32 bytes")
            return data
        # The root key always comes from the operating system, even for a seeded
        # Cloud: it protects the store, not the lesson.
        data = os.urandom(32)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     stat.S_IRUSR | stat.S_IWUSR)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return data

    # -- sealing ----------------------------------------------------------------

    def _name(self, kind: str, ident: Iterable[str]) -> bytes:
        return hmac.digest(self._name_key, "\x00".join((kind, *ident)).encode("utf-8"), "sha256")

    def _seal(self, kind: str, name: bytes, record: dict) -> bytes:
        plaintext = json.dumps(record, separators=(",", ":")).encode("utf-8")
        return wrap_secret(self._record_key, plaintext, kind.encode() + name, self._random)

    def _unseal(self, kind: str, name: bytes, sealed: bytes) -> dict:
        try:
            return json.loads(unwrap_secret(self._record_key, sealed, kind.encode() + name))
        except CryptoError:
            raise StoreError(
                f"a {kind} record in {self.path / self.DB_NAME} cannot be decrypted with this root key"
            ) from None

    def _wrap_material(self, key: KmsKey, bk: BackingKey) -> str:
        aad = f"{key.arn}|{bk.key_material_id}".encode()
        return base64.b64encode(wrap_secret(self._material_key, bk.material, aad, self._random)).decode()

    def _unwrap_material(self, key: KmsKey, bk: BackingKey, wrapped: str) -> bytes:
        aad = f"{key.arn}|{bk.key_material_id}".encode()
        try:
            return unwrap_secret(self._material_key, base64.b64decode(wrapped), aad)
        except CryptoError:
            raise StoreError(f"the key material of {key.arn} cannot be unwrapped") from None

    # -- the interface ----------------------------------------------------------

    def load(self) -> tuple[list[KmsKey], list[Alias], dict]:
        keys, aliases, meta = [], [], {}
        with self._lock:
            rows = self._db.execute("SELECT name, kind, sealed FROM records").fetchall()
        for name, kind, sealed in rows:
            record = self._unseal(kind, name, sealed)
            if kind == KmsKey.KIND:
                key = KmsKey.from_record(record, self._unwrap_material)
                self._material_ids[key.ident] = _held_material(key)
                keys.append(key)
            elif kind == Alias.KIND:
                aliases.append(Alias.from_record(record))
            elif kind == "meta":
                meta[record["name"]] = record["value"]
        return keys, aliases, meta

    _KMS_KINDS = (KmsKey.KIND, Alias.KIND, "meta")

    def load_records(self) -> dict[str, list[dict]]:
        """Every record of the other services, by kind."""
        out: dict[str, list[dict]] = {}
        with self._lock:
            rows = self._db.execute(
                "SELECT name, kind, sealed FROM records WHERE kind NOT IN (?, ?, ?)", self._KMS_KINDS
            ).fetchall()
        for name, kind, sealed in rows:
            out.setdefault(kind, []).append(self._unseal(kind, name, sealed))
        return out

    #: Kinds of record that hold a secret of their own (an access key's secret, a session's, an SSE-S3
    #: key): deleting one destroys it, as deleting a KMS key destroys its key material.
    SECRET_KINDS = frozenset({"iam-access-key", "sts-session", "s3-owned-key"})

    def commit(self, changes: Changes) -> None:
        rows = []
        key_kind, alias_kind = KmsKey.KIND, Alias.KIND
        material = {}
        destroys = bool(changes.deleted_keys) or any(kind in self.SECRET_KINDS for kind, _ in changes.deleted_records)
        for ident, key in changes.keys.items():
            name = self._name(key_kind, ident)
            rows.append(("put", name, key_kind, self._seal(key_kind, name, key.to_record(self._wrap_material))))
            material[ident] = ids = _held_material(key)
            if not destroys and not self._material_ids.get(ident, frozenset()) <= ids:
                destroys = True  # a key material the last record held is gone (DeleteImportedKeyMaterial)
        for ident in changes.deleted_keys:
            rows.append(("del", self._name(key_kind, ident), key_kind, None))
        for ident, alias in changes.aliases.items():
            name = self._name(alias_kind, ident)
            rows.append(("put", name, alias_kind, self._seal(alias_kind, name, alias.to_record())))
        for ident in changes.deleted_aliases:
            rows.append(("del", self._name(alias_kind, ident), alias_kind, None))
        for (kind, ident), record in changes.records.items():
            name = self._name(kind, ident)
            rows.append(("put", name, kind, self._seal(kind, name, record.to_record())))
        for kind, ident in changes.deleted_records:
            rows.append(("del", self._name(kind, ident), kind, None))
        for (kind, ident), data in changes.blobs.items():
            name = self._name("blob:" + kind, ident)
            rows.append(("blob", name, kind, wrap_secret(self._record_key, data, b"blob:" + kind.encode() + name,
                                                         self._random)))
        for kind, ident in changes.deleted_blobs:
            rows.append(("delblob", self._name("blob:" + kind, ident), kind, None))
        for mname, value in changes.meta.items():
            name = self._name("meta", (mname,))
            rows.append(("put", name, "meta", self._seal("meta", name, {"name": mname, "value": value})))
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for op, name, kind, sealed in rows:
                    if op == "put":
                        self._db.execute(
                            "INSERT OR REPLACE INTO records (name, kind, sealed) VALUES (?, ?, ?)", (name, kind, sealed)
                        )
                    elif op == "blob":
                        self._db.execute("INSERT OR REPLACE INTO blobs (name, sealed) VALUES (?, ?)", (name, sealed))
                    elif op == "delblob":
                        self._db.execute("DELETE FROM blobs WHERE name = ?", (name,))
                    else:
                        self._db.execute("DELETE FROM records WHERE name = ?", (name,))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._material_ids.update(material)
            for ident in changes.deleted_keys:
                self._material_ids.pop(ident, None)
            if destroys:
                self._erase_old_copies()

    def _erase_old_copies(self) -> None:
        """Leave no copy of a destroyed record: secure_delete zeroed it in the database file, and the WAL
        still holds the pages it was in, so they are copied back and the WAL is emptied (truncated).

        A copy of the folder taken after this holds nothing of the record (AWS: the key material is
        gone once the waiting period ends). Called with ``self._lock`` held.
        """
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.DatabaseError:  # pragma: no cover - the next commit's checkpoint tries again
            pass

    def read_blob(self, kind: str, ident: tuple) -> bytes | None:
        """The blob ``(kind, ident)``, or None if there is none."""
        name = self._name("blob:" + kind, ident)
        with self._lock:
            row = self._db.execute("SELECT sealed FROM blobs WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        try:
            return unwrap_secret(self._record_key, row[0], b"blob:" + kind.encode() + name)
        except CryptoError:
            raise StoreError(f"a {kind} blob in {self.path / self.DB_NAME} cannot be decrypted with this root key") \
                from None

    def next_generation(self) -> int:
        """Count one more opening of this store, atomically across processes."""
        name = self._name("meta", ("generation",))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT sealed FROM records WHERE name = ?", (name,)).fetchone()
                generation = (self._unseal("meta", name, row[0])["value"] if row else 0) + 1
                sealed = self._seal("meta", name, {"name": "generation", "value": generation})
                self._db.execute("INSERT OR REPLACE INTO records (name, kind, sealed) VALUES (?, 'meta', ?)", (name, sealed))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return generation

    def close(self) -> None:
        """Close the database (its WAL checkpointed away) and let go of the folder. Twice is harmless."""
        with self._lock:
            db, self._db = getattr(self, "_db", None), None
            if db is not None:
                db.close()
            if self.folder_lock is not None:
                self.folder_lock.release()


def _held_material(key: KmsKey) -> frozenset[str]:
    """The IDs of the key materials ``key`` holds (imported material once deleted keeps its ID, not its bytes)."""
    return frozenset(bk.key_material_id for bk in key.backing_keys if bk.material)
