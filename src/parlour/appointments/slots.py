"""Free slots from an expert's published availability: pure functions, no database.

Availability is local wall-clock time in the expert's IANA zone (`zoneinfo`): weekly hours per
weekday, whole days or hours off, and extra hours on given dates. `open_intervals` turns it
into UTC intervals for a window; `free_slots` cuts those into slots of one length and drops the
ones that overlap an existing appointment or have begun.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]  # [start, end) in UTC

# A page of slots is bounded: a wide window with short slots answers the first ones.
MAX_SLOTS = 500


@dataclass(frozen=True, slots=True)
class Rule:
    """One availability rule, as stored (see models.appointment.Availability)."""

    kind: str  # weekly | off | extra
    weekday: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    start: str | None = None  # "HH:MM"
    end: str | None = None  # "HH:MM", "24:00" for midnight


def parse_hhmm(value: str) -> timedelta:
    """'09:30' as an offset from midnight ('24:00' is the day's end)."""
    hours, _, minutes = value.partition(":")
    return timedelta(hours=int(hours), minutes=int(minutes))


def _local(day: date, offset: timedelta, zone: ZoneInfo) -> datetime:
    """The UTC instant of local wall-clock `day` + `offset` (a time skipped by daylight
    saving maps forward, as zoneinfo does with fold=0)."""
    naive = datetime.combine(day, time()) + offset
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _day_span(day: date, start: str | None, end: str | None, zone: ZoneInfo) -> Interval:
    begin = parse_hhmm(start) if start else timedelta()
    finish = parse_hhmm(end) if end else timedelta(days=1)
    return _local(day, begin, zone), _local(day, finish, zone)


def _covers(rule: Rule, day: date) -> bool:
    return (
        rule.date_from is not None
        and rule.date_to is not None
        and rule.date_from <= day <= rule.date_to
    )


def _subtract(intervals: list[Interval], cut: Interval) -> list[Interval]:
    out: list[Interval] = []
    for start, end in intervals:
        if cut[1] <= start or end <= cut[0]:
            out.append((start, end))
            continue
        if start < cut[0]:
            out.append((start, cut[0]))
        if cut[1] < end:
            out.append((cut[1], end))
    return out


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def open_intervals(
    rules: Sequence[Rule], timezone: str, window_start: datetime, window_end: datetime
) -> list[Interval]:
    """When the expert is available between the two instants, as merged UTC intervals."""
    zone = ZoneInfo(timezone)
    first = window_start.astimezone(zone).date() - timedelta(days=1)
    last = window_end.astimezone(zone).date() + timedelta(days=1)
    found: list[Interval] = []
    day = first
    while day <= last:
        todays: list[Interval] = [
            _day_span(day, r.start, r.end, zone)
            for r in rules
            if (r.kind == "weekly" and r.weekday == day.weekday())
            or (r.kind == "extra" and _covers(r, day))
        ]
        for r in rules:
            if r.kind == "off" and _covers(r, day):
                cut = _day_span(day, r.start, r.end, zone)
                todays = _subtract(todays, cut)
        found.extend(todays)
        day += timedelta(days=1)
    # Not clipped to the window: slots are laid from an interval's own start, whatever window
    # the caller asked about, so the same slot is listed the same way in every window.
    return [(s, e) for s, e in _merge(found) if s < e and s < window_end and window_start < e]


def overlaps(a: Interval, b: Interval) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def free_slots(
    available: Sequence[Interval],
    busy: Sequence[Interval],
    *,
    duration: timedelta,
    window: Interval,
    not_before: datetime,
) -> list[Interval]:
    """Slots of `duration` laid end to end from the start of each available interval, that
    fit in it and in the window, start at or after `not_before` and overlap no busy one."""
    slots: list[Interval] = []
    for start, end in available:
        cursor = start
        while cursor + duration <= min(end, window[1]) and len(slots) < MAX_SLOTS:
            slot = (cursor, cursor + duration)
            fits = window[0] <= cursor and slot[1] <= window[1] and cursor >= not_before
            if fits and not any(overlaps(slot, b) for b in busy):
                slots.append(slot)
            cursor += duration
    return slots


def within(available: Sequence[Interval], slot: Interval) -> bool:
    """Whether the slot lies inside one available interval."""
    return any(start <= slot[0] and slot[1] <= end for start, end in available)
