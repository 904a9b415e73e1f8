"""Migrations: the stored schema version, checked and brought up to date."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sluice.errors import SchemaMismatch
from sluice.store import sql

if TYPE_CHECKING:
    from sluice.store.base import Store


def migrate(store: Store) -> None:
    """Apply the backend's migrations after the stored version, in one transaction."""
    driver = store._driver
    latest = sql.latest_version(driver.backend)
    with driver.write() as db:
        driver.lock_schema(db)
        store._sql(db, "schema_create")
        found = store._sql(db, "schema_version")
        if not found:
            store._sql(db, "schema_init")
        version = int(found[0][0]) if found else 0
        if version > latest:
            raise SchemaMismatch(
                f"store {store.url} has schema version {version}, newer than version "
                f"{latest} that this sluice knows; upgrade sluice to use it"
            )
        for migration in sql.migrations(driver.backend)[version:]:
            driver.run_script(db, migration.sql)
        store._sql(db, "schema_set", (latest,))
