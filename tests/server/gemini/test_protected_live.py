"""A running `capsule serve` follows a `.meta` edit that protects an indexed article: the page at
once, every list at the next quick refresh, without a restart."""

from __future__ import annotations

from pathlib import Path

from tests.harness import CapsuleProcess, write_page
from tests.server.gemini.test_publication_live import http

ARTICLE = "/2026/11/20/roses.gmi"


def test_protecting_an_indexed_article_takes_it_out_of_the_running_mirror(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Garden News\n{{recent 5}}\n")
    write_page(root, ARTICLE, "# Roses in winter\nPruning roses before frost.\n")
    write_page(root, "/2026/11/22/compost.gmi", "# Compost\nRoses love compost.\n")
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--root", str(root),
        "--index-interval", "0.2", "--full-index-interval", "600",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        capsule.wait_for_log("index of")
        lists = ("/", "/feed.html", "/atom.xml", "/archive/2026/11/", "/search?q=roses")
        for path in lists:
            assert "Roses in winter" in http(capsule, path)[2], path

        write_page(root, "/2026/11/20/.meta", "roses.gmi protect=any\n")
        status, _, page = http(capsule, "/2026/11/20/roses.html")
        assert status == 403
        assert "gemini://localhost" in page and "/2026/11/20/roses.gmi" in page

        capsule.wait_for_log("0 removed, 1 .meta files changed")
        for path in lists:
            status, _, text = http(capsule, path)
            assert status == 200, path
            assert "Roses in winter" not in text, path
        assert "Compost" in http(capsule, "/feed.html")[2]
