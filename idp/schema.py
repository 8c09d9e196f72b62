"""The database schema's migrations (Alembic, through Flask-Migrate), loaded only where they run:
the `idp` command, the tests and the demo. A serving worker never migrates, yet importing
Flask-Migrate (and Alembic under it) cost each worker ≈ 11 MB of memory (bench/CHANGES.md,
memory); it only needs to know the newest revision, for /readyz, and reads that from the files."""

from __future__ import annotations

import ast

from flask import Flask

from .config import PROJECT_ROOT
from .extensions import db

MIGRATIONS = PROJECT_ROOT / "migrations"


def head() -> str | None:
    """The newest revision: the one no other revision names as its ``down_revision`` (what
    Alembic's ScriptDirectory.get_current_head() answers for our single line of migrations)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)):
                continue
            names = {target.id for target in node.targets if isinstance(target, ast.Name)}
            if "revision" in names:
                revisions.add(node.value.value)
            elif "down_revision" in names and node.value.value:
                parents.add(node.value.value)
    heads = revisions - parents
    if len(heads) > 1:
        raise RuntimeError(f"migrations have more than one head: {sorted(heads)}")
    return next(iter(heads), None)


def attach(app: Flask) -> None:
    """Give the app Flask-Migrate (the `idp db …` commands and flask_migrate.upgrade)."""
    from flask_migrate import Migrate

    if "migrate" not in app.extensions:
        Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)


def upgrade(app: Flask) -> None:
    """Bring the app's database to the newest revision."""
    from flask_migrate import upgrade as alembic_upgrade

    attach(app)
    with app.app_context():
        alembic_upgrade(directory=str(MIGRATIONS))
