"""Articles published later: dated ahead, or timed by a front line or `.meta`. Nobody but the
staff sees them before their time; at their time they are in every list, with no refresh of the
catalog and no change on disk. The clock is injected: no test waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from capsule.catalog.store import Catalog
from capsule.publication.generated import Publication, PublicationSettings
from capsule.resources import Feed, NotFound, Page
from capsule.root import Capsule
from capsule.rules.access import Protection
from capsule.rules.meta import MetaIndex
from capsule.rules.policy import AccessPolicy
from tests.harness import write_page
from tests.identities import new_identity

# Valid all along the injected clock's days, whatever the real date the tests run on.
STAFF = new_identity("editor", datetime(2026, 1, 1, tzinfo=UTC), datetime(2036, 1, 1, tzinfo=UTC))
READER = new_identity("reader", datetime(2026, 1, 1, tzinfo=UTC), datetime(2036, 1, 1, tzinfo=UTC))

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PAST = "/2026/11/25/yesterday.gmi"
EARLY = "/2026/11/28/early.gmi"  # dated the 28th, its front line says the 26th at 10:00
NOON = "/2026/11/26/noon.gmi"  # front line: the 26th at 12:00
EVENING = "/2026/11/26/evening.gmi"  # .meta: the 26th at 18:00
TOMORROW = "/2026/11/27/tomorrow.gmi"  # its date: the 27th at 00:00 UTC
LATER = "/2026-12-01-later.gmi"  # .meta says the 26th at 11:00, its front line the 1st
FOREVER = "/2026/11/26/typo.gmi"  # a time that cannot be read
RELEASES = [
    (datetime(2026, 11, 26, 10, tzinfo=UTC), EARLY),
    (datetime(2026, 11, 26, 12, tzinfo=UTC), NOON),
    (datetime(2026, 11, 26, 18, tzinfo=UTC), EVENING),
    (datetime(2026, 11, 27, tzinfo=UTC), TOMORROW),
    (datetime(2026, 12, 1, tzinfo=UTC), LATER),
]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Daily news\n\n{{recent}}\n")
    write_page(root, PAST, "# Yesterday\nThe harbour opens.\n")
    write_page(root, EARLY, "Published: 2026-11-26T10:00:00Z\n\n# Early\nHarbour news.\n")
    write_page(root, NOON, "Published: 2026-11-26T13:00:00+01:00\n# Noon\nHarbour at noon.\n")
    write_page(root, EVENING, "# Evening\nHarbour at night.\n")
    write_page(root, TOMORROW, "# Tomorrow\nHarbour tomorrow.\n")
    write_page(root, LATER, "Published: 2026-12-01\n# Later\nHarbour in December.\n")
    write_page(root, FOREVER, "Published: half past noon\n# Typo\nHarbour typo.\n")
    write_page(root, "/2026/11/26/.meta", "evening.gmi published=2026-11-26T18:00:00Z\n")
    write_page(root, "/.meta", "2026-12-01-later.gmi published=2026-11-26T11:00Z\n"
                               "2026/11/27/ listing\n")
    return root


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def published(root: Path, tmp_path: Path, clock: Clock) -> tuple[Capsule, Catalog]:
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    catalog.refresh()
    access = AccessPolicy(
        MetaIndex(root), staff=Protection(frozenset({STAFF.fingerprint})), clock=clock
    )
    settings = PublicationSettings("Daily news", recent_under_articles=10)
    return Capsule(root, publication=Publication(catalog, settings, None, access)), catalog


@pytest.fixture
def capsule(published: tuple[Capsule, Catalog]) -> Capsule:
    return published[0]


def text(capsule: Capsule, path: str, query: str | None = None) -> str:
    resource = capsule.resolve(path, query)
    assert isinstance(resource, Page), (path, resource)
    return resource.gemtext


def months_after(capsule: Capsule) -> str:
    """The archive of December, which holds an article only once one is published."""
    resource = capsule.resolve("/archive/2026/12/")
    return resource.gemtext if isinstance(resource, Page) else ""


def lists(capsule: Capsule) -> dict[str, str]:
    """Every list a reader sees, by name."""
    feed = capsule.resolve("/atom.xml")
    assert isinstance(feed, Feed)
    return {
        "archive": text(capsule, "/archive/2026/11/") + months_after(capsule),
        "gemfeed": text(capsule, "/feed.gmi"),
        "atom": "\n".join(article.path for article in feed.articles),
        "recent": text(capsule, "/"),
        "more articles": text(capsule, PAST),
        "search": text(capsule, "/search", "harbour"),
        "listing": text(capsule, "/2026/11/27/").replace("=> tomorrow.gmi", f"=> {TOMORROW}"),
    }


def shown(capsule: Capsule) -> set[str]:
    """The articles each list shows, checked to be the same in every list."""
    found = {}
    for name, listed in lists(capsule).items():
        found[name] = {path for _, path in RELEASES if path in listed}
        if name != "listing":
            assert "typo.gmi" not in listed, name
    every = set().union(*found.values())
    for name, paths in found.items():
        expected = {TOMORROW} & every if name == "listing" else every
        assert paths == expected, (name, paths, every)
    return every


def test_nothing_before_its_time_is_listed(capsule: Capsule) -> None:
    assert shown(capsule) == set()
    assert "=> /2026/11/25/yesterday.gmi 2026-11-25 Yesterday" in text(capsule, "/feed.gmi")


def test_each_article_shows_everywhere_at_its_time_without_a_refresh(
    published: tuple[Capsule, Catalog], clock: Clock
) -> None:
    capsule, catalog = published
    snapshot = catalog.snapshot
    expected: set[str] = set()
    for moment, path in RELEASES:
        clock.now = moment - timedelta(microseconds=1)
        assert shown(capsule) == expected
        assert capsule.resolve(path) == NotFound()
        clock.now = moment
        expected.add(path)
        assert shown(capsule) == expected
        assert isinstance(capsule.resolve(path), Page)
    assert catalog.snapshot is snapshot


def test_the_staff_see_an_article_before_its_time(capsule: Capsule) -> None:
    for _, path in RELEASES:
        assert isinstance(capsule.resolve(path, identity=STAFF), Page), path
        assert capsule.resolve(path, identity=READER) == NotFound()
        assert capsule.resolve(path) == NotFound()


def test_front_lines_are_not_served(capsule: Capsule, clock: Clock) -> None:
    clock.now = datetime(2026, 12, 1, tzinfo=UTC)
    assert text(capsule, EARLY).startswith("# Early\nHarbour news.\n")
    assert text(capsule, NOON).startswith("# Noon\n")


def test_a_time_that_cannot_be_read_holds_the_article_for_ever(
    capsule: Capsule, clock: Clock
) -> None:
    clock.now = datetime(2026, 12, 31, tzinfo=UTC)  # within the certificates' dates
    assert capsule.resolve(FOREVER) == NotFound()
    assert isinstance(capsule.resolve(FOREVER, identity=STAFF), Page)
    assert "typo.gmi" not in text(capsule, "/feed.gmi")


def test_lists_are_worked_out_again_only_when_a_time_comes(
    capsule: Capsule, clock: Clock
) -> None:
    publication = capsule.publication
    assert publication is not None
    first = publication.articles()
    clock.now = datetime(2026, 11, 26, 9, 59, tzinfo=UTC)
    assert publication.articles() is first
    clock.now = datetime(2026, 11, 26, 10, tzinfo=UTC)
    assert publication.articles() is not first
    assert publication.articles()[0].path == EARLY


def test_a_clock_set_back_hides_the_article_again(capsule: Capsule, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 27, 1, tzinfo=UTC)
    assert TOMORROW in shown(capsule)
    clock.now = START
    assert shown(capsule) == set()


def test_the_capsule_withholds_what_is_not_published_yet(capsule: Capsule, clock: Clock) -> None:
    assert capsule.withheld(TOMORROW) and capsule.withheld(EARLY) and capsule.withheld(EVENING)
    assert not capsule.withheld(PAST)
    clock.now = datetime(2026, 11, 30, tzinfo=UTC)
    assert not capsule.withheld(TOMORROW) and not capsule.withheld(EARLY)
    assert capsule.withheld(LATER)


def test_a_page_that_is_no_article_can_be_timed_too(root: Path, tmp_path: Path) -> None:
    write_page(root, "/election.gmi", "Published: 2026-11-26T20:00:00Z\n# Results\nHarbour.\n")
    clock = Clock(START)
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    catalog.refresh()
    access = AccessPolicy(MetaIndex(root), clock=clock)
    capsule = Capsule(root, publication=Publication(catalog, PublicationSettings(), None, access))
    assert capsule.resolve("/election.gmi") == NotFound()
    assert "Results" not in text(capsule, "/search", "harbour")
    clock.now = datetime(2026, 11, 26, 20, tzinfo=UTC)
    assert text(capsule, "/election.gmi") == "# Results\nHarbour.\n"
    assert "Results" in text(capsule, "/search", "harbour")


def test_without_a_catalog_an_article_is_still_held_until_its_time(root: Path) -> None:
    clock = Clock(START)
    capsule = Capsule(root, access=AccessPolicy(MetaIndex(root), clock=clock))
    assert capsule.resolve(TOMORROW) == NotFound()
    assert capsule.resolve(EARLY) == NotFound()
    clock.now = datetime(2026, 11, 27, tzinfo=UTC)
    assert capsule.resolve(TOMORROW) == Page("# Tomorrow\nHarbour tomorrow.\n")
    assert capsule.resolve(EARLY) == Page("# Early\nHarbour news.\n")
