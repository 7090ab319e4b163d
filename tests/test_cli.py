"""The ``lmroute`` dispatcher: help, unknown commands, and the README's schema table."""

from __future__ import annotations

import subprocess
import sys

import lmroute_cli
from data.schema import COLUMNS
from tests.conftest import ROOT


def test_help_lists_every_command(capsys) -> None:
    assert lmroute_cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in lmroute_cli.COMMANDS:
        assert name in out


def test_unknown_command_exits_2_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lmroute_cli", "frobnicate"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "unknown command 'frobnicate'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bench_without_target_exits_2() -> None:
    assert lmroute_cli.main(["bench"]) == 2


def test_readme_documents_every_schema_column() -> None:
    readme = (ROOT / "README.md").read_text()
    for col in COLUMNS:
        assert f"| `{col.name}` |" in readme, f"README schema table lacks {col.name}"
