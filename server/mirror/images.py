"""The width and height of an image a capsule serves, read from its file's header, so the
mirror's figures keep their place while they load."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import imagesize

from capsule.resources import File
from capsule.root import Capsule
from gemtext.render_html import ImageSize
from server.mirror.links import capsule_target


def image_sizes(capsule: Capsule) -> ImageSize:
    """A function from an href on a mirror page to the size of the image the capsule serves
    there to anybody; None for other sites, what is not served, or a header it cannot read."""

    def size(href: str) -> tuple[int, int] | None:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            return None
        resource = capsule.resolve(capsule_target(unquote(parts.path)).path)
        if not isinstance(resource, File):
            return None
        try:
            width, height = imagesize.get(resource.path)
        except (OSError, ValueError):
            return None
        return (width, height) if width > 0 and height > 0 else None

    return size
