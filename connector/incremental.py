"""What an incremental sync has to do, decided from the listing and the warehouse. Pure.

Rows are fetched when they are new, their `last_edited_at` moved, or what the listing says of them
besides (workflow stage, statuses, frame count, titles: `listing_sha256`; the dataset) changed without
an edit to their labels, or they were fetched so soon after an edit that the listing could not show a later
save (their listing_sha256 then matches no listing: sync_encord.marked_unsettled); rows and data units that a
full, unfiltered listing no longer shows are gone from Encord.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Protocol


class Listed(Protocol):
    label_hash: str | None
    data_hash: str
    branch_name: str
    last_edited_at: datetime | None
    listing_sha256: str | None
    dataset_hash: str | None


@dataclass(frozen=True)
class StoredRow:
    label_hash: str
    data_hash: str
    branch_name: str
    last_edited_at: datetime | None
    listing_sha256: str | None
    """The listing's when the row was loaded from it; None for a row an export sync wrote."""
    dataset_hash: str | None = None
    """Its data unit's: a data unit moved to another dataset of the same title changes only this."""


@dataclass
class SyncPlan:
    to_fetch: list = field(default_factory=list)
    """Listed rows to fetch, oldest edit first, so a cursor taken after each batch never skips a row."""
    unchanged: int = 0
    deleted_label_hashes: list[str] = field(default_factory=list)
    affected_data_hashes: list[str] = field(default_factory=list)
    """Data units of the deleted rows: removed too once no label row refers to them."""


def plan_sync(
    listed: list[Listed],
    present_data_hashes: set[str],
    stored: Iterable[StoredRow],
    *,
    covers_branch,
    refetch_all: bool = False,
    detect_deletes: bool = False,
) -> SyncPlan:
    """`covers_branch(name)` says whether a stored branch is in this sync's scope."""
    stored_by_hash = {row.label_hash: row for row in stored}
    plan = SyncPlan()
    for row in listed:
        known = stored_by_hash.get(row.label_hash)
        if (known is not None and not refetch_all and _same_second(known.last_edited_at, row.last_edited_at)
                and known.listing_sha256 == row.listing_sha256
                and row.dataset_hash in (None, known.dataset_hash)):
            plan.unchanged += 1
        else:
            plan.to_fetch.append(row)
    plan.to_fetch.sort(key=lambda row: (row.last_edited_at is None, row.last_edited_at or datetime.min))
    if detect_deletes:
        listed_hashes = {row.label_hash for row in listed}
        gone = [
            row for row in stored_by_hash.values()
            if row.data_hash not in present_data_hashes
            or (covers_branch(row.branch_name) and row.label_hash not in listed_hashes)
        ]
        plan.deleted_label_hashes = sorted(row.label_hash for row in gone)
        plan.affected_data_hashes = sorted({row.data_hash for row in gone})
    return plan


def _same_second(stored: datetime | None, listed: datetime | None) -> bool:
    """The stored time is the row JSON's, which the SDK writes in whole seconds; a listing may carry a
    fraction of one, which must not make every row look edited on every run."""
    if stored is None or listed is None:
        return stored is listed
    return stored.replace(microsecond=0) == listed.replace(microsecond=0)


def next_cursor(cursor: datetime | None, committed: Iterable[datetime | None]) -> datetime | None:
    """The largest `last_edited_at` committed so far."""
    times = [t for t in committed if t is not None]
    if cursor is not None:
        times.append(cursor)
    return max(times, default=None)


def full_listing_due(runs_since_full_listing: int | None, every: int) -> bool:
    """Whether this run lists everything (to find deletions) rather than what changed."""
    return runs_since_full_listing is None or runs_since_full_listing + 1 >= every


def first_file_to_read(versions: list[tuple[str, str | None]], read_before: dict[str, str]) -> int:
    """Of an export's files (name, version) in name order, the index of the first one a sync must read,
    given the versions an earlier run read (`read_before`): from the first new or unversioned one on,
    when every file read before is still there as it was. A file changed or gone since means the
    whole export is read again: a later file no longer shadows an earlier one's copy of a label row."""
    listed = dict(versions)
    if any(listed.get(name) != version for name, version in read_before.items()):
        return 0
    return next((index for index, (name, version) in enumerate(versions)
                 if version is None or read_before.get(name) != version), len(versions))
