"""Shared fixtures: where the repo, the built CLI and the fixture logs are, and a cached way to run
`nwb-settings convert` once per (log, options) per test session."""

from __future__ import annotations

import os
import signal
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # nwbcheck, expected, reference_writer

REPO = HERE.parent.parent
BIN = REPO / "bin" / "nwb-settings.js"
DIST_MAIN = REPO / "dist" / "cli" / "main.js"
LOGS = REPO / "test" / "fixtures" / "logs"
META = LOGS / "meta.yaml"
NODE = os.environ.get("NWB_SETTINGS_NODE") or shutil.which("node") or "node"
CLI_TIMEOUT = 180


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return f"$ nwb-settings {' '.join(self.args)}\nexit {self.returncode}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


class Cli:
    """`node bin/nwb-settings.js ...`, run from the repo root."""

    def __init__(self) -> None:
        if not BIN.exists():
            pytest.fail(f"{BIN} is missing: this is not the nwb-settings repository layout", pytrace=False)
        if not DIST_MAIN.exists():
            pytest.fail(
                f"the CLI is not built ({DIST_MAIN} is missing): run `npm run build` in {REPO} first", pytrace=False
            )

    def run(self, *args: str | Path, cwd: Optional[Path] = None) -> Run:
        argv = [str(a) for a in args]
        p = subprocess.run(
            [NODE, str(BIN), *argv],
            cwd=str(cwd or REPO),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=CLI_TIMEOUT,
        )
        return Run(argv, p.returncode, p.stdout, p.stderr)


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli()


class Converted:
    """Session cache of CLI conversions: convert(log, *options) -> (Run, output path)."""

    def __init__(self, cli: Cli, root: Path) -> None:
        self.cli = cli
        self.root = root
        self.cache: dict[tuple, tuple[Run, Path]] = {}

    def __call__(self, log: str, *options: str) -> tuple[Run, Path]:
        key = (log, *options)
        if key not in self.cache:
            out_dir = self.root / f"c{len(self.cache):03d}"
            out_dir.mkdir()
            out = out_dir / f"{Path(log).stem}.nwb"
            run = self.cli.run("convert", LOGS / log, "--out", out, *options)
            self.cache[key] = (run, out)
        return self.cache[key]


@pytest.fixture(scope="session")
def convert(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Converted:
    return Converted(cli, tmp_path_factory.mktemp("converted"))


class References:
    """Session cache of pynwb reference files: reference(log, meta=None, time_origin) -> path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[tuple, Path] = {}

    def __call__(self, log: str, meta: Optional[Path] = None, time_origin: str = "first-event") -> Path:
        import reference_writer

        key = (log, str(meta), time_origin)
        if key not in self.cache:
            out = self.root / f"ref{len(self.cache):03d}_{Path(log).stem}.nwb"
            reference_writer.write_annotations_reference(LOGS / log, out, meta, time_origin)
            self.cache[key] = out
        return self.cache[key]


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> References:
    return References(tmp_path_factory.mktemp("reference"))


@pytest.fixture
def children():
    """Child processes a test starts (liverec.Child), stopped at its end in reverse order: the
    recorder first, then the pipeline, then the GraphServer."""
    started: list = []
    yield started
    for c in reversed(started):
        c.stop(signal.SIGTERM, timeout=5)
