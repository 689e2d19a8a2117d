"""`resolve()`: one listing, one consistent view — every row once, whatever the listing caught
(hidden twins mid-hide, chains of compactions, two compactions that ran at once)."""

from __future__ import annotations

import itertools
import json

import pytest

from llmstats.plugin.manifests import resolve

D = "s3://b/events/date=2026-11-20"


def manifests(**specs: tuple[float, list[str]]) -> dict[str, bytes]:
    """{id: (created_at, inputs)} → manifest bytes by path; `claimed_at` inherited from
    compacted inputs, as compaction writes it."""
    claimed: dict[str, float] = {}
    for cid, (created, inputs) in sorted(specs.items(), key=lambda item: item[1][0]):
        claimed[cid] = min([created] + [claimed[n[10:-8]] for n in inputs
                                        if n.startswith("compacted-") and n[10:-8] in claimed])
    return {
        f"{D}/_compaction-{cid}.json": json.dumps(
            {"id": cid, "created_at": created, "claimed_at": claimed[cid],
             "output": f"compacted-{cid}.parquet", "inputs": inputs}).encode()
        for cid, (created, inputs) in specs.items()
    }


def rows_of(listing: list[str], store: dict[str, bytes], raw_rows: dict[str, set[str]]) -> list[str]:
    """The rows a reader counts: raw files hold their own rows, a compacted file the rows of
    every raw file its manifest names."""
    excluded = resolve(listing, store.get).excluded
    counted: list[str] = []
    for path in listing:
        if path in excluded:
            continue
        name = path.rpartition("/")[2].removeprefix("_replaced-")
        if name.startswith("compacted-"):
            manifest = json.loads(store[f"{D}/_compaction-{name[10:-8]}.json"])
            for source in manifest["inputs"]:
                counted += sorted(raw_rows.get(source, set()))
        else:
            counted += sorted(raw_rows[name])
    return counted


RAW = {f"f{i}.parquet": {f"row{i}a", f"row{i}b"} for i in range(1, 6)}
ALL_ROWS = sorted(r for rows in RAW.values() for r in rows)


def test_a_file_listed_under_its_name_and_its_hidden_twin_counts_once() -> None:
    listing = [f"{D}/f1.parquet", f"{D}/_replaced-f1.parquet", f"{D}/f2.parquet"]
    assert resolve(listing, {}.get).excluded == {f"{D}/_replaced-f1.parquet"}


def test_inputs_of_a_compacted_file_are_excluded_under_either_name() -> None:
    store = manifests(a=(1.0, ["f1.parquet", "f2.parquet"]))
    listing = [f"{D}/_replaced-f1.parquet", f"{D}/f2.parquet", f"{D}/f3.parquet",
               f"{D}/compacted-a.parquet"]
    result = resolve(listing, store.get)
    assert result.excluded == {f"{D}/_replaced-f1.parquet", f"{D}/f2.parquet"}
    assert [w.name for w in result.winners] == ["compacted-a.parquet"]


def test_a_later_compaction_of_a_compacted_file_supersedes_it() -> None:
    store = manifests(a=(1.0, ["f1.parquet", "f2.parquet"]),
                      b=(2.0, ["compacted-a.parquet", "f1.parquet", "f2.parquet", "f3.parquet"]))
    listing = [f"{D}/{n}" for n in ("compacted-a.parquet", "compacted-b.parquet", "f3.parquet")]
    result = resolve(listing, store.get)
    assert result.excluded == {f"{D}/compacted-a.parquet", f"{D}/f3.parquet"}
    assert result.losers == []


def test_two_compactions_at_once_the_older_manifest_wins() -> None:
    # Both listed f1..f3; b also caught f4. a's manifest is older: b counts for nothing
    # and f4 stays visible on its own.
    store = manifests(a=(1.0, ["f1.parquet", "f2.parquet", "f3.parquet"]),
                      b=(1.5, ["f1.parquet", "f2.parquet", "f3.parquet", "f4.parquet"]))
    listing = [f"{D}/{n}" for n in ("compacted-a.parquet", "compacted-b.parquet",
                                    "f4.parquet", "f5.parquet")]
    result = resolve(listing, store.get)
    assert [w.name for w in result.winners] == ["compacted-a.parquet"]
    assert [(lo.name, w.name) for lo, w in result.losers] == [("compacted-b.parquet",
                                                               "compacted-a.parquet")]
    assert result.excluded == {f"{D}/compacted-b.parquet"}


@pytest.mark.parametrize("case", range(3))
def test_every_listing_of_a_race_counts_every_row_exactly_once(case: int) -> None:
    """Two compactions that overlapped (and, in one case, a third that later merged the
    winner): whichever of their outputs a listing caught, and whichever inputs were
    hidden (name, twin, or both mid-hide), every row counts exactly once."""
    specs = [
        {"a": (1.0, ["f1.parquet", "f2.parquet", "f3.parquet"]),
         "b": (1.5, ["f2.parquet", "f3.parquet", "f4.parquet"])},
        {"a": (2.0, ["f1.parquet", "f2.parquet"]),  # b's manifest is older this time
         "b": (1.0, ["f2.parquet", "f3.parquet", "f4.parquet", "f5.parquet"])},
        {"a": (1.0, ["f1.parquet", "f2.parquet", "f3.parquet"]),
         "b": (1.5, ["f3.parquet", "f4.parquet"]),
         "c": (3.0, ["compacted-a.parquet", "f1.parquet", "f2.parquet", "f3.parquet",
                     "f5.parquet"])},
    ][case]
    store = manifests(**specs)
    outputs = [f"{D}/compacted-{cid}.parquet" for cid in specs]
    names = {n: (f"{D}/{n}",) for n in RAW}
    spellings = {n: [(f"{D}/{n}",), (f"{D}/_replaced-{n}",), (f"{D}/{n}", f"{D}/_replaced-{n}")]
                 for n in RAW}
    checked = 0
    for size in range(len(outputs) + 1):
        for caught in itertools.combinations(outputs, size):
            for spelled in itertools.product(*spellings.values()):
                listing = [p for paths in spelled for p in paths] + list(caught)
                assert sorted(rows_of(listing, store, RAW)) == ALL_ROWS, listing
                checked += 1
    assert checked == 2 ** len(outputs) * 3 ** len(names)


def test_a_compaction_of_the_winner_keeps_beating_the_loser_once_the_winner_is_gone() -> None:
    """a and b raced (a won); c merged a; after the grace period a and every raw input of
    c are deleted. The loser b must not come back and push c out."""
    store = manifests(a=(1.0, ["f1.parquet", "f2.parquet", "f3.parquet"]),
                      b=(1.5, ["f3.parquet", "f4.parquet"]),
                      c=(3.0, ["compacted-a.parquet", "f1.parquet", "f2.parquet",
                               "f3.parquet", "f5.parquet"]))
    listing = [f"{D}/compacted-c.parquet", f"{D}/compacted-b.parquet", f"{D}/f4.parquet"]
    assert sorted(rows_of(listing, store, RAW)) == ALL_ROWS
