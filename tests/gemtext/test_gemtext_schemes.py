"""Which link targets may become an href."""

import pytest

from gemtext import is_safe_url


@pytest.mark.parametrize(
    "url",
    [
        "gemini://example.org/",
        "GEMINI://example.org/",
        "https://example.org/",
        "http://example.org/",
        "gopher://example.org/1/",
        "mailto:someone@example.org",
        "finger://example.org/user",
        "spartan://example.org/",
        "news:comp.lang.python",
        "xmpp:someone@example.org",
        "/absolute/path",
        "relative/path.gmi",
        "./a:b",
        "//example.org/path",
        "?query=1:2",
        "#fragment:x",
        "",
    ],
)
def test_safe_url(url: str) -> None:
    assert is_safe_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "\x1fjavascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "file:///etc/passwd",
        "a:b",
        "unknown-scheme://x",
        "\u212aafka:x",
        " https://example.org/",
        "ht\ttps://example.org/",
        "\uff4aavascript:alert(1)",  # fullwidth j
    ],
)
def test_unsafe_url(url: str) -> None:
    assert not is_safe_url(url)
