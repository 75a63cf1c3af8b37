"""the account security center (issue 18): the security timeline, where apps and sessions were last used from,
"This wasn't me", and apps' privacy policy and terms links

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 18:47:12.594842

It creates and alters only tables of its own concern (security_events, grant_uses; new nullable/defaulted columns
of apps, grants and login_sessions), independent of what 0003 (OAuth 1.0a) adds.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('security_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=True),
    sa.Column('app_id', sa.Uuid(), nullable=True),
    sa.Column('device', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('browser', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('os', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('ip_address', sqlmodel.sql.sqltypes.AutoString(length=45), nullable=True),
    sa.Column('device_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('is_new_device', sa.Boolean(), nullable=False),
    sa.Column('is_new_country', sa.Boolean(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.create_index('ix_security_events_account_at', ['account_id', 'at', 'id'], unique=False)
        batch_op.create_index('ix_security_events_account_kind_device', ['account_id', 'kind', 'device_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_events_at'), ['at'], unique=False)

    op.create_table('grant_uses',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('grant_id', sa.Uuid(), nullable=False),
    sa.Column('used_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip_address', sqlmodel.sql.sqltypes.AutoString(length=45), nullable=True),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('grant_uses', schema=None) as batch_op:
        batch_op.create_index('ix_grant_uses_grant_at', ['grant_id', 'used_at'], unique=False)

    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_policy_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
        batch_op.add_column(sa.Column('terms_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))

    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_used_ip', sqlmodel.sql.sqltypes.AutoString(length=45), nullable=True))
        batch_op.add_column(sa.Column('last_used_location', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))

    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_ip_address', sqlmodel.sql.sqltypes.AutoString(length=45), nullable=True))
        batch_op.add_column(sa.Column('last_location', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('last_location')
        batch_op.drop_column('last_ip_address')

    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_column('last_used_location')
        batch_op.drop_column('last_used_ip')

    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_column('terms_url')
        batch_op.drop_column('privacy_policy_url')

    with op.batch_alter_table('grant_uses', schema=None) as batch_op:
        batch_op.drop_index('ix_grant_uses_grant_at')

    op.drop_table('grant_uses')
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_events_at'))
        batch_op.drop_index('ix_security_events_account_kind_device')
        batch_op.drop_index('ix_security_events_account_at')

    op.drop_table('security_events')
