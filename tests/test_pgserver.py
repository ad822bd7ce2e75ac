import psycopg
import pytest

pytestmark = pytest.mark.postgres


def test_fresh_database_per_test_is_empty_and_writable(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as c:
        assert c.execute("select count(*) from pg_tables where schemaname='public'").fetchone()[0] == 0
        c.execute("create table x (id int)")
        assert c.execute("show server_version_num").fetchone()[0] >= "150000"
