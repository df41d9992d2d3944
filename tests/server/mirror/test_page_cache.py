"""The mirror's page cache: least recently used first out, bounded in bytes."""

from __future__ import annotations

from server.mirror.page_cache import PageCache


def render_counting(calls: list[str], text: str) -> str:
    calls.append(text)
    return text.upper()


def test_a_cached_page_is_rendered_once() -> None:
    cache, calls = PageCache(100), list[str]()
    for _ in range(3):
        assert cache.get_or_render("k", "abc", lambda: render_counting(calls, "abc")) == "ABC"
    assert calls == ["abc"]


def test_bytes_held_never_exceed_the_budget() -> None:
    cache = PageCache(20)
    for key in "abcdef":
        cache.get_or_render(key, "12345", lambda: "hello")
        assert cache.bytes <= 20
    assert len(cache) == 2
    assert cache.bytes == 20


def test_the_least_recently_used_page_goes_first() -> None:
    cache, calls = PageCache(20), list[str]()
    cache.get_or_render("a", "123456789", lambda: render_counting(calls, "a"))
    cache.get_or_render("b", "123456789", lambda: render_counting(calls, "b"))
    cache.get_or_render("a", "123456789", lambda: render_counting(calls, "a"))
    cache.get_or_render("c", "123456789", lambda: render_counting(calls, "c"))
    cache.get_or_render("a", "123456789", lambda: render_counting(calls, "a"))
    cache.get_or_render("b", "123456789", lambda: render_counting(calls, "b"))
    assert calls == ["a", "b", "c", "b"]


def test_a_page_larger_than_the_budget_is_rendered_but_not_kept() -> None:
    cache = PageCache(10)
    assert cache.get_or_render("k", "x" * 20, lambda: "rendered") == "rendered"
    assert len(cache) == 0 and cache.bytes == 0


def test_zero_budget_disables_the_cache() -> None:
    cache, calls = PageCache(0), list[str]()
    cache.get_or_render("k", "a", lambda: render_counting(calls, "a"))
    cache.get_or_render("k", "a", lambda: render_counting(calls, "a"))
    assert calls == ["a", "a"]
