"""A real SMTP server's message handler for the notification tests.

Run with aiosmtpd (PyPI, installed by scripts/setup):

    PYTHONPATH=tests/smtp python3 -m aiosmtpd -n -l 127.0.0.1:<port> -c sink.Sink <dir>

Every message the server accepts is written whole (headers and body, as
received, preceded by an ``X-Envelope-To`` line with its recipients) to its
own ``.eml`` file in <dir>; the file appears by rename, so a reader never
sees half a message.
"""

import os
import uuid


class Sink:
    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("sink.Sink takes one argument: the directory for the messages")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        name = uuid.uuid4().hex
        part = os.path.join(self.directory, name + ".part")
        with open(part, "wb") as f:
            f.write(("X-Envelope-To: " + ",".join(envelope.rcpt_tos) + "\r\n").encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(part, os.path.join(self.directory, name + ".eml"))
        return "250 Message accepted for delivery"
