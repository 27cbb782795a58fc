"""The GitHub Pages workflow (.github/workflows/book.yml) is the standard Jupyter Book 1 recipe
and builds the book exactly as .ci/run does. It cannot run here (no GitHub), so its structure is
checked: a broken step or a build command that drifts from CI's fails this test."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def _workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key "on" as True
    data["on"] = data.pop(True, data.get("on"))
    return data


def _ci_build_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    builds = [ln.strip() for ln in lines if ln.strip().startswith("jupyter-book build")]
    assert len(builds) == 1, builds
    return builds[0]


def test_workflow_runs_on_main_with_pages_permissions():
    wf = _workflow()
    assert wf["on"]["push"]["branches"] == ["main"]
    assert wf["permissions"]["pages"] == "write" and wf["permissions"]["id-token"] == "write"
    assert set(wf["jobs"]) == {"build", "deploy"}
    assert wf["jobs"]["deploy"]["needs"] == "build"
    assert wf["jobs"]["deploy"]["environment"]["name"] == "github-pages"


def test_build_job_installs_the_requirements_and_builds_like_ci():
    steps = _workflow()["jobs"]["build"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    runs = [s.get("run", "") for s in steps]
    for action in ("actions/checkout@", "actions/setup-python@", "actions/upload-pages-artifact@"):
        assert any(u.startswith(action) for u in uses), action
    assert any(re.search(r"pip install -r requirements\.txt\b", r) for r in runs)
    assert _ci_build_command() in runs                  # the very command CI runs, with -W
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    order = [i for i, s in enumerate(steps) if "build ." in s.get("run", "")] + [steps.index(upload)]
    assert order == sorted(order), "the artifact is uploaded after the build"


def test_deploy_job_uses_the_pages_action():
    steps = _workflow()["jobs"]["deploy"]["steps"]
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in steps)


def test_every_action_is_pinned_to_a_major_version():
    text = WORKFLOW.read_text(encoding="utf-8")
    for ref in re.findall(r"uses:\s*(\S+)", text):
        assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", ref), ref
