"""The priced copy's fingerprint of the SQL that prices it: the code, not its comments."""

from __future__ import annotations

from llmstats.analytics.rollups.pricing_key import sql_digest

MACRO = "-- Tokens billed.\nCREATE MACRO billed(t) AS\n    t * 2;\n"


def test_comments_and_blank_lines_leave_the_digest_and_code_changes_it() -> None:
    same = sql_digest([MACRO])
    assert sql_digest(["-- Tokens billed, reworded.\n\n" + MACRO.split("\n", 1)[1]]) == same
    assert sql_digest([MACRO + "\n-- a note at the end\n"]) == same
    assert sql_digest([MACRO.replace("* 2", "* 3")]) != same
    # Where one file ends and the next begins is part of it.
    assert sql_digest([MACRO, MACRO]) != sql_digest([MACRO + MACRO])
