"""One writer at a time on an index folder (a file lock), and the revision a finished write publishes."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from newsdesk.errors import StoreBusy, StoreUnavailable

log = logging.getLogger(__name__)

LOCK_FILE = "newsdesk-writer.lock"
REVISION_FILE = "newsdesk-revision"  # written last by each write, under the lock: readers watch it


@dataclass
class _Held:
    """This process's hold on one folder's lock: threads take turns, and a thread may nest holds."""

    turn: threading.RLock
    fd: int = -1
    exclusive: bool = False
    depth: int = 0


_held: dict[str, _Held] = {}
_held_guard = threading.Lock()


class StoreLock:
    """`flock` on a file in the index folder. Writers hold it exclusively for a whole write; readers that
    open or copy the folder hold it shared. The kernel drops it when a process dies, even by SIGKILL."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with _held_guard:
            self._held = _held.setdefault(os.path.realpath(folder), _Held(threading.RLock()))

    @contextmanager
    def exclusive(self, wait: bool = True, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the lock alone: with `wait` False, raise StoreBusy at once when another writer has it."""
        with self._hold(exclusive=True, wait=wait, on_wait=on_wait) as got:
            if not got:
                raise StoreBusy(
                    f"another ingest is writing to {self.folder}: wait for it to finish, or leave out --no-wait "
                    "to queue behind it"
                )
            yield

    @contextmanager
    def shared(self, wait: bool = True, on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
        """Keep writers out while reading the folder; yields False when not waiting and a writer has it."""
        with self._hold(exclusive=False, wait=wait, on_wait=on_wait) as got:
            yield got

    @contextmanager
    def _hold(self, exclusive: bool, wait: bool, on_wait: Callable[[], None] | None) -> Iterator[bool]:
        held = self._held
        if not held.turn.acquire(blocking=False):  # another thread of this process holds it
            if not wait:
                yield False
                return
            if on_wait:
                on_wait()
            held.turn.acquire()
            on_wait = None
        try:
            if held.depth:  # nested in this thread: the outer hold covers it (shared inside exclusive too)
                if exclusive and not held.exclusive:
                    raise RuntimeError("cannot take the writer lock inside a shared hold of the same folder")
                held.depth += 1
                try:
                    yield True
                finally:
                    held.depth -= 1
                return
            fd = self._open(exclusive)
            if fd < 0:  # a read-only folder: nobody can write to it, so there is nothing to keep out
                yield True
                return
            try:
                if not _flock(fd, exclusive, blocking=False):
                    if not wait:
                        yield False
                        return
                    if on_wait:
                        on_wait()
                    _flock(fd, exclusive, blocking=True)
                held.fd, held.exclusive, held.depth = fd, exclusive, 1
                try:
                    yield True
                finally:
                    held.fd, held.exclusive, held.depth = -1, False, 0
            finally:
                os.close(fd)  # closing releases the flock
        finally:
            held.turn.release()

    def _open(self, exclusive: bool) -> int:
        path = self.folder / LOCK_FILE
        try:
            if exclusive:
                self.folder.mkdir(parents=True, exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if not exclusive and exc.errno in {errno.EROFS, errno.EACCES, errno.EPERM}:
                try:
                    return os.open(path, os.O_RDONLY)
                except OSError:
                    log.info("index folder is read-only, reading it without the lock folder=%s", self.folder)
                    return -1
            raise StoreUnavailable(f"cannot lock the index at {self.folder}: {exc}") from exc


def _flock(fd: int, exclusive: bool, blocking: bool) -> bool:
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if blocking else fcntl.LOCK_NB)
    try:
        fcntl.flock(fd, mode)
    except BlockingIOError:
        return False
    return True


def read_revision(folder: Path) -> str | None:
    """The revision the last finished write published, or None (no write has finished under the lock)."""
    try:
        return (folder / REVISION_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def write_revision(folder: Path, revision: str) -> None:
    tmp = folder / f"{REVISION_FILE}.{os.getpid()}.tmp"
    tmp.write_text(revision + "\n", encoding="utf-8")
    tmp.replace(folder / REVISION_FILE)


class WritableFolder(Protocol):
    """A store in a folder that other processes may write too (embedded Chroma)."""

    def begin_write(self) -> None:
        """Called with the lock held: catch up with other processes' writes, finish an interrupted one."""

    def end_write(self) -> None:
        """Called with the lock still held, after the write."""

    def revision(self) -> str: ...


class FolderWriter:
    """Holds the folder's lock for a whole write (articles, then derived data) and publishes its revision last."""

    def __init__(self, folder: Path, store: WritableFolder, wait: bool = True,
                 on_wait: Callable[[], None] | None = None) -> None:
        self.folder, self.store, self.wait = folder, store, wait
        self.on_wait = on_wait or (lambda: log.warning("waiting for another ingest on %s", folder))
        self.lock = StoreLock(folder)

    @contextmanager
    def session(self) -> Iterator[bool]:
        """Yields whether the derived data lags the store (a writer died before publishing)."""
        with self.lock.exclusive(self.wait, self.on_wait):
            self.store.begin_write()
            yield self.store.revision() != read_revision(self.folder)
            revision = self.store.revision()
            if revision != read_revision(self.folder):
                write_revision(self.folder, revision)
            self.store.end_write()
