"""Throughput of gemtext parsing and rendering on a ~1 MB synthetic capsule page.

Run with: python benchmarks/bench_gemtext.py [--size BYTES] [--runs N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from gemtext import parse, to_gemtext, to_html

WORDS = [
    *("gemini", "capsule", "protocol", "request", "response", "server", "client", "gemtext"),
    *("certificate", "link", "heading", "list", "quote", "preformatted", "mirror", "feed"),
    *("archive", "index", "article", "tilde", "small", "internet", "slow", "web", "reading"),
    *("writing", "lagrange", "amfora", "kristall", "trio", "socket", "the", "a", "of", "and"),
]


def sentence(rng: random.Random, low: int, high: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return " ".join(words).capitalize() + "."


def build_document(size: int, seed: int = 1965) -> str:
    """Build a realistic gemtext page of at least `size` characters, the same on every run."""
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    section = 0
    while total < size:
        section += 1
        block = [f"## Section {section}: {sentence(rng, 2, 5)}", ""]
        for _ in range(rng.randint(2, 5)):
            block += [" ".join(sentence(rng, 8, 25) for _ in range(rng.randint(1, 4))), ""]
        for page in range(3):
            block.append(f"=> gemini://example.org/{section}/{page}.gmi {sentence(rng, 2, 6)}")
        block.append(f"=> /images/figure-{section}.png Figure {section}")
        block.append("")
        block += [f"* {sentence(rng, 2, 10)}" for _ in range(rng.randint(2, 6))]
        block.append("")
        block += [f"> {sentence(rng, 6, 20)}" for _ in range(rng.randint(1, 3))]
        block += ["", f"```{rng.choice(['python', 'ascii art', ''])}"]
        block += [f"    {sentence(rng, 1, 8)} <&> {i}" for i in range(rng.randint(3, 10))]
        block += ["```", ""]
        text = "\n".join(block) + "\n"
        parts.append(text)
        total += len(text)
    return "# A long capsule page\n\n" + "".join(parts)


def median_seconds(function: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--size", type=int, default=1_000_000, help="document size in bytes")
    arguments.add_argument("--runs", type=int, default=15, help="repetitions per measurement")
    options = arguments.parse_args()

    source = build_document(options.size)
    megabytes = len(source.encode()) / 1e6
    doc = parse(source)

    def rewrite(url: str) -> str:
        return "https://mirror.example.org/" + url

    cases: dict[str, Callable[[], object]] = {
        "parse": lambda: parse(source),
        "to_gemtext": lambda: to_gemtext(doc),
        "to_html": lambda: to_html(doc, rewrite, inline_images=True),
    }
    print(f"document: {megabytes:.2f} MB, {len(doc)} lines, median of {options.runs} runs")
    for name, function in cases.items():
        seconds = median_seconds(function, options.runs)
        print(f"{name:>10}: {seconds * 1000:8.1f} ms  {megabytes / seconds:7.1f} MB/s")


if __name__ == "__main__":
    main()
