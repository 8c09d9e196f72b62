"""a revision number on each portal, raised by every change

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

The token endpoint's hot path keeps each portal's row in memory instead of reading it for every
token (≈ 35 µs of ≈ 250 per client_credentials token, bench/CHANGES.md). It stays exact: the
INSERT of the new tokens finds their portal by client_id *and* this revision, inside the write
transaction, so a new secret, a changed grant or a deleted portal refuses the whole transaction
at once, on every instance, and the request is answered by the full endpoint from the database.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('clients', sa.Column('revision', sa.BigInteger(), nullable=False, server_default='1'))


def downgrade():
    with op.batch_alter_table('clients') as batch:
        batch.drop_column('revision')
