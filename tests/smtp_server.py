"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives: the e-mail
tests and the browser tests mail through it."""

from __future__ import annotations

import email
import socket
import threading
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Inbox:
    """aiosmtpd handler: keeps every message it accepted, as bytes; can refuse them all."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse_with: str | None = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_with:
            return self.refuse_with
        content = envelope.original_content or b""
        with self.lock:
            self.received.append((envelope.mail_from or "", list(envelope.rcpt_tos), content))
        return "250 OK"

    def headers(self, name: str) -> list[str]:
        """One header of every message, unfolded and decoded (Python's compat32 folding,
        which Django uses, may put a long or encoded value on a continuation line)."""
        return [str(message[name]).strip() for message in self.messages()]

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [
                email.message_from_bytes(raw, policy=policy.default)  # type: ignore[misc]
                for _, _, raw in self.received
            ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
