"""Frame extraction: ours vs the docs' per-frame recipe vs a decode-only pass, in one run.

    .venv/bin/python bench/frames/bench_frames.py [--repeat 3] [--frames 40] [--video PATH]

Video: a 1-minute 1280x720 30 fps H.264 clip (testsrc2 through libx264 with its default
settings: B-frames, keyframe every 250 frames), generated once and cached next to this script
unless --video names another. Targets: --frames frame numbers spread evenly over the video.

Timed, interleaved per repetition (the median of each is reported):
- floor:  `ffmpeg -i video -map 0:V:0 -f null -`: decoding every frame, writing nothing;
- recipe: the docs' "save frames with labels" loop: one ffmpeg call per frame,
          `-vf select='eq(n\\,N)' -vframes 1 frame_N.jpg`, each decoding from the start;
- ours:   connector.frames.video.extract_video to a local folder: probe, plan, one ffmpeg
          process, images written to their final place with sha256 computed.
Both ratios come from this one run, on this machine's load at the time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from connector.frames.plan import select_expr  # noqa: E402
from connector.frames.probe import probe  # noqa: E402
from connector.frames.storage import Destination  # noqa: E402
from connector.frames.tools import ffmpeg_exe  # noqa: E402
from connector.frames.video import extract_video  # noqa: E402
from tests.media import make_bench_video  # noqa: E402

HERE = Path(__file__).resolve().parent


def spread(count: int, frames: int) -> list[int]:
    return [int((i + 0.5) * count / frames) for i in range(frames)]


def floor_pass(video: Path) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(video), "-map", "0:V:0",
                    "-f", "null", "-"], check=True)


def recipe(video: Path, targets: list[int], out: Path) -> None:
    for n in targets:
        subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(video),
                        "-vf", f"select='eq(n\\,{n})'", "-vframes", "1",
                        str(out / f"frame_{n}.jpg")], check=True)


def ours(video: Path, targets: list[int], out: Path):
    return extract_video(str(video), targets, Destination(str(out)), "bench", "video",
                         fmt="jpg")


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


SMALL = "scale=160:90:flags=area"


def small_gray(path: Path, select: str | None = None) -> list[bytes]:
    """Frames of a file as 160x90 gray planes (optionally only the selected ones)."""
    vf = f"select='{select}',{SMALL}" if select else SMALL
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-vf", vf,
                          "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    return [raw[i:i + 14400] for i in range(0, len(raw), 14400)]


def diff(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)


def identified(images: dict[int, Path], video: Path, count: int) -> int:
    """How many images are nearer to a reference decode of their own frame than to the
    frames before and after it."""
    wanted = sorted({m for n in images for m in (n - 1, n, n + 1) if 0 <= m < count})
    expr = select_expr(wanted).replace(",", "\\,")
    ref = dict(zip(wanted, small_gray(video, expr)))
    hits = 0
    for n, path in images.items():
        image = small_gray(path)[0]
        own = diff(image, ref[n])
        others = [diff(image, ref[m]) for m in (n - 1, n + 1) if m in ref]
        hits += own < min(others)
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--video", type=Path)
    args = parser.parse_args()

    video = args.video or HERE / ".cache" / "bench_720p_60s.mp4"
    if not video.exists():
        video.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {video} ...", flush=True)
        make_bench_video(video)
    info = probe(str(video))
    targets = spread(info.frame_count, args.frames)
    print(f"video: {video.name} {info.width}x{info.height}, {info.frame_count} frames, "
          f"{len(info.keyframes)} keyframes, prober={info.prober}; {len(targets)} targets")

    times: dict[str, list[float]] = {"floor": [], "recipe": [], "ours": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            rec_dir, our_dir = Path(tmp, f"recipe{r}"), Path(tmp, f"ours{r}")
            rec_dir.mkdir()
            times["floor"].append(timed(floor_pass, video))
            times["recipe"].append(timed(recipe, video, targets, rec_dir))
            times["ours"].append(timed(ours, video, targets, our_dir))
            print("  run %d: floor %.2fs  recipe %.2fs  ours %.2fs" % (
                r + 1, times["floor"][-1], times["recipe"][-1], times["ours"][-1]), flush=True)
        # the right frames? each image against a reference decode of frames n-1, n, n+1
        ours_ok = identified({n: Path(tmp, "ours0", "bench", "video", f"{n:06d}.jpg")
                              for n in targets}, video, info.frame_count)
        recipe_ok = identified({n: Path(tmp, "recipe0", f"frame_{n}.jpg") for n in targets},
                               video, info.frame_count)

    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"median of {args.repeat}: floor {med['floor']:.2f}s  recipe {med['recipe']:.2f}s  "
          f"ours {med['ours']:.2f}s")
    print(f"speedup vs per-frame recipe: {med['recipe'] / med['ours']:.1f}x   (target >= 15x)")
    print(f"ours / decode-only floor:    {med['ours'] / med['floor']:.2f}x  (target <= 1.5x)")
    print(f"frame identity (nearest to the reference decode of frame n, not n-1 or n+1): "
          f"ours {ours_ok}/{len(targets)}, recipe {recipe_ok}/{len(targets)}")


if __name__ == "__main__":
    main()
