"""`parlour import` as a real subprocess: its report, a second run, a dry run from a
PostgreSQL URL, and clear errors (exit 1, no traceback) for sources it cannot use."""

from __future__ import annotations

from pathlib import Path

from tests.importer.support import export_csv
from tests.test_cli import Place, migrated  # noqa: F401 (a fixture)


async def test_import_reports_and_a_second_run_finds_everything_there(
    migrated: Place,  # noqa: F811
    sources: dict[str, str],
    tmp_path: Path,
) -> None:
    folder = await export_csv(sources["sessions"], tmp_path / "export")

    first = await migrated.run("import", str(folder), "--tenant", "garage", "--quiet")
    assert first.code == 0, first.text
    assert "as `sessions`" in first.err
    assert "tenant 'garage' created" in first.out
    assert "people: 4 imported, 0 already imported, 0 skipped" in first.out
    assert "conversations: 3 imported, 0 already imported, 2 skipped" in first.out
    assert "messages: 7 imported, 0 already imported, 2 skipped" in first.out
    assert (
        "skipped sessions 5e000000-0000-4000-8000-000000000004: unknown status 'on_hold'"
        in first.out
    )

    again = await migrated.run("import", str(folder), "--tenant", "garage")
    assert again.code == 0, again.text
    assert "conversations: 0 imported, 3 already imported, 2 skipped" in again.out
    assert "messages: 0 imported, 7 already imported, 2 skipped" in again.out


async def test_a_dry_run_from_postgresql_writes_nothing(
    migrated: Place,  # noqa: F811
    sources: dict[str, str],
) -> None:
    dry = await migrated.run("import", sources["appointments"], "--tenant", "trial", "--dry-run")
    assert dry.code == 0, dry.text
    assert "tenant 'trial' would be created" in dry.out
    assert "conversations: 3 would import" in dry.out
    assert "dry run: nothing was written" in dry.out

    real = await migrated.run("import", sources["appointments"], "--tenant", "trial", "--quiet")
    assert "tenant 'trial' created" in real.out  # the dry run created nothing
    assert "conversations: 3 imported" in real.out


async def test_sources_it_cannot_use_are_clear_errors(
    migrated: Place,  # noqa: F811
    tmp_path: Path,
    sources: dict[str, str],
) -> None:
    missing = await migrated.run("import", str(tmp_path / "nowhere"))
    assert missing.code == 1
    assert "error: not a folder of CSV exports" in missing.err

    (tmp_path / "empty").mkdir()
    unknown = await migrated.run("import", str(tmp_path / "empty"))
    assert unknown.code == 1
    assert "matches none of the known layouts" in unknown.err

    wrong = await migrated.run("import", sources["whatsapp"], "--system", "sessions")
    assert wrong.code == 1
    assert "error: the source has no sessions, session_participants" in wrong.err

    slug = await migrated.run("import", sources["whatsapp"], "--tenant", "Not A Slug")
    assert slug.code == 1
    assert "error: A tenant slug is lower-case" in slug.err

    unreachable = await migrated.run("import", "postgresql://nobody@127.0.0.1:1/none")
    assert unreachable.code == 1
    assert "error: cannot connect to the source database" in unreachable.err
    for result in (missing, unknown, wrong, slug, unreachable):
        assert "Traceback" not in result.text


async def test_an_imported_person_signs_in_once_the_operator_sets_a_password(
    migrated: Place,  # noqa: F811
    sources: dict[str, str],
) -> None:
    imported = await migrated.run("import", sources["sessions"], "--tenant", "garage", "--quiet")
    assert imported.code == 0, imported.text
    login = {"tenant": "garage", "email": "marco@garage.example", "password": "new secret pass"}
    async with migrated.client() as http:
        refused = await http.post("/api/v1/auth/login", json=login)
        assert refused.status_code == 401  # imported without a password: no way in yet

    short = await migrated.run(
        "set-password", "marco@garage.example", "--tenant", "garage", "--password", "short"
    )
    assert short.code == 1 and "at least 8 characters" in short.err
    nobody = await migrated.run(
        "set-password", "nobody@garage.example", "--tenant", "garage", "--password", "long enough"
    )
    assert nobody.code == 1 and "No user with this email" in nobody.err

    done = await migrated.run(
        "set-password",
        "Marco@Garage.example",
        "--tenant",
        "garage",
        "--password",
        login["password"],
    )
    assert done.code == 0, done.text
    async with migrated.client() as http:
        signed_in = await http.post("/api/v1/auth/login", json=login)
        assert signed_in.status_code == 200, signed_in.text
        me = await http.get(
            "/api/v1/me",
            headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"},
        )
        assert me.json()["role"] == "agent"
