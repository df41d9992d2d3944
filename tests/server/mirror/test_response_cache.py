"""Kept responses: a page is answered again from memory only while its files, its rules and
the catalog are as they were when it was made (no sockets)."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from capsule.resources import File
from server.assemble import catalogs_of
from server.mirror.responses import MAX_KEPT_FILE, Mirror, Request, Response
from server.mirror.site import build_mirror
from tests.server.mirror.conftest import mirror_config

AN_HOUR_AGO = time.time() - 3600


def age(*paths: Path) -> None:
    """Date files an hour back: files written moments ago are never kept."""
    for path in paths:
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))


@pytest.fixture(params=["kernel reports", "stat"])
def mirror(capsule_root: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Mirror:
    """A mirror whose kept pages are checked by the kernel's change reports, or by `stat`
    where it gives none (`index.watch = false`); every test runs with both."""
    age(*capsule_root.rglob("*"))
    config = mirror_config(capsule_root, tmp_path)
    config = replace(config, index=replace(config.index, watch=request.param != "stat"))
    made, _ = build_mirror(config)
    assert (made.change_watch is None) == (request.param == "stat")
    for catalog in catalogs_of(made.capsules):
        catalog.refresh()
    return made


def request(path: str, **fields: str) -> Request:
    return Request("GET", "localhost", path, **fields)


def first(mirror: Mirror, asked: Request) -> Response:
    response = mirror.respond_at_once(asked)
    assert response is not None
    return response


def test_page_asked_again_is_answered_from_memory(mirror: Mirror) -> None:
    made = first(mirror, request("/about.html"))
    assert mirror.cached(request("/about.html")) == made


def test_directory_page_is_kept_with_its_index(mirror: Mirror) -> None:
    made = first(mirror, request("/a/"))
    assert mirror.cached(request("/a/")) == made


def test_each_coding_is_kept_apart(mirror: Mirror) -> None:
    plain = first(mirror, request("/"))
    packed = first(mirror, request("/", accept_encoding="gzip"))
    assert mirror.cached(request("/")) == plain
    assert mirror.cached(request("/", accept_encoding="gzip")) == packed
    assert dict(packed.headers)["Content-Encoding"] == "gzip"


def test_kept_page_answers_304_to_a_current_copy(mirror: Mirror) -> None:
    etag = dict(first(mirror, request("/about.html")).headers)["ETag"]
    again = mirror.cached(request("/about.html", if_none_match=etag))
    assert again is not None and again.status == 304 and again.body == b""


def test_edited_page_is_not_answered_from_memory(mirror: Mirror, capsule_root: Path) -> None:
    first(mirror, request("/about.html"))
    page = capsule_root / "about.gmi"
    page.write_text("# About us, longer\n")
    assert mirror.cached(request("/about.html")) is None
    assert b"About us, longer" in first(mirror, request("/about.html")).body  # type: ignore[operator]


def test_page_protected_after_it_was_kept_is_refused(mirror: Mirror, capsule_root: Path) -> None:
    first(mirror, request("/a/b.html"))
    (capsule_root / "a" / ".meta").write_text("b.gmi protect\n")
    assert mirror.cached(request("/a/b.html")) is None
    assert first(mirror, request("/a/b.html")).status == 403


def test_page_made_a_draft_after_it_was_kept_is_refused(
    mirror: Mirror, capsule_root: Path
) -> None:
    first(mirror, request("/about.html"))
    (capsule_root / "about.gmi").write_text("Status: draft\n# About\n")
    assert mirror.cached(request("/about.html")) is None
    assert first(mirror, request("/about.html")).status == 403


def test_page_timed_for_later_after_it_was_kept_is_not_found(
    mirror: Mirror, capsule_root: Path
) -> None:
    first(mirror, request("/about.html"))
    (capsule_root / ".meta").write_text("about.gmi published 2999-01-01T00:00:00Z\n")
    assert mirror.cached(request("/about.html")) is None
    assert first(mirror, request("/about.html")).status == 404


def test_page_withdrawn_after_it_was_kept_is_gone(mirror: Mirror, capsule_root: Path) -> None:
    first(mirror, request("/about.html"))
    (capsule_root / ".meta").write_text("about.gmi gone\n")
    assert mirror.cached(request("/about.html")) is None
    assert first(mirror, request("/about.html")).status == 410


def test_page_is_not_kept_after_the_catalog_changes(mirror: Mirror, capsule_root: Path) -> None:
    first(mirror, request("/about.html"))
    (capsule_root / "new.gmi").write_text("# New\n")
    for catalog in catalogs_of(mirror.capsules):
        catalog.refresh()
    assert mirror.cached(request("/about.html")) is None


def test_page_written_moments_ago_is_not_kept(mirror: Mirror, capsule_root: Path) -> None:
    (capsule_root / "about.gmi").write_text("# About\n")
    first(mirror, request("/about.html"))
    assert mirror.cached(request("/about.html")) is None


def test_page_through_a_symlink_is_not_kept(mirror: Mirror, capsule_root: Path) -> None:
    (capsule_root / "linked.gmi").symlink_to(capsule_root / "about.gmi")
    first(mirror, request("/linked.html"))
    assert mirror.cached(request("/linked.html")) is None


def test_replacing_a_directory_by_a_symlink_is_a_miss(
    mirror: Mirror, capsule_root: Path
) -> None:
    first(mirror, request("/a/b.html"))
    (capsule_root / "a").rename(capsule_root / "moved")
    (capsule_root / "a").symlink_to(capsule_root / "moved")
    assert mirror.cached(request("/a/b.html")) is None


def test_request_with_a_query_is_never_answered_from_memory(mirror: Mirror) -> None:
    first(mirror, request("/about.html", query="x"))
    first(mirror, request("/about.html"))
    assert mirror.cached(request("/about.html", query="x")) is None


def test_refusals_are_not_kept(mirror: Mirror, capsule_root: Path) -> None:
    (capsule_root / ".meta").write_text("about.gmi protect\n")
    assert first(mirror, request("/about.html")).status == 403
    assert mirror.cached(request("/about.html")) is None


def test_page_whose_permissions_change_is_not_answered_from_memory(
    mirror: Mirror, capsule_root: Path
) -> None:
    first(mirror, request("/about.html"))
    (capsule_root / "about.gmi").chmod(0o600)
    assert mirror.cached(request("/about.html")) is None


def test_page_under_a_symlinked_meta_is_not_kept(mirror: Mirror, capsule_root: Path) -> None:
    (capsule_root.parent / "rules").write_text("nothing.gmi gone\n")
    (capsule_root / ".meta").symlink_to(capsule_root.parent / "rules")
    first(mirror, request("/about.html"))
    assert mirror.cached(request("/about.html")) is None


def test_kept_pages_are_checked_by_the_kernel_when_it_reports(
    capsule_root: Path, tmp_path: Path
) -> None:
    age(*capsule_root.rglob("*"))
    made, _ = build_mirror(mirror_config(capsule_root, tmp_path))
    first(made, request("/a/b.html"))
    entry = made.responses.get(("localhost", "/a/b.html", None, None))
    assert entry is not None and entry.validity.watched is not None
    assert len(entry.validity.watched.descriptors) == 2  # the root and a/


def test_a_meta_edited_in_place_in_a_parent_directory_is_a_miss(
    mirror: Mirror, capsule_root: Path
) -> None:
    meta = capsule_root / ".meta"
    meta.write_text("")
    age(meta)
    first(mirror, request("/a/b.html"))
    with meta.open("r+") as same_inode:
        same_inode.write("a/b.gmi protect\n")
    age(meta)  # dated back again: the report (or the change time) tells
    assert mirror.cached(request("/a/b.html")) is None


def test_a_directory_renamed_away_and_back_is_a_miss(mirror: Mirror, capsule_root: Path) -> None:
    first(mirror, request("/a/b.html"))
    (capsule_root / "a").rename(capsule_root / "a-old")
    (capsule_root / "a-old").rename(capsule_root / "a")
    assert mirror.cached(request("/a/b.html")) is None
    assert first(mirror, request("/a/b.html")).status == 200


def test_a_small_file_is_kept_and_dropped_when_it_changes(
    mirror: Mirror, capsule_root: Path
) -> None:
    image = capsule_root / "a" / "pier.png"
    image.write_bytes(b"\x89PNG first")
    age(image)
    made = first(mirror, request("/a/pier.png"))
    assert made.body == b"\x89PNG first"
    assert mirror.cached(request("/a/pier.png")) == made
    image.write_bytes(b"\x89PNG second, longer")
    age(image)
    assert mirror.cached(request("/a/pier.png")) is None
    assert first(mirror, request("/a/pier.png")).body == b"\x89PNG second, longer"


def test_a_large_file_is_streamed_and_never_kept(mirror: Mirror, capsule_root: Path) -> None:
    video = capsule_root / "a" / "clip.bin"
    video.write_bytes(b"x" * (MAX_KEPT_FILE + 1))
    age(video)
    assert isinstance(first(mirror, request("/a/clip.bin")).body, File)
    assert mirror.cached(request("/a/clip.bin")) is None


def test_a_publication_time_coming_is_a_miss_worked_out_off_the_event_loop(
    mirror: Mirror, capsule_root: Path
) -> None:
    day = capsule_root / "2026" / "01" / "01"
    day.mkdir(parents=True)
    (day / "later.gmi").write_text("Published: 2999-01-01T00:00:00Z\n\n# Later\n")
    age(day / "later.gmi", *day.parents)
    for catalog in catalogs_of(mirror.capsules):
        catalog.refresh()
    first(mirror, request("/about.html"))
    assert mirror.cached(request("/about.html")) is not None
    publication = mirror.capsules["localhost"].publication
    assert publication is not None
    publication.visibility.policy.clock = lambda: datetime(3000, 1, 1, tzinfo=UTC)
    recomputed: list[object] = []
    current = publication.visibility.current
    publication.visibility.current = lambda *a: recomputed.append(a) or current(*a)  # type: ignore[method-assign]
    assert mirror.cached(request("/about.html")) is None
    assert recomputed == []  # the event loop never worked the list out again
    first(mirror, request("/about.html"))
    assert recomputed
