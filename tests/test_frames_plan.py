"""Pure planning and parsing: no ffmpeg runs here."""

import pytest

from connector.frames.plan import (
    DTS_HEURISTIC_S,
    Segment,
    keyframe_after,
    keyframe_at_or_before,
    plan,
    seek_window,
    select_expr,
)
from connector.frames.probe import Packet, _framecrc_packet, fingerprint, timeline

KEYS = [0, 250, 500, 750, 1000]


def test_keyframe_lookup():
    assert keyframe_at_or_before(KEYS, 0) == 0
    assert keyframe_at_or_before(KEYS, 249) == 0
    assert keyframe_at_or_before(KEYS, 250) == 250
    assert keyframe_at_or_before(KEYS, 999) == 750
    assert keyframe_at_or_before([30, 60], 10) == 0  # before the first keyframe: from the start
    assert keyframe_after(KEYS, 250) == 500
    assert keyframe_after(KEYS, 1000) is None


def test_dense_targets_make_one_pass_from_zero():
    assert plan([10, 20, 30, 40], KEYS) == [Segment(0, (10, 20, 30, 40))]
    assert plan(range(100, 400), KEYS) == [Segment(0, tuple(range(100, 400)))]


def test_sparse_targets_seek_to_their_keyframe():
    assert plan([5, 760, 1010], KEYS) == [
        Segment(0, (5,)), Segment(750, (760,)), Segment(1000, (1010,))]


def test_first_target_seeks_only_when_cheaper_than_decoding_from_zero():
    assert plan([260], KEYS, seek_cost=30) == [Segment(250, (260,))]
    assert plan([260], KEYS, seek_cost=300) == [Segment(0, (260,))]


def test_gap_rule_continue_vs_restart():
    # continuing 740 -> 760 costs 20 frames, restarting at 750 costs 11 + 30
    assert plan([740, 760], KEYS) == [Segment(500, (740, 760))]
    # 300 -> 760 costs 460 frames, restarting costs 41
    assert plan([300, 760], KEYS) == [Segment(250, (300,)), Segment(750, (760,))]
    # a target in the same GOP as the previous one never restarts
    assert plan([255, 499], KEYS, seek_cost=0) == [Segment(250, (255, 499))]


def test_duplicates_and_order_do_not_matter():
    assert plan([760, 5, 760, 5], KEYS) == plan([5, 760], KEYS)
    assert plan([], KEYS) == []
    with pytest.raises(ValueError):
        plan([-1], KEYS)


def test_segments_are_capped_by_merging_the_cheapest_gap():
    keys = list(range(0, 10000, 100))
    targets = [t + 50 for t in range(0, 10000, 1000)]  # 10 far apart targets
    segments = plan(targets, keys, max_segments=3)
    assert len(segments) == 3
    assert sorted(t for s in segments for t in s.targets) == targets
    for s in segments:
        assert s.start <= s.targets[0]


def test_every_target_exactly_once_without_keyframes():
    segments = plan([3, 1, 2, 900], [])
    assert segments == [Segment(0, (1, 2, 3, 900))]


def test_segment_offsets_and_cost():
    seg = Segment(250, (260, 300))
    assert seg.seek and seg.offsets() == (10, 50) and seg.decoded() == 51
    assert not Segment(0, (3,)).seek


def test_select_expr_uses_runs():
    assert select_expr([3]) == "eq(n,3)"
    assert select_expr([5, 3, 4, 9]) == "between(n,3,5)+eq(n,9)"


def test_select_expr_stays_shallow_for_many_targets():
    expr = select_expr(range(0, 30000, 3))  # 10000 separate terms
    assert expr.count("eq(n,") == 10000
    plus = [0]  # '+' count inside each open parenthesis group
    worst_chain, worst_depth = 0, 0
    for ch in expr:
        if ch == "(":
            plus.append(0)
            worst_depth = max(worst_depth, len(plus))
        elif ch == ")":
            worst_chain = max(worst_chain, plus.pop())
        elif ch == "+":
            plus[-1] += 1
    worst_chain = max(worst_chain, plus[0])
    assert worst_chain < 8 and worst_depth <= 8


def test_seek_window_lands_on_the_keyframe():
    seconds = [i / 25 for i in range(100)]
    ss, trim = seek_window(seconds, 24, 36, reorder=False)
    assert ss == pytest.approx(0.96 + 0.01)
    assert trim == pytest.approx(0.94)
    ss_b, _ = seek_window(seconds, 24, 36, reorder=True)
    assert ss_b == pytest.approx(0.97 + DTS_HEURISTIC_S)
    # never past the next keyframe
    ss_short, _ = seek_window(seconds, 24, 26, reorder=True)
    assert ss_short == pytest.approx(1.04 - 0.01)


def test_timeline_sorts_by_pts_and_drops_discarded_packets():
    packets = [  # decode order of an I B B P stream with one discarded lead-in packet
        Packet(pts=-512, dts=-1024, size=1, key=True, discard=True),
        Packet(pts=0, dts=-512, size=1, key=True, discard=False),
        Packet(pts=1536, dts=0, size=1, key=False, discard=False),
        Packet(pts=512, dts=512, size=1, key=False, discard=False),
        Packet(pts=1024, dts=1024, size=1, key=False, discard=False),
    ]
    count, pts, keys, exact = timeline(packets)
    assert (count, pts, keys, exact) == (4, (0, 512, 1024, 1536), (0,), True)


def test_timeline_starts_at_the_first_keyframe_in_decode_order():
    packets = [  # a clip cut with -copyinkf: one packet before its first keyframe, which no decoder outputs
        Packet(pts=0, dts=0, size=1, key=False, discard=False),
        Packet(pts=512, dts=512, size=1, key=True, discard=False),
        Packet(pts=1024, dts=1024, size=1, key=False, discard=False),
    ]
    assert timeline(packets) == (2, (512, 1024), (0,), True)
    edit_list = [  # a discarded keyframe's lead-in: the frames decoded from it stay
        Packet(pts=-1024, dts=-1024, size=1, key=True, discard=True),
        Packet(pts=-512, dts=-512, size=1, key=False, discard=True),
        Packet(pts=0, dts=0, size=1, key=False, discard=False),
        Packet(pts=512, dts=512, size=1, key=False, discard=False),
    ]
    assert timeline(edit_list) == (2, (0, 512), (), True)
    no_keyframe = [Packet(pts=0, dts=0, size=1, key=False, discard=False)]
    assert timeline(no_keyframe) == (1, (0,), (), True)


def test_timeline_without_pts_or_with_ties_is_not_exact():
    no_pts = [Packet(None, 0, 1, True, False), Packet(None, 1, 1, False, False)]
    assert timeline(no_pts) == (2, (), (), False)
    ties = [Packet(0, 0, 1, True, False), Packet(0, 1, 1, False, False)]
    assert timeline(ties)[0] == 2 and timeline(ties)[3] is False


def test_framecrc_lines():
    key = _framecrc_packet("0,      -1024,          0,      512,      735, 0xcf1cff55")
    assert key == Packet(pts=0, dts=-1024, size=735, key=True, discard=False)
    other = _framecrc_packet("0,       -512,        512,      512,       70, 0x499a1ef0, F=0x0")
    assert other == Packet(pts=512, dts=-512, size=70, key=False, discard=False)
    dropped = _framecrc_packet("0,      -5632,      -4608,      512,       76, 0x7458250a, F=0x5")
    assert dropped.key and dropped.discard
    nopts = _framecrc_packet("0, 3, -9223372036854775808, 1, 10, 0x0, F=0x0")
    assert nopts.pts is None


def test_fingerprint_changes_with_content():
    a = [Packet(0, 0, 100, True, False)]
    b = [Packet(0, 0, 101, True, False)]
    assert fingerprint(a, 10, 10) == fingerprint(list(a), 10, 10)
    assert fingerprint(a, 10, 10) != fingerprint(b, 10, 10)
    assert fingerprint(a, 10, 10) != fingerprint(a, 20, 10)


def test_ffprobe_json_is_read_like_the_framecrc_listing(monkeypatch):
    import json
    import subprocess

    import connector.frames.probe as probe_mod

    listing = {
        "packets": [
            {"pts": -512, "dts": -1024, "size": "70", "flags": "K_D"},
            {"pts": 0, "dts": -512, "size": "735", "flags": "K__"},
            {"pts": 1024, "dts": 0, "size": "56", "flags": "___"},
            {"pts": 512, "dts": 512, "size": "62", "flags": "___"},
        ],
        "streams": [{"width": 160, "height": 96, "time_base": "1/12800"}],
        "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "start_time": "0.000000"},
    }

    def fake_run(argv, **kw):
        assert argv[0] == "/x/ffprobe" and "V:0" in argv
        return subprocess.CompletedProcess(argv, 0, json.dumps(listing), "")

    monkeypatch.setattr(probe_mod, "ffprobe_exe", lambda: "/x/ffprobe")
    monkeypatch.setattr(probe_mod.subprocess, "run", fake_run)
    info = probe_mod.probe("v.mp4")
    assert info.prober == "ffprobe"
    assert (info.frame_count, info.pts, info.keyframes) == (3, (0, 512, 1024), (0,))
    assert info.timestamp(2) == 0.08 and info.reorder and info.seekable
