"""The schema check every process makes when it first opens the state database."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from database.migrate import alembic_config, head_revision
from database.schema import SchemaMismatchError, judge_revision, known_revisions

KNOWN = ("0001", "0002", "0003")


def test_the_migration_file_names_are_the_revisions_alembic_knows_in_order() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    chain = [r.revision for r in script.walk_revisions()][::-1]
    assert known_revisions() == tuple(chain)
    assert known_revisions()[-1] == head_revision()


@pytest.mark.parametrize("found", [None, "0003"])
def test_a_database_at_the_newest_schema_or_never_migrated_passes(found: str | None) -> None:
    judge_revision(found, KNOWN)


@pytest.mark.parametrize(
    ("found", "message"),
    [
        (
            "0004",
            "the state database is at schema revision 0004, newer than this model-deployer "
            "knows (up to 0003): upgrade model-deployer; nothing was read or changed",
        ),
        (
            "0002",
            "the state database is at schema revision 0002, older than this model-deployer's "
            "0003: run `deployer init` to upgrade it",
        ),
    ],
)
def test_a_database_at_another_schema_is_refused_with_one_line(found: str, message: str) -> None:
    with pytest.raises(SchemaMismatchError) as refused:
        judge_revision(found, KNOWN)
    assert str(refused.value) == message
