"""The database never holds a token in plaintext: only its keyed digest."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import MetaData, String, Text, select

from gateway.db import Database
from tenants.roles import Role
from tenants.tokens import token_digest
from tests.conftest import POSTGRES_URL_VARIABLE
from tests.support.world import World


def test_no_plaintext_token_in_any_row_or_file(world: World, database: Database) -> None:
    project = world.project()
    secrets = [
        world.token(world.user()),
        world.project_token(project, Role.DEVELOPER),
        world.group_token(world.group(), Role.REPORTER),
    ]
    reflected = MetaData()
    reflected.reflect(database.engine)
    texts: list[str] = []
    with database.engine.connect() as conn:
        for table in reflected.tables.values():
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if columns:
                texts.extend(str(v) for row in conn.execute(select(*columns)) for v in row if v is not None)
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret not in blob
        assert secret.removeprefix("glpat-") not in blob
        assert token_digest(world.secret_key, secret) in blob
    if not os.environ.get(POSTGRES_URL_VARIABLE):
        database_file = Path(database.engine.url.database or "")
        raw = b"".join(p.read_bytes() for p in database_file.parent.glob(database_file.name + "*"))
        for secret in secrets:
            assert secret.encode() not in raw
