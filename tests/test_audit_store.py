"""The SQLite audit trail keeps one connection per thread, never a stale or forked one."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from checkpoints import audit


def _kinds(path: Path, thread: str = "t") -> list[str]:
    return [r.key for r in audit.read(thread_id=thread, path=path)]


def test_find_returns_only_that_kind_and_key_in_that_thread(tmp_path):
    db = tmp_path / "a.sqlite"
    for kind, key, thread in [("approval_requested", "k1", "t"), ("approval_decided", "k1", "t"),
                              ("approval_requested", "k2", "t"), ("approval_requested", "k1", "u")]:
        audit.record(kind, thread_id=thread, key=key, actor="agent", data={"k": key}, path=db)
    found = audit.find("approval_requested", "k1", thread_id="t", path=db)
    assert [(r.kind, r.key, r.thread_id) for r in found] == [("approval_requested", "k1", "t")]


def test_a_replaced_database_file_is_not_written_through_the_old_connection(tmp_path):
    db = tmp_path / "a.sqlite"
    audit.record("tool_executed", thread_id="t", key="before", actor="agent", data={}, path=db)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    audit.record("tool_executed", thread_id="t", key="after", actor="agent", data={}, path=db)
    assert _kinds(db) == ["after"]  # the new file holds the new record


def test_threads_and_forked_children_each_use_their_own_connection(tmp_path):
    db = tmp_path / "a.sqlite"
    audit.record("tool_executed", thread_id="t", key="parent", actor="agent", data={}, path=db)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(20):
                audit.record("tool_executed", thread_id="t", key=f"w{n}-{i}", actor="agent",
                             data={}, path=db)
        except BaseException as err:  # noqa: BLE001 - reported by the assert below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    pid = os.fork()
    if pid == 0:  # the child: a connection of its own, or the write would fail or vanish
        try:
            audit.record("tool_executed", thread_id="t", key="child", actor="agent", data={},
                         path=db)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    audit.record("tool_executed", thread_id="t", key="parent again", actor="agent", data={},
                 path=db)
    keys = _kinds(db)
    assert {"parent", "child", "parent again"} <= set(keys) and len(keys) == 83
