"""Coordinates for the sample labels, built from the SDK's coordinate classes.

Everything is in Encord's normalised 0..1 image fractions and rounded to 4 decimals, so the
JSON stays short and free of float noise. A "track" runs from ``start`` to ``end`` (inclusive
frames); ``progress`` is how far along it a frame is (0.0 at ``start``, 1.0 at ``end``).
"""

from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple

from encord.objects.bitmask import BitmaskCoordinates
from encord.objects.coordinates import (
    BoundingBoxCoordinates,
    CircleCoordinates,
    EllipseCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    PolylineCoordinates,
    RotatableBoundingBoxCoordinates,
    SkeletonCoordinate,
    SkeletonCoordinates,
)
from encord.objects.skeleton_template import SkeletonTemplate

Point = Tuple[float, float]


def r4(value: float) -> float:
    return round(value, 4)


def progress(frame: int, start: int, end: int) -> float:
    return 0.0 if end <= start else (frame - start) / (end - start)


def lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def moving_box(t: float, *, x0: float, x1: float, y: float, w: float, h: float) -> BoundingBoxCoordinates:
    """A box sliding horizontally from x0 to x1 as t goes 0 -> 1, growing slightly."""
    grow = 1.0 + 0.2 * t
    return BoundingBoxCoordinates(
        top_left_x=r4(lerp(x0, x1, t)), top_left_y=r4(y), width=r4(w * grow), height=r4(h * grow)
    )


def turning_box(
    t: float, *, x: float, y: float, w: float, h: float, turn_degrees: float
) -> RotatableBoundingBoxCoordinates:
    """A rotatable box drifting down-right while its angle (degrees) goes 0 -> turn_degrees."""
    return RotatableBoundingBoxCoordinates(
        top_left_x=r4(x + 0.1 * t), top_left_y=r4(y + 0.05 * t), width=r4(w), height=r4(h),
        theta=r4(turn_degrees * t),
    )


def ring(points: Sequence[Point]) -> List[PointCoordinate]:
    return [PointCoordinate(x=r4(x), y=r4(y)) for x, y in points]


def road_polygon(t: float, *, with_hole: bool = False) -> PolygonCoordinates:
    """A trapezoid road widening with t; optionally with a traffic island cut out (second ring)."""
    spread = 0.1 * t
    outer = ring([(0.3 - spread, 1.0), (0.45, 0.55), (0.55, 0.55), (0.7 + spread, 1.0)])
    if not with_hole:
        return PolygonCoordinates(values=outer)
    island = ring([(0.48, 0.8), (0.52, 0.8), (0.52, 0.9), (0.48, 0.9)])
    return PolygonCoordinates(polygons=[[outer, island]])


def two_part_polygon() -> PolygonCoordinates:
    """A multi-polygon: two separate patches (two polygons, one ring each)."""
    left = ring([(0.05, 0.6), (0.2, 0.6), (0.2, 0.7), (0.05, 0.7)])
    right = ring([(0.8, 0.6), (0.95, 0.6), (0.95, 0.72)])
    return PolygonCoordinates(polygons=[[left], [right]])


def lane_polyline(t: float, *, vertices: int = 4) -> PolylineCoordinates:
    """A lane marking from the bottom edge towards the horizon, swaying sideways with t."""
    sway = 0.05 * math.sin(2 * math.pi * t)
    points = [(0.4 + sway * i / vertices + 0.03 * i, 1.0 - 0.12 * i) for i in range(vertices)]
    return PolylineCoordinates(values=ring(points))


def light_point(t: float, *, x: float = 0.62, y: float = 0.18) -> PointCoordinate:
    """A traffic light drifting towards the viewer (up and right) as the camera approaches."""
    return PointCoordinate(x=r4(x + 0.08 * t), y=r4(y - 0.04 * t))


def wheel_circle(t: float) -> CircleCoordinates:
    return CircleCoordinates(center_x=r4(0.2 + 0.3 * t), center_y=0.75, radius=r4(0.03 + 0.01 * t))


def sign_ellipse(t: float) -> EllipseCoordinates:
    return EllipseCoordinates(center_x=0.85, center_y=r4(0.3 - 0.05 * t), rx=0.04, ry=0.06, theta=r4(10.0 * t))


def pose(template: SkeletonTemplate, t: float, *, x: float, y: float, scale: float = 0.3) -> SkeletonCoordinates:
    """The template's keypoints placed at (x, y) with the hands waving as t advances."""
    keypoints = []
    for key, vertex in sorted(template.skeleton.items(), key=lambda item: int(item[0])):
        wave = 0.05 * math.sin(2 * math.pi * t) if "hand" in vertex.name else 0.0
        keypoints.append(
            SkeletonCoordinate(
                x=r4(x + vertex.x * scale), y=r4(y + (vertex.y + wave) * scale), name=vertex.name,
                color=vertex.color, feature_hash=vertex.feature_hash, value=vertex.value,
            )
        )
    return template.create_instance(keypoints)


class BooleanMask:
    """A row-major boolean image (width x height) that speaks the NumPy array interface,
    so BitmaskCoordinates can encode it without NumPy being installed."""

    def __init__(self, width: int, height: int, pixels: bytes):
        self.width, self.height, self._pixels = width, height, pixels

    @property
    def __array_interface__(self) -> Dict[str, object]:
        return {"version": 3, "shape": (self.height, self.width), "typestr": "|b1", "data": self._pixels}

    def tobytes(self) -> bytes:
        return self._pixels


def rectangle_mask(width: int, height: int, box: Tuple[float, float, float, float]) -> BitmaskCoordinates:
    """A full-image bitmask with the pixels inside box = (x, y, w, h) (fractions) set."""
    left, top = int(box[0] * width), int(box[1] * height)
    right, bottom = int((box[0] + box[2]) * width), int((box[1] + box[3]) * height)
    line = bytes(left) + b"\x01" * (right - left) + bytes(width - right)
    pixels = bytes(width * top) + line * (bottom - top) + bytes(width * (height - bottom))
    return BitmaskCoordinates(BooleanMask(width, height, pixels))

