"""send_email: outbox append, exactly-once by idempotency key, address checks, SMTP."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tools import ToolSettings
from tools import email as email_tool
from tools.email import make_send_email_tool, read_outbox, send


@pytest.fixture
def settings(tmp_path: Path) -> ToolSettings:
    return ToolSettings(
        workspace=tmp_path / "ws", corpus_dir=None, outbox=tmp_path / "out" / "outbox.jsonl"
    )


def test_appends_one_json_line(settings: ToolSettings) -> None:
    out = send(settings, "elena.vasquez@acme.example", "Q2", "Numbers attached.", "k1")
    assert out.startswith("Email sent to elena.vasquez@acme.example")
    [record] = read_outbox(settings.outbox)
    assert record["to"] == "elena.vasquez@acme.example"
    assert record["subject"] == "Q2" and record["body"] == "Numbers attached."
    assert record["idempotency_key"] == "k1"
    assert {"id", "sent_at"} <= record.keys()


def test_same_key_sends_once(settings: ToolSettings) -> None:
    first = send(settings, "a@b.example", "s", "b", "key-1")
    again = send(settings, "a@b.example", "s", "b", "key-1")
    assert "already sent, key=key-1" in again
    [record] = read_outbox(settings.outbox)
    assert record["id"] in first and record["id"] in again
    send(settings, "a@b.example", "s", "b", "key-2")
    assert len(read_outbox(settings.outbox)) == 2


def test_no_key_means_no_dedup(settings: ToolSettings) -> None:
    send(settings, "a@b.example", "s", "b")
    send(settings, "a@b.example", "s", "b")
    assert len(read_outbox(settings.outbox)) == 2


def test_concurrent_retries_with_one_key_send_once(settings: ToolSettings) -> None:
    start = threading.Barrier(8)

    def retry() -> None:
        start.wait()
        send(settings, "a@b.example", "s", "b", "same")

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(read_outbox(settings.outbox)) == 1


def test_torn_last_line_is_skipped_and_not_glued_to(settings: ToolSettings) -> None:
    settings.outbox.parent.mkdir(parents=True)
    settings.outbox.write_text('{"id": "x", "idempotency_key": "k"')  # crash mid-write
    send(settings, "a@b.example", "s", "b", "k")
    [record] = read_outbox(settings.outbox)
    assert record["idempotency_key"] == "k"


@pytest.mark.parametrize(
    "to", ["", "not-an-address", "a@b", "a@@b.com", "a b@c.com", "a@b.com, c@d.com", "<a@b.com>"]
)
def test_invalid_address(settings: ToolSettings, to: str) -> None:
    with pytest.raises(ValueError, match="not a valid email address"):
        send(settings, to, "s", "b")
    assert read_outbox(settings.outbox) == []


def test_read_outbox_of_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_outbox(tmp_path / "none.jsonl") == []


class _FakeSMTP:
    """Stands in for smtplib.SMTP so no socket is opened."""

    sent: list[Any] = []

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.address = (host, port)

    def __enter__(self) -> _FakeSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send_message(self, message: Any) -> None:
        self.sent.append((self.address, message))


def test_smtp_delivery_is_recorded_and_deduplicated(
    settings: ToolSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _FakeSMTP.sent = []
    monkeypatch.setattr(email_tool.smtplib, "SMTP", _FakeSMTP)
    settings.smtp_host, settings.smtp_port, settings.smtp_from = (
        "mail.test",
        2525,
        "bot@acme.example",
    )
    send(settings, "a@b.example", "Hi", "Body", "k")
    send(settings, "a@b.example", "Hi", "Body", "k")
    [(address, message)] = _FakeSMTP.sent
    assert address == ("mail.test", 2525)
    assert message["From"] == "bot@acme.example" and message["To"] == "a@b.example"
    assert [r["via"] for r in read_outbox(settings.outbox)] == ["smtp"]


def test_tool_hides_the_idempotency_key_from_the_model(settings: ToolSettings) -> None:
    tool = make_send_email_tool(settings=settings)
    visible = tool.tool_call_schema.model_json_schema()["properties"]
    assert set(visible) == {"to", "subject", "body"}
    tool.invoke({"to": "a@b.example", "subject": "s", "body": "b", "idempotency_key": "k"})
    assert read_outbox(settings.outbox)[0]["idempotency_key"] == "k"
