"""The wire between a scoring process and its recording process: submissions one way, replies the other.

Frames on a stream socket (the socket pair the scoring process made when it started its recording process,
:mod:`monitoring.audit.process_writer`), each a fixed header and a body:

* a submission: header ``<IQ`` (body length, submission id), then its items, each ``<BI`` (item type, length)
  and its bytes. An event (:data:`EVENT`) is sent as it will be stored, before screening: its kind, actor,
  subject and card token (the columns :func:`~monitoring.audit.events.filed_under` gives) and its JSON
  (:func:`~monitoring.audit.encoding.serialise`), each ``<I`` length-prefixed, :data:`_NONE` for a missing one.
  A batch's decisions (:data:`DECISIONS`) are sent as their Arrow IPC stream
  (:func:`~monitoring.audit.decision_batch.batch_to_ipc`), with no object per decision. The recording process
  screens, encodes and chains them (:func:`decode_submission`), so the scoring process pays for the hand-over;
* a reply: header ``<IQB`` (body length, submission id, :data:`OK` or :data:`FAILED`), then JSON: the committed
  range (``first_seq``, ``last_seq``, ``head_hash``, ``masked_events``), or the error's class and message.

The first submission (id 0) is the hello: the audit log to open (:func:`hello_frame`); its reply says the
recording process is ready, or why it is not.

>>> from monitoring.audit.events import AccessEvent
>>> event = AccessEvent(key_id="key_1", event_type="read", success=True, origin="10.0.0.7", resource="GET /v1/x")
>>> frames = list(FrameReader(SUBMISSION).feed(submission_frame(7, [event])))
>>> [(header, [e.subject for e in decode_submission(body)]) for header, body in frames]
[((7,), ['GET /v1/x'])]
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from monitoring.audit.decision_batch import DecisionBatch, batch_from_ipc, batch_to_ipc, encode_decision_batch
from monitoring.audit.encoding import AuditItem, EncodedEvent, encode_serialised, serialise
from monitoring.audit.errors import AuditError, AuditStoreError
from monitoring.audit.events import KINDS, AuditEvent, filed_under
from monitoring.audit.log import AppendResult

#: Submission header: body length, submission id.
SUBMISSION: Final = struct.Struct("<IQ")
#: Reply header: body length, submission id, status.
REPLY: Final = struct.Struct("<IQB")
_ITEM: Final = struct.Struct("<BI")
_LENGTH: Final = struct.Struct("<I")
#: The length that stands for a missing column (an event without actor or card token).
_NONE: Final = 0xFFFFFFFF
#: Item types.
EVENT: Final = 1
DECISIONS: Final = 2
#: The largest item a frame carries (its length is 32 bits).
_MAX_ITEM: Final = 0xFFFFFFFE
#: Reply statuses.
OK: Final = 0
FAILED: Final = 1
#: The hello's submission id.
HELLO_ID: Final = 0
_KINDS: Final = frozenset(KINDS)


class FrameReader:
    """Cuts a byte stream into frames of one header layout: feed what a ``recv`` gave, take the complete frames
    (each its header's fields after the length, and its body)."""

    def __init__(self, header: struct.Struct) -> None:
        self._header = header
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[tuple[Any, ...], memoryview]]:
        self._buffer += data
        size = self._header.size
        position, end = 0, len(self._buffer)
        frames: list[tuple[tuple[Any, ...], memoryview]] = []
        view = memoryview(self._buffer)
        while end - position >= size:
            length, *fields = self._header.unpack_from(view, position)
            if end - position - size < length:
                break
            body_start = position + size
            frames.append((tuple(fields), memoryview(bytes(view[body_start : body_start + length]))))
            position = body_start + length
        view.release()
        del self._buffer[:position]
        return iter(frames)

    @property
    def pending(self) -> int:
        """Bytes of a frame not complete yet."""
        return len(self._buffer)


def _field(value: str | None) -> bytes:
    if value is None:
        return _LENGTH.pack(_NONE)
    data = value.encode()
    return _LENGTH.pack(len(data)) + data


def _event_item(event: AuditEvent) -> bytes:
    data = serialise(event)  # AuditError for what cannot be recorded, in the submitter's thread
    actor, subject, card_token = filed_under(event)
    body = b"".join((_field(event.kind), _field(actor), _field(subject), _field(card_token), data))
    return _ITEM.pack(EVENT, len(body)) + body


def _decisions_item(batch: DecisionBatch) -> bytes:
    data = batch_to_ipc(batch)
    if len(data) > _MAX_ITEM:
        raise AuditError(f"a batch of {len(batch)} decisions is too large to submit at once; submit it in parts")
    return _ITEM.pack(DECISIONS, len(data)) + data


def submission_frame(submission_id: int, items: Sequence[AuditItem]) -> bytes:
    """The frame submitting ``items``; :class:`AuditError` for an event that cannot be recorded."""
    body = b"".join(_decisions_item(item) if isinstance(item, DecisionBatch) else _event_item(item) for item in items)
    return SUBMISSION.pack(len(body), submission_id) + body


def _read_field(body: memoryview, position: int) -> tuple[str | None, int]:
    (length,) = _LENGTH.unpack_from(body, position)
    position += _LENGTH.size
    if length == _NONE:
        return None, position
    return bytes(body[position : position + length]).decode(), position + length


def decode_submission(body: memoryview) -> list[EncodedEvent]:
    """The records a submission's items become (screened for card numbers); :class:`AuditError` for a body
    that is not a submission."""
    out: list[EncodedEvent] = []
    position, end = 0, len(body)
    try:
        while position < end:
            item, length = _ITEM.unpack_from(body, position)
            position += _ITEM.size
            stop = position + length
            if item not in (EVENT, DECISIONS) or stop > end:
                raise AuditError(f"a submission holds an unknown item (type {item}, {length} bytes)")
            if item == DECISIONS:
                out += encode_decision_batch(batch_from_ipc(body[position:stop]))
                position = stop
                continue
            kind, at = _read_field(body, position)
            actor, at = _read_field(body, at)
            subject, at = _read_field(body, at)
            card_token, at = _read_field(body, at)
            if kind not in _KINDS or subject is None or at > stop:
                raise AuditError(f"a submission holds an event of unknown kind {kind!r} or without subject")
            out.append(encode_serialised(kind, actor, subject, card_token, bytes(body[at:stop])))
            position = stop
    except (struct.error, UnicodeDecodeError) as error:
        raise AuditError(f"a submission is malformed: {error}") from None
    return out


def hello_frame(url: str, archive_dir: Path, signing_key_hex: str) -> bytes:
    """The first submission: the audit log the recording process opens (the key travels on the private socket
    pair only, never on a command line or in an environment it did not already hold)."""
    body = orjson.dumps({"url": url, "archive_dir": str(archive_dir), "signing_key": signing_key_hex})
    return SUBMISSION.pack(len(body), HELLO_ID) + body


def read_hello(body: memoryview) -> tuple[str, Path, str]:
    document = orjson.loads(bytes(body))
    return str(document["url"]), Path(document["archive_dir"]), str(document["signing_key"])


def reply_frame(submission_id: int, outcome: AppendResult | BaseException) -> bytes:
    """The reply to one submission: what was committed, or why not."""
    if isinstance(outcome, BaseException):
        # An error of the store (or of the database driver: not one of ours) may pass: the submitter retries.
        kind = (
            "AuditError"
            if isinstance(outcome, AuditError) and not isinstance(outcome, AuditStoreError)
            else ("AuditStoreError")
        )
        body = orjson.dumps({"error": kind, "message": f"{outcome}" or type(outcome).__name__})
        return REPLY.pack(len(body), submission_id, FAILED) + body
    body = orjson.dumps(
        {
            "first_seq": outcome.first_seq,
            "last_seq": outcome.last_seq,
            "head_hash": outcome.head_hash,
            "masked_events": outcome.masked_events,
        }
    )
    return REPLY.pack(len(body), submission_id, OK) + body


def read_reply(status: int, body: memoryview) -> AppendResult | AuditError:
    """A reply's outcome: the committed range, or the error to raise (:class:`AuditStoreError` when it may
    pass, so the submitter keeps the events for a second try)."""
    document = orjson.loads(bytes(body))
    if status == OK:
        return AppendResult(
            int(document["first_seq"]), int(document["last_seq"]), document["head_hash"], document["masked_events"]
        )
    message = f"the recording process could not record the events: {document['message']}"
    return AuditError(message) if document["error"] == "AuditError" else AuditStoreError(message)
