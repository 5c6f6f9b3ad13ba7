"""The built wheel works on its own: every top-level package imports from it, not from the source tree.

Our top-level package names (agent, tools, knowledge, prompts, connectors, evals, samples) are generic; another
installed project shipping one of them would shadow ours. This test builds the wheel, installs it into an empty
folder, imports every package from there in a fresh interpreter started outside the repository, and checks that
no other installed distribution claims one of our top-level names.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = ["salesbot", "agent", "tools", "knowledge", "prompts", "connectors", "evals", "samples"]

pytestmark = [pytest.mark.slow, pytest.mark.embedded_only(
    reason="builds and imports the wheel; no store is touched, so the server profile adds nothing")]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_dir = tmp_path_factory.mktemp("wheel")
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(build_dir), str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = build_dir.glob("salesbot-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    return target


def test_every_package_imports_from_the_installed_wheel(installed_wheel: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import importlib, json, sys
        sys.path.insert(0, {str(installed_wheel)!r})
        found = {{}}
        for name in {TOP_LEVEL!r}:
            module = importlib.import_module(name)
            found[name] = str(getattr(module, "__file__", "") or list(module.__path__)[0])
        from connectors.cli import app
        import samples
        from pathlib import Path
        found["commands"] = sorted([command.name or command.callback.__name__ for command in app.registered_commands]
                                   + [group.name for group in app.registered_groups])
        found["sample_files"] = len(list(Path(samples.__file__).parent.rglob("*.md")))
        # the migrations ship too: every store's history runs from the wheel (no alembic.ini, no source tree)
        import tempfile
        from salesbot.database import engine_for, upgrade_schema
        from salesbot.migrations import MIGRATIONS_DIR, STORE_HEADS, current_revision
        found["migrations"] = str(MIGRATIONS_DIR)
        found["template"] = (MIGRATIONS_DIR / "script.py.mako").is_file()
        engine = engine_for(f"sqlite:///{{Path(tempfile.mkdtemp()) / 'stores.db'}}")
        with engine.connect() as connection:
            for store in STORE_HEADS:
                upgrade_schema(engine, store)
            found["revisions"] = {{store: current_revision(connection, store) for store in STORE_HEADS}}
        found["heads"] = STORE_HEADS
        print(json.dumps(found))
    """)
    completed = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                               timeout=120, check=True)
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    for name in TOP_LEVEL:
        assert found[name].startswith(str(installed_wheel)), f"{name} imported from {found[name]}"
    assert {"ask", "search", "ingest", "sql", "tasks", "eval", "demo"} <= set(found["commands"])
    assert found["sample_files"] >= 10  # the demo company's documents ship in the wheel
    assert found["migrations"].startswith(str(installed_wheel)) and found["template"]
    assert found["revisions"] == found["heads"]  # every store's migrations ran from the installed wheel


def test_no_other_distribution_claims_our_top_level_names() -> None:
    script = ("import importlib.metadata as m, json; d = m.packages_distributions(); "
              f"print(json.dumps({{n: sorted(set(d.get(n, []))) for n in {TOP_LEVEL!r}}}))")
    owners = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                       check=True, timeout=60).stdout)
    assert all(names == ["salesbot"] for names in owners.values()), owners
