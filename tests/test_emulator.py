"""The Encord API emulator, driven by the real ``encord`` SDK over loopback HTTP."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from encord.exceptions import (
    AuthenticationError,
    AuthorisationError,
    InvalidArgumentsError,
    PayloadTooLargeError,
    RateLimitExceededError,
    RequestException,
    ResourceNotFoundError,
    UnknownException,
)
from encord.objects.ontology_structure import OntologyStructure
from encord.orm.label_row import AnnotationTaskStatus

from tests.encord_emulator import EncordEmulator, add_sample_project, clone_row, generate_ssh_key, load_sample
from tests.encord_emulator.fixtures import encord_client, encord_emulator, encord_key  # noqa: F401
from tests.encord_emulator.keys import AuthFailure, verify_v1, verify_v2

VIDEO = load_sample("label_row_video")
IMAGE = load_sample("label_row_image")
ONTOLOGY = load_sample("ontology")


@pytest.fixture
def street(encord_emulator):
    """A workflow project with the sample ontology, the video and image rows as edited at 12:00:00
    and 12:00:01, and one data unit without labels."""
    emu = encord_emulator
    hashes = add_sample_project(emu, title="Street scenes QA")
    project = hashes["project"]
    assert (hashes["video"], hashes["image"]) == (VIDEO["label_hash"], IMAGE["label_hash"])
    unlabelled = clone_row(IMAGE, data_title="crossing_0099.jpg")
    emu.add_data_unit(project, unlabelled)
    return project, unlabelled["data_hash"]


def by_title(rows):
    return {r.data_title: r for r in rows}


def test_get_project_title_and_ontology(encord_emulator, encord_client, street):
    project = encord_client.get_project(street[0])
    assert project.title == "Street scenes QA"
    assert project.project_type.value == "workflow"
    assert [s.title for s in project.workflow.stages] == ["Annotate 1", "Review 1", "Complete"]
    assert project.ontology_structure.to_dict() == OntologyStructure.from_dict(ONTOLOGY).to_dict()
    assert [o.name for o in project.ontology_structure.objects] == [o["name"] for o in ONTOLOGY["objects"]]
    # get_project is two signed v2 GETs, and nothing else
    assert [e.path.split("/")[3] for e in encord_emulator.log] == ["projects", "ontologies"]
    assert all(e.ok and e.public_key_hex for e in encord_emulator.log)


def test_set_ontology_is_seen_by_a_new_project_handle(encord_emulator, encord_client, street):
    changed = json.loads(json.dumps(ONTOLOGY))
    changed["objects"][0]["name"] = "Vehicle"
    encord_emulator.set_ontology(street[0], changed)
    project = encord_client.get_project(street[0])
    assert project.ontology_structure.objects[0].name == "Vehicle"


@pytest.mark.parametrize("sample", ["video", "image"])
def test_metadata_items_look_like_the_samples(encord_emulator, encord_client, sample):
    emu = encord_emulator
    expected = load_sample(f"label_row_metadata_{sample}")
    project = emu.add_project(ontology=ONTOLOGY)
    overrides = {k: expected[k] for k in ("task_uuid", "priority", "backing_item_uuid")}
    emu.put_row(project, load_sample(f"label_row_{sample}"), keep_timestamps=True, meta=overrides)
    rows = encord_client.get_project(project).list_label_rows_v2()
    assert emu.log.last_listing() == [expected]
    assert rows[0].data_type.value.upper() == expected["data_type"]
    assert rows[0].number_of_frames == expected["number_of_frames"]
    assert rows[0].last_edited_at == datetime.fromisoformat(expected["last_edited_at"]).replace(tzinfo=timezone.utc)


def test_uninitialised_data_unit_is_listed_without_label_hash(encord_client, street):
    rows = by_title(encord_client.get_project(street[0]).list_label_rows_v2())
    assert set(rows) == {"street_0001.mp4", "crossing_0042.jpg", "crossing_0099.jpg"}
    empty = rows["crossing_0099.jpg"]
    assert empty.label_hash is None and empty.data_hash == street[1]
    assert empty.branch_name == "main" and empty.last_edited_at is None
    assert rows["street_0001.mp4"].label_hash == VIDEO["label_hash"]


def test_edited_after_and_before(encord_emulator, encord_client, street):
    emu, (project_hash, _) = encord_emulator, street
    project = encord_client.get_project(project_hash)
    # put_row stamped the video 12:00:00 and the image 12:00:01 (the clock steps 1 s per write)
    assert emu.row(VIDEO["label_hash"])["last_edited_at"] == "Mon, 10 Mar 2025 12:00:00 UTC"
    assert emu.row(IMAGE["label_hash"])["last_edited_at"] == "Mon, 10 Mar 2025 12:00:01 UTC"

    after = project.list_label_rows_v2(edited_after=datetime(2025, 3, 10, 12, 0, 1))
    assert [r.data_title for r in after] == ["crossing_0042.jpg"]
    assert emu.log.listings()[-1].payload["edited_after"] == "2025-03-10T12:00:01"  # naive isoformat, read as UTC
    before = project.list_label_rows_v2(edited_before="2025-03-10 12:00:00")
    assert [r.data_title for r in before] == ["street_0001.mp4"]
    assert emu.log.listings()[-1].payload["edited_before"] == "2025-03-10T12:00:00+00:00"
    aware = datetime(2025, 3, 10, 13, 0, 0, 500000, tzinfo=timezone(timedelta(hours=1)))
    assert [r.data_title for r in project.list_label_rows_v2(edited_after=aware)] == ["crossing_0042.jpg"]

    emu.clock.set("2025-04-01T08:00:00Z")
    emu.put_row(project_hash, VIDEO)  # an edit: same label hash, new last_edited_at, created_at kept
    edited = project.list_label_rows_v2(edited_after="2025-04-01T08:00:00Z")
    assert [(r.label_hash, r.last_edited_at) for r in edited] == [
        (VIDEO["label_hash"], datetime(2025, 4, 1, 8, tzinfo=timezone.utc))]
    assert emu.row(VIDEO["label_hash"])["created_at"] == "Mon, 10 Mar 2025 12:00:00 UTC"
    assert project.list_label_rows_v2(edited_after="2025-04-01T08:00:01Z") == []


def test_exclusive_time_bounds_option(encord_key):
    with EncordEmulator(edited_bounds_inclusive=False) as emu:
        emu.add_key(encord_key)
        project_hash = emu.add_project(ontology=ONTOLOGY)
        emu.put_row(project_hash, VIDEO, last_edited_at="2025-03-10T12:00:00Z")
        project = emu.client(encord_key).get_project(project_hash)
        assert project.list_label_rows_v2(edited_after="2025-03-10T12:00:00Z") == []
        assert len(project.list_label_rows_v2(edited_after="2025-03-10T11:59:59Z")) == 1


def test_branches(encord_emulator, encord_client, street):
    emu, (project_hash, _) = encord_emulator, street
    alice = emu.add_branch_row(project_hash, VIDEO, "encord-alice-1234")
    project = encord_client.get_project(project_hash)

    main = project.list_label_rows_v2()
    assert {r.branch_name for r in main} == {"main"} and alice not in {r.label_hash for r in main}

    on_alice = by_title(project.list_label_rows_v2(branch_name="encord-alice-1234"))
    assert on_alice["street_0001.mp4"].label_hash == alice
    # data units without a row on that branch are listed uninitialised on it
    assert on_alice["crossing_0042.jpg"].label_hash is None
    assert on_alice["crossing_0042.jpg"].branch_name == "encord-alice-1234"

    every = project.list_label_rows_v2(include_all_label_branches=True)
    assert sorted((r.data_title, r.branch_name, r.label_hash is None) for r in every) == [
        ("crossing_0042.jpg", "main", False),
        ("crossing_0099.jpg", "main", True),
        ("street_0001.mp4", "encord-alice-1234", False),
        ("street_0001.mp4", "main", False),
    ]
    with pytest.raises(InvalidArgumentsError):
        project.list_label_rows_v2(include_all_label_branches=True, branch_name="main")


def test_title_status_and_stage_filters(encord_client, street):
    project = encord_client.get_project(street[0])
    assert [r.label_hash for r in project.list_label_rows_v2(data_title_eq="crossing_0042.jpg")] == [IMAGE["label_hash"]]
    assert project.list_label_rows_v2(data_title_eq="nope.jpg") == []
    assert {r.data_title for r in project.list_label_rows_v2(data_title_like="crossing_%")} == {
        "crossing_0042.jpg", "crossing_0099.jpg"}
    done = project.list_label_rows_v2(label_statuses=[AnnotationTaskStatus.COMPLETED])
    assert [r.data_title for r in done] == ["crossing_0042.jpg"]
    annotate = project.list_label_rows_v2(workflow_graph_node_title_eq="Annotate 1")
    assert {r.data_title for r in annotate} == {"street_0001.mp4", "crossing_0099.jpg"}


def _normalised(row):
    """Label content, ignoring what the SDK's round trip reorders or rewrites: the order of answer
    lists, track hashes, an answer's ``manualAnnotation`` (0.1.211 writes true for the sample's
    false "Pose" answer), and the answer-less frame-level classification entries (0.1.211 writes
    them empty and reads classification frames from ``range``)."""
    def answers(entries):
        dropped = ("trackHash", "manualAnnotation")
        return sorted(json.dumps({k: v for k, v in e.items() if k not in dropped}, sort_keys=True) for e in entries)

    units = {}
    for data_hash, unit in row["data_units"].items():
        labels = unit["labels"]
        frames = labels.items() if "objects" not in labels else [("-", labels)]
        units[data_hash] = {f: sorted(json.dumps(o, sort_keys=True) for o in v.get("objects", [])) for f, v in frames}
    return {
        "identity": [row[k] for k in ("label_hash", "data_hash", "branch_name", "last_edited_at", "data_title")],
        "units": units,
        "object_answers": {h: answers(a["classifications"]) for h, a in row["object_answers"].items()},
        "object_actions": {h: answers(a["actions"]) for h, a in row["object_actions"].items()},
        "classification_answers": {
            h: (a["featureHash"], a.get("range"), answers(a["classifications"]))
            for h, a in row["classification_answers"].items()},
    }


def test_bundle_initialise_gives_the_stored_rows(encord_emulator, encord_client, street):
    emu, (project_hash, _) = encord_emulator, street
    for i in range(5):
        emu.put_row(project_hash, clone_row(VIDEO, data_title=f"extra_{i}.mp4"))
    project = encord_client.get_project(project_hash)
    rows = [r for r in project.list_label_rows_v2() if r.label_hash is not None]
    assert len(rows) == 7
    emu.log.clear()
    with project.create_bundle(bundle_size=3) as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    fetches = emu.log.requests_of("labelrow", "GET")
    assert [len(e.label_hashes) for e in fetches] == [3, 3, 1]
    assert sorted(emu.log.fetched_label_hashes()) == sorted(r.label_hash for r in rows)
    for row in rows:
        assert _normalised(row.to_encord_dict()) == _normalised(emu.row(row.label_hash))
    assert emu.log.writes() == []


def test_initialising_an_uninitialised_row_sends_a_create(encord_emulator, encord_client, street):
    emu, (project_hash, data_hash) = encord_emulator, street
    project = encord_client.get_project(project_hash)
    empty = by_title(project.list_label_rows_v2())["crossing_0099.jpg"]
    empty.initialise_labels()
    (create,) = emu.log.creates()
    assert create.uid == [data_hash] and create.payload["branch_name"] == "main"
    assert emu.log.writes() == [create]
    assert empty.label_hash == create.label_hashes[0]
    # like the real API, the create persisted a new, empty label row
    listed = by_title(project.list_label_rows_v2())["crossing_0099.jpg"]
    assert listed.label_hash == empty.label_hash
    assert emu.row(empty.label_hash)["data_units"][data_hash]["labels"] == {"objects": [], "classifications": []}


def test_save_is_logged_as_a_write_and_applied(encord_emulator, encord_client, street):
    emu = encord_emulator
    project = encord_client.get_project(street[0])
    row = by_title(project.list_label_rows_v2())["crossing_0042.jpg"]
    row.initialise_labels()
    row.remove_object(row.get_object_instances()[0])
    row.save()
    (save,) = emu.log.writes()
    assert (save.query_type, save.query_method, save.label_hashes) == ("labelrow", "POST", [IMAGE["label_hash"]])
    assert len(emu.row(IMAGE["label_hash"])["data_units"][IMAGE["data_hash"]]["labels"]["objects"]) == 2


def test_deletions(encord_emulator, encord_client, street):
    emu, (project_hash, data_hash) = encord_emulator, street
    project = encord_client.get_project(project_hash)
    emu.delete_row(IMAGE["label_hash"])
    emu.delete_data_unit(data_hash)
    rows = by_title(project.list_label_rows_v2())
    assert set(rows) == {"street_0001.mp4", "crossing_0042.jpg"}
    assert rows["crossing_0042.jpg"].label_hash is None  # its data unit is still in the project
    stale = project.list_label_rows_v2(include_all_label_branches=True)
    emu.delete_row(VIDEO["label_hash"])
    with pytest.raises(ResourceNotFoundError):
        by_title(stale)["street_0001.mp4"].initialise_labels()


def test_row_deleted_after_listing_is_silently_skipped_by_a_bundle(encord_key):
    """With ``missing_label_rows="skip"`` the reply leaves the hash out; the SDK's bundle then
    leaves that row uninitialised without raising."""
    with EncordEmulator(missing_label_rows="skip") as emu:
        emu.add_key(encord_key)
        project_hash = emu.add_project(ontology=ONTOLOGY)
        emu.put_row(project_hash, VIDEO)
        emu.put_row(project_hash, IMAGE)
        project = emu.client(encord_key).get_project(project_hash)
        rows = by_title(project.list_label_rows_v2())
        emu.delete_row(VIDEO["label_hash"])
        with project.create_bundle() as bundle:
            for row in rows.values():
                row.initialise_labels(bundle=bundle)
        assert not rows["street_0001.mp4"].is_labelling_initialised
        assert rows["crossing_0042.jpg"].is_labelling_initialised


def test_no_change_resync_fetches_nothing(encord_emulator, encord_client, street):
    emu = encord_emulator
    project = encord_client.get_project(street[0])
    cursor = emu.clock.now()
    emu.log.clear()
    assert project.list_label_rows_v2(edited_after=cursor + timedelta(seconds=1)) == []
    assert emu.log.fetched_label_hashes() == [] and len(emu.log.listings()) == 1


def test_unknown_key_is_rejected(encord_emulator, street):
    stranger = generate_ssh_key()
    with pytest.raises(AuthenticationError):
        encord_emulator.client(stranger).get_project(street[0])
    (entry,) = encord_emulator.log.all()
    assert entry.http_status == 401 and entry.error.startswith("AUTHENTICATION_ERROR")
    assert entry.public_key_hex == stranger.public_key_hex


def test_removed_key_fails_v1_with_the_sdk_auth_error(encord_emulator, encord_client, encord_key, street):
    project = encord_client.get_project(street[0])
    encord_emulator.remove_key(encord_key)
    with pytest.raises(AuthenticationError):
        project.list_label_rows_v2()
    assert encord_emulator.log.listings()[-1].api_status == 401


def test_key_without_access_to_the_project(encord_emulator, street):
    other = encord_emulator.add_project(title="Other")
    key = encord_emulator.new_key(projects=[other])
    with pytest.raises(AuthorisationError):
        encord_emulator.client(key).get_project(street[0])
    assert encord_emulator.client(key).get_project(other).title == "Other"


def test_forged_signatures_are_rejected(encord_emulator, encord_key, street):
    body = json.dumps({"query_type": "labelrowmetadata", "query_method": "GET",
                       "values": {"uid": None, "payload": {}}}).encode()
    forger = generate_ssh_key()
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key

    signature = load_ssh_private_key(forger.private_key_text.encode(), None).sign(hashlib.sha256(body).digest())
    reply = requests.post(f"{encord_emulator.url}/public", data=body, timeout=5, headers={
        "ResourceType": "project", "ResourceID": street[0],
        "Authorization": f"{encord_key.public_key_hex}:{signature.hex()}"})
    assert reply.status_code == 200 and reply.json()["response"] == ["AUTHENTICATION_ERROR"]
    keys = {encord_key.public_key_hex: None}
    with pytest.raises(AuthFailure, match="bad_signature"):
        verify_v1(f"{encord_key.public_key_hex}:{signature.hex()}", body, keys)
    headers = {"Content-Digest": "sha-256=:" + "A" * 43 + "=:",
               "Signature-Input": f'encord-sig=("@method" "@request-target" "content-digest");created=1;keyid="{encord_key.public_key_hex}";alg="ed25519"',
               "Signature": "encord-sig=:AAAA:"}
    with pytest.raises(AuthFailure, match="bad_signature"):
        verify_v2("GET", "/v2/public/projects/x", headers, b"", keys)


def test_sdk_key_file_is_accepted(encord_emulator, encord_key, tmp_path, street):
    from encord.http.constants import RequestsSettings
    from encord.user_client import EncordUserClient

    client = EncordUserClient.create_with_ssh_private_key(
        ssh_private_key_path=tmp_path / "encord_key", domain=encord_emulator.url,
        requests_settings=RequestsSettings(max_retries=0))
    assert client.get_project(street[0]).title == "Street scenes QA"


def test_injected_429_is_surfaced_with_retry_after(encord_emulator, encord_client, street):
    emu = encord_emulator
    project = encord_client.get_project(street[0])
    fault = emu.inject("status", status=429, retry_after=7, query_type="labelrowmetadata")
    with pytest.raises(RateLimitExceededError) as caught:
        project.list_label_rows_v2()
    assert caught.value.retry_after == 7 and fault.hits == 1
    assert emu.log.listings()[-1].http_status == 429 and emu.log.listings()[-1].fault == "status"
    assert len(project.list_label_rows_v2()) == 3  # the rule fired once


def test_injected_500_is_retried_when_retries_are_on(encord_emulator, encord_key, street):
    emu = encord_emulator
    emu.inject("status", status=500, query_type="labelrowmetadata")
    with pytest.raises(RequestException, match="Error parsing JSON response"):
        emu.client(encord_key).get_project(street[0]).list_label_rows_v2()

    emu.log.clear()
    emu.inject("status", status=500, query_type="labelrowmetadata")
    project = emu.client(encord_key, max_retries=2, backoff_factor=0.01).get_project(street[0])
    assert len(project.list_label_rows_v2()) == 3
    assert [e.http_status for e in emu.log.listings()] == [500, 200]


# (fault, SDK outcome with max_retries=0, re-sent when max_retries=1?) — pins faults.py's docstring
FAULT_MATRIX = [
    (dict(kind="status", status=429, retry_after=0), RateLimitExceededError, True),
    (dict(kind="status", status=413), PayloadTooLargeError, True),
    (dict(kind="status", status=502), RequestException, True),
    (dict(kind="status", status=503, retry_after=0), RequestException, True),
    (dict(kind="status", status=504), RequestException, False),
    (dict(kind="envelope", error="RATE_LIMIT_ERROR", envelope_status=429), RateLimitExceededError, False),
    (dict(kind="envelope", error="UNKNOWN_ERROR"), UnknownException, False),
    (dict(kind="drop"), RequestException, True),
    (dict(kind="truncate", keep=30), RequestException, False),
    (dict(kind="delay", seconds=1.5), RequestException, True),
]


@pytest.mark.parametrize("fault, error, retried", FAULT_MATRIX,
                         ids=["-".join(str(f[k]) for k in ("kind", "status", "error") if k in f) for f, _, _ in FAULT_MATRIX])
def test_fault_matrix_on_the_listing(encord_emulator, encord_key, street, fault, error, retried):
    emu = encord_emulator
    no_retry = emu.client(encord_key, read_timeout=1).get_project(street[0])
    one_retry = emu.client(encord_key, max_retries=1, backoff_factor=0.01, read_timeout=1).get_project(street[0])
    emu.inject(query_type="labelrowmetadata", **fault)
    with pytest.raises(error):
        no_retry.list_label_rows_v2()
    emu.log.clear()
    emu.inject(query_type="labelrowmetadata", **fault)
    if retried:
        assert len(one_retry.list_label_rows_v2()) == 3
        assert len(emu.log.listings()) == 2
    else:
        with pytest.raises(error):
            one_retry.list_label_rows_v2()
        assert len(emu.log.listings()) == 1


def test_v2_faults(encord_emulator, encord_key, street):
    emu = encord_emulator
    emu.inject("status", status=500, path="projects/")
    with pytest.raises(UnknownException):
        emu.client(encord_key).get_project(street[0])
    emu.inject("status", status=429, retry_after=0, path="ontologies/")
    with pytest.raises(RateLimitExceededError):
        emu.client(encord_key).get_project(street[0])


def test_requests_without_a_handler_are_logged(encord_emulator, encord_client, street):
    project = encord_client.get_project(street[0])
    with pytest.raises(ResourceNotFoundError):
        list(project.list_branches())
    (unknown,) = encord_emulator.log.unknown()
    assert unknown.api == "v2" and unknown.path.startswith(f"/v2/public/projects/{street[0]}/branches")


def test_manual_qa_project_has_no_workflow_node(encord_emulator, encord_client):
    project_hash = encord_emulator.add_project(title="QA", ontology=ONTOLOGY, project_type="manual_qa")
    encord_emulator.put_row(project_hash, IMAGE)
    (row,) = encord_client.get_project(project_hash).list_label_rows_v2()
    assert row.workflow_graph_node is None and row.label_status.value == "LABELLED"


def test_emulator_is_a_context_manager_on_loopback():
    with EncordEmulator() as emu:
        url = emu.url
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/nothing", timeout=5).status_code == 404
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/nothing", timeout=1)
