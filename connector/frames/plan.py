"""Which frames to decode, in which pass: pure functions over frame numbers.

A video is read in one ffmpeg process made of one or more *segments*. A segment starts decoding
at `start` (frame 0 without seeking, or a keyframe reached by input seek `-ss` before `-i`) and
decodes forward to its last target, keeping its targets by their decoded index relative to
`start` (the select filter's `n`). Cost is counted in decoded frames:

- continuing the current segment from its last target e to the next target t costs t - e;
- starting a new segment at the keyframe k at or before t costs t - k + 1 plus `seek_cost`
  (opening the input again, seeking, warming a decoder).

Each gap between consecutive targets is decided independently by the cheaper of the two, which
minimises the total: dense targets end up in one segment, targets in far-apart GOPs each get
their own. Segments beyond `max_segments` are merged where merging costs least, because every
segment holds its own decoder inside the one process.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    start: int
    """First decoded frame: 0 (no seek) or a keyframe."""
    targets: tuple[int, ...]
    """Frame numbers to keep, ascending, all >= start."""

    @property
    def seek(self) -> bool:
        return self.start > 0

    @property
    def end(self) -> int:
        return self.targets[-1]

    def offsets(self) -> tuple[int, ...]:
        """Targets as select-filter indices (n counts decoded frames from `start`)."""
        return tuple(t - self.start for t in self.targets)

    def decoded(self) -> int:
        return self.end - self.start + 1


def keyframe_at_or_before(keyframes: list[int] | tuple[int, ...], frame: int) -> int:
    """The last keyframe <= frame; 0 (decode from the start) when there is none."""
    i = bisect.bisect_right(keyframes, frame)
    return keyframes[i - 1] if i else 0


def keyframe_after(keyframes, frame: int) -> int | None:
    """The first keyframe > frame, None when there is none."""
    i = bisect.bisect_right(keyframes, frame)
    return keyframes[i] if i < len(keyframes) else None


def plan(targets, keyframes, *, seek_cost: int = 30, max_segments: int = 8) -> list[Segment]:
    """Segments covering every target exactly once. `keyframes` must be sorted ascending."""
    wanted = sorted(set(targets))
    if not wanted:
        return []
    if any(t < 0 for t in wanted):
        raise ValueError("frame numbers are >= 0")
    keys = list(keyframes)
    segments: list[tuple[int, list[int]]] = []
    for t in wanted:
        k = keyframe_at_or_before(keys, t)
        restart = t - k + 1 + (seek_cost if k > 0 else 0)
        if not segments:
            from_zero = t + 1
            segments.append((k if restart < from_zero else 0, [t]))
            continue
        start, members = segments[-1]
        if k <= members[-1] or t - members[-1] <= restart:
            members.append(t)
        else:
            segments.append((k, [t]))
    merged = _cap(segments, seek_cost, max(1, max_segments))
    return [Segment(start, tuple(members)) for start, members in merged]


def _cap(segments, seek_cost, limit):
    segments = [(s, list(m)) for s, m in segments]
    while len(segments) > limit:
        # extra decoding if segment i+1 is folded into segment i
        extra = [segments[i + 1][0] - segments[i][1][-1] - 1 - seek_cost
                 for i in range(len(segments) - 1)]
        i = min(range(len(extra)), key=extra.__getitem__)
        start, members = segments[i]
        segments[i : i + 2] = [(start, members + segments[i + 1][1])]
    return segments


def select_expr(offsets) -> str:
    """A select-filter expression true exactly for the given n values.

    Consecutive values become between(); the terms are summed as a balanced tree because
    ffmpeg's expression parser refuses a flat chain of more than ~100 terms."""
    runs: list[list[int]] = []
    for n in sorted(set(offsets)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    terms = [f"eq(n,{a})" if a == b else f"between(n,{a},{b})" for a, b in runs]
    return _balanced_sum(terms)


def _balanced_sum(terms: list[str]) -> str:
    if len(terms) <= 8:
        return "+".join(terms)
    size = -(-len(terms) // 8)
    return "+".join(f"({_balanced_sum(terms[i:i + size])})" for i in range(0, len(terms), size))


# ffmpeg moves an input -ss back by 3/23 s before seeking when the video reorders frames
# (B-frames) and the container seeks by dts: fftools' "dts heuristic".
DTS_HEURISTIC_S = 3 / 23


def seek_window(seconds, start: int, next_key: int | None, reorder: bool) -> tuple[float, float]:
    """(-ss value, trim start) in the seconds of `seconds` for a segment starting at keyframe
    `start`.

    The -ss value aims a quarter frame past the keyframe (rounding to a coarse time base stays
    on it), plus the dts heuristic when it applies, kept a quarter frame short of the next
    keyframe. Guessing wrong lands on an earlier keyframe, which only costs decoding: `trim`
    then drops every frame before `start` by its measured pts (halfway from the previous
    frame), so the select filter's n counts from `start`. Landing on a later keyframe is caught
    by the pts check in extract.py.
    """
    here = seconds[start]
    after = (seconds[start + 1] - here) if start + 1 < len(seconds) else 0.004
    before = (here - seconds[start - 1]) if start > 0 else 0.004
    ss = here + after / 4 + (DTS_HEURISTIC_S if reorder else 0.0)
    if next_key is not None:
        ss = min(ss, seconds[next_key] - (seconds[next_key] - seconds[next_key - 1]) / 4)
    return max(ss, 0.0), here - before / 2
