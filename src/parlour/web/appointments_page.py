"""The appointments page: customers and experts see their upcoming appointments (those under
way first) with links to their chats, and their history; customers book a free slot; admins
see every appointment of the tenant with filters.

The page reads through the appointments service like the API does; its script books and
cancels through `POST /api/v1/appointments/book` and `POST /api/v1/appointments/{id}/cancel`
and shows every time in the viewer's own zone (the browser's Intl).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from parlour.appointments import service as appointments
from parlour.auth import directory
from parlour.core.errors import AppError
from parlour.deps import RuntimeDep
from parlour.models.appointment import AppointmentStatus
from parlour.models.user import Role
from parlour.web.navigation import error_page, login_redirect, page_principal
from parlour.web.render import render

router = APIRouter(include_in_schema=False)

IdQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_\-]*$")]


def _day(value: date | None, *, end: bool = False) -> datetime | None:
    """A filter's day as a UTC instant (its start, or the next day's start for `to`)."""
    if value is None:
        return None
    moment = datetime.combine(value, time(), tzinfo=UTC)
    return moment + timedelta(days=1) if end else moment


@router.get("/appointments")
async def appointments_page(
    request: Request,
    runtime: RuntimeDep,
    status: AppointmentStatus | None = None,
    expert_id: IdQuery = None,
    customer_id: IdQuery = None,
    day_from: Annotated[date | None, Query(alias="from")] = None,
    day_to: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    admin = principal.is_admin
    try:
        async with runtime.uow(write=False) as tx:
            if admin:
                found = await appointments.list_appointments(
                    tx,
                    principal,
                    status=status,
                    expert_id=expert_id or None,
                    customer_id=customer_id or None,
                    starts_from=_day(day_from),
                    starts_before=_day(day_to, end=True),
                    limit=appointments.MAX_LIST,
                )
                upcoming, history = [], []
                people = await directory.list_users(tx.session, principal, limit=500)
            else:
                found = []
                upcoming = await appointments.list_appointments(tx, principal, view="upcoming")
                history = await appointments.list_appointments(tx, principal, view="history")
                people = []
            experts = await appointments.list_experts(tx, principal)
    except AppError as exc:
        return error_page(
            request,
            principal,
            status=exc.status,
            heading="Could not load appointments",
            text=exc.message,
        )
    return render(
        request,
        "appointments.html",
        title="Appointments",
        principal=principal,
        admin=admin,
        upcoming=upcoming,
        history=history,
        found=found,
        experts=experts,
        staff=[u for u in people if u.role != Role.customer],
        customers=[u for u in people if u.role == Role.customer],
        filters={
            "status": status.value if status else "",
            "expert_id": expert_id or "",
            "customer_id": customer_id or "",
            "from": day_from.isoformat() if day_from else "",
            "to": day_to.isoformat() if day_to else "",
        },
        data={
            "me": {
                "id": principal.user_id,
                "role": principal.role,
                "display_name": principal.display_name,
            },
            "experts": [e.model_dump(mode="json") for e in experts],
            "may_book": principal.role == Role.customer,
        },
    )
