"""#12: files ready for DANDI. A dandiset layout (dandiset.yaml, sub-<id>/sub-<id>_ses-<session>.nwb)
made by `convert --out-dir --dandi-names` from every fixture log with both sinks (rotated segments,
single-state and one-event logs included) and complete metadata, plus `record`'s output (the demo, a
real recording with its built-in, complete and clearly simulated metadata):

- `dandi validate` (pinned dandi, its own venv .venv-dandi) reports no error;
- nwbinspector with the DANDI configuration reports nothing at BEST_PRACTICE_VIOLATION or above in
  any file, and pynwb validates each.

dandi runs offline (CI has no network but package registries): its version check is off
(DANDI_NO_ET), and its logs and caches go to the test's temp folder.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import nwbcheck
from conftest import BIN, NODE, REPO

DANDI = REPO / ".venv-dandi" / "bin" / "dandi"
TABLE_LOGS = REPO / "test" / "fixtures" / "logs" / "table"
LOGS = REPO / "test" / "fixtures" / "logs"
META = TABLE_LOGS / "meta.yaml"  # complete: subject id, species, sex, age, experimenter, institution, …


def run(*args: object, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=str(REPO), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def dandiset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DANDI.exists():
        pytest.fail(".venv-dandi is missing: run `npm run setup:python` (scripts/setup-python.sh)")
    ds = tmp_path_factory.mktemp("dandiset")
    (ds / "dandiset.yaml").write_text("identifier: DANDI:000000\nname: nwb-settings conformance\ndescription: files written by nwb-settings\n")
    # every fixture log, both sinks; `empty` logs write no file, bad lines are reported (exit 1)
    logs = sorted(TABLE_LOGS.glob("*.jsonl")) + sorted(LOGS.glob("*.jsonl"))
    names = {p.stem for p in logs}
    assert len(names) == len(logs) - 1 or len(names) == len(logs)  # `empty` exists in both folders
    for batch in (sorted(TABLE_LOGS.glob("*.jsonl")), sorted(LOGS.glob("*.jsonl"))):
        r = run(NODE, BIN, "convert", *batch, "--out-dir", ds, "--dandi-names", "--sinks", "annotations,table", "--time-origin", "raw",
                "--meta", META, "--overwrite", "--jobs", "2")
        assert r.returncode in (0, 1), r.stdout + r.stderr
        assert "FAILED  " not in r.stdout.replace("FAILED  " + str(LOGS / "malformed.jsonl"), "").replace("no settings rows", ""), r.stdout
        assert "warning:" not in r.stderr, r.stderr  # the metadata is complete
    demo = ds / "sub-sim01" / "sub-sim01_ses-demo.nwb"
    r = run(NODE, BIN, "demo", "--seconds", "2", "--out", demo, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return ds


def test_dandi_validate_finds_no_error(dandiset: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DANDI_NO_ET": "1", "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    r = subprocess.run([str(DANDI), "validate", str(dandiset)], cwd=str(REPO), capture_output=True, text=True, timeout=900, env=env)
    files = sorted(dandiset.rglob("*.nwb"))
    assert len(files) >= 20, files
    assert r.returncode == 0, f"dandi validate:\n{r.stdout}\n{r.stderr}"
    assert "No errors found" in r.stdout + r.stderr, r.stdout + r.stderr


def test_every_file_is_clean_for_the_dandi_inspector(dandiset: Path) -> None:
    problems = []
    files = sorted(dandiset.rglob("*.nwb"))
    assert any("_desc-seg01" in f.name for f in files), "a rotated segment is among the files"
    for f in files:
        if nwbcheck.validate(f):
            problems.append(f"{f.name}: {nwbcheck.validate(f)}")
        for config in (None, "dandi"):
            gate = nwbcheck.inspect(f, config=config).gate
            if gate:
                problems.append(f"{f.relative_to(dandiset)} ({config or 'default'}): {gate}")
    assert not problems, "\n".join(problems)
