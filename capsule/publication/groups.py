"""The articles readers may see, grouped for the generated pages: by position, month, day and
series, each grouping made once per list of articles."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

from capsule.articles import Article, ArticlePlace

_NOT_SLUG = re.compile(r"[^\w]+")


def series_slug(name: str) -> str:
    """The path segment of a series: its name in lower case, words joined by hyphens."""
    return _NOT_SLUG.sub("-", name.lower()).strip("-")


class ArticleGroups:
    """Groupings of one tuple of articles (newest first); a new tuple makes new groupings."""

    def __init__(self, articles: tuple[Article, ...]) -> None:
        self.articles = articles
        self._positions: dict[str, int] | None = None
        self._months: dict[tuple[int, int], list[Article]] | None = None
        self._days: dict[date, list[Article]] | None = None
        self._series: dict[str, list[Article]] | None = None

    def place(self, path: str) -> ArticlePlace | None:
        """The article at `path` and its neighbours in publication order, if it is listed."""
        if self._positions is None:
            self._positions = {article.path: n for n, article in enumerate(self.articles)}
        position = self._positions.get(path)
        if position is None:
            return None
        newer = self.articles[position - 1] if position > 0 else None
        older = self.articles[position + 1] if position + 1 < len(self.articles) else None
        return ArticlePlace(self.articles[position], older, newer)

    def by_month(self) -> dict[tuple[int, int], list[Article]]:
        """The articles of each (year, month), newest first."""
        if self._months is None:
            months: dict[tuple[int, int], list[Article]] = defaultdict(list)
            for article in self.articles:
                months[(article.published.year, article.published.month)].append(article)
            self._months = dict(months)
        return self._months

    def by_day(self) -> dict[date, list[Article]]:
        """The articles of each date, newest first."""
        if self._days is None:
            days: dict[date, list[Article]] = defaultdict(list)
            for article in self.articles:
                days[article.published].append(article)
            self._days = dict(days)
        return self._days

    def series(self) -> dict[str, list[Article]]:
        """The parts of each series by its slug, in publication order (oldest first)."""
        if self._series is None:
            series: dict[str, list[Article]] = defaultdict(list)
            for article in reversed(self.articles):
                if article.series:
                    series[series_slug(article.series)].append(article)
            self._series = dict(series)
        return self._series
