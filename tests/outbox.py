"""Reading what the development notifier "sent": the log back-end (idp/notify/logged.py) writes
each message to the ``idp.notify.dev`` logger, which is exactly what a developer reads."""

from __future__ import annotations

import logging
import re
import time

_CODE = re.compile(r"\b(\d{6})\b")


class Outbox:
    def __init__(self, caplog) -> None:
        self.caplog = caplog
        caplog.set_level(logging.INFO, logger="idp.notify.dev")

    def messages(self, to: str) -> list[str]:
        found = []
        for record in self.caplog.records:
            if record.name == "idp.notify.dev" and record.args and record.args[1] == to:
                found.append(record.args[2])
        return found

    def wait_for(self, to: str, count: int = 1, timeout: float = 3.0) -> list[str]:
        """The messages to ``to`` once there are ``count`` of them (some leave in the background)."""
        deadline = time.monotonic() + timeout
        while len(self.messages(to)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages(to)

    def last_code(self, to: str, count: int = 1) -> str:
        messages = self.wait_for(to, count)
        assert messages, f"no message to {to}"
        match = _CODE.search(messages[-1])
        assert match, f"no code in the last message to {to}: {messages[-1]}"
        return match.group(1)
