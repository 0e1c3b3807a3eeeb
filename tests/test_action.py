"""The composite GitHub Action (action.yml): its outputs come from `prodfix pr`, and its
arguments reach prodfix split like a shell would, never evaluated as shell code."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import yaml

ACTION = Path(__file__).parent.parent / "action.yml"


def test_action_runs_prodfix_pr_and_exposes_its_outputs() -> None:
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    steps = {step.get("id"): step for step in action["runs"]["steps"]}
    assert "prodfix pr" in steps["pr"]["run"]
    assert steps["pr"]["env"]["GITHUB_TOKEN"] == "${{ inputs.token }}"
    assert action["inputs"]["token"]["default"] == "${{ github.token }}"
    # every output is one `prodfix pr` writes to $GITHUB_OUTPUT
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.pr.outputs.{name} }}}}"
        assert name in ("status", "number", "url", "head-sha", "branch", "base-sha")
    # inputs reach the script through the environment only (no ${{ }} inside a run script)
    assert all("${{" not in step.get("run", "") for step in action["runs"]["steps"])


def test_action_arguments_are_split_not_evaluated(tmp_path: Path) -> None:
    action = yaml.safe_load(ACTION.read_text())
    script = next(step for step in action["runs"]["steps"] if step.get("id") == "pr")["run"]
    fake = tmp_path / "bin" / "prodfix"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    args = """--select all --verify "python -m pytest -q" --label 'needs review' $(touch pwned) `touch pwned2`"""
    out = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}", "PRODFIX_ARGS": args},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "[pr]", "[--select]", "[all]", "[--verify]", "[python -m pytest -q]", "[--label]", "[needs review]",
        "[$(touch]", "[pwned)]", "[`touch]", "[pwned2`]",
    ]
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
