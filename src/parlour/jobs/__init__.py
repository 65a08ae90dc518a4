"""Durable jobs: the transactional outbox, its worker and its admin views.

A domain registers a handler for a kind (`register`), and enqueues work in the unit of work of
the change that causes it (`tx.enqueue(kind, payload, key=..., tenant_id=...)`). The node's
worker runs the handler after the commit, at least once, with retries and a lease. See
docs/architecture/jobs.md.
"""

from parlour.jobs.context import JobContext, PermanentFailure, RetryAfter  # ai: RetryAfter
from parlour.jobs.registry import Backoff, JobRegistry, register

__all__ = ["Backoff", "JobContext", "JobRegistry", "PermanentFailure", "RetryAfter", "register"]
