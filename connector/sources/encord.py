"""Label rows from the Encord API through the real `encord` SDK. Read-only.

The source lists label-row metadata (one request), and fetches the label rows it is asked
for in bundles (`initialise_labels` + `to_encord_dict()`) of at most 1000 rows and about
BUNDLE_BYTES of label JSON (see BundlePlanner). It never
initialises a row whose label_hash is None: for the SDK that means creating it on the
server.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

from connector.crashpoint import crash_point
from connector.normalize import listing_fingerprint
from connector.redact import redact
from connector.sources import SourceRow, lossless_json
from connector.timestamps import parse_timestamp

log = logging.getLogger("encord_warehouse.encord")

MAX_BUNDLE_SIZE = 1000
BUNDLE_BYTES = 8 << 20
"""Label JSON per fetch request, about: the SDK holds a bundle's rows as objects, several times
their JSON, all at once (bench/fetch_memory.py: 630 long videos, 196 MB of JSON, peak at 1.8-1.9
GB in bundles of 1000 rows, 0.59-0.65 GB in bundles of 8 MB; 4 MB saved little more, and every
bundle costs a collection of the SDK's objects, see fetch)."""
FIRST_BUNDLE_ROWS = 10


class EncordSourceError(Exception):
    """The Encord API could not be read (after retries); the message carries no secrets."""


@dataclass(frozen=True)
class BranchScope:
    """Which label branches a sync covers: main (default), one named branch, or all of them."""

    all_branches: bool = False
    branch_name: str | None = None

    @property
    def key(self) -> str:
        if self.all_branches:
            return "all"
        return f"branch:{self.branch_name}" if self.branch_name else "main"

    def covers(self, branch_name: str) -> bool:
        return self.all_branches or branch_name == (self.branch_name or "main")


@dataclass
class EncordSourceConfig:
    """How to reach a project and what to read from it."""

    project_hash: str
    ssh_key: str = field(repr=False)
    """The private key text (never logged)."""
    domain: str | None = None
    """API base URL; None means Encord's default region."""
    scope: BranchScope = field(default_factory=BranchScope)
    bundle_size: int = MAX_BUNDLE_SIZE
    """Label rows per fetch request, at most (1..1000)."""
    bundle_bytes: int = BUNDLE_BYTES
    """Label JSON per fetch request, about (see BundlePlanner)."""
    title: str | None = None
    """Only the data unit with this exact title (`data_title_eq`)."""
    label_statuses: tuple[str, ...] = ()
    """Only rows in these annotation task statuses (AnnotationTaskStatus names)."""
    workflow_stage: str | None = None
    """Only rows in this workflow stage (`workflow_graph_node_title_eq`)."""
    signed_urls: bool = False
    """Store signed data links (for the frame sidecar's --use-data-link)."""
    max_retries: int = 5
    """Retries for 429, 5xx and dropped connections, with backoff, before the run fails."""
    backoff_seconds: float = 1.0
    timeout_seconds: int = 180

    @property
    def filtered(self) -> bool:
        return bool(self.title or self.label_statuses or self.workflow_stage)

    @property
    def state_key(self) -> str:
        """The sync_state row of runs with this branch scope and these filters: a filtered run lists
        some rows only, so it keeps its own cursor, count of runs since its full listing and ontology
        fingerprint (`main`, `all`, `branch:NAME`, then e.g. `?title=a.mp4&workflow_stage=Review`)."""
        filters = {"title": self.title, "label_status": ",".join(sorted(self.label_statuses)),
                   "workflow_stage": self.workflow_stage}
        chosen = urlencode({name: value for name, value in filters.items() if value})
        return f"{self.scope.key}?{chosen}" if chosen else self.scope.key


@dataclass(frozen=True)
class Listing:
    """One label row as the metadata listing reports it."""

    label_hash: str | None
    data_hash: str
    data_title: str | None
    branch_name: str
    last_edited_at: datetime | None
    metadata: dict[str, Any]

    @property
    def listing_sha256(self) -> str | None:
        return listing_fingerprint(self.metadata)

    @property
    def dataset_hash(self) -> str | None:
        return self.metadata.get("dataset_hash")


class EncordSource:
    def __init__(self, config: EncordSourceConfig, sleep: Callable[[float], None] = time.sleep):
        if not 1 <= config.bundle_size <= MAX_BUNDLE_SIZE:
            raise ValueError(f"bundle size must be between 1 and {MAX_BUNDLE_SIZE}, got {config.bundle_size}")
        self.config = config
        self.sleep = sleep
        self._project = None
        self.unreadable: dict[str, str] = {}  # label hash -> why the SDK could not read that row
        self.vanished = 0
        """Rows the last fetch() was asked for that Encord no longer had (deleted since the listing)."""
        self._gone: set[str] = set()  # label hashes a request of their own found deleted, during one fetch()
        # label hash -> the SDK's LabelRowV2 from the last listing; fetch() drops each one once its
        # row is read, so the SDK's objects for a whole project are never held at once.
        self._handles: dict[str, Any] = {}

    @property
    def project(self):
        if self._project is None:
            self._project = self._call(f"open project {self.config.project_hash}", self._open_project)
        return self._project

    def _open_project(self):
        from encord import EncordUserClient
        from encord.http.constants import RequestsSettings

        # Retries are ours (see _call), so the SDK's own are off: one policy, one attempt count.
        settings = RequestsSettings(max_retries=0, connection_retries=0, read_timeout=self.config.timeout_seconds)
        kwargs = {"requests_settings": settings}
        if self.config.domain:
            kwargs["domain"] = self.config.domain
        try:  # reads the key, no request yet
            client = EncordUserClient.create_with_ssh_private_key(self.config.ssh_key, **kwargs)
        except Exception as error:  # the SDK's own message for an RSA key quotes the whole key: never shown
            raise EncordSourceError(f"the Encord SSH key cannot be used: {_key_problem(error)}") from None
        return client.get_project(self.config.project_hash)

    def project_row(self) -> dict[str, Any]:
        project = self.project
        return {
            "project_hash": self.config.project_hash,
            "title": project.title,
            "description": project.description,
            "ontology_hash": project.ontology_hash,
            "project_type": getattr(getattr(project, "project_type", None), "value", None),
            "created_at": _utc(getattr(project, "created_at", None)),
        }

    def ontology(self) -> dict[str, Any]:
        return self._call("read the ontology", lambda: self.project.ontology_structure.to_dict())

    def list_rows(self, edited_after: datetime | None = None) -> tuple[list[Listing], set[str]]:
        """Label rows in scope (one request), and the hash of every data unit the listing shows.

        Data units without labels yet are listed with label_hash None: they count as present
        but are not returned as rows.
        """
        config = self.config
        kwargs: dict[str, Any] = {
            "edited_after": edited_after, "data_title_eq": config.title,
            "workflow_graph_node_title_eq": config.workflow_stage,
        }
        if config.label_statuses:
            from encord.orm.label_row import AnnotationTaskStatus

            kwargs["label_statuses"] = [AnnotationTaskStatus[status] for status in config.label_statuses]
        kwargs.update(self._scope_kwargs())
        rows = self._call("list label rows", lambda: self.project.list_label_rows_v2(**kwargs))
        self._handles = {row.label_hash: row for row in rows if row.label_hash is not None}
        return [_listing(row) for row in self._handles.values()], {row.data_hash for row in rows}

    def existing(self, label_hashes: list[str]) -> set[str]:
        """Those of `label_hashes` that Encord has, in any branch (one request)."""
        rows = self._call("list label rows", lambda: self.project.list_label_rows_v2(
            label_hashes=label_hashes, include_all_label_branches=True))
        return {row.label_hash for row in rows} & set(label_hashes)

    def _scope_kwargs(self) -> dict[str, Any]:
        scope = self.config.scope
        if scope.all_branches:
            return {"include_all_label_branches": True}
        return {"branch_name": scope.branch_name} if scope.branch_name else {}

    def fetch(self, listings: list[Listing]) -> Iterator[SourceRow]:
        """Label-row dicts for `listings`, one request per bundle (see BundlePlanner)."""
        planner = BundlePlanner(self.config.bundle_size, self.config.bundle_bytes)
        self.vanished, self._gone = 0, set()
        for bundle in planner.bundles(listings):
            survivors = {listing.label_hash for listing in self._initialise(bundle)}
            crash_point("fetch")
            for listing in bundle:
                handle = self._handles.pop(listing.label_hash, None)
                found = listing.label_hash in survivors and listing.label_hash not in self._gone
                if found and listing.label_hash in self.unreadable:  # quarantined by the sync, the rest goes on
                    yield SourceRow({"label_hash": listing.label_hash, "data_title": listing.data_title},
                                    f"encord:{self.config.project_hash}/{listing.label_hash}", listing.metadata,
                                    error=self.unreadable[listing.label_hash], edited_at=listing.last_edited_at)
                elif found and handle.is_labelling_initialised:
                    source_row = self._source_row(listing, handle)
                    planner.observe(listing, len(source_row.json or b""))
                    yield source_row
                else:  # deleted between listing and fetching: the next full listing removes it
                    self.vanished += 1
                    log.info("label row vanished", extra={"event": "vanished", "label_hash": listing.label_hash})
            # The SDK's label-row objects hold reference cycles, and a sync runs with the cyclic
            # collector paused (connector/sync.py): without this, every fetched row stayed in memory.
            gc.collect()

    def _initialise(self, chunk: list[Listing]) -> list[Listing]:
        """Fetch the chunk's labels; if the API refuses because some rows are gone, fetch the survivors.

        A survivor keeps what the run's listing said of it: the cursor passes no edit time that listing did
        not show (rows edited since and not listed are the next run's), and a survivor edited since is
        fetched again by the next run, its listing being new."""
        from encord.exceptions import ResourceNotFoundError

        try:
            self._initialise_isolating(chunk)
            return chunk
        except ResourceNotFoundError:
            wanted = [listing.label_hash for listing in chunk]
            relisted = self._call("list label rows", lambda: self.project.list_label_rows_v2(label_hashes=wanted, **self._scope_kwargs()))
            handles = {row.label_hash: row for row in relisted if row.label_hash in set(wanted)}
            self._handles.update(handles)
            survivors = [listing for listing in chunk if listing.label_hash in handles]
        try:
            self._initialise_isolating(survivors)
        except ResourceNotFoundError:  # more rows went meanwhile (a bulk delete): each row alone
            self._initialise_alone(survivors)
        return survivors

    def _initialise_isolating(self, chunk: list[Listing]) -> None:
        """One bundle request; if the SDK cannot read a row in it, or the answer at all, the rows one by one."""
        try:
            self._call("fetch label rows", lambda: self._initialise_handles(chunk), passthrough=_passthrough())
        except _unreadable_errors():
            self._initialise_alone(chunk)
        except EncordSourceError as error:
            if not _unparseable_answer(error):
                raise
            if len(chunk) > 1:
                self._initialise_alone(chunk)
            else:  # that request was this row's alone
                self._note_unparseable(chunk[0], error)

    def _initialise_alone(self, chunk: list[Listing]) -> None:
        """Every row of the chunk in a request of its own, noting those whose labels or answer cannot be read."""
        from encord.exceptions import ResourceNotFoundError

        for listing in chunk:
            try:
                self._call("fetch label rows", lambda: self._initialise_handles([listing]), passthrough=_passthrough())
            except ResourceNotFoundError:  # deleted since it was listed: fetch() counts it as vanished
                self._gone.add(listing.label_hash)
            except _unreadable_errors() as error:
                self.unreadable[listing.label_hash] = f"the encord SDK cannot read this label row: {_reason(error, context=False)}"
            except EncordSourceError as error:
                if not _unparseable_answer(error):
                    raise
                self._note_unparseable(listing, error)

    def _note_unparseable(self, listing: Listing, error: EncordSourceError) -> None:
        """The answer for one row is not JSON the SDK reads (a NaN token, say), after the retries. The SDK
        raises the same for an error page from a failing API, so the row is quarantined only if another
        row's answer reads right after; otherwise `error` fails the run."""
        probe = self._probe_handle(listing.label_hash)
        if probe is None:
            raise error
        try:
            self._call("fetch label rows", lambda: self._initialise_probe(probe))
        except EncordSourceError:
            raise error
        if self._reads_now(listing):  # an outage that ended as the retries ran out, not this row
            return
        self.unreadable[listing.label_hash] = (f"the SDK cannot parse the Encord API's answer for this label row: "
                                               f"{_reason(error.__cause__, context=False)}")

    def _reads_now(self, listing: Listing) -> bool:
        """One more request for the row alone, once another row's answer has read: True if it reads."""
        from encord.exceptions import ResourceNotFoundError

        try:
            self._initialise_handles([listing])
        except ResourceNotFoundError:  # deleted meanwhile: fetch() counts it as vanished
            self._gone.add(listing.label_hash)
            return True
        except Exception:  # noqa: BLE001 (the row's answer still does not read: quarantined)
            return False
        return True

    def _probe_handle(self, suspect: str):
        """A fresh SDK handle (the sync's own are left as they are) of the listed row with the fewest frames,
        other than `suspect` and rows found unreadable: one not fetched yet, else any. None if there is none."""
        def fewest_frames(handles):
            others = [h for h in handles if h.label_hash not in (suspect, None) and h.label_hash not in self.unreadable]
            return min(others, key=lambda handle: getattr(handle, "number_of_frames", None) or 1, default=None)

        wanted = fewest_frames(self._handles.values())
        kwargs = {"label_hashes": [wanted.label_hash]} if wanted is not None else {}
        return fewest_frames(self._call("list label rows",
                                        lambda: self.project.list_label_rows_v2(**kwargs, **self._scope_kwargs())))

    def _initialise_probe(self, handle) -> None:
        try:
            with self.project.create_bundle(bundle_size=1) as bundle:
                handle.initialise_labels(bundle=bundle, include_signed_url=self.config.signed_urls, overwrite=True)
        except _unreadable_errors():
            pass  # the SDK parsed the answer but not the labels in it: the API answers

    def _initialise_handles(self, chunk: list[Listing]) -> None:
        """Every row of the chunk fetched, also those an earlier attempt initialised: the SDK leaves a row it
        choked on marked initialised with the labels read so far, and a retry that skipped it loaded it cut
        short (until 2026-11-29)."""
        with self.project.create_bundle(bundle_size=self.config.bundle_size) as bundle:
            for listing in chunk:
                handle = self._handles[listing.label_hash]
                if handle.label_hash is None:  # would create a label row on the server
                    raise AssertionError("refusing to initialise a label row without a label_hash")
                handle.initialise_labels(bundle=bundle, include_signed_url=self.config.signed_urls, overwrite=True)

    def _source_row(self, listing: Listing, handle) -> SourceRow:
        location = f"encord:{self.config.project_hash}/{listing.label_hash}"
        row = handle.to_encord_dict()
        _restore_slice_metadata(handle, row)
        # As text where it reads back the same: workers parse it, and this process holds bytes
        # instead of dicts that the collection after every bundle would scan (bench/fetch_memory.py).
        text = lossless_json(row)
        return SourceRow(row if text is None else None, location, listing.metadata,
                         edited_at=listing.last_edited_at, saved_at=_saved_at(row), text=text)

    def _call(self, what: str, action: Callable[[], Any], passthrough: tuple | type[Exception] | None = None) -> Any:
        """Run one API call, retrying what the SDK does not retry itself (rate-limit envelopes, cut-off bodies)."""
        from encord.exceptions import EncordException

        for attempt in range(self.config.max_retries + 1):
            try:
                return action()
            except (EncordException, OSError) as error:
                if passthrough is not None and isinstance(error, passthrough):
                    raise
                last, wait = error, self._retry_wait(error, what, attempt)
            except EncordSourceError:  # a call within this one failed, and said why
                raise
            except Exception as error:  # the SDK could not read a well-formed answer (a status it does not know)
                if passthrough is not None and isinstance(error, passthrough):
                    raise
                raise EncordSourceError(f"cannot {what}: the encord SDK cannot read the API's answer "
                                        f"(a newer SDK may): {_reason(error)}") from error
            if attempt < self.config.max_retries:
                log.warning("retrying", extra={"event": "retry", "action": what, "attempt": attempt + 1,
                                               "wait_s": wait, "error": type(last).__name__})
                self.sleep(wait)
        reason = self._network_problem(last) or _reason(last)
        raise EncordSourceError(f"cannot {what} after {self.config.max_retries + 1} attempts: {reason}") from last

    def _network_problem(self, error: Exception) -> str | None:
        """What the network said, when the API was not reached or did not answer: the SDK's own message names
        only its request ("Request session.send failed ...")."""
        cause = _socket_error(error)
        domain = self.config.domain or "the Encord API"
        if isinstance(cause, TimeoutError):
            return f"{domain} did not answer within {self.config.timeout_seconds:g}s"
        return f"cannot reach {domain}: {cause.strerror or cause}" if cause else None

    def _retry_wait(self, error: Exception, what: str, attempt: int) -> float:
        """Seconds to wait before retrying `error`; raises for errors that retrying cannot fix."""
        from encord.exceptions import (
            AuthenticationError, AuthorisationError, InvalidArgumentsError, RateLimitExceededError, ResourceNotFoundError,
        )

        if isinstance(error, ResourceNotFoundError) and what.startswith("open project"):
            raise EncordSourceError(f"cannot {what}: Encord has no such project, or it is not shared with this "
                                    f"key's user ({_reason(error)})") from None
        if isinstance(error, (AuthenticationError, AuthorisationError, ResourceNotFoundError, InvalidArgumentsError)):
            raise EncordSourceError(f"cannot {what}: {_reason(error)}") from None
        if isinstance(error, RateLimitExceededError) and error.retry_after:
            return float(error.retry_after)
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        return self.config.backoff_seconds * 2 ** attempt


class BundlePlanner:
    """Cuts the rows to fetch into bundles of at most `most_rows` rows and about `budget` bytes of JSON.

    A row's size is predicted from its frame count (the listing has it) and the JSON per frame of
    the rows fetched so far, so a bundle of images holds many rows and one of long videos few;
    until a row has been fetched, a bundle is FIRST_BUNDLE_ROWS rows. At least one row per bundle.
    """

    def __init__(self, most_rows: int, budget: int):
        self.most_rows = most_rows
        self.budget = budget
        self.bytes_seen = 0
        self.frames_seen = 0

    def bundles(self, listings: list[Listing]) -> Iterator[list[Listing]]:
        """Lazily: each bundle is planned with what the ones before it measured (observe)."""
        start = 0
        while start < len(listings):
            end, predicted = start + 1, self.predict(listings[start])
            while end < len(listings) and end - start < self.most_rows:
                predicted += self.predict(listings[end])
                if predicted > self.budget:
                    break
                end += 1
            yield listings[start:end]
            start = end

    def observe(self, listing: Listing, json_bytes: int) -> None:
        self.bytes_seen += json_bytes
        self.frames_seen += _frames(listing)

    def predict(self, listing: Listing) -> float:
        if self.frames_seen == 0:
            return self.budget // FIRST_BUNDLE_ROWS
        return _frames(listing) * self.bytes_seen / self.frames_seen


def _frames(listing: Listing) -> int:
    frames = listing.metadata.get("number_of_frames")
    return frames if isinstance(frames, int) and not isinstance(frames, bool) and frames > 0 else 1


def _key_problem(error: Exception) -> str:
    """What is wrong with the SSH key, in our words: the SDK's message may hold the key itself."""
    if "password" in str(error).lower():
        return "it is protected by a passphrase; Encord's client reads keys without one"
    if "Ed25519" in str(error):
        return "it is not an Ed25519 key (Encord's API keys are Ed25519)"
    return "it is not an OpenSSH private key"


def _socket_error(error: BaseException) -> OSError | None:
    """The operating system's error under an SDK error (refused, no such host, timed out, TLS), if any: the
    end of its chain of causes, through urllib3's `reason`."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and (error.errno is not None or isinstance(error, TimeoutError)):
            return error
        error = error.__cause__ or error.__context__ or getattr(error, "reason", None)
    return None


def _reason(error: Exception, limit: int = 400, context: bool = True) -> str:
    """An SDK error as one line without secrets, cut at `limit` characters: the SDK quotes whole
    response bodies in some of its errors (a bundle of label rows is megabytes). Without `context`,
    the SDK's context (its time stamp, a request's id) is left out: a label row's reason is then the
    same at every run that meets it, and sync_errors keeps one row for it."""
    message = getattr(error, "message", None)
    text = " ".join(redact(message if not context and isinstance(message, str) else str(error)).split())
    return f"{type(error).__name__}: {text[:limit]}" + (" [...]" if len(text) > limit else "")


def _passthrough() -> tuple[type[Exception], ...]:
    """Errors a fetch does not retry but hands to its caller: rows gone (relisted) and rows the SDK cannot read."""
    from encord.exceptions import ResourceNotFoundError

    return ResourceNotFoundError, *_unreadable_errors()


def _unparseable_answer(error: EncordSourceError) -> bool:
    """Whether the last attempt's answer was not JSON the SDK could parse."""
    from encord.exceptions import RequestException

    return isinstance(error.__cause__, RequestException) and isinstance(error.__cause__.__cause__, ValueError)


def _unreadable_errors() -> tuple[type[Exception], ...]:
    """What the SDK raises when a fetched label row's content is not what it accepts (not a transport error);
    OntologyError: the row names a feature the project's ontology no longer has (deleted in Encord)."""
    from encord.exceptions import LabelRowError, OntologyError

    return (LabelRowError, OntologyError, ValueError, KeyError, TypeError, AttributeError, IndexError, NotImplementedError)


def _listing(row) -> Listing:
    stage = getattr(row, "workflow_graph_node", None)
    metadata = {
        "workflow_graph_node": {"uuid": str(stage.uuid), "title": stage.title} if stage else None,
        "annotation_task_status": _status(row, "annotation_task_status"),
        "label_status": _status(row, "label_status"),
        "number_of_frames": getattr(row, "number_of_frames", None),
        "data_title": row.data_title,
        "dataset_title": getattr(row, "dataset_title", None),
        "dataset_hash": getattr(row, "dataset_hash", None),  # compared with data_units', not in listing_sha256
    }
    return Listing(row.label_hash, row.data_hash, row.data_title, row.branch_name or "main",
                   _utc(row.last_edited_at), metadata)


def _status(row, name: str) -> str | None:
    from encord.exceptions import WrongProjectTypeError

    try:
        status = getattr(row, name)
    except WrongProjectTypeError:  # workflow projects: the workflow stage says it instead
        return None
    except AssertionError:  # the SDK asserts a manual QA project's task status is set; a listing may not set it
        return None
    return getattr(status, "value", status)


def _saved_at(row: dict) -> datetime | None:
    """The edit time the fetched row carries (normalize stores it; the sync's cursor keeps the listed one)."""
    try:
        return parse_timestamp(row["last_edited_at"])
    except (KeyError, TypeError, ValueError):  # normalize names what is wrong with it
        return None


def _restore_slice_metadata(handle, row: dict) -> None:
    """to_encord_dict() drops DICOM and NIfTI per-slice metadata (width/height); the SDK still holds it."""
    if row.get("data_type") not in ("dicom", "nifti"):
        return
    for unit in row.get("data_units", {}).values():
        for frame, labels in unit.get("labels", {}).items():
            try:
                meta = handle.get_frame_view(int(frame)).metadata
            except (KeyError, ValueError):
                meta = None
            if meta is not None and isinstance(labels, dict):
                labels.setdefault("metadata", {"width": meta.width, "height": meta.height})


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def listing_bound(cursor: datetime | None, overlap: timedelta) -> datetime | None:
    """`edited_after` for an incremental listing: the cursor minus a safety overlap."""
    return None if cursor is None else cursor - overlap
