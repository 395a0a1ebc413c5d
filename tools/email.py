"""send_email: deliver over SMTP when configured, else append to a JSON-lines outbox.

Exactly-once: the caller (never the model) may pass an ``idempotency_key``. Under an
exclusive ``flock`` on the outbox, a key already recorded there is not sent again, and
the same confirmation is returned. Each record is flushed and fsynced before the tool
returns, so a crash after "sent" cannot forget the send.

Over SMTP the outbox is still the ledger of sent keys, but SMTP itself cannot
deduplicate: a crash between the server accepting the message and the ledger line
reaching disk means a retry sends it again. That path is at-least-once.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import smtplib
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import IO, Annotated, Any

from langchain_core.tools import BaseTool, InjectedToolArg, StructuredTool
from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from tools.settings import ToolSettings

# One address, name@domain.tld. NOTE: "[.]", not "\\.": llama.cpp's grammar parser refuses
# the "\\." escape that llama-cpp-python's schema converter copies from a regex, and then
# every forced send_email call of the embedded model would fail.
EMAIL_PATTERN = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}$"
EMAIL_RE = re.compile(EMAIL_PATTERN)
SMTP_TIMEOUT = 20.0


def _one_address(value: str) -> str:
    address = value.strip()
    if not EMAIL_RE.match(address):
        raise PydanticCustomError(
            "email_address", "'{value}' is not a valid email address (expected name@domain.tld)",
            {"value": value})
    return address


Address = Annotated[str, AfterValidator(_one_address),
                    WithJsonSchema({"type": "string", "pattern": EMAIL_PATTERN})]
"""An email address, checked where the tool's arguments are validated (before a person
is asked, and on an edit); the pattern is in the JSON schema, so it also constrains the
model's grammar and shows in the approval request's ``args_schema``."""


def read_outbox(path: Path | str) -> list[dict[str, Any]]:
    """Return every record in the outbox, oldest first; a missing outbox is empty.

    Lines that are not valid JSON (a write torn by a crash) are skipped.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return _parse(text)


def _parse(text: str) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _confirmation(record: dict[str, Any], *, again: bool) -> str:
    key = record.get("idempotency_key")
    if again:
        return f"Email already sent, key={key} (id={record['id']}, to {record['to']})."
    suffix = f", key={key}" if key else ""
    return f"Email sent to {record['to']} (id={record['id']}{suffix})."


def _append(handle: IO[bytes], record: dict[str, Any]) -> None:
    end = handle.seek(0, os.SEEK_END)
    line = json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
    # A previous crash may have left a line without its newline; start a fresh one so
    # this record is not glued to it.
    if end > 0:
        handle.seek(end - 1)
        if handle.read(1) != b"\n":
            line = b"\n" + line
    handle.write(line)  # "a+b" mode: always lands at the end, whatever the position
    handle.flush()
    os.fsync(handle.fileno())


def _deliver_smtp(settings: ToolSettings, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
        smtp.send_message(message)


def send(
    settings: ToolSettings, to: str, subject: str, body: str, idempotency_key: str | None = None
) -> str:
    """Send one email, at most once per ``idempotency_key``.

    Raises:
        ValueError: If ``to`` is not a single email address.
        OSError, smtplib.SMTPException: If SMTP delivery or the outbox write fails.
    """
    to = to.strip()
    if not EMAIL_RE.match(to):
        raise ValueError(f"{to!r} is not a valid email address (expected name@domain.tld)")
    settings.outbox.parent.mkdir(parents=True, exist_ok=True)
    # "a+b" creates the file and lets us read it; flock serialises senders across threads
    # and processes so two retries with one key cannot both miss each other's line.
    with open(settings.outbox, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            if idempotency_key is not None:
                handle.seek(0)
                for record in _parse(handle.read().decode("utf-8", errors="replace")):
                    if record.get("idempotency_key") == idempotency_key:
                        return _confirmation(record, again=True)
            record = {
                "id": uuid.uuid4().hex,
                "idempotency_key": idempotency_key,
                "to": to,
                "subject": subject,
                "body": body,
                "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "via": "smtp" if settings.smtp_host else "outbox",
            }
            if settings.smtp_host:
                _deliver_smtp(settings, to, subject, body)
            _append(handle, record)
            return _confirmation(record, again=False)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def make_send_email_tool(*, settings: ToolSettings) -> BaseTool:
    """Build the ``send_email`` tool (HIGH risk) for ``settings``."""

    def send_email(
        to: Address,
        subject: str,
        body: str,
        idempotency_key: Annotated[str | None, InjectedToolArg] = None,
    ) -> str:
        """Send an email to one recipient.

        Args:
            to: The recipient's email address, e.g. "jane.doe@example.com".
            subject: The subject line.
            body: The plain-text message.
            idempotency_key: Injected by the runtime, hidden from the model.
        """
        return send(settings, to, subject, body, idempotency_key)

    return StructuredTool.from_function(send_email, parse_docstring=True)
