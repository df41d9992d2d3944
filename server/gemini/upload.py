"""One Titan upload on trio: check it, receive its body under the upload deadline, write it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Protocol

import trio

from capsule.authoring.writes import PendingWrite, RootWriter, Target, Unwritable
from capsule.resources import AccessRefusal
from capsule.rules.access import ClientIdentity
from capsule.rules.upload_policy import UploadRule, UploadsClosed
from server.accesslog import ERROR_LOGGER
from server.admission import RateLimiter
from server.gemini import titan
from server.gemini.protocol import ResponseHeader, slow_down
from server.gemini.site import Site, UploadSite
from server.settings.config import LimitSettings
from server.tls_stream import TLSStream

logger = logging.getLogger(ERROR_LOGGER)

_RECEIVE_BYTES = 16 * 1024
_DRAIN_BYTES = 64 * 1024
# A body of N bytes arrives as a little more ciphertext: record headers and tags, tickets.
_RECORD_OVERHEAD_DIVISOR = 256
_DRAIN_SLACK = 64 * 1024
_TRANSPORT_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError)

Answer = Callable[[ResponseHeader, bytes], Awaitable[None]]
"""Sends the one response header of the exchange, and a body if any."""
Outcome = tuple[ResponseHeader, bytes]


class Progress(Protocol):
    """What the access log will say of the exchange, filled in as it is learnt."""

    host: str
    path: str
    identity: str | None


async def serve_upload(
    tls: TLSStream,
    line: bytes,
    leftover: bytes,
    *,
    client: str,
    site: Site,
    limits: LimitSettings,
    rate: RateLimiter,
    identity: ClientIdentity | None,
    progress: Progress,
    answer: Answer,
) -> None:
    """Answer the Titan request `line`, whose body starts with `leftover`."""
    request = titan.parse_titan_request(line, site.host_names, site.ports)
    if isinstance(request, ResponseHeader):
        await answer(request, b"")
        return
    progress.host, progress.path = request.host, request.path
    if identity is not None:
        progress.identity = str(identity)
    wait = rate.retry_after(client, trio.current_time())
    if wait is not None:
        await answer(slow_down(wait), b"")
        return
    uploads = site.uploads.get(request.host)
    body = titan.BodyReader(request.size)
    try:
        outcome = await _upload(tls, request, body, leftover, uploads, limits, identity, client)
    except OSError as error:
        logger.error("%s: storing %s%s failed: %s", client, request.host, request.path, error)
        outcome = titan.write_failed(), b""
    await answer(*outcome)
    if body.expecting:
        # A refusal costs the client what a request line costs: request_timeout, no more.
        # Only a body already being received, so allowed, gets the upload deadline to end.
        deadline = limits.upload_timeout if body.received else limits.request_timeout
        await _drain(tls, body.size - body.received, deadline)


async def _upload(
    tls: TLSStream,
    request: titan.TitanRequest,
    body: titan.BodyReader,
    leftover: bytes,
    uploads: UploadSite | None,
    limits: LimitSettings,
    identity: ClientIdentity | None,
    client: str,
) -> Outcome:
    """Decide, then write or delete; every refusal comes before any byte of the body is read."""
    if uploads is None:
        return titan.closed(), b""
    moment = datetime.now(UTC)
    rule = uploads.policy.decide(request.file_path, identity, moment)
    if not isinstance(rule, UploadRule):
        return _not_granted(rule), b""
    # The grant must hold where the bytes land too: a symlink may lead elsewhere.
    landing = await trio.to_thread.run_sync(
        partial(uploads.writer.target, request.file_path, make_directories=False)
    )
    if isinstance(landing, Unwritable):
        return titan.unwritable(landing.reason), b""
    rule = uploads.policy.decide(request.file_path, identity, moment, landing.path)
    if not isinstance(rule, UploadRule):
        return _not_granted(rule), b""
    if request.size > rule.max_bytes:
        return titan.too_large(request.size, rule.max_bytes), b""
    if request.size == 0:
        if not rule.allow_delete:
            return titan.deletion_refused(), b""
        return await _delete(uploads.writer, landing, request, rule, client, identity)
    writer = uploads.writer
    target = await trio.to_thread.run_sync(
        partial(writer.target, request.file_path, make_directories=True)
    )
    if isinstance(target, Unwritable):
        return titan.unwritable(target.reason), b""
    if target.relative != landing.relative:
        await trio.to_thread.run_sync(writer.discard, target)
        return titan.unwritable("the path changed while the upload was checked"), b""
    pending = await trio.to_thread.run_sync(writer.begin, target)
    committed = False
    try:
        refused = await _receive(tls, pending, body, leftover, limits)
        if refused is not None:
            where = f"{request.host}{request.path}"
            logger.info("%s: upload to %s refused: %s", client, where, refused.meta)
            return refused, b""
        kept = await trio.to_thread.run_sync(pending.commit)
        committed = True
    finally:
        if not committed:
            pending.abort()
    await _prune(writer, target.relative, rule, client)
    previous = f"; previous version kept as {kept}" if kept else ""
    where = f"{request.host}{request.path}"
    logger.info("%s: %s wrote %d bytes to %s%s", client, identity, request.size, where, previous)
    return titan.written(request), b""


def _not_granted(refusal: UploadsClosed | AccessRefusal) -> ResponseHeader:
    """The answer to an upload no rule grants: closed to uploads, or refused as a protected
    path refuses."""
    return titan.closed() if isinstance(refusal, UploadsClosed) else titan.refused(refusal)


async def _receive(
    tls: TLSStream,
    pending: PendingWrite,
    body: titan.BodyReader,
    leftover: bytes,
    limits: LimitSettings,
) -> ResponseHeader | None:
    """Receive the body into `pending` within the upload deadline; None once it is all there,
    else the answer saying what went wrong (short, long, late)."""
    buffer = bytearray()
    data = leftover
    with trio.move_on_after(limits.upload_timeout):
        while True:
            accepted = body.feed(data)
            if isinstance(accepted, ResponseHeader):
                return accepted
            buffer += accepted
            if len(buffer) >= limits.chunk_size or (body.complete and buffer):
                # Disk writes go to a thread, a chunk at a time, as reads do when serving.
                await trio.to_thread.run_sync(pending.write, bytes(buffer))
                buffer.clear()
            if body.complete:
                return None
            data = await tls.receive_some(_RECEIVE_BYTES)
            if not data:
                return body.eof()
    return body.late(limits.upload_timeout)


async def _drain(tls: TLSStream, remaining: int, seconds: float) -> None:
    """Read and drop what is left of a body after an early answer (a refusal, a failed write),
    up to its size and for at most `seconds`: closing a socket with unread bytes resets the
    connection, and the client, still sending, would lose the answer with it."""
    budget = remaining + remaining // _RECORD_OVERHEAD_DIVISOR + _DRAIN_SLACK
    with trio.move_on_after(seconds), contextlib.suppress(*_TRANSPORT_ERRORS):
        while budget > 0:
            # Ciphertext straight from the transport: the answer and close_notify are out.
            data = await tls.transport_stream.receive_some(_DRAIN_BYTES)
            if not data:
                return
            budget -= len(data)


async def _delete(
    writer: RootWriter,
    target: Target,
    request: titan.TitanRequest,
    rule: UploadRule,
    client: str,
    identity: ClientIdentity | None,
) -> Outcome:
    """Delete the file at `target`, keeping its last version, and the directories it empties
    within the rule's paths."""
    kept = await trio.to_thread.run_sync(writer.delete, target, rule.covers_folder)
    if kept is None:
        return titan.nothing_to_delete(), b""
    where = f"{request.host}{request.path}"
    logger.info("%s: %s deleted %s; last version kept as %s", client, identity, where, kept)
    await _prune(writer, target.relative, rule, client)
    return titan.deleted(request)


async def _prune(writer: RootWriter, relative: str, rule: UploadRule, client: str) -> None:
    """Drop the versions of a file just written or deleted that the rule no longer keeps;
    the write stands whatever happens here."""
    try:
        removed = await trio.to_thread.run_sync(
            writer.prune, relative, rule.keep_versions, rule.keep_days
        )
    except OSError as error:
        logger.error("%s: pruning the versions of /%s failed: %s", client, relative, error)
        return
    if removed:
        logger.info("%s: pruned %d versions of /%s", client, len(removed), relative)


async def sweep_uploads(site: Site, older_than: float) -> None:
    """Remove what uploads interrupted by a crash left in the roots open to uploads: temporary
    files older than the upload deadline, which no upload still under way can own."""
    writers = {id(upload.writer): upload.writer for upload in site.uploads.values()}
    for writer in writers.values():
        removed = await trio.to_thread.run_sync(writer.leftovers, older_than)
        for path in removed:
            logger.info("removed %s, an unfinished upload left by an earlier run", path)
