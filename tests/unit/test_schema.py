"""The serving worker knows the newest migration without loading Alembic, and loads neither
Flask-Migrate nor webauthn until something needs them (bench/CHANGES.md, memory)."""

from __future__ import annotations

import os
import subprocess
import sys

from alembic.script import ScriptDirectory

from idp import schema
from idp.config import PROJECT_ROOT


def test_the_newest_revision_read_from_the_files_is_alembics_own():
    assert schema.head() == ScriptDirectory(str(schema.MIGRATIONS)).get_current_head()


def test_a_serving_worker_loads_no_migration_tool_and_no_webauthn(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(IDP_INSTANCE_DIR=str(tmp_path / "instance"), IDP_KEYS_DIR=str(tmp_path / "keys"),
               IDP_KEYS_PASSPHRASE="a passphrase for this test only")
    check = ("import sys, idp.wsgi; "
             "print(sorted(m for m in ('alembic', 'flask_migrate', 'webauthn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", check], env=env, cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
