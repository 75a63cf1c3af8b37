"""OAuth 1.0a User Context: an app's protocol, access level, add-ons and sealed consumer secret; temporary
credentials, token credentials (on the same grants as OAuth 2.0 tokens) and the nonce store

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 18:38:30
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oauth1_nonces',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('nonce_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('expires_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('nonce_digest')
    )
    with op.batch_alter_table('oauth1_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth1_nonces_expires_at'), ['expires_at'], unique=False)

    op.create_table('oauth1_temporary_credentials',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('token_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('secret_sealed', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('app_id', sa.Uuid(), nullable=False),
    sa.Column('callback', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('scopes', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('grant_id', sa.Uuid(), nullable=True),
    sa.Column('verifier_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('decided_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('used_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oauth1_temporary_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth1_temporary_credentials_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth1_temporary_credentials_app_id'), ['app_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth1_temporary_credentials_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth1_temporary_credentials_token_digest'), ['token_digest'], unique=True)

    op.create_table('oauth1_tokens',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('grant_id', sa.Uuid(), nullable=False),
    sa.Column('app_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('temporary_credential_id', sa.Uuid(), nullable=True),
    sa.Column('token_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('secret_sealed', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('scopes', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('issued_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('temporary_credential_id')
    )
    with op.batch_alter_table('oauth1_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth1_tokens_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth1_tokens_app_id'), ['app_id'], unique=False)
        batch_op.create_index('ix_oauth1_tokens_grant_live', ['grant_id', 'revoked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth1_tokens_token_digest'), ['token_digest'], unique=True)

    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('protocol', sqlmodel.sql.sqltypes.AutoString(length=8), server_default='oauth2', nullable=False))
        batch_op.add_column(sa.Column('access_level', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('add_ons', sqlmodel.sql.sqltypes.AutoString(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('client_secret_sealed', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_column('client_secret_sealed')
        batch_op.drop_column('add_ons')
        batch_op.drop_column('access_level')
        batch_op.drop_column('protocol')

    with op.batch_alter_table('oauth1_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth1_tokens_token_digest'))
        batch_op.drop_index('ix_oauth1_tokens_grant_live')
        batch_op.drop_index(batch_op.f('ix_oauth1_tokens_app_id'))
        batch_op.drop_index(batch_op.f('ix_oauth1_tokens_account_id'))

    op.drop_table('oauth1_tokens')
    with op.batch_alter_table('oauth1_temporary_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth1_temporary_credentials_token_digest'))
        batch_op.drop_index(batch_op.f('ix_oauth1_temporary_credentials_grant_id'))
        batch_op.drop_index(batch_op.f('ix_oauth1_temporary_credentials_app_id'))
        batch_op.drop_index(batch_op.f('ix_oauth1_temporary_credentials_account_id'))

    op.drop_table('oauth1_temporary_credentials')
    with op.batch_alter_table('oauth1_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth1_nonces_expires_at'))

    op.drop_table('oauth1_nonces')
