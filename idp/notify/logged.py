"""The development back-end: the message goes to the log instead of a phone or a mailbox.

It exists precisely so a developer (and the demo) can read the code; it is the only place a code
is ever logged. Never configure it on a real deployment (a warning says so at start-up).
"""

from __future__ import annotations

import logging

from . import Message

log = logging.getLogger("idp.notify.dev")


class LogNotifier:
    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, message: Message) -> None:
        log.warning("%s for %s (development log back-end): %s", self.channel, message.to, message.text)
