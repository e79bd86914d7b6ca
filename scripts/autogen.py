"""Print the Alembic operations that bring a database at `heads` up to the models.

Usage: python scripts/autogen.py  (uses a throw-away SQLite file). Handy while the app
itself cannot be imported; `flask db migrate` does the same through the app."""

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alembic.autogenerate import produce_migrations, render_python_code  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.migration import MigrationContext  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

import conversion.models  # noqa: E402,F401
from conversion.extensions import db  # noqa: E402

url = f"sqlite:///{tempfile.mkdtemp()}/autogen.sqlite3"
engine = create_engine(url)
with engine.begin() as conn:
    cfg = Config()
    cfg.set_main_option("script_location", "migrations_plain")
    # Apply the existing migration scripts directly through alembic's ScriptDirectory.
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent.parent / "migrations"))
    script = ScriptDirectory.from_config(cfg)

    def do_upgrade(rev, context):
        return script._upgrade_revs("heads", rev)

    with EnvironmentContext(cfg, script, fn=do_upgrade) as env:
        env.configure(connection=conn, target_metadata=db.metadata, render_as_batch=True)
        with env.begin_transaction():
            env.run_migrations()
    mc = MigrationContext.configure(conn, opts={"render_as_batch": True})
    migration = produce_migrations(mc, db.metadata)


def render_item(type_, obj, autogen_context):
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


print(render_python_code(migration.upgrade_ops, render_item=render_item, render_as_batch=True))
print("# ---- downgrade")
print(render_python_code(migration.downgrade_ops, render_item=render_item, render_as_batch=True))
