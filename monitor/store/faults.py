"""What went wrong with the database file, in one line that names it and the fix.

SQLite says "attempt to write a readonly database" or "database is locked"; a person needs to
know which file, why (the file, its folder, another process: which one) and what to do.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from monitor.errors import StoreError

# Where to point monitor at another database file.
ELSEWHERE = "[storage].database (or MONITOR_DB, or pass --db PATH)"
# Set by the Dockerfile: there the database is on a volume, and the fix for a folder or file the
# service's user cannot write is on the host (its owner) or on the `run` command line (`--user`).
IN_CONTAINER = "MONITOR_IN_CONTAINER"
# Below this many free bytes an I/O error on the database is taken for a full disk.
NEARLY_FULL = 1 << 20


def _free(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path.parent).free
    except OSError:
        return None


def _holders(path: Path) -> list[int]:
    """Other processes holding a POSIX write lock on the database or its WAL index, from
    /proc/locks (Linux); SQLite's write lock in WAL mode is a lock on the -shm file."""
    files = set()
    for candidate in (path, path.with_name(path.name + "-shm")):
        try:
            st = candidate.stat()
        except OSError:
            continue
        files.add((os.major(st.st_dev), os.minor(st.st_dev), st.st_ino))
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    pids = []
    for line in lines:
        parts = line.split()
        if "->" in parts:  # a waiter, not a holder
            continue
        try:
            kind, pid, device = parts[3], int(parts[4]), parts[5]
            major, minor, inode = device.split(":")
            key = (int(major, 16), int(minor, 16), int(inode))
        except (IndexError, ValueError):
            continue
        if kind == "WRITE" and key in files and pid > 0 and pid != os.getpid():
            pids.append(pid)
    return sorted(set(pids))


def _who(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
    except OSError:
        return f"pid {pid}"
    text = " ".join(command.decode(errors="replace").split())
    return f"pid {pid}: {text[:80]}" if text else f"pid {pid}"


def locked(path: Path, busy_timeout: float) -> StoreError:
    holders = _holders(path)
    who = (
        "another process (" + "; ".join(_who(p) for p in holders) + ")"
        if holders
        else f"another process (`fuser {path}` names it)"
    )
    return StoreError(
        f"{path}: the database is locked: {who} held its write lock for more than "
        f"{busy_timeout:g} s; wait for it to finish or stop it, then run this again "
        "(or raise [storage].busy_timeout)"
    )


def _in_container() -> bool:
    return os.environ.get(IN_CONTAINER, "") not in ("", "0")


def _mounted_at(path: Path) -> Path:
    """The nearest folder above the database that exists: in the container, the volume."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _container_cannot_write(path: Path, what: str) -> StoreError:
    """In the container the service's user (uid 10001 unless `--user` says otherwise) must be
    let write the volume's folder on the host: chown it there, or run as the folder's owner."""
    uid = os.getuid()
    return StoreError(
        f"{path}: uid {uid}, the container's user, cannot write {what}; on the host, give the "
        f"folder mounted at {_mounted_at(path)} to uid {uid} (`chown -R {uid} DIR`; rootless "
        f"podman: `podman unshare chown -R {uid} DIR`), or run the container as the folder's "
        'owner (`--user "$(stat -c %u:%g DIR)"`)'
    )


def _container_read_only_mount(path: Path) -> StoreError:
    folder = _mounted_at(path)
    return StoreError(
        f"{path}: the volume at {folder} is mounted read-only; mount it read-write "
        f"(`-v DIR:{folder}`, without `:ro`)"
    )


def _read_only_folder(path: Path) -> StoreError:
    folder = path.parent
    if _in_container():
        return _container_cannot_write(path, f"the folder {folder}")
    return StoreError(
        f"{path}: the database's folder {folder} is read-only, and SQLite must create "
        f"{path.name}-wal and {path.name}-shm beside the file; make the folder writable by "
        f"this user, or set {ELSEWHERE} to a writable folder"
    )


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _read_only_file(path: Path) -> StoreError:
    if _read_only_mount(path) and _in_container():
        return _container_read_only_mount(path)
    if _read_only_mount(path):
        return StoreError(
            f"{path}: the database is on a read-only file system; mount it read-write, or "
            f"set {ELSEWHERE} to a file on a writable disk"
        )
    if not os.access(path.parent, os.W_OK) and not os.access(path, os.W_OK):
        return _read_only_folder(path)
    if _in_container():
        return _container_cannot_write(path, f"the database file {path}")
    return StoreError(
        f"{path}: the database file is read-only; make it writable by this user "
        f"(chmod u+w {path}), or set {ELSEWHERE} to a writable copy"
    )


def disk_full(path: Path) -> StoreError:
    free = _free(path)
    left = f" ({free:,} bytes free)" if free is not None else ""
    return StoreError(
        f"{path}: the disk is full{left}; free some space on it, or set {ELSEWHERE} "
        "to a file on a larger disk"
    )


def describe(exc: sqlite3.Error | OSError, path: Path, busy_timeout: float) -> StoreError:
    """The one-line StoreError for a failure of the database at `path`."""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return disk_full(path)
        if exc.errno == errno.EROFS and _in_container():
            return _container_read_only_mount(path)
        if exc.errno in (errno.EACCES, errno.EPERM) and _in_container():
            return _container_cannot_write(path, f"the folder {_mounted_at(path)}")
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return StoreError(
                f"{path}: cannot create {exc.filename or path.parent} ({exc.strerror}); create "
                f"it with write access for this user, or set {ELSEWHERE} to a writable folder"
            )
        return StoreError(
            f"{path}: cannot open the database ({exc.strerror or exc}); check the path, "
            f"or set {ELSEWHERE}"
        )
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name == "SQLITE_READONLY_DIRECTORY":
        return _read_only_file(path) if _read_only_mount(path) else _read_only_folder(path)
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return _read_only_file(path)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return locked(path, busy_timeout)
    if name == "SQLITE_FULL" or "disk is full" in text:
        return disk_full(path)
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        free = _free(path)
        if free is not None and free < NEARLY_FULL:
            return disk_full(path)
        return StoreError(
            f"{path}: disk I/O error ({name or text}); check the disk (dmesg) and that the "
            f"file is not on a network share, or set {ELSEWHERE}"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        if _read_only_mount(path):
            return _read_only_file(path)
        folder = path.parent
        if folder.is_dir() and not os.access(folder, os.W_OK) and not path.exists():
            return _read_only_folder(path)
        return StoreError(
            f"{path}: cannot open the database file; check that it is a file this user can "
            f"read and write in a folder that exists, or set {ELSEWHERE}"
        )
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or "not a database" in text:
        return StoreError(
            f"{path}: not a monitor database, or damaged ({text}); move it aside (monitor "
            "starts a new one) or restore it from a backup"
        )
    return StoreError(f"{path}: database error ({name or text}: {text}); check the file")
