"""Canned responses: staff (agents, admins, service keys) list and search their tenant's;
admins create, change and delete them. Customers never see them (403). Another tenant's are
reported as missing (404)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from parlour.auth.principal import Principal
from parlour.canned import repository
from parlour.canned.schemas import CannedRead
from parlour.core.errors import Conflict, Forbidden, NotFound
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.models.canned import CannedResponse

MAX_LIST = 200


def _staff_only(principal: Principal) -> None:
    if not principal.is_staff or principal.is_system:
        raise Forbidden("Canned responses are for staff.", code="staff_only")


def _admins_only(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only admins manage canned responses.", code="admin_only")


def _not_found() -> NotFound:
    return NotFound("Canned response not found.", code="canned_response_not_found")


def _taken(shortcut: str) -> Conflict:
    return Conflict(f"The shortcut /{shortcut} is already used.", code="shortcut_taken")


async def list_canned(
    tx: UnitOfWork, principal: Principal, *, q: str | None = None
) -> list[CannedRead]:
    _staff_only(principal)
    q = (q or "").strip().removeprefix("/")
    found = await repository.search(tx.session, principal.tenant_id, q or None, limit=MAX_LIST)
    return [CannedRead.model_validate(c) for c in found]


async def _flush(tx: UnitOfWork, shortcut: str) -> None:
    try:
        await tx.session.flush()
    except IntegrityError as exc:  # a concurrent create took the shortcut first
        raise _taken(shortcut) from exc


async def do_create(
    tx: UnitOfWork, principal: Principal, *, shortcut: str, title: str, body: str
) -> CannedRead:
    _admins_only(principal)
    if await repository.by_shortcut(tx.session, principal.tenant_id, shortcut):
        raise _taken(shortcut)
    canned = CannedResponse(
        id=new_id(),
        tenant_id=principal.tenant_id,
        shortcut=shortcut,
        title=title,
        body=body,
        created_at=tx.now,
        updated_at=tx.now,
    )
    repository.add(tx.session, canned)
    await _flush(tx, shortcut)
    return CannedRead.model_validate(canned)


async def do_update(
    tx: UnitOfWork,
    principal: Principal,
    canned_id: str,
    *,
    shortcut: str | None,
    title: str | None,
    body: str | None,
) -> CannedRead:
    _admins_only(principal)
    canned = await repository.get(tx.session, principal.tenant_id, canned_id)
    if canned is None:
        raise _not_found()
    if shortcut is not None and shortcut != canned.shortcut:
        if await repository.by_shortcut(tx.session, principal.tenant_id, shortcut):
            raise _taken(shortcut)
        canned.shortcut = shortcut
    if title is not None:
        canned.title = title
    if body is not None:
        canned.body = body
    canned.updated_at = tx.now
    await _flush(tx, canned.shortcut)
    return CannedRead.model_validate(canned)


async def do_delete(tx: UnitOfWork, principal: Principal, canned_id: str) -> None:
    _admins_only(principal)
    canned = await repository.get(tx.session, principal.tenant_id, canned_id)
    if canned is None:
        raise _not_found()
    await repository.delete(tx.session, canned)
