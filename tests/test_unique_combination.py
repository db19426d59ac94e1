"""The project's `unique_combination` data test (dbt_project/tests/generic/unique_combination.sql),
rendered as dbt renders a generic test (a macro) and run on DuckDB: it reports a repeated
combination, NULLs included, and nothing else, even when every row's hash is the same."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import jinja2
import pytest

TEST_SQL = Path(__file__).parents[1] / "dbt_project" / "tests" / "generic" / "unique_combination.sql"


def _render(model: str, columns: list[str]) -> str:
    source = TEST_SQL.read_text(encoding="utf-8")
    source = re.sub(r"{%\s*test\s+", "{% macro ", source).replace("{% endtest %}", "{% endmacro %}")
    return jinja2.Environment().from_string(source).module.unique_combination(model=model, columns=columns)


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("create table t (a varchar, b varchar, c int)")
    return con


def test_rows_that_differ_pass_even_where_their_joined_text_would_not(con):
    # 'a|b' + 'c' and 'a' + 'b|c' are one key to a concatenation with '|', two combinations here.
    con.execute("insert into t values ('a|b', 'c', 1), ('a', 'b|c', 1), ('a', 'b', 2), ('a', 'b', 3)")
    assert con.execute(_render("t", ["a", "b", "c"])).fetchall() == []


def test_a_repeated_combination_is_reported_with_its_count(con):
    con.execute("insert into t values ('x', 'y', 1), ('x', 'y', 1), ('x', 'y', 1), ('x', 'y', 2)")
    assert con.execute(_render("t", ["a", "b", "c"])).fetchall() == [("x", "y", 1, 3)]


def test_a_null_part_does_not_hide_a_repeat(con):
    # A concatenated key is NULL here, and dbt's `unique` skips NULL keys.
    con.execute("insert into t values (null, 'y', 1), (null, 'y', 1), ('x', null, 1)")
    assert con.execute(_render("t", ["a", "b", "c"])).fetchall() == [(None, "y", 1, 2)]


def test_rows_sharing_a_hash_are_compared_by_their_columns(con):
    """Every row given the same hash (the worst collision): only the true repeat is reported."""
    con.execute("create macro same_hash(a, b, c) as 42")
    con.execute("insert into t values ('x', 'y', 1), ('x', 'y', 2), ('p', 'q', 1), ('p', 'q', 1)")
    sql = _render("t", ["a", "b", "c"])
    assert sql.count("hash(a, b, c)") == 2
    assert con.execute(sql.replace("hash(a, b, c)", "same_hash(a, b, c)")).fetchall() == [("p", "q", 1, 2)]
