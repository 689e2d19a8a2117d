"""The dashboard's answer cache: kept per request and data version, bounded, expiring."""

from __future__ import annotations

import time

from llmstats.analytics.web.answer_cache import AnswerCache


def test_an_answer_is_kept_for_its_version_only() -> None:
    cache = AnswerCache()
    cache.put("/api/page/overview?", "v1", b"one")
    assert cache.get("/api/page/overview?", "v1") == b"one"
    assert cache.get("/api/page/overview?since=7d", "v1") is None
    # New data: every answer of the old version goes, and nothing of it comes back.
    assert cache.get("/api/page/overview?", "v2") is None
    assert cache.get("/api/page/overview?", "v1") is None
    assert cache.summary() == {"answers": 0, "bytes": 0, "hits": 1, "misses": 3}


def test_the_least_recently_used_go_first_and_a_huge_answer_is_not_kept() -> None:
    cache = AnswerCache(limit_bytes=900)
    for name in "abcde":
        cache.put(name, "v", name.encode() * 200)
    assert cache.get("a", "v") is None  # 1,000 bytes over 900: the first one made room
    assert cache.get("b", "v") == b"b" * 200
    cache.put("f", "v", b"f" * 200)  # drops c, the least recently used now
    assert [cache.get(n, "v") is not None for n in "bcdef"] == [True, False, True, True, True]
    cache.put("big", "v", b"x" * 226)  # over a quarter of the limit
    assert cache.get("big", "v") is None
    assert cache.summary()["bytes"] == 800


def test_an_answer_expires() -> None:
    cache = AnswerCache(ttl_seconds=0.05)
    cache.put("k", "v", b"body")
    assert cache.get("k", "v") == b"body"
    time.sleep(0.1)
    assert cache.get("k", "v") is None


def test_a_cache_of_no_bytes_keeps_nothing() -> None:
    cache = AnswerCache(limit_bytes=0)  # llmstats serve --cache-mb 0
    cache.put("k", "v", b"{}")
    assert cache.get("k", "v") is None
    assert cache.summary()["answers"] == 0
