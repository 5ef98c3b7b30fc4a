"""The sample video label row: tracked objects with moving geometry, dynamic answers over frame
ranges, static (and nested) answers and frame-range classifications.

Every frame span is a fraction of the video length, so any ``number_of_frames`` >= 50 works;
``video_spans(n)`` says which inclusive frame ranges each track and answer covers. Tracks are
named by key (``VIDEO_TRACKS``); ``omit`` leaves some out, e.g. for an annotator who missed them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Collection, Dict, List, Optional, Tuple

from encord.objects import LabelRowV2, OntologyStructure

from examples import sdk_ontology as ont
from examples.sdk_geometry import (
    lane_polyline, light_point, moving_box, pose, rectangle_mask, road_polygon, sign_ellipse, turning_box,
    wheel_circle,
)
from examples.sdk_ontology import build_ontology
from examples.sdk_rows import MEDIA_ROOT, Labeller, Media, empty_label_row, row_identity

Spans = Dict[str, List[Tuple[int, int]]]


def video_media(data_hash: str, title: str, *, number_of_frames: int, fps: float,
                width: int, height: int) -> Media:
    duration = round(number_of_frames / fps, 3)
    link = f"{MEDIA_ROOT}/{title}"
    unit = {"data_hash": data_hash, "data_title": title, "data_link": link, "data_type": "video/mp4",
            "data_sequence": 0, "width": width, "height": height, "labels": {},
            "data_duration": duration, "data_fps": fps}
    return Media("video", number_of_frames, {data_hash: unit}, file_type="video/mp4", data_link=link,
                 width=width, height=height, fps=fps, duration=duration)


def video_spans(number_of_frames: int) -> Spans:
    """The inclusive frame ranges each track / answer / classification covers."""
    def at(fraction: float) -> int:
        return round(fraction * (number_of_frames - 1))

    last = number_of_frames - 1
    return {
        "car_a": [(0, at(0.48))],
        "car_a_moving": [(0, at(0.24))],
        "car_a_parked": [(at(0.24) + 1, at(0.48))],
        "car_b": [(at(0.40), at(0.60)), (at(0.68), at(0.80))],
        "bus": [(at(0.20), at(0.60))],
        "road": [(0, at(0.12))],
        "lane": [(0, at(0.20))],
        "light": [(at(0.10), at(0.40))],
        "light_red": [(at(0.10), at(0.25))],
        "light_green": [(at(0.25) + 1, at(0.40))],
        "person": [(at(0.08), at(0.24))],
        "wheel": [(at(0.04), at(0.12))],
        "sign": [(at(0.12), at(0.20))],
        "sky": [(0, 2)],
        "weather_sunny": [(0, at(0.40))],
        "weather_rain": [(at(0.60), last)],
        "scene_tags": [(0, last)],
        "notes": [(at(0.04), at(0.08)), (at(0.50), at(0.52))],
    }


@dataclass
class VideoScene:
    """What a track builder needs: where to label, the spans, and this row's variations."""

    labeller: Labeller
    spans: Spans
    shift: float  # horizontal offset, different per row, so rows are not copies
    width: int
    height: int
    car_a_color: str

    def span(self, key: str) -> Tuple[int, int]:
        (start, end), = self.spans[key]
        return start, end


def video_row(
    seed: int = 0,
    *,
    ontology: Optional[OntologyStructure] = None,
    number_of_frames: int = 250,
    fps: float = 25.0,
    width: int = 1280,
    height: int = 720,
    branch_name: str = "main",
    annotator: Optional[str] = None,
    data_hash: Optional[str] = None,
    label_hash: Optional[str] = None,
    data_title: Optional[str] = None,
    omit: Collection[str] = (),
    car_a_color: str = ont.CAR_COLOR_RED,
) -> LabelRowV2:
    """A street video (default 1280x720, 25 fps, 250 frames) with every track in VIDEO_TRACKS
    except those in `omit`, and four classification instances."""
    ontology = ontology or build_ontology()
    ids = row_identity("video", seed, extension="mp4", branch_name=branch_name, annotator=annotator,
                       data_hash=data_hash, label_hash=label_hash, data_title=data_title)
    media = video_media(ids.data_hash, ids.data_title, number_of_frames=number_of_frames, fps=fps,
                        width=width, height=height)
    labeller = Labeller(row=empty_label_row(ontology, ids, media), ids=ids, ontology=ontology)
    scene = VideoScene(labeller, video_spans(number_of_frames), random.Random(ids.label_hash).uniform(-0.04, 0.04),
                       width, height, car_a_color)
    for key, add_track in VIDEO_TRACKS.items():
        if key not in omit:
            add_track(scene)
    _add_video_classifications(labeller, scene.spans)
    return labeller.row


def _add_car_a(scene: VideoScene) -> None:
    """A car driving then parking (dynamic Motion), with color, damage, plate and occlusion."""
    labeller, (start, end) = scene.labeller, scene.span("car_a")
    car = labeller.new_object(ont.CAR, "car_a")
    labeller.track(car, start, end, lambda t: moving_box(t, x0=0.05 + scene.shift, x1=0.6, y=0.55, w=0.15, h=0.12))
    labeller.answer(car, ont.CAR_COLOR, scene.car_a_color)
    if scene.car_a_color == ont.CAR_COLOR_RED:
        labeller.answer(car, ont.CAR_DAMAGE, [ont.CAR_DAMAGE_SCRATCH, ont.CAR_DAMAGE_DENT])
    labeller.answer(car, ont.CAR_PLATE, "KA-123-XY")
    labeller.answer(car, ont.CAR_OCCLUSION, 12.5)
    labeller.answer(car, ont.CAR_MOTION, ont.CAR_MOTION_MOVING, frames=scene.spans["car_a_moving"])
    labeller.answer(car, ont.CAR_MOTION, ont.CAR_MOTION_PARKED, frames=scene.spans["car_a_parked"])
    labeller.add(car)


def _add_car_b(scene: VideoScene) -> None:
    """A car seen on two separate frame ranges (it leaves the view and comes back)."""
    labeller = scene.labeller
    (start, end), (start2, end2) = scene.spans["car_b"]
    car = labeller.new_object(ont.CAR, "car_b")
    labeller.track(car, start, end, lambda t: moving_box(t, x0=0.8, x1=0.5 + scene.shift, y=0.6, w=0.12, h=0.1))
    labeller.track(car, start2, end2, lambda t: moving_box(t, x0=0.4, x1=0.2, y=0.62, w=0.14, h=0.11))
    labeller.answer(car, ont.CAR_COLOR, ont.CAR_COLOR_BLUE)
    labeller.answer(car, ont.CAR_OCCLUSION, 0)
    labeller.answer(car, ont.CAR_MOTION, ont.CAR_MOTION_MOVING, frames=[(start, end)])
    labeller.answer(car, ont.CAR_MOTION, ont.CAR_MOTION_PARKED, frames=[(start2, end2)])
    labeller.add(car)


def _add_bus(scene: VideoScene) -> None:
    bus = scene.labeller.new_object(ont.BUS, "bus")
    scene.labeller.track(bus, *scene.span("bus"),
                         lambda t: turning_box(t, x=0.3 + scene.shift, y=0.3, w=0.25, h=0.2, turn_degrees=30))
    scene.labeller.answer(bus, ont.BUS_ROUTE, "42 Downtown")
    scene.labeller.add(bus)


def _add_road(scene: VideoScene) -> None:
    """A polygon that gains a hole (a second ring) half-way through its track."""
    road = scene.labeller.new_object(ont.ROAD, "road")
    scene.labeller.track(road, *scene.span("road"), lambda t: road_polygon(t, with_hole=t >= 0.5))
    scene.labeller.answer(road, ont.ROAD_SURFACE, ont.ROAD_SURFACE_ASPHALT)
    scene.labeller.add(road)


def _add_lane(scene: VideoScene) -> None:
    lane = scene.labeller.new_object(ont.LANE, "lane")
    scene.labeller.track(lane, *scene.span("lane"), lane_polyline)
    scene.labeller.add(lane)


def _add_traffic_light(scene: VideoScene) -> None:
    labeller = scene.labeller
    light = labeller.new_object(ont.TRAFFIC_LIGHT, "light")
    labeller.track(light, *scene.span("light"), lambda t: light_point(t, x=0.62 + scene.shift))
    labeller.answer(light, ont.TRAFFIC_LIGHT_STATE, ont.TRAFFIC_LIGHT_RED, frames=scene.spans["light_red"])
    labeller.answer(light, ont.TRAFFIC_LIGHT_STATE, ont.TRAFFIC_LIGHT_GREEN, frames=scene.spans["light_green"])
    labeller.add(light)


def _add_person(scene: VideoScene) -> None:
    template = scene.labeller.ontology.skeleton_templates["Person pose"]
    person = scene.labeller.new_object(ont.PERSON, "person")
    scene.labeller.track(person, *scene.span("person"), lambda t: pose(template, t, x=0.1 + 0.2 * t, y=0.4))
    scene.labeller.add(person)


def _add_wheel(scene: VideoScene) -> None:
    wheel = scene.labeller.new_object(ont.WHEEL, "wheel")
    scene.labeller.track(wheel, *scene.span("wheel"), wheel_circle)
    scene.labeller.add(wheel)


def _add_sign(scene: VideoScene) -> None:
    sign = scene.labeller.new_object(ont.SIGN, "sign")
    scene.labeller.track(sign, *scene.span("sign"), sign_ellipse)
    scene.labeller.add(sign)


def _add_sky(scene: VideoScene) -> None:
    """A full-frame bitmask on the first three frames, growing by 1% of the height per frame."""
    sky = scene.labeller.new_object(ont.SKY, "sky")
    start, end = scene.span("sky")
    for frame in range(start, end + 1):
        mask = rectangle_mask(scene.width, scene.height, (0.0, 0.0, 1.0, 0.3 + 0.01 * frame))
        scene.labeller.place(sky, frame, mask)
    scene.labeller.add(sky)


VIDEO_TRACKS: Dict[str, Callable[[VideoScene], None]] = {
    "car_a": _add_car_a, "car_b": _add_car_b, "bus": _add_bus, "road": _add_road, "lane": _add_lane,
    "light": _add_traffic_light, "person": _add_person, "wheel": _add_wheel, "sign": _add_sign, "sky": _add_sky,
}


def _add_video_classifications(labeller: Labeller, spans: Spans) -> None:
    labeller.classify(ont.WEATHER, "weather_sunny", spans["weather_sunny"],
                      [(ont.WEATHER_ATTRIBUTE, ont.WEATHER_SUNNY)])
    labeller.classify(ont.WEATHER, "weather_rain", spans["weather_rain"],
                      [(ont.WEATHER_ATTRIBUTE, ont.WEATHER_RAIN),
                       (ont.WEATHER_INTENSITY, ont.WEATHER_INTENSITY_HEAVY)])
    labeller.classify(ont.SCENE_TAGS, "scene_tags", spans["scene_tags"],
                      [(ont.SCENE_TAGS_ATTRIBUTE, [ont.SCENE_TAG_URBAN, ont.SCENE_TAG_NIGHT])])
    labeller.classify(ont.NOTES, "notes", spans["notes"], [(ont.NOTES_ATTRIBUTE, "glare from low sun")])
