"""Apps: the permissions a person may untick (optional scopes) and the OpenID Connect back-channel logout URI

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 21:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('optional_scopes', sqlmodel.sql.sqltypes.AutoString(length=2000),
                                      server_default='', nullable=False))
        batch_op.add_column(sa.Column('backchannel_logout_uri', sqlmodel.sql.sqltypes.AutoString(length=2000),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_column('backchannel_logout_uri')
        batch_op.drop_column('optional_scopes')
