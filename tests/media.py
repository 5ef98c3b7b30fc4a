"""Test videos whose frames carry their own index, made with the ffmpeg binary.

Every frame of the small test videos shows its decoded index twice:
- the top half is INDEX_BITS vertical stripes, stripe b white when bit b of the index is set;
- the bottom half is a flat gray whose level steps by 2 per frame.

So any image of a frame can be read back to the index it came from (`read_index`), and an
extracted frame can be compared pixel by pixel with a reference decode of the same frame
(`reference_gray`). The stripes are drawn by `geq` from its frame counter N *before* any
timestamp rewriting, so the index is the position in the stream, also for variable frame rate.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from connector.frames.tools import ffmpeg_exe

WIDTH, HEIGHT = 160, 96
INDEX_BITS = 10
_STRIPE = WIDTH // INDEX_BITS

# lum(X, Y, N): stripes of the bits of N on top, a gray ramp below.
_PATTERN = (
    f"geq=lum='if(lt(Y,{HEIGHT // 2}),"
    f"255*mod(floor(N/pow(2,floor(X/{_STRIPE}))),2),"
    f"16+2*mod(N,110))'"
)


def _run(args: list[str]) -> bytes:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *args],
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode(errors="replace"))
    return proc.stdout


def make_video(path: Path, frames: int = 100, fps: int = 25, *, bframes: int = 3, gop: int = 12,
               vfr: bool = False, open_gop: bool = False, codec: str = "libx264") -> Path:
    """Write a WIDTHxHEIGHT video of `frames` frames showing their own index.

    bframes/gop shape the H.264 stream (B-frames reorder decode vs presentation order);
    vfr=True rewrites timestamps to irregular gaps (not a multiple of one frame duration).
    """
    filters = ["format=gray", _PATTERN]
    if vfr:
        # monotonic, irregular: base 40 ms, +13 ms wobble every third frame, +50 ms jump every tenth
        filters += ["settb=1/1000", "setpts='(N*0.04+mod(N,3)*0.013+floor(N/10)*0.05)/TB'"]
    filters.append("format=yuv420p")
    args = ["-f", "lavfi", "-i", f"color=c=gray:s={WIDTH}x{HEIGHT}:r={fps}",
            "-frames:v", str(frames), "-vf", ",".join(filters)]
    if vfr:
        args += ["-fps_mode", "passthrough", "-enc_time_base", "1/1000"]
    if codec == "libx264":
        params = f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}"
        if open_gop:
            params += ":open-gop=1"
        args += ["-c:v", "libx264", "-preset", "veryfast", "-x264-params", params]
    else:
        args += ["-c:v", codec, "-g", str(gop), "-q:v", "2"]
    _run([*args, str(path)])
    return path


def make_bench_video(path: Path, seconds: int = 60, size: str = "1280x720", fps: int = 30) -> Path:
    """A plain H.264 clip for bench/: testsrc2 through libx264 with its default settings."""
    _run(["-f", "lavfi", "-i", f"testsrc2=s={size}:r={fps}:d={seconds}",
          "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)])
    return path


def decode_gray(image_or_video: str | Path, width: int = WIDTH, height: int = HEIGHT) -> list[bytes]:
    """Every frame of a file (video or single image) as 8-bit gray planes, in decoded order."""
    raw = _run(["-i", str(image_or_video), "-map", "0:V:0", "-fps_mode", "passthrough",
                "-f", "rawvideo", "-pix_fmt", "gray", "-"])
    size = width * height
    return [raw[i:i + size] for i in range(0, len(raw), size)]


def read_index(gray: bytes, width: int = WIDTH) -> int:
    """The index drawn into a frame (see module docstring)."""
    row = HEIGHT // 4
    value = 0
    for bit in range(INDEX_BITS):
        x = bit * _STRIPE + _STRIPE // 2
        if gray[row * width + x] > 128:
            value |= 1 << bit
    return value


def mean_abs_diff(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)
