"""The sample ontology, built with the real Encord SDK.

Every feature node hash is fixed here (the SDK would otherwise mint random ones), so the
ontology, and every label row built against it, is the same on every run.

Objects (one per geometric shape the SDK can serialise):

    Car            bounding_box            Color (radio) -> Red -> Damage (nested checklist),
                                           Plate (text), Occlusion (numeric), Motion (DYNAMIC radio)
    Bus            rotatable_bounding_box  Route (text)
    Road           polygon                 Surface (radio)
    Lane marking   polyline
    Traffic light  point                   State (DYNAMIC radio)
    Person         skeleton                (template "Person pose", five keypoints)
    Sky            bitmask
    Wheel          circle
    Sign           ellipse
    Lesion         polygon                 Malignancy (radio)      (for the DICOM sample)
    Organ          bitmask                                         (for the DICOM sample)

Classifications: Weather (radio, Rain -> Intensity nested radio), Scene tags (checklist),
Notes (text).
"""

from __future__ import annotations

from encord.objects import OntologyStructure, Shape
from encord.objects.attributes import ChecklistAttribute, NumericAttribute, RadioAttribute, TextAttribute
from encord.objects.skeleton_template import SkeletonTemplate, SkeletonTemplateCoordinate

# Feature node hashes: 8 characters, like the ones Encord mints.
CAR = "c4rB0x01"
CAR_COLOR = "c0l0rR4d"
CAR_COLOR_RED = "r3d0pt01"
CAR_COLOR_BLUE = "b1u0pt02"
CAR_COLOR_OTHER = "0th0pt03"
CAR_DAMAGE = "dmgChk01"
CAR_DAMAGE_SCRATCH = "scr4tch1"
CAR_DAMAGE_DENT = "d3nt0pt2"
CAR_PLATE = "pl4t3Tx1"
CAR_OCCLUSION = "0cc1Num1"
CAR_MOTION = "m0t10nD1"
CAR_MOTION_MOVING = "m0v1ng01"
CAR_MOTION_PARKED = "p4rk3d02"

BUS = "bu5Rbb01"
BUS_ROUTE = "r0ut3Tx1"

ROAD = "r04dPly1"
ROAD_SURFACE = "surf4c3R"
ROAD_SURFACE_ASPHALT = "a5ph4lt1"
ROAD_SURFACE_GRAVEL = "gr4v3l02"

LANE = "l4n3Pln1"

TRAFFIC_LIGHT = "tl1ghtP1"
TRAFFIC_LIGHT_STATE = "t1St4teD"
TRAFFIC_LIGHT_RED = "tlR3d001"
TRAFFIC_LIGHT_GREEN = "tlGr33n2"

PERSON = "p3rs0nSk"
SKY = "skyB1tm1"
WHEEL = "wh33lCi1"
SIGN = "s1gnE11p"
LESION = "l3s10nPg"
LESION_MALIGNANCY = "m4l1gR01"
LESION_BENIGN = "b3n1gn01"
LESION_MALIGNANT = "m4l1gn02"
ORGAN = "0rg4nBm1"

WEATHER = "w34thrC1"
WEATHER_ATTRIBUTE = "w34thrR1"
WEATHER_SUNNY = "sunny001"
WEATHER_RAIN = "r41n0p02"
WEATHER_FOG = "f0g0pt03"
WEATHER_INTENSITY = "1nt3ns1R"
WEATHER_INTENSITY_LIGHT = "l1ght001"
WEATHER_INTENSITY_HEAVY = "h34vy002"

SCENE_TAGS = "sc3n3C01"
SCENE_TAGS_ATTRIBUTE = "sc3n3Ch1"
SCENE_TAG_URBAN = "urb4n001"
SCENE_TAG_HIGHWAY = "h1ghw4y2"
SCENE_TAG_NIGHT = "n1ght003"

NOTES = "n0t3sC01"
NOTES_ATTRIBUTE = "n0t3sTx1"

SKELETON_KEYPOINTS = ("head", "left_hand", "right_hand", "left_foot", "right_foot")


def build_ontology() -> OntologyStructure:
    """The sample ontology: every shape, nested/dynamic attributes and three classifications."""
    ontology = OntologyStructure()
    _add_car(ontology)
    _add_bus(ontology)
    _add_road(ontology)
    ontology.add_object("Lane marking", Shape.POLYLINE, uid=4, color="#FCDC00", feature_node_hash=LANE)
    _add_traffic_light(ontology)
    ontology.add_skeleton_object("Person", person_skeleton_template(), color="#68BC00", feature_node_hash=PERSON)
    ontology.add_object("Sky", Shape.BITMASK, uid=7, color="#009CE0", feature_node_hash=SKY)
    ontology.add_object("Wheel", Shape.CIRCLE, uid=8, color="#7B64FF", feature_node_hash=WHEEL)
    ontology.add_object("Sign", Shape.ELLIPSE, uid=9, color="#FA28FF", feature_node_hash=SIGN)
    _add_lesion(ontology)
    ontology.add_object("Organ", Shape.BITMASK, uid=11, color="#AB149E", feature_node_hash=ORGAN)
    _add_weather(ontology)
    _add_scene_tags(ontology)
    _add_notes(ontology)
    return ontology


def _add_car(ontology: OntologyStructure) -> None:
    car = ontology.add_object("Car", Shape.BOUNDING_BOX, uid=1, color="#D33115", feature_node_hash=CAR)
    color = car.add_attribute(RadioAttribute, "Color", local_uid=1, feature_node_hash=CAR_COLOR)
    red = color.add_option("Red", local_uid=1, feature_node_hash=CAR_COLOR_RED)
    color.add_option("Blue", local_uid=2, feature_node_hash=CAR_COLOR_BLUE)
    color.add_option("Other", local_uid=3, feature_node_hash=CAR_COLOR_OTHER)
    damage = red.add_nested_attribute(ChecklistAttribute, "Damage", local_uid=1, feature_node_hash=CAR_DAMAGE)
    damage.add_option("Scratch", local_uid=1, feature_node_hash=CAR_DAMAGE_SCRATCH)
    damage.add_option("Dent", local_uid=2, feature_node_hash=CAR_DAMAGE_DENT)
    car.add_attribute(TextAttribute, "Plate", local_uid=2, feature_node_hash=CAR_PLATE)
    car.add_attribute(NumericAttribute, "Occlusion", local_uid=3, feature_node_hash=CAR_OCCLUSION)
    motion = car.add_attribute(RadioAttribute, "Motion", local_uid=4, feature_node_hash=CAR_MOTION, dynamic=True)
    motion.add_option("Moving", local_uid=1, feature_node_hash=CAR_MOTION_MOVING)
    motion.add_option("Parked", local_uid=2, feature_node_hash=CAR_MOTION_PARKED)


def _add_bus(ontology: OntologyStructure) -> None:
    bus = ontology.add_object("Bus", Shape.ROTATABLE_BOUNDING_BOX, uid=2, color="#E27300", feature_node_hash=BUS)
    bus.add_attribute(TextAttribute, "Route", local_uid=1, feature_node_hash=BUS_ROUTE)


def _add_road(ontology: OntologyStructure) -> None:
    road = ontology.add_object("Road", Shape.POLYGON, uid=3, color="#16406C", feature_node_hash=ROAD)
    surface = road.add_attribute(RadioAttribute, "Surface", local_uid=1, feature_node_hash=ROAD_SURFACE)
    surface.add_option("Asphalt", local_uid=1, feature_node_hash=ROAD_SURFACE_ASPHALT)
    surface.add_option("Gravel", local_uid=2, feature_node_hash=ROAD_SURFACE_GRAVEL)


def _add_traffic_light(ontology: OntologyStructure) -> None:
    light = ontology.add_object("Traffic light", Shape.POINT, uid=5, color="#FE9200", feature_node_hash=TRAFFIC_LIGHT)
    state = light.add_attribute(
        RadioAttribute, "State", local_uid=1, feature_node_hash=TRAFFIC_LIGHT_STATE, dynamic=True
    )
    state.add_option("Red", local_uid=1, feature_node_hash=TRAFFIC_LIGHT_RED)
    state.add_option("Green", local_uid=2, feature_node_hash=TRAFFIC_LIGHT_GREEN)


def _add_lesion(ontology: OntologyStructure) -> None:
    lesion = ontology.add_object("Lesion", Shape.POLYGON, uid=10, color="#B0BC00", feature_node_hash=LESION)
    malignancy = lesion.add_attribute(RadioAttribute, "Malignancy", local_uid=1, feature_node_hash=LESION_MALIGNANCY)
    malignancy.add_option("Benign", local_uid=1, feature_node_hash=LESION_BENIGN)
    malignancy.add_option("Malignant", local_uid=2, feature_node_hash=LESION_MALIGNANT)


def person_skeleton_template() -> SkeletonTemplate:
    """A five-keypoint stick figure; keypoint feature hashes are fixed like everything else."""
    positions = [(0.5, 0.1), (0.2, 0.45), (0.8, 0.45), (0.35, 0.95), (0.65, 0.95)]
    skeleton = {
        str(index): SkeletonTemplateCoordinate(
            x=x, y=y, name=name, color="#00FF00", value=name, feature_hash=f"kp{index:02d}{name[:4]}"
        )
        for index, (name, (x, y)) in enumerate(zip(SKELETON_KEYPOINTS, positions))
    }
    edges = {"0": {"1": {"color": "#00FF00"}, "2": {"color": "#00FF00"}, "3": {"color": "#00FF00"}}}
    return SkeletonTemplate(name="Person pose", width=0.3, height=0.6, skeleton=skeleton, skeleton_edges=edges)


def _add_weather(ontology: OntologyStructure) -> None:
    weather = ontology.add_classification(uid=1, feature_node_hash=WEATHER)
    radio = weather.add_attribute(RadioAttribute, "Weather", local_uid=1, feature_node_hash=WEATHER_ATTRIBUTE)
    radio.add_option("Sunny", local_uid=1, feature_node_hash=WEATHER_SUNNY)
    rain = radio.add_option("Rain", local_uid=2, feature_node_hash=WEATHER_RAIN)
    radio.add_option("Fog", local_uid=3, feature_node_hash=WEATHER_FOG)
    intensity = rain.add_nested_attribute(
        RadioAttribute, "Intensity", local_uid=1, feature_node_hash=WEATHER_INTENSITY
    )
    intensity.add_option("Light", local_uid=1, feature_node_hash=WEATHER_INTENSITY_LIGHT)
    intensity.add_option("Heavy", local_uid=2, feature_node_hash=WEATHER_INTENSITY_HEAVY)


def _add_scene_tags(ontology: OntologyStructure) -> None:
    tags = ontology.add_classification(uid=2, feature_node_hash=SCENE_TAGS)
    checklist = tags.add_attribute(
        ChecklistAttribute, "Scene tags", local_uid=1, feature_node_hash=SCENE_TAGS_ATTRIBUTE
    )
    checklist.add_option("Urban", local_uid=1, feature_node_hash=SCENE_TAG_URBAN)
    checklist.add_option("Highway", local_uid=2, feature_node_hash=SCENE_TAG_HIGHWAY)
    checklist.add_option("Night", local_uid=3, feature_node_hash=SCENE_TAG_NIGHT)


def _add_notes(ontology: OntologyStructure) -> None:
    notes = ontology.add_classification(uid=3, feature_node_hash=NOTES)
    notes.add_attribute(TextAttribute, "Notes", local_uid=1, feature_node_hash=NOTES_ATTRIBUTE)
