"""Ontology (`OntologyStructure.to_dict()` shape) -> ontology table rows and a lookup index.

Pure: no I/O. The index tells the label-row normalizer what the JSON alone cannot:
an attribute's type and the option it is nested under.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterator

import orjson

ONTOLOGY_COLUMNS = {
    "ontology_objects": ("project_hash", "feature_hash", "uid", "name", "color", "shape", "required", "archived"),
    "ontology_classifications": (
        "project_hash", "feature_hash", "uid", "name", "attribute_feature_hash", "required", "archived",
    ),
    "ontology_attributes": (
        "project_hash", "feature_hash", "uid", "name", "type", "owner_feature_hash",
        "parent_attribute_hash", "parent_option_hash", "dynamic", "required", "archived",
    ),
    "ontology_options": ("project_hash", "feature_hash", "uid", "label", "value", "attribute_feature_hash", "archived"),
}


class OntologyError(ValueError):
    """The ontology file is not an OntologyStructure dict."""


@dataclass(frozen=True)
class AttributeInfo:
    type: str | None
    parent_attribute_hash: str | None
    parent_option_hash: str | None


@dataclass
class OntologyIndex:
    attributes: dict[str, AttributeInfo] = field(default_factory=dict)
    object_uids: dict[str, int] = field(default_factory=dict)
    # feature hash -> the ontology's name of an object, classification, attribute or option (label): rows
    # keep the name a feature had when they were saved, the ontology has its name now
    names: dict[str, str] = field(default_factory=dict)
    fingerprint: str | None = None  # changes when the ontology does, so rows are re-derived

    def normalizes_as(self, other: OntologyIndex) -> bool:
        """Whether label rows normalize the same with either (their fingerprints may differ: fields not stored)."""
        return (self.attributes, self.object_uids, self.names) == (other.attributes, other.object_uids, other.names)

    def attribute(self, feature_hash: str) -> AttributeInfo | None:
        return self.attributes.get(feature_hash)

    def name(self, feature_hash: Any, saved_name: Any) -> Any:
        """The ontology's name for the feature, else the name the label row saved with it."""
        known = self.names.get(feature_hash) if isinstance(feature_hash, str) else None
        return known or saved_name


@dataclass(frozen=True)
class _Nesting:
    owner: str
    parent_attribute: str | None = None
    parent_option: str | None = None


def check_ontology(ontology: Any) -> None:
    """Raises OntologyError unless `ontology` looks like an OntologyStructure dict (a label row does not)."""
    lists = ("objects", "classifications")
    if (not isinstance(ontology, dict) or not any(key in ontology for key in lists)
            or not all(isinstance(ontology.get(key, []), list) for key in lists)):
        raise OntologyError("expected an object with 'objects' and 'classifications' lists (OntologyStructure.to_dict())")
    for key in lists:
        _check_nodes(ontology.get(key, []), key)
    try:
        orjson.dumps(ontology)  # as its fingerprint is made (build_index)
    except orjson.JSONEncodeError as error:
        raise OntologyError(f"cannot be written as JSON: {error}") from None


def _check_nodes(nodes: list, where: str) -> None:
    """Every node an object, and the lists the walks read (attributes; options, whose `options` are nested
    attributes) lists: a hand-written ontology with a number among them failed in a traceback."""
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            raise OntologyError(f"{where}[{index}] is {type(node).__name__}, not an object")
        for key in ("attributes", "options"):
            below = node.get(key)
            if below is None:
                continue
            if not isinstance(below, list):
                raise OntologyError(f"{where}[{index}].{key} is {type(below).__name__}, not a list")
            _check_nodes(below, f"{where}[{index}].{key}")


def normalize_ontology(ontology: dict[str, Any], project_hash: str) -> dict[str, list[tuple]]:
    """Rows for the four ontology tables."""
    check_ontology(ontology)
    tables: dict[str, list[tuple]] = {name: [] for name in ONTOLOGY_COLUMNS}
    for obj in ontology.get("objects", []):
        tables["ontology_objects"].append((
            project_hash, _required(obj, "featureNodeHash"), _int_or_none(obj.get("id")), obj.get("name"),
            obj.get("color"), obj.get("shape"), obj.get("required"), obj.get("archived"),
        ))
    for classification in ontology.get("classifications", []):
        first = (classification.get("attributes") or [{}])[0]
        tables["ontology_classifications"].append((
            project_hash, _required(classification, "featureNodeHash"), _int_or_none(classification.get("id")),
            first.get("name"), first.get("featureNodeHash"), classification.get("required", first.get("required")),
            classification.get("archived"),
        ))
    for attribute, nesting in _walk_attributes(ontology):
        tables["ontology_attributes"].append((
            project_hash, _required(attribute, "featureNodeHash"), _text_or_none(attribute.get("id")), attribute.get("name"),
            attribute.get("type"), nesting.owner, nesting.parent_attribute, nesting.parent_option,
            attribute.get("dynamic"), attribute.get("required"), attribute.get("archived"),
        ))
        for option in attribute.get("options") or []:
            tables["ontology_options"].append((
                project_hash, _required(option, "featureNodeHash"), _text_or_none(option.get("id")), option.get("label"),
                option.get("value"), attribute["featureNodeHash"], option.get("archived"),
            ))
    return tables


def build_index(ontology: dict[str, Any] | None) -> OntologyIndex:
    if not ontology:
        return OntologyIndex()
    fingerprint = hashlib.sha256(orjson.dumps(ontology, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return index_from_tables(normalize_ontology(ontology, ""), fingerprint)


def index_from_tables(tables: dict[str, list[tuple]], fingerprint: str | None = None) -> OntologyIndex:
    """The index from rows of the four ontology tables (ONTOLOGY_COLUMNS order): a sync's, from the
    ontology it read, and rebuild's, from the warehouse."""
    def rows(table: str) -> Iterator[dict[str, Any]]:
        return (dict(zip(ONTOLOGY_COLUMNS[table], row)) for row in tables[table])

    index = OntologyIndex(fingerprint=fingerprint)
    for obj in rows("ontology_objects"):
        if obj["uid"] is not None:
            index.object_uids[obj["feature_hash"]] = obj["uid"]
    for attribute in rows("ontology_attributes"):
        index.attributes[attribute["feature_hash"]] = AttributeInfo(
            attribute["type"], attribute["parent_attribute_hash"], attribute["parent_option_hash"]
        )
    # a classification is named by its top-level attribute, as in label rows
    for table, name in (("ontology_objects", "name"), ("ontology_classifications", "name"),
                        ("ontology_attributes", "name"), ("ontology_options", "label")):
        for row in rows(table):
            if isinstance(row["feature_hash"], str) and isinstance(row[name], str):
                index.names[row["feature_hash"]] = row[name]
    return index


def _walk_attributes(ontology: dict[str, Any]) -> Iterator[tuple[dict, _Nesting]]:
    owners = [*ontology.get("objects", []), *ontology.get("classifications", [])]
    for owner in owners:
        for attribute in owner.get("attributes") or []:
            yield from _walk_attribute(attribute, _Nesting(owner.get("featureNodeHash")))


def _walk_attribute(attribute: dict, nesting: _Nesting) -> Iterator[tuple[dict, _Nesting]]:
    yield attribute, nesting
    for option in attribute.get("options") or []:
        for child in option.get("options") or []:
            yield from _walk_attribute(
                child, _Nesting(nesting.owner, attribute.get("featureNodeHash"), option.get("featureNodeHash"))
            )


def _required(node: dict, key: str) -> Any:
    if key not in node:
        raise OntologyError(f"ontology node {node.get('id', '?')} has no {key!r}")
    return node[key]


def _text_or_none(value: Any) -> str | None:
    """An attribute's or option's id ("1.2" as the SDK writes it; a hand-written ontology may give 7)."""
    return None if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
