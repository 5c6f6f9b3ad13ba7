"""Access metadata fails closed: odd spellings are honoured or rejected, never silently public (issue 19)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.loaders import MAX_FRONT_MATTER_BYTES, AccessMetadataError, DocumentLoadError, load_document
from salesbot.roles import can_read

BODY = "# Floor prices\nThe floor of the X3 is 54,400 yuan.\n"


def write(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("content", [
    "---\nAccess: [manager]\n---\n" + BODY,             # capital A
    "ACCESS: manager\n".join(["---\n", "---\n"]) + BODY,  # upper case, a bare string
    "\n\n---\naccess: [manager]\n---\n" + BODY,          # blank lines before the opening fence
    "----\naccess: [manager]\n----\n" + BODY,            # four-dash fences
    "---\r\naccess: [manager]\r\n---\r\n" + BODY,        # Windows line ends
    "---\n access : [manager]\n---\n" + BODY,            # whitespace around the key
])
def test_front_matter_spellings_keep_the_document_restricted(tmp_path: Path, content: str) -> None:
    document = load_document(write(tmp_path, "policy.md", content))
    assert document.access == ["manager"] and not can_read("rep", document.access)
    assert "access" not in document.text.lower()


@pytest.mark.parametrize(("content", "reason"), [
    ("---\naccess: []\n---\n" + BODY, "bad access list"),
    ("---\naccess:\n---\n" + BODY, "bad access list"),
    ("---\naccess: ''\n---\n" + BODY, "bad access list"),
    ("---\naccess: [manager]\nAccess: ['*']\n---\n" + BODY, "given twice"),
    ("---\naccess: [manager]\naccess: ['*']\n---\n" + BODY, "given twice"),
    ("---\naccess: ['*', manager]\n---\n" + BODY, "ambiguous"),
    ("---\naccess: {manager: true}\n---\n" + BODY, "bad access list"),
    ("---\nroles: [manager]\n---\n" + BODY, "did you mean"),
    ("---\nacess: [manager]\n---\n" + BODY, "did you mean"),
    ("access: [manager]\n\n" + BODY, "front matter not recognised"),
    ("---\naccess: [manager]\n\n" + BODY, "front matter not recognised"),
    ("- - -\naccess: [manager]\n- - -\n" + BODY, "front matter not recognised"),
])
def test_malformed_or_ambiguous_access_rejects_the_file(tmp_path: Path, content: str, reason: str) -> None:
    with pytest.raises(AccessMetadataError, match=reason):
        load_document(write(tmp_path, "policy.md", content))


def test_access_inside_a_yaml_document_is_its_access(tmp_path: Path) -> None:
    document = load_document(write(tmp_path, "floors.yaml", "title: Floors\nAccess: [manager]\nfloors: {X3: 54400}\n"))
    assert document.access == ["manager"]


def test_yaml_content_and_sidecar_disagreeing_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "floors.meta.yaml", "access: ['*']\n")
    with pytest.raises(AccessMetadataError, match="access set differently"):
        load_document(write(tmp_path, "floors.yaml", "access: [manager]\nfloors: {X3: 54400}\n"))


def test_both_sidecar_spellings_work_and_two_at_once_are_rejected(tmp_path: Path) -> None:
    sheet = write(tmp_path, "qa.csv", "question,answer\nWhat is the floor?,54400.\n")
    write(tmp_path, "qa.csv.meta.yaml", "Access: [manager]\n")
    assert load_document(sheet).access == ["manager"]
    write(tmp_path, "qa.meta.yaml", "access: [manager]\n")
    with pytest.raises(AccessMetadataError, match="two sidecars"):
        load_document(sheet)


def test_admin_setting_ingests_unclear_access_for_admins_only(tmp_path: Path) -> None:
    document = load_document(write(tmp_path, "policy.md", "---\naccess: []\n---\n" + BODY), unclear_access="admin")
    assert document.access == ["admin"] and "bad access list" in (document.access_warning or "")
    assert not can_read("manager", document.access) and can_read("admin", document.access)


def test_front_matter_has_a_size_cap(tmp_path: Path) -> None:
    padding = "# " + "x" * (MAX_FRONT_MATTER_BYTES + 10) + "\n"
    with pytest.raises(AccessMetadataError, match="larger than"):
        load_document(write(tmp_path, "big.md", "---\naccess: [manager]\n" + padding + "---\n" + BODY))


ALIAS_BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
              "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
              "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
              "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
              "access: [*g]\n")


@pytest.mark.parametrize("where", ["front matter", "sidecar"])
def test_a_yaml_alias_bomb_fails_fast(tmp_path: Path, where: str) -> None:
    assert len(ALIAS_BOMB.encode()) <= 400  # the probe's bomb was 346 bytes; 9**7 strings once expanded
    if where == "front matter":
        path = write(tmp_path, "bomb.md", "---\n" + ALIAS_BOMB + "---\n" + BODY)
    else:
        path = write(tmp_path, "bomb.txt", BODY)
        write(tmp_path, "bomb.meta.yaml", ALIAS_BOMB)
    started = time.monotonic()
    with pytest.raises(AccessMetadataError, match="anchors|aliases"):
        load_document(path)
    assert time.monotonic() - started < 5  # generous: the real cost is milliseconds, expansion was minutes


# ----------------------------------------------------------------------------------------------------- fuzz
ROLES = st.sampled_from(["manager", "vp", "admin", "Manager", " VP "])
ACCESS_KEY = st.text(alphabet="aA", min_size=1, max_size=1).flatmap(lambda _: st.tuples(
    *[st.sampled_from([char, char.upper()]) for char in "access"])).map("".join)


@st.composite
def access_values(draw: st.DrawFn) -> str:
    roles = draw(st.lists(ROLES, min_size=1, max_size=3))
    style = draw(st.sampled_from(["flow", "block", "string", "quoted", "anchor", "tag"]))
    if style == "flow":
        return "[" + ", ".join(roles) + "]"
    if style == "block":
        return "\n" + "".join(f"  - {role}\n" for role in roles).rstrip("\n")
    if style == "string":
        return roles[0]
    if style == "quoted":
        return "[" + ", ".join(f'"{role}"' for role in roles) + "]"
    if style == "anchor":
        return f"&r [{roles[0]}]\nother: *r"
    return f"!!str {roles[0]}"


EXTRA_LINES = st.sampled_from([
    "title: Floors", "doc_type: policy", "Title: Floors", "access: ['*']", "ACCESS: ['*']", "access: []",
    "visibility: public", "access_level: public", "x: &a 1", "y: *a", "'access': ['*']", "? access\n: ['*']",
    "{access: ['*']}", "!!python/object:os.system ls", "<<: {access: ['*']}", "# access: ['*']",
])


@st.composite
def restricted_documents(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    """(where the metadata goes, its YAML text, the fence style) for a document meant to be restricted."""
    lines = [f"{draw(ACCESS_KEY)}{draw(st.sampled_from([':', ' :', ':  ']))} {draw(access_values())}"]
    lines += draw(st.lists(EXTRA_LINES, max_size=3))
    order = draw(st.permutations(range(len(lines))))
    yaml_text = "\n".join(lines[index] for index in order) + "\n"
    where = draw(st.sampled_from(["front matter", "short sidecar", "long sidecar", "yaml content"]))
    fence = {"lead": draw(st.sampled_from(["", "\n", " \n\n", "\ufeff"])),
             "open": "-" * draw(st.integers(3, 5)), "close": draw(st.sampled_from(["---", "----", "...", "-----"])),
             "eol": draw(st.sampled_from(["\n", "\r\n"]))}
    return where, yaml_text, fence


def build(folder: Path, where: str, yaml_text: str, fence: dict[str, str]) -> Path:
    for old in folder.iterdir():
        old.unlink()
    eol = fence["eol"]
    if where == "front matter":
        content = (fence["lead"] + fence["open"] + eol + yaml_text.replace("\n", eol) + fence["close"] + eol + BODY)
        return write(folder, "doc.md", content)
    if where == "yaml content":
        return write(folder, "doc.yaml", yaml_text + "floors: {X3: 54400}\n")
    write(folder, "doc.meta.yaml" if where == "short sidecar" else "doc.txt.meta.yaml", yaml_text)
    return write(folder, "doc.txt", BODY)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=restricted_documents(), unclear=st.sampled_from(["reject", "admin"]))
def test_fuzzed_metadata_never_makes_a_restricted_document_rep_visible(
        tmp_path: Path, case: tuple[str, str, dict[str, str]], unclear: str) -> None:
    where, yaml_text, fence = case
    path = build(tmp_path, where, yaml_text, fence)
    try:
        document = load_document(path, unclear_access=unclear)
    except DocumentLoadError:
        assert unclear == "reject" or where == "yaml content"  # admin mode keeps metadata-broken files, admin-only
        return
    assert not can_read("rep", document.access), (where, yaml_text, document.access)
    assert "54,400" not in document.text or not can_read("rep", document.access)
