"""Every YAML the product reads is validated at load: errors name the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesbot.roles import users_by_role
from salesbot.yaml_files import ConfigFileError, parse_yaml_text, read_yaml


def test_aliases_and_anchors_are_refused_before_expansion() -> None:
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b]'
    with pytest.raises(ConfigFileError, match=r"front\.yaml \(line 1\).*anchors"):
        parse_yaml_text(bomb, "front.yaml")
    with pytest.raises(ConfigFileError, match="aliases"):
        parse_yaml_text("a: *nowhere", "x.yaml")


def test_python_tags_and_syntax_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("ok: 1\nlist: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r"bad\.yaml \(line \d\): not valid YAML"):
        read_yaml(path)
    with pytest.raises(ConfigFileError, match="constructor"):
        parse_yaml_text("x: !!python/object/apply:os.system ['true']", "tag.yaml")
    with pytest.raises(ConfigFileError, match="file not found"):
        read_yaml(tmp_path / "missing.yaml")


def test_roles_file_rejects_unknown_roles_and_keys(tmp_path: Path) -> None:
    good = tmp_path / "roles.yaml"
    good.write_text("users:\n  U01: manager\n  10086: rep\n", encoding="utf-8")
    assert users_by_role(good) == {"U01": "manager", "10086": "rep"}
    typo = tmp_path / "typo.yaml"
    typo.write_text("users:\n  U01: mangaer\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r"typo\.yaml: users: .*unknown role 'mangaer'"):
        users_by_role(typo)
    wrong_key = tmp_path / "key.yaml"
    wrong_key.write_text("user:\n  U01: rep\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r"key\.yaml: user: Extra inputs"):
        users_by_role(wrong_key)


def test_thresholds_file_rejects_misspelt_bounds(tmp_path: Path) -> None:
    from evals.thresholds import ThresholdsError, load_thresholds

    path = tmp_path / "thresholds.yaml"
    path.write_text("retrieval.hit_at_3:\n  mni: 0.9\n", encoding="utf-8")
    with pytest.raises(ThresholdsError, match=r"retrieval\.hit_at_3\.mni: Extra inputs"):
        load_thresholds(path)
