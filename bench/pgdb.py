"""A fresh PostgreSQL database for a benchmark run."""

from __future__ import annotations


def fresh_database(url: str) -> str:
    """Drop and create the database ``url`` names (through the server's ``postgres``
    database); return ``url``."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url
