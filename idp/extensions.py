"""The shared extension objects. Instances only: each is bound to the app in ``create_app``."""

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

from .security.csrf import CSRFProtect

# Named constraints so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING), session_options={"expire_on_commit": False})
csrf = CSRFProtect()
