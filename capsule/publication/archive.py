"""The archive: years, months and days, each page short whatever the size of the archive, and
the articles of a date directory."""

from __future__ import annotations

import calendar
from datetime import date

from capsule.publication.entries import entry_lines
from capsule.publication.groups import ArticleGroups

ARCHIVE_PATH = "/archive/"
MONTH_LIST_LIMIT = 250
"""A month page lists its articles under their days up to this many; past it, only the days,
so that no page of the archive grows with the pace of publication."""


def _count(count: int) -> str:
    return f"{count:,} article" + ("" if count == 1 else "s")


def archive_page(groups: ArticleGroups, feeds: list[str]) -> str:
    """/archive/: each year, linked, with its months and their counts."""
    lines = ["# Archive"]
    months = groups.by_month()
    years = sorted({year for year, _ in months}, reverse=True)
    for year in years:
        total = sum(len(articles) for (y, _), articles in months.items() if y == year)
        lines += ["", f"## {year}", f"=> {ARCHIVE_PATH}{year}/ {year}: {_count(total)}"]
        for month in sorted((m for y, m in months if y == year), reverse=True):
            lines.append(
                f"=> {ARCHIVE_PATH}{year}/{month:02d}/ {calendar.month_name[month]} {year} "
                f"({_count(len(months[(year, month)]))})"
            )
    if not years:
        lines += ["", "Nothing published yet."]
    lines += ["", *feeds]
    return "\n".join(lines) + "\n"


def year_page(groups: ArticleGroups, year: int) -> str | None:
    """/archive/YYYY/: the months of a year with their counts; None if it has no article."""
    months = sorted(
        ((month, len(articles)) for (y, month), articles in groups.by_month().items()
         if y == year),
        reverse=True,
    )
    if not months:
        return None
    total = sum(count for _, count in months)
    lines = [f"# {year}", "", f"{_count(total)}.", ""]
    lines += [
        f"=> {ARCHIVE_PATH}{year}/{month:02d}/ {calendar.month_name[month]} {year} "
        f"({_count(count)})"
        for month, count in months
    ]
    lines += ["", f"=> {ARCHIVE_PATH} Archive"]
    return "\n".join(lines) + "\n"


def month_page(groups: ArticleGroups, year: int, month: int) -> str | None:
    """/archive/YYYY/MM/: the articles of a month under their days, newest first; past
    MONTH_LIST_LIMIT articles, the days alone, with their counts."""
    articles = groups.by_month().get((year, month))
    if not articles:
        return None
    days = groups.by_day()
    dates = sorted({article.published for article in articles}, reverse=True)
    lines = [f"# {calendar.month_name[month]} {year}", "", f"{_count(len(articles))}."]
    if len(articles) > MONTH_LIST_LIMIT:
        lines.append("")
        lines += [f"=> {day_path(day)} {_day_name(day)} ({_count(len(days[day]))})"
                  for day in dates]
    else:
        for day in dates:
            lines += ["", f"## {_day_name(day)}", *entry_lines(days[day], summaries=False)]
    lines += ["", f"=> {ARCHIVE_PATH}{year}/ All of {year}", f"=> {ARCHIVE_PATH} Archive"]
    return "\n".join(lines) + "\n"


def day_page(groups: ArticleGroups, day: date) -> str | None:
    """/archive/YYYY/MM/DD/: the articles of a day with their summaries, newest first."""
    articles = groups.by_day().get(day)
    if not articles:
        return None
    lines = [f"# {_day_name(day)}", "", *entry_lines(articles, summaries=True), ""]
    lines += [
        f"=> {ARCHIVE_PATH}{day.year}/{day.month:02d}/ "
        f"All of {calendar.month_name[day.month]} {day.year}",
        f"=> {ARCHIVE_PATH} Archive",
    ]
    return "\n".join(lines) + "\n"


def directory_page(groups: ArticleGroups, directory: str, day: date) -> str | None:
    """A date directory (`/2025/03/05/`) without an index page: the articles in it."""
    articles = [
        article for article in groups.by_day().get(day, ())
        if article.path.startswith(directory) and "/" not in article.path[len(directory):]
    ]
    if not articles:
        return None
    lines = [f"# {_day_name(day)}", "", *entry_lines(articles, summaries=True), ""]
    lines.append(f"=> {day_path(day)} Everything published that day")
    return "\n".join(lines) + "\n"


def day_path(day: date) -> str:
    """The archive page of a date."""
    return f"{ARCHIVE_PATH}{day.year}/{day.month:02d}/{day.day:02d}/"


def _day_name(day: date) -> str:
    weekday = calendar.day_name[day.weekday()]
    return f"{weekday} {day.day} {calendar.month_name[day.month]} {day.year}"
