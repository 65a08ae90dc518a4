"""Email in and out (docs/email.md).

Inbound mail arrives through the SMTP listener (`listener.py`) or the raw-MIME webhook
(`routes.py`); both hand the bytes to `ingest.receive`, which parses them (`parsing.py`), finds
the tenant through the receiving address, and threads the message into a conversation
(`service.py`). An agent's reply in an email conversation is sent by the `email.reply` job
(`jobs.py`) through the SMTP sender (`sender.py`).
"""
