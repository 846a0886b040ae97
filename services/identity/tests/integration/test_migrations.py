import uuid

import psycopg
import pytest

from tessera_identity.migrate import migrate


def test_migrations_apply_once_and_are_idempotent(postgres_url):
    assert migrate(postgres_url) >= 1
    assert migrate(postgres_url) == 0
    with psycopg.connect(postgres_url) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
    assert {"users", "credentials"} <= tables


def test_a_verified_address_belongs_to_one_account_only(postgres_url):
    migrate(postgres_url)
    first, second = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(postgres_url) as conn:
        for user in (first, second):
            conn.execute("INSERT INTO users (id) VALUES (%s)", (user,))
            conn.execute(
                "INSERT INTO credentials (id, user_id, type, value) VALUES (%s, %s, 'email', %s)",
                (uuid.uuid4(), user, "a@example.com"),
            )
        conn.execute("UPDATE credentials SET verified_at = now() WHERE user_id = %s", (first,))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("UPDATE credentials SET verified_at = now() WHERE user_id = %s", (second,))


def test_the_database_refuses_unknown_statuses_and_languages(postgres_url):
    migrate(postgres_url)
    with psycopg.connect(postgres_url) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO users (id, status) VALUES (%s, 'zombie')", (uuid.uuid4(),))
        conn.rollback()
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO users (id, locale) VALUES (%s, 'xx')", (uuid.uuid4(),))
