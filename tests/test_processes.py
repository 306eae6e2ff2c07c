"""One index, several real processes: writers take turns on the folder lock; `newsdesk serve` keeps answering."""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from newsdesk.ingest.load import load_paths

from newsdesk.app import build_service, open_snapshot
from newsdesk.errors import StoreBusy
from newsdesk.index.folder_copy import FolderCopyStore
from newsdesk.index.lock import StoreLock, read_revision
from newsdesk.settings import Settings
from tests.conftest import EXAMPLES
from tests.moto_fixtures import free_port
from tests.process_helpers import answers, newsdesk, run, snapshot, stories, write_stories

pytestmark = pytest.mark.server

QUESTIONS = [("What did the reports say about the ferry?", {}),
             ("Which reports mention the council and the budget?", {"outlet": "alpha Times"}),
             ("What happened near the harbor?", {"outlet": "beta Times"}),
             ("What happened near alpha 3?", {}),
             ("What did the police report?", {"published_after": "2024-03-10", "published_before": "2024-03-15"})]


def reference(tmp_path: Path, *files: Path) -> Path:
    """The same files ingested one after the other, in this process: what any order of runs must end as."""
    store = tmp_path / "reference"
    for path in files:
        done = run(store, "ingest", str(path))
        assert done.returncode == 0, done.stderr
    return store


def test_two_ingests_at_once_take_turns_and_both_land(tmp_path: Path) -> None:
    a = write_stories(tmp_path / "a.jsonl", stories("alpha", 20))
    b = write_stories(tmp_path / "b.jsonl", stories("beta", 20))
    store = tmp_path / "store"
    first, second = newsdesk(store, "ingest", str(a)), newsdesk(store, "ingest", str(b))
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outputs
    assert [out.strip().split(",")[0] for out, _ in outputs] == ["added 20", "added 20"]

    expected = reference(tmp_path, a, b)
    got = snapshot(store)
    assert got["stats"].articles == 40 and not got["orphans"] and not got["missing"]
    assert got == snapshot(expected)
    assert answers(store, QUESTIONS) == answers(expected, QUESTIONS)
    again = run(store, "ingest", str(a), str(b))
    assert again.returncode == 0 and again.stdout.startswith("added 0, updated 0, unchanged 40, failed 0")


def test_a_second_writer_waits_with_a_message_or_fails_at_once_with_no_wait(tmp_path: Path) -> None:
    store = tmp_path / "store"
    path = write_stories(tmp_path / "a.jsonl", stories("alpha", 3))
    assert run(store, "ingest", str(path)).returncode == 0
    edited = write_stories(tmp_path / "a2.jsonl", stories("alpha", 3, edit="flood"))
    with StoreLock(store).exclusive():  # another writer, as far as the CLI can tell
        busy = run(store, "ingest", "--no-wait", str(edited))
        assert busy.returncode == 75 and busy.stdout == ""
        assert busy.stderr.startswith(f"error: another ingest is writing to {store}")
        deleting = run(store, "delete", "--no-wait", "alpha-1")
        assert deleting.returncode == 75 and "another ingest is writing" in deleting.stderr

        waiting = newsdesk(store, "ingest", str(edited))
        assert waiting.stderr is not None
        line = waiting.stderr.readline()  # blocks until the CLI says why it is not writing
        assert line.strip() == f"waiting for another ingest on {store}…"
        assert waiting.poll() is None
    out, _ = waiting.communicate(timeout=300)
    assert waiting.returncode == 0 and out.startswith("added 0, updated 3, unchanged 0, failed 0")


def ask(port: int, question: str, filters: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/chat", json.dumps({"question": question, "filters": filters}).encode())
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def wait_until_serving(port: int, server: Any) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()
        try:
            ask(port, "ready?")
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("newsdesk serve did not start")


class Clients:
    """Questions in a loop from a few threads, every outcome kept (a dropped connection is an outcome too)."""

    def __init__(self, port: int, threads: int = 3) -> None:
        self.port, self.outcomes, self.stop = port, [], threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._loop, args=(i,)) for i in range(threads)]
        for thread in self.threads:
            thread.start()

    def _loop(self, n: int) -> None:
        asks = [("What did the reports say about the council?", None),
                ("What happened near the bridge?", {"outlet": "alpha Times"}),
                ("What happened in early March?", {"outlet": "alpha Times", "published_after": "2024-03-02"})]
        i = n
        while not self.stop.is_set():
            question, filters = asks[i % len(asks)]
            try:
                status, body = ask(self.port, question, filters)
                outcome = (status, body.get("abstained"), filters is not None, body.get("error"))
            except Exception as exc:  # noqa: BLE001 - a dropped connection is what this test looks for
                outcome = (0, None, filters is not None, repr(exc))
            with self.lock:
                self.outcomes.append(outcome)
            i += 1

    def finish(self) -> list[tuple[Any, ...]]:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)
        return self.outcomes


def test_serve_keeps_answering_through_cli_ingests_and_sees_each_edit(tmp_path: Path) -> None:
    store, check_seconds = tmp_path / "store", 0.5
    assert run(store, "ingest", str(write_stories(tmp_path / "a.jsonl", stories("alpha", 12)))).returncode == 0
    port = free_port()
    server = newsdesk(store, "serve", "--port", str(port), NEWSDESK_REVISION_CHECK_SECONDS=str(check_seconds))
    try:
        wait_until_serving(port, server)
        for round_, edit in enumerate(("zebra", "walrus")):
            clients = Clients(port)
            edited = stories("alpha", 12, edit=edit) + stories("beta", 4 * (round_ + 1))
            done = run(store, "ingest", str(write_stories(tmp_path / f"edit{round_}.jsonl", edited)))
            assert done.returncode == 0, done.stderr
            outcomes = clients.finish()
            assert outcomes and all(o[0] == 200 for o in outcomes), [o for o in outcomes if o[0] != 200][:5]
            # Filtered to the edited outlet, there is always something to quote: the article never vanishes.
            assert not [o for o in outcomes if o[2] and o[1]], "an alpha article vanished from the answers"

            time.sleep(check_seconds * 1.5)  # one revision-check interval after the writer finished
            status, body = ask(port, f"What did the {edit} change?", {"outlet": "alpha Times"})
            assert status == 200 and edit in body["citations"][0]["sentence"]
            status, body = ask(port, "What happened near the river?", {"outlet": "beta Times"})
            assert status == 200 and body["citations"] and not body["abstained"]
    finally:
        server.terminate()
        server.communicate(timeout=60)


class Holder:
    """Another thread holding the folder's writer lock until released."""

    def __init__(self, folder: Path) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, args=(folder,))
        self.thread.start()
        self.held.wait(30)

    def _hold(self, folder: Path) -> None:
        with StoreLock(folder).exclusive():
            self.held.set()
            self.release.wait(30)

    def done(self) -> None:
        self.release.set()
        self.thread.join(30)


def test_the_lock_between_threads_busy_waiting_and_nesting(tmp_path: Path) -> None:
    holder = Holder(tmp_path)
    with pytest.raises(StoreBusy, match="another ingest is writing to"), StoreLock(tmp_path).exclusive(wait=False):
        pass
    with StoreLock(tmp_path).shared(wait=False) as got:
        assert got is False
    waited: list[str] = []
    threading.Timer(0.2, holder.done).start()
    # The same thread may read what it writes (a shared hold inside its exclusive one).
    with StoreLock(tmp_path).exclusive(on_wait=lambda: waited.append("waiting")), \
            StoreLock(tmp_path).shared(wait=False) as nested:
        assert nested is True
    assert waited == ["waiting"]


def test_a_reader_copy_stays_put_while_a_writer_is_at_work_and_follows_once_it_is_done(tmp_path: Path) -> None:
    store, copies = tmp_path / "store", tmp_path / "copies"
    writer = build_service(Settings(store=store, embedder="hash"))
    writer.ingest(load_paths([str(EXAMPLES / "regional-wire.jsonl")]))
    dead = copies / f"copy-{_exited_pid()}-1"
    dead.mkdir(parents=True)
    reader = FolderCopyStore(store, copies, open_snapshot)
    try:
        assert not dead.exists()  # a copy left by a reader that died is removed
        assert reader.stats().articles == 2 and reader.published == read_revision(store)
        assert reader.refresh() is False  # nothing new

        writer.ingest(load_paths([str(EXAMPLES)]))
        holder = Holder(store)  # the next writer is already at work: keep answering from the finished copy
        try:
            assert reader.refresh() is False and reader.stats().articles == 2
        finally:
            holder.done()
        assert reader.refresh() is True and reader.stats().articles == 6
        assert reader.published == read_revision(store) and reader.revision() == writer.store.revision()
        writer.delete("regional-wire-ferry-2024-03-08")
        reader.revision()  # a question's revision check swaps the newer copy in
        assert reader.stats().articles == 5 and len(list(copies.iterdir())) == 2  # this one and the one before
    finally:
        reader.close()
    assert list(copies.iterdir()) == []


def _exited_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
