"""An erasure request as the platform accepts it: who (``platform:kol_id`` subjects), under which request id
and why; how a subject is hashed for the ledger; how an identifier is spelled in the files it may sit in.

Pure rules, no engine: the Spark job, the ingest consumer, the proof and the command line all read them here.
A bad request fails here, before anything is touched, so an erasure is never partial because of its input.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lakehouse.core.errors import DataBreach
from lakehouse.core.names import PLATFORMS

# Plain patterns (no named groups): the DAG's Params check them in the browser too (JSON Schema ``pattern``).
SUBJECT_PATTERN = re.compile(rf"^({'|'.join(PLATFORMS)}):[A-Za-z0-9][A-Za-z0-9_.-]{{0,127}}$")
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_SUBJECTS = 1000
MAX_REASON_CHARS = 500
# Shorter values (a one-letter display name) are not searched for in files: they would match everywhere.
MIN_IDENTIFIER_CHARS = 4
REDACTED = "[erased]"


class ErasureRequestError(DataBreach):
    """The request itself is wrong (a malformed or repeated subject, an empty list): the same request fails the
    same way on a retry, and nothing was touched."""


@dataclass(frozen=True, order=True)
class Subject:
    """A KOL on one platform: the business key every KOL-keyed table and every payload carries."""

    platform: str
    kol_id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.kol_id}"


@dataclass(frozen=True)
class ErasureRequest:
    request_id: str
    subjects: tuple[Subject, ...]
    reason: str


def parse_subject(text: str) -> Subject:
    """``"tiktok:kol_000001"`` -> :class:`Subject`; :class:`ErasureRequestError` says what is wrong."""
    platform = text.strip().split(":", 1)[0] if isinstance(text, str) and ":" in text else None
    if platform is not None and platform.isalpha() and platform not in PLATFORMS:
        raise ErasureRequestError(f"subject {text!r}: unknown platform {platform!r} (one of {', '.join(PLATFORMS)})")
    if not isinstance(text, str) or not SUBJECT_PATTERN.match(text.strip()):
        raise ErasureRequestError(f"malformed subject {text!r}: expected platform:kol_id, e.g. tiktok:ti_0000001")
    platform, kol_id = text.strip().split(":", 1)
    return Subject(platform, kol_id)


def parse_request(subjects: Sequence[str], request_id: str, reason: str) -> ErasureRequest:
    """The request, validated as a whole: a non-empty list of distinct well-formed subjects, a file- and
    SQL-safe request id and a reason. Subjects never found in the lake are not an error (the proof says so)."""
    if not REQUEST_ID_PATTERN.match(request_id or ""):
        raise ErasureRequestError(f"request id {request_id!r}: letters, digits, '_', '.', '-' (1-64 characters)")
    if not (reason or "").strip() or len(reason) > MAX_REASON_CHARS:
        raise ErasureRequestError(f"reason: 1-{MAX_REASON_CHARS} characters (the legal ground, e.g. GDPR Art. 17)")
    if not subjects:
        raise ErasureRequestError("no subjects: give at least one platform:kol_id")
    if len(subjects) > MAX_SUBJECTS:
        raise ErasureRequestError(f"{len(subjects)} subjects: at most {MAX_SUBJECTS} per request")
    parsed = [parse_subject(s) for s in subjects]
    repeated = sorted({str(s) for s in parsed if parsed.count(s) > 1})
    if repeated:
        raise ErasureRequestError(f"subject(s) given twice: {', '.join(repeated)}")
    return ErasureRequest(request_id, tuple(sorted(parsed)), reason.strip())


def subject_hash(salt: str, platform: str, kol_id: str) -> str:
    """The ledger's salted SHA-256 of a subject; Spark computes the same value as
    ``sha2(concat_ws(':', salt, platform, kol_id), 256)``."""
    return hashlib.sha256(f"{salt}:{platform}:{kol_id}".encode()).hexdigest()


def spellings(identifier: str) -> tuple[bytes, ...]:
    """The byte strings an identifier appears as in a file: raw UTF-8, JSON-escaped (``ensure_ascii``) and
    HTML-escaped, each once."""
    forms = {identifier, json.dumps(identifier)[1:-1], html.escape(identifier, quote=True)}
    return tuple(sorted(f.encode() for f in forms))


def searchable(identifiers: Iterable[str | None]) -> tuple[str, ...]:
    """Identifiers worth searching for: stripped, at least :data:`MIN_IDENTIFIER_CHARS` long, each once."""
    return tuple(sorted({i.strip() for i in identifiers if i and len(i.strip()) >= MIN_IDENTIFIER_CHARS}))


# An identifier counts as a whole token: not preceded or followed by one of these (``kol_0001`` does not match
# inside ``kol_00012``).
TOKEN_CHARS = "A-Za-z0-9_"


def token_alternatives(identifiers: Iterable[str]) -> str:
    """Every spelling (:func:`spellings`) of every identifier, escaped, longest first, joined by ``|``: the
    alternation each engine's pattern wraps (Python here, Java in Spark SQL, RE2 in Arrow)."""
    forms = sorted({f.decode() for i in identifiers for f in spellings(i)}, key=len, reverse=True)
    return "|".join(re.escape(f) for f in forms)


def identifier_pattern(identifiers: Iterable[str]) -> re.Pattern[bytes] | None:
    """One bytes pattern matching any spelling of any identifier as a whole token; None when there is nothing
    to search for."""
    alternatives = token_alternatives(identifiers)
    if not alternatives:
        return None
    return re.compile(f"(?<![{TOKEN_CHARS}])(?:{alternatives})(?![{TOKEN_CHARS}])".encode())


def payload_subject(payload: bytes | None) -> tuple[str, str] | None:
    """``(platform, kol_id)`` of a raw record, normalized as Silver normalizes them (platform lower-cased,
    both trimmed); None when the payload is not a JSON object carrying both as strings."""
    if not payload:
        return None
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    platform, kol_id = doc.get("platform"), doc.get("kol_id")
    if not isinstance(platform, str) or not isinstance(kol_id, str) or not kol_id.strip():
        return None
    return platform.strip().lower(), kol_id.strip()


@dataclass(frozen=True)
class ErasedSubjects:
    """The ledger as ingestion consults it: the salt and the hashes of every erased subject."""

    salt: str
    hashes: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.hashes)

    def holds(self, payload: bytes | None) -> bool:
        """Whether a raw record belongs to an erased subject (its payload must not be written)."""
        subject = payload_subject(payload) if self.hashes else None
        return subject is not None and subject_hash(self.salt, *subject) in self.hashes
