"""Row-level security on PostgreSQL: which rows each database scope may touch, per table.

`POLICIES` is the one registry: table -> kind of policy. The migration (0019) turns it into
`ENABLE` + `FORCE ROW LEVEL SECURITY` and one policy per command (SELECT, INSERT, UPDATE with
its WITH CHECK, DELETE); `parlour db check` and the tests read it too. A new table is one line
here (and, if its migration comes after 0019, a call to `apply` in that migration); a table that
holds no tenant data goes in `GLOBAL_TABLES` instead. A table in neither fails the tests.

The policies read only the transaction's settings (`parlour.role`, `parlour.tenant_id`,
`parlour.user_id`, set by the unit of work from the caller's Principal; parlour.core.rls) and
columns the caller cannot move a row out of: every write is checked against the same rule
(WITH CHECK), so a row written by a scope is always a row that scope may see. Without settings
every expression is false: a session that set nothing sees nothing.

The rules (the roles are parlour.core.rls's):
- `service_all` (the sweep, the job claimer, the group-commit writers, the CLI): every row.
- staff (`agent`, `admin`, `api_key`, `service` of one tenant): their tenant's rows; some tables
  (API keys, tenant secrets) only `admin`, `api_key` and `service`.
- `visitor` (nobody signed in, on a tenant's public pages): the tenant, its plans, availability.
- `customer`: their own rows (their user row, their conversations and everything hanging off
  them, their orders and appointments), plus the tenant-wide rows customers read (the tenant,
  plans, availability, the staff's user rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

ROLE = "current_setting('parlour.role', true)"
TENANT = "current_setting('parlour.tenant_id', true)"
USER = "current_setting('parlour.user_id', true)"

ALL = f"{ROLE} = 'service_all'"
STAFF_ROLES = ("agent", "admin", "api_key", "service")
ADMIN_ROLES = ("admin", "api_key", "service")
TENANT_ROLES = ("customer", *STAFF_ROLES)
# Who reads a tenant's public rows: its people, and visitors of its public pages.
PUBLIC_ROLES = (*TENANT_ROLES, "visitor")
COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")


def _roles(roles: Sequence[str]) -> str:
    return f"{ROLE} IN ({', '.join(repr(r) for r in roles)})"


def _in_tenant(roles: Sequence[str], column: str = "tenant_id") -> str:
    return f"({_roles(roles)} AND {column} = {TENANT})"


def _any(*terms: str) -> str:
    return "(" + " OR ".join(terms) + ")"


def _customer(condition: str, column: str = "tenant_id") -> str:
    return f"({ROLE} = 'customer' AND {column} = {TENANT} AND {condition})"


# A customer's conversations: the ones they are the customer of.
MY_CONVERSATIONS = f"SELECT c.id FROM conversations c WHERE c.customer_id = {USER}"


@dataclass(frozen=True)
class Rule:
    """One table's policy: an expression per command (UPDATE uses `update` for both USING and
    WITH CHECK unless `update_check` narrows what a row may become)."""

    select: str
    insert: str
    update: str
    delete: str
    update_check: str | None = None
    kind: str = ""

    def expressions(self) -> dict[str, tuple[str | None, str | None]]:
        """command -> (USING, WITH CHECK)."""
        return {
            "SELECT": (self.select, None),
            "INSERT": (None, self.insert),
            "UPDATE": (self.update, self.update_check or self.update),
            "DELETE": (self.delete, None),
        }


def staff_only(column: str = "tenant_id") -> Rule:
    """The tenant's staff read and write; customers nothing."""
    rule = _any(ALL, _in_tenant(STAFF_ROLES, column))
    return Rule(rule, rule, rule, rule, kind="staff")


def admin_only(column: str = "tenant_id") -> Rule:
    """Admins, API keys and the service of the tenant; agents and customers nothing."""
    rule = _any(ALL, _in_tenant(ADMIN_ROLES, column))
    return Rule(rule, rule, rule, rule, kind="admin")


def tenant_readable(column: str = "tenant_id") -> Rule:
    """Everyone in the tenant reads (customers and visitors too: plans, availability); staff
    write."""
    read = _any(ALL, _in_tenant(PUBLIC_ROLES, column))
    write = _any(ALL, _in_tenant(STAFF_ROLES, column))
    return Rule(read, write, write, write, kind="tenant-readable")


def tenant_shared(column: str = "tenant_id") -> Rule:
    """Everyone in the tenant reads and writes (a counter a customer's action advances); only
    staff delete."""
    rule = _any(ALL, _in_tenant(TENANT_ROLES, column))
    staff = _any(ALL, _in_tenant(STAFF_ROLES, column))
    return Rule(rule, rule, rule, staff, kind="tenant-shared")


def customer_rows(condition: str, kind: str) -> Rule:
    """The tenant's staff every row; a customer the rows `condition` (about the row and the
    setting `parlour.user_id`) says are theirs, never deleting."""
    staff = _any(ALL, _in_tenant(STAFF_ROLES))
    mine = _any(ALL, _in_tenant(STAFF_ROLES), _customer(condition))
    return Rule(mine, mine, mine, staff, kind=kind)


def owned_by_customer(column: str = "customer_id") -> Rule:
    """A customer's rows are those whose `column` is their user id."""
    return customer_rows(f"{column} = {USER}", kind=f"customer-owned({column})")


def in_customer_conversation(column: str = "conversation_id") -> Rule:
    """A customer's rows are those of the conversations they are the customer of."""
    return customer_rows(f"{column} IN ({MY_CONVERSATIONS})", kind=f"conversation({column})")


def tenant_row() -> Rule:
    """The tenants table: everyone reads their own tenant, admins change it; tenants are made
    and removed only by the all-tenant service (the CLI, sign-up of a tenant)."""
    read = _any(ALL, _in_tenant(PUBLIC_ROLES, "id"))
    update = _any(ALL, _in_tenant(ADMIN_ROLES, "id"))
    return Rule(read, ALL, update, ALL, kind="tenant")


def user_rows() -> Rule:
    """Users: staff read their tenant's; a customer reads themself, the tenant's staff and the
    people in their conversations. Admins create and change users; anyone changes their own
    row but not its role or tenant."""
    in_my_conversations = (
        "id IN (SELECT p.user_id FROM participants p "
        f"WHERE p.conversation_id IN ({MY_CONVERSATIONS}))"
    )
    customer_sees = _customer(
        _any(f"id = {USER}", "role IN ('agent', 'admin')", in_my_conversations)
    )
    read = _any(ALL, _in_tenant(STAFF_ROLES), customer_sees)
    admin = _any(ALL, _in_tenant(ADMIN_ROLES))
    own = f"({_roles(TENANT_ROLES)} AND tenant_id = {TENANT} AND id = {USER})"
    own_same_role = (
        f"({_roles(TENANT_ROLES)} AND tenant_id = {TENANT} AND id = {USER} AND role = {ROLE})"
    )
    return Rule(
        read, admin, _any(admin, own), admin, update_check=_any(admin, own_same_role), kind="users"
    )


def jobs_rule() -> Rule:
    """Jobs: anyone in the tenant may enqueue one (a customer's send can) and see it (to find
    the job already there for the same key); staff change them; node-wide jobs (no tenant) and
    deletion belong to the all-tenant service."""
    anyone = _any(ALL, _in_tenant(TENANT_ROLES))
    staff = _any(ALL, _in_tenant(STAFF_ROLES))
    return Rule(anyone, anyone, staff, ALL, kind="jobs")


def revoked_tokens_rule() -> Rule:
    """Revoked tokens carry a user, no tenant: a user revokes and reads their own; admins those
    of their tenant's users; pruning is the all-tenant service's."""
    tenant_users = f"SELECT u.id FROM users u WHERE u.tenant_id = {TENANT}"
    own = f"({_roles(TENANT_ROLES)} AND user_id = {USER} AND user_id IN ({tenant_users}))"
    admin = f"({_roles(ADMIN_ROLES)} AND user_id IN ({tenant_users}))"
    rule = _any(ALL, own, admin)
    return Rule(rule, rule, _any(ALL, admin), _any(ALL, admin), kind="user-owned")


# The registry: every table holding tenant or conversation data, and its rule.
POLICIES: dict[str, Rule] = {
    "tenants": tenant_row(),
    "users": user_rows(),
    "api_keys": admin_only(),
    "tenant_secrets": admin_only(),
    "revoked_tokens": revoked_tokens_rule(),
    "conversations": owned_by_customer("customer_id"),
    "participants": in_customer_conversation(),
    "messages": in_customer_conversation(),
    "attachments": in_customer_conversation(),
    "conversation_timers": in_customer_conversation(),
    "ratings": in_customer_conversation(),
    "rating_agents": customer_rows(
        "rating_id IN (SELECT r.id FROM ratings r "
        f"WHERE r.conversation_id IN ({MY_CONVERSATIONS}))",
        kind="rating(rating_id)",
    ),
    "tickets": in_customer_conversation(),
    "ticket_counters": tenant_shared(),
    "jobs": jobs_rule(),
    "agent_routing": staff_only(),
    "canned_responses": staff_only(),
    "plans": tenant_readable(),
    "orders": owned_by_customer("customer_id"),
    "stripe_events": staff_only(),
    "appointments": owned_by_customer("customer_id"),
    "expert_availability": tenant_readable(),
    # Channels (issue 10): the accounts are staff's; a channel conversation's threading rows
    # belong to its conversation.
    "channels": staff_only(),
    "channel_conversations": in_customer_conversation(),
    "email_threads": in_customer_conversation(),
    "email_message_ids": in_customer_conversation(),
    # AI context (issue 11): staff-facing only (docs/ai.md).
    "ai_summaries": staff_only(),
    "ai_message_analyses": staff_only(),
    # The importer's bookkeeping (run by the operator as the all-tenant service).
    "import_keys": admin_only(),
}

# Tables that hold no tenant data (the app role only reads them).
GLOBAL_TABLES = frozenset({"alembic_version"})


def policy_name(table: str, command: str) -> str:
    return f"{table}_{command.lower()}"


def policy_ddl(table: str, rule: Rule) -> list[str]:
    """The statements that put `rule` on `table` (idempotent: old policies are replaced)."""
    statements = [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
    ]
    for command, (using, check) in rule.expressions().items():
        name = policy_name(table, command)
        statements.append(f'DROP POLICY IF EXISTS "{name}" ON "{table}"')
        sql = f'CREATE POLICY "{name}" ON "{table}" AS PERMISSIVE FOR {command}'
        if using is not None:
            sql += f" USING ({using})"
        if check is not None:
            sql += f" WITH CHECK ({check})"
        statements.append(sql)
    return statements


def drop_ddl(table: str) -> list[str]:
    statements = [f'DROP POLICY IF EXISTS "{policy_name(table, c)}" ON "{table}"' for c in COMMANDS]
    statements.append(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
    statements.append(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
    return statements


def existing_tables(conn: Connection) -> set[str]:
    rows = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
    return {r[0] for r in rows}


def apply(conn: Connection, tables: Sequence[str] | None = None) -> list[str]:
    """Put the registry's policies on `tables` (default: every registered table that exists
    yet; a later migration passes its new tables). Returns the tables done."""
    present = existing_tables(conn)
    names = [t for t in (tables or POLICIES) if t in present]
    for table in names:
        for statement in policy_ddl(table, POLICIES[table]):
            conn.execute(text(statement))
    return names


def role_exists(conn: Connection, role: str) -> bool:
    return bool(conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}))


def grant(conn: Connection, role: str) -> None:
    """Table privileges for the app role (it owns nothing): read and write every table of this
    schema, read the migrations' bookkeeping, and the same on tables the owner makes later."""
    quoted = '"' + role.replace('"', '""') + '"'
    schema = _schema(conn)
    write = "SELECT, INSERT, UPDATE, DELETE"
    for statement in (
        f"GRANT USAGE ON SCHEMA {schema} TO {quoted}",
        f"GRANT {write} ON ALL TABLES IN SCHEMA {schema} TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {write} ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
    ):
        conn.execute(text(statement))
    if "alembic_version" in existing_tables(conn):
        conn.execute(text(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {quoted}"))


def _schema(conn: Connection) -> str:
    name = conn.scalar(text("SELECT current_schema()")) or "public"
    return '"' + str(name).replace('"', '""') + '"'


@dataclass
class TableCheck:
    """What `parlour db check` found on one table."""

    table: str
    enabled: bool
    forced: bool
    policies: list[tuple[str, str]]  # (name, command)
    problems: list[str]


@dataclass
class RoleCheck:
    """The role this connection logs in as, and why it could bypass the policies."""

    name: str
    superuser: bool
    bypassrls: bool
    owns: list[str]
    problems: list[str]


def check_tables(conn: Connection) -> list[TableCheck]:
    """Every table of the schema against the registry: RLS on and forced, one policy per
    command, or listed as global."""
    rows = conn.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname"
        )
    ).all()
    policies: dict[str, list[tuple[str, str]]] = {}
    for table, name, command in conn.execute(
        text(
            "SELECT tablename, policyname, cmd FROM pg_policies "
            "WHERE schemaname = current_schema() ORDER BY tablename, policyname"
        )
    ):
        policies.setdefault(table, []).append((name, command))
    found = []
    for table, enabled, forced in rows:
        have = policies.get(table, [])
        problems: list[str] = []
        if table in POLICIES:
            if not enabled:
                problems.append("row-level security is not enabled")
            if not forced:
                problems.append("row-level security is not forced")
            names = {n for n, _ in have}
            missing = [c for c in COMMANDS if policy_name(table, c) not in names]
            if missing:
                problems.append(f"no {'/'.join(missing)} policy")
        elif table not in GLOBAL_TABLES:
            problems.append("not in the row-level security registry (parlour.models.rls)")
        found.append(TableCheck(table, bool(enabled), bool(forced), have, problems))
    return found


def check_role(conn: Connection) -> RoleCheck:
    """Whether the connecting role could see past the policies: a superuser, BYPASSRLS, the
    owner of a table (or a member of its owner's role) is refused."""
    name, superuser, bypass = conn.execute(
        text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    ).one()
    owns = list(
        conn.scalars(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND pg_has_role(current_user, tableowner, 'MEMBER') ORDER BY tablename"
            )
        )
    )
    problems = []
    if superuser:
        problems.append(f"{name} is a superuser (it bypasses row-level security)")
    if bypass:
        problems.append(f"{name} has BYPASSRLS")
    if owns:
        problems.append(f"{name} owns (or is a member of the owner of) {len(owns)} table(s)")
    return RoleCheck(str(name), bool(superuser), bool(bypass), owns, problems)
