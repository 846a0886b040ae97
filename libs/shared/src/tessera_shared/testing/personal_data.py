"""Where a piece of personal data is still stored: every text, JSON and byte column searched.

For erasure tests: after an account is deleted, its email or phone must be found nowhere.
"""

from typing import Any

import psycopg
from psycopg import sql

_COLUMNS = """
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = 'public'
  AND data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'bytea')
ORDER BY table_name, column_name
"""


def columns_holding(conn: psycopg.Connection[Any], needle: str) -> list[str]:
    """`table.column` of every column with a row containing `needle` (bytes searched as UTF-8)."""
    found = []
    for table, column, data_type in conn.execute(_COLUMNS).fetchall():
        if data_type == "bytea":
            test = sql.SQL("position(convert_to(%s, 'UTF8') IN {}) > 0")
        else:
            test = sql.SQL("position(%s IN {}::text) > 0")
        query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {})").format(
            sql.Identifier(table), test.format(sql.Identifier(column))
        )
        row = conn.execute(query, (needle,)).fetchone()
        if row and row[0]:
            found.append(f"{table}.{column}")
    return found
