"""Alembic environment (Flask-Migrate). The schema is only ever created through these migrations."""

import logging
import warnings
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from flask import current_app

config = context.config
if config.config_file_name and not current_app.config.get("TESTING"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def get_metadata():
    return target_db.metadata


def render_item(type_, obj, autogen_context):
    """Render the project's TypeDecorators as their plain SQL types, so migrations never import app code."""
    from marketplace.models.base import StrEnumType, UTCDateTime

    if type_ == "type":
        if isinstance(obj, UTCDateTime):
            return "sa.DateTime(timezone=True)"
        if isinstance(obj, StrEnumType):
            return f"sa.String(length={obj.impl.length})"
        render = getattr(obj, "alembic_render", None)
        if render is not None:
            autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
            return render()
    return False


def compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):
    """Compare TypeDecorators by the type they become on this database."""
    if isinstance(metadata_type, sa.types.TypeDecorator):
        dialect_type = metadata_type.load_dialect_impl(context.dialect)
        if type(dialect_type).__name__.upper() == type(inspected_type).__name__.upper():
            return False
        return None
    return None


def include_object(obj, name, type_, reflected, compare_to):
    """Honour ``Index(...).ddl_if(dialect=...)``, which autogenerate ignores: an index the model only
    creates on another database (the PostgreSQL-only search indexes) is not expected here."""
    ddl_if = getattr(obj, "_ddl_if", None) if type_ == "index" and not reflected else None
    if ddl_if is not None and ddl_if.dialect is not None:
        dialects = (ddl_if.dialect,) if isinstance(ddl_if.dialect, str) else tuple(ddl_if.dialect)
        return context.get_context().dialect.name in dialects
    return True


#: SQLite cannot reflect expression indexes; the only one is PostgreSQL-only (excluded above).
_EXPRESSION_INDEX_WARNING = "autogenerate skipping metadata-specified expression-based index"


def run_migrations_offline():
    context.configure(url=str(target_db.engine.url), target_metadata=get_metadata(), literal_binds=True,
                      render_item=render_item, compare_type=compare_type, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args["render_item"] = render_item
    conf_args["compare_type"] = compare_type
    conf_args["include_object"] = include_object

    connectable = target_db.engine
    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        conf_args["render_as_batch"] = sqlite
        if sqlite:
            _sqlite_foreign_keys(connection, enforce=False)
            conf_args["on_version_apply"] = _sqlite_check_foreign_keys
        try:
            context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
            with context.begin_transaction(), warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_EXPRESSION_INDEX_WARNING, category=UserWarning)
                context.run_migrations()
        finally:
            if sqlite:
                connection.rollback()  # nothing is left to roll back after a successful run
                _sqlite_foreign_keys(connection, enforce=True)


def _sqlite_foreign_keys(connection, enforce):
    """Switch SQLite's foreign-key enforcement for this connection (the app turns it on at connect).

    Batch migrations rebuild a table as copy → drop → rename; with enforcement on, dropping a table that
    others refer to deletes their rows (``ON DELETE CASCADE``) or fails. So, as SQLite's own procedure for
    table changes says, enforcement is off while migrating and the result is checked before the commit.
    The pragma is ignored inside a transaction, hence the commit around it and the check that it took.
    """
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if enforce else 'OFF'}")
    connection.commit()
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar() != int(enforce):
        raise RuntimeError("could not switch SQLite foreign-key enforcement for the migration")
    connection.commit()


def _sqlite_check_foreign_keys(ctx, step, heads, run_args):
    """After each migration step, before its commit: refuse one that left rows pointing at nothing."""
    broken = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration {step.up_revision_id} left {len(broken)} broken foreign key(s), "
                           f"e.g. {tuple(broken[0])}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
