"""Session time limits: set with the conversation, started by the first agent, warned one
minute before the end and ended by the deadline sweep (docs/time-limits-ratings-transcripts.md).

Every change locks the conversation's row first (`conversations.service.lock_conversation`),
then the timer's: the same order as joins, ends and sends, so a start, an extension and the
sweep's warning and end serialise with each other and with the lifecycle on PostgreSQL (SQLite's
writing unit of work holds the database's write lock). Each re-checks under the locks, which
makes the sweep's act idempotent however many nodes race.

The timer's `due_at` is the next moment the sweep has work: the warning (`ends_at` - 60 s),
then the end; null before the clock starts and after the timer finished.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations
from parlour.core.errors import (
    BadRequest,
    Conflict,
    ConversationEnded,
    Forbidden,
    conversation_not_found,
)
from parlour.core.events import Audience, Event
from parlour.core.uow import UnitOfWork
from parlour.messages.service import do_append_system_message
from parlour.models.conversation import Conversation, EndReason, ParticipantRole, Status
from parlour.models.timing import ConversationTimer
from parlour.realtime.envelopes import encode
from parlour.timing import repository
from parlour.timing.schemas import TimerRead

WARN_BEFORE = timedelta(seconds=60)
# A day: a longer "limit" is a schedule, which appointments' closes_at covers.
MAX_LIMIT_SECONDS = 24 * 60 * 60
TIMER_EVENT = "timer"


def duration_text(seconds: int) -> str:
    """`10 minutes`, `1 minute`, `90 seconds`: how system messages name a duration."""
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    return f"{seconds} second" + ("" if seconds == 1 else "s")


def _check_seconds(seconds: int) -> None:
    if not isinstance(seconds, int) or not 0 < seconds <= MAX_LIMIT_SECONDS:
        raise BadRequest(
            f"A time limit is 1 to {MAX_LIMIT_SECONDS} seconds.", code="invalid_time_limit"
        )


def _view(timer: ConversationTimer | None, conversation_id: str, now: datetime) -> TimerRead:
    if timer is None:
        return TimerRead(
            conversation_id=conversation_id,
            limit_seconds=None,
            started_at=None,
            ends_at=None,
            warned_at=None,
            finished=False,
            server_time=now,
        )
    return TimerRead(
        conversation_id=conversation_id,
        limit_seconds=timer.limit_seconds,
        started_at=timer.started_at,
        ends_at=timer.ends_at,
        warned_at=timer.warned_at,
        finished=timer.finished_at is not None,
        server_time=now,
    )


def _announce(tx: UnitOfWork, timer: ConversationTimer) -> None:
    """A `timer` frame to the conversation's subscribers, so countdowns follow at once."""
    view = _view(timer, timer.conversation_id, tx.now)
    payload = encode(
        {
            "type": TIMER_EVENT,
            "conversation_id": timer.conversation_id,
            "timer": view.model_dump(mode="json"),
        }
    )
    tx.emit(
        Event(
            audience=Audience.conversation(timer.conversation_id),
            type=TIMER_EVENT,
            payload=payload,
            conversation_id=timer.conversation_id,
        )
    )


def _schedule(timer: ConversationTimer, now: datetime) -> None:
    """Set `due_at` from `ends_at` and whether the warning was written."""
    assert timer.ends_at is not None
    if timer.warned_at is None:
        timer.due_at = max(timer.ends_at - WARN_BEFORE, timer.started_at or now)
    else:
        timer.due_at = timer.ends_at


async def set_time_limit(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, seconds: int
) -> None:
    """Give a conversation a time limit of `seconds`, in the transaction that creates it (a
    paid plan's limit, or staff's `time_limit_minutes`). The clock starts when the first agent
    joins; if one already has, it starts from that join. Setting it again before the clock
    starts replaces the limit."""
    _check_seconds(seconds)
    conversation = await conversations.lock_conversation(tx, conversation_id, tenant_id)
    if conversation is None:
        raise conversation_not_found()
    if conversation.status == Status.ended:
        raise ConversationEnded()
    timer = await repository.lock(tx.session, conversation_id, tenant_id)
    if timer is None:
        timer = ConversationTimer(
            conversation_id=conversation_id,
            tenant_id=tenant_id,
            limit_seconds=seconds,
            created_at=tx.now,
        )
        tx.session.add(timer)
    elif timer.started_at is None:
        timer.limit_seconds = seconds
    else:
        raise Conflict("The clock is running: extend the limit instead.", code="time_limit_running")
    await tx.session.flush()
    await _start_if_staffed(tx, conversation, timer)


async def do_limit_new_conversation(
    tx: UnitOfWork, principal: Principal, conversation_id: str, *, minutes: int
) -> None:
    """`time_limit_minutes` on `POST /conversations`: staff, service keys and the system actor
    set a limit on what they open; customers do not choose their own allowance."""
    if principal.is_customer:
        raise Forbidden(
            "Customers cannot set a conversation's time limit.", code="time_limit_not_allowed"
        )
    await set_time_limit(tx, conversation_id, principal.tenant_id, minutes * 60)


async def extend_time_limit(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, seconds: int
) -> None:
    """Add `seconds` to a conversation's limit (a paid extension). A running clock's end moves
    (and the warning is written again before the new end); a clock not yet started gets a
    longer allowance. Writes "The time limit was extended by N minutes." and tells the
    countdowns. An ended conversation is `409 conversation_ended`; one without a limit
    `409 no_time_limit`."""
    _check_seconds(seconds)
    conversation = await conversations.lock_conversation(tx, conversation_id, tenant_id)
    if conversation is None:
        raise conversation_not_found()
    if conversation.status == Status.ended:
        raise ConversationEnded()
    timer = await repository.lock(tx.session, conversation_id, tenant_id)
    if timer is None or timer.finished_at is not None:
        raise Conflict("This conversation has no time limit to extend.", code="no_time_limit")
    if timer.limit_seconds + seconds > MAX_LIMIT_SECONDS:
        raise BadRequest(
            f"A time limit is at most {MAX_LIMIT_SECONDS} seconds.", code="invalid_time_limit"
        )
    timer.limit_seconds += seconds
    if timer.ends_at is not None:
        timer.ends_at += timedelta(seconds=seconds)
        # A new warning before the new end, unless the new end is itself within a minute
        # (then the warning already written still holds).
        if timer.ends_at - WARN_BEFORE > tx.now:
            timer.warned_at = None
        _schedule(timer, tx.now)
    await do_append_system_message(
        tx,
        conversation,
        body=f"The time limit was extended by {duration_text(seconds)}.",
        meta={
            "event": "time_limit_extended",
            "seconds": seconds,
            "ends_at": timer.ends_at.isoformat() if timer.ends_at else None,
        },
    )
    await tx.session.flush()
    _announce(tx, timer)


async def waits_to_start(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> bool:
    """Whether the conversation has a timer whose clock has not started (a cheap read, so a
    join without a time limit costs no writing transaction)."""
    timer = await repository.get(tx.session, conversation_id, tenant_id)
    return timer is not None and timer.started_at is None and timer.finished_at is None


async def do_start_clock(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> bool:
    """Start a limited conversation's clock from its first agent's join time, once (the hook on
    `conversation.participant_joined`). False when there is nothing to start: no limit, already
    started, no agent, or ended."""
    conversation = await conversations.lock_conversation(tx, conversation_id, tenant_id)
    if conversation is None:
        return False
    timer = await repository.lock(tx.session, conversation_id, tenant_id)
    if timer is None:
        return False
    return await _start_if_staffed(tx, conversation, timer)


async def _start_if_staffed(
    tx: UnitOfWork, conversation: Conversation, timer: ConversationTimer
) -> bool:
    """Start the clock at the first agent's `joined_at` if an agent has joined (the caller holds
    both locks)."""
    if timer.started_at is not None or timer.finished_at is not None:
        return False
    if conversation.status == Status.ended:
        return False
    view = await conversations.get_conversation(
        tx, Principal.system_actor(conversation.tenant_id), conversation.id
    )
    joins = [p.joined_at for p in view.participants if p.role == ParticipantRole.agent]
    if not joins:
        return False
    started = min(joins)
    timer.started_at = started
    timer.ends_at = started + timedelta(seconds=timer.limit_seconds)
    timer.warned_at = None
    _schedule(timer, tx.now)
    await do_append_system_message(
        tx,
        conversation,
        body=f"The time limit of {duration_text(timer.limit_seconds)} has started.",
        meta={"event": "time_limit_started", "ends_at": timer.ends_at.isoformat()},
    )
    await tx.session.flush()
    _announce(tx, timer)
    return True


async def find_due(tx: UnitOfWork, *, limit: int) -> list[tuple[str, str]]:
    """(conversation id, tenant id) of up to `limit` timers with a warning or an end due, and
    of timers whose start the join hook missed (the sweep starts those from the join time)."""
    found = await repository.due(tx.session, now=tx.now, limit=limit)
    missed = await repository.staffed_but_not_started(tx.session, limit=limit)
    return list(dict.fromkeys(found + missed))


WARNED = "time_limit_warning"


async def do_act_on_timer(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> str | None:
    """The sweep's act, under both locks: at `ends_at` end the conversation (`time_limit`, by
    the system actor) and return "time_limit"; from `ends_at` - 60 s write the one warning and
    return `WARNED`; otherwise (not due any more, ended by someone else, another sweep was
    first) change nothing and return None. A timer whose conversation ended otherwise is
    finished here, so the sweep stops finding it; one whose start the join hook missed is
    started here from the join time (None: that is no closing)."""
    conversation = await conversations.lock_conversation(tx, conversation_id, tenant_id)
    timer = await repository.lock(tx.session, conversation_id, tenant_id)
    if conversation is None or timer is None or timer.finished_at is not None:
        return None
    if timer.started_at is None:
        # The join hook missed this one: start from the join (the next pass acts on it), or
        # finish a timer whose conversation ended before it ever started.
        if conversation.status == Status.ended:
            timer.finished_at = conversation.ended_at or tx.now
        else:
            await _start_if_staffed(tx, conversation, timer)
        return None
    if timer.due_at is None or timer.due_at > tx.now:
        return None
    if conversation.status == Status.ended:
        timer.finished_at = conversation.ended_at or tx.now
        timer.due_at = None
        return None
    assert timer.ends_at is not None
    if timer.ends_at <= tx.now:
        await conversations.do_end(
            tx, Principal.system_actor(tenant_id), conversation_id, reason=EndReason.time_limit
        )
        timer.finished_at = tx.now
        timer.due_at = None
        await tx.session.flush()
        _announce(tx, timer)
        return EndReason.time_limit.value
    if timer.warned_at is not None:  # a stale schedule: nothing to write
        _schedule(timer, tx.now)
        return None
    left = timer.ends_at - tx.now
    await do_append_system_message(
        tx,
        conversation,
        body=f"{_left_text(left)} left: this session ends at {timer.ends_at:%H:%M:%S} UTC.",
        meta={"event": "time_limit_warning", "ends_at": timer.ends_at.isoformat()},
    )
    timer.warned_at = tx.now
    _schedule(timer, tx.now)
    await tx.session.flush()
    _announce(tx, timer)
    return WARNED


def _left_text(left: timedelta) -> str:
    seconds = max(1, round(left.total_seconds()))
    return "One minute" if seconds == 60 else duration_text(seconds).capitalize()


async def get_timer(tx: UnitOfWork, principal: Principal, conversation_id: str) -> TimerRead:
    """The countdown for anyone who may read the conversation (an admin's read is an
    observation, as for the conversation itself)."""
    access = await conversations.do_open_for_reading(tx, principal, conversation_id)
    timer = await repository.get(tx.session, conversation_id, access.conversation.tenant_id)
    return _view(timer, conversation_id, tx.now)


async def do_extend(
    tx: UnitOfWork, principal: Principal, conversation_id: str, *, minutes: int
) -> TimerRead:
    """Staff grant more time (`POST /conversations/{id}/timer/extend`): the tenant's admins and
    service keys. Whoever may not read the conversation learns nothing (404); other readers are
    403 `extension_not_allowed`. A customer buys an extension through payments instead."""
    access = await conversations.do_open_for_reading(tx, principal, conversation_id)
    if not (principal.is_admin or principal.is_service):
        raise Forbidden(
            "Only admins and service keys extend a time limit.", code="extension_not_allowed"
        )
    await extend_time_limit(tx, conversation_id, access.conversation.tenant_id, minutes * 60)
    timer = await repository.get(tx.session, conversation_id, access.conversation.tenant_id)
    return _view(timer, conversation_id, tx.now)
