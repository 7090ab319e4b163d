"""Every command that reads a file, given broken files (tests/reliability/badfiles.py):
truncated Parquet, wrong encodings, empty files, random bytes, a directory where a file
was expected (and a file where a directory was), missing columns, a column of the wrong
type, torn JSONL. Each must end with exit 2 and one clear line on stderr, never a
traceback. Run in-process through ``lmroute_cli.main`` (the real dispatch) so one test
run pays for torch once; ``test_no_traceback_at_the_entry_point`` runs a few as real
``lmroute`` processes.

The commands needing a trained router for their OTHER input (eval with a bad test log,
loop with bad logs) are in the slow test (``make fuzz``): training one costs ~25 s here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import lmroute_cli
from tests.reliability import badfiles
from tests.reliability.badfiles import BadFile

ROOT = Path(__file__).resolve().parents[2]
LOG_LINE = {"request_id": "r1", "timestamp": "2026-01-01T00:00:00Z", "query": "hi",
            "model": "m", "quality": 0.5, "cost_usd": 0.001, "latency_ms": 10.0,
            "energy_j": 1.0, "prompt_tokens": 3, "completion_tokens": 4,
            "source": "synthetic"}
MEMORY_LINE = {"session_id": "s", "id": "m1", "role": "user", "content": "hi", "ts": 0}


@dataclass(frozen=True)
class Command:
    """One command with a slot for the broken input: ``argv(path, tmp) -> argv``."""

    name: str
    kind: str  # parquet | jsonl | csv | jsonl_text | jsonl_memory | router | memory_dir
    argv: Callable[[Path, Path], list[str]]
    empty_ok: bool = False  # a batch over lines: an empty file is zero lines, exit 0


def commands(guard_dir: Path) -> list[Command]:
    def out(t: Path, name: str) -> str:
        return str(t / name)

    return [
        Command("data validate", "parquet", lambda p, t: ["data", "validate", str(p)]),
        Command("data validate (jsonl)", "jsonl", lambda p, t: ["data", "validate", str(p)]),
        Command("data validate (csv)", "csv", lambda p, t: ["data", "validate", str(p)]),
        Command("data summary", "parquet", lambda p, t: ["data", "summary", str(p)]),
        Command("data split", "parquet", lambda p, t: ["data", "split", str(p), "--out-dir",
                                                       out(t, "splits")]),
        Command("data simulate", "parquet", lambda p, t: [
            "data", "simulate", str(p), "--out", out(t, "b.parquet"),
            "--policy", "epsilon_greedy"]),
        Command("data convert parquet", "parquet", lambda p, t: [
            "data", "convert", "--format", "parquet", str(p), "--out", out(t, "c.parquet")]),
        Command("data convert jsonl", "jsonl", lambda p, t: [
            "data", "convert", "--format", "jsonl", str(p), "--out", out(t, "c.parquet")]),
        Command("data convert csv", "csv", lambda p, t: [
            "data", "convert", "--format", "csv", str(p), "--out", out(t, "c.parquet")]),
        Command("data convert gateway", "parquet", lambda p, t: [
            "data", "convert", "--format", "gateway", str(p), "--out", out(t, "c.parquet")]),
        Command("data convert routerbench", "parquet", lambda p, t: [
            "data", "convert", "--format", "routerbench", str(p), "--out", out(t, "c.parquet")]),
        Command("train", "parquet", lambda p, t: [
            "train", "data=logs", f"data.paths=[{p}]", "logger=none",
            f"export.out_dir={t / 'router'}", f"runs_dir={t / 'runs'}",
            f"hydra.run.dir={t / 'hydra'}"]),
        Command("eval (router)", "router", lambda p, t: [
            "eval", f"router={p}", f"test_log={t / 'none.parquet'}", f"out_dir={t / 'eval'}",
            "logger=none", f"hydra.run.dir={t / 'hydra'}"]),
        Command("route", "router", lambda p, t: ["route", "--router", str(p), "hello"]),
        Command("loop (current router)", "router", lambda p, t: [
            "loop", "--logs", str(t), "--current", str(p), "--out", out(t, "new"),
            "--logger", "none"]),
        Command("guard scan (input)", "jsonl_text", lambda p, t: [
            "guard", "scan", "--guard", str(guard_dir), str(p)], empty_ok=True),
        Command("guard scan (artifact)", "router", lambda p, t: [
            "guard", "scan", "--guard", str(p), str(t / "none.jsonl")]),
        Command("cache pairs", "jsonl_text", lambda p, t: [
            "cache", "pairs", "--config", str(ROOT / "conf/cache/exact.yaml"), str(p)],
            empty_ok=True),
        Command("memory build", "jsonl_memory", lambda p, t: [
            "memory", "build", str(p), "--out", out(t, "mem"), "--summarizer", "stub"]),
        Command("memory context", "memory_dir", lambda p, t: [
            "memory", "context", str(p), "--session", "s", "--query", "q",
            "--budget-tokens", "64"]),
        Command("memory state", "memory_dir", lambda p, t: [
            "memory", "state", str(p), "--session", "s"]),
        Command("memory audit", "memory_dir", lambda p, t: ["memory", "audit", str(p)]),
        Command("serve keys list", "sqlite", lambda p, t: [
            "serve", "keys", "--db", str(p), "list"]),
    ]


def bad_inputs(kind: str, root: Path) -> list[BadFile]:
    root = root / kind
    if kind == "parquet":
        return badfiles.parquet_files(root)
    if kind in ("jsonl", "csv"):
        return badfiles.text_files(root, f".{kind}", LOG_LINE)
    if kind == "jsonl_text":
        return badfiles.text_files(root, ".jsonl", {"id": "1", "text": "hi", "a": "x",
                                                    "b": "y"})
    if kind == "jsonl_memory":
        return badfiles.text_files(root, ".jsonl", MEMORY_LINE)
    if kind == "router":
        return badfiles.dirs(root, ("router.onnx", "manifest.json", "tokenizer.json",
                                    "guard.onnx"))
    if kind == "memory_dir":
        return badfiles.dirs(root, ("memory.sqlite", "memory.json", "memory.sqlite.key"))
    if kind == "sqlite":
        return [b for b in badfiles.text_files(root, ".sqlite", {"a": "b"})
                if b.name in ("a directory", "random bytes", "UTF-16")]
    raise ValueError(kind)


@dataclass
class Outcome:
    command: str
    input: str
    code: object
    last_line: str
    problem: str | None


def run_in_process(argv: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[object, str]:
    """(exit code, stdout + stderr); an exception that escapes is a finding."""
    try:
        code: object = lmroute_cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # the command let it escape: what a user sees as a traceback
        out, err = capfd.readouterr()
        return "escaped", f"{out}{err}Traceback (escaped): {type(exc).__name__}: {exc}"
    out, err = capfd.readouterr()
    return code, out + err


def judge(cmd: Command, bad: BadFile, code: object, text: str) -> Outcome:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    last = lines[-1].strip() if lines else ""
    problem = None
    if "Traceback" in text:
        problem = "traceback"
    elif "HYDRA_FULL_ERROR" in text or "Error executing job" in text:
        problem = "hydra's error report: " + " | ".join(lines[-4:])[:600]
    elif code == 0 and cmd.empty_ok and bad.name == "empty":
        problem = None
    elif code != 2:
        problem = f"exit {code}"
    elif not last or len(last) > 800 or last.startswith(("File ", "at ")):
        problem = "no clear last line"
    return Outcome(cmd.name, bad.name, code, last[:200], problem)


def _plain(name: str) -> str:
    """A path component Hydra's override grammar takes unquoted (no parentheses, commas)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


@pytest.fixture(scope="module")
def guard_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.router_model.guard.conftest import build_artifact

    return build_artifact(tmp_path_factory.mktemp("guard"))[0]


def test_every_file_reading_command_refuses_broken_files(tmp_path, capfd, guard_dir) -> None:
    outcomes: list[Outcome] = []
    for cmd in commands(guard_dir):
        for bad in bad_inputs(cmd.kind, tmp_path / "in" / _plain(cmd.name)):
            work = tmp_path / "work" / _plain(f"{cmd.name}-{bad.name}")
            work.mkdir(parents=True)
            code, text = run_in_process(cmd.argv(bad.path, work), capfd)
            outcomes.append(judge(cmd, bad, code, text))
    report = [vars(o) for o in outcomes]
    (tmp_path / "cli_fuzz.json").write_text(json.dumps(report, indent=1))
    bad = [o for o in outcomes if o.problem]
    print(f"\ncli fuzz: {len(outcomes)} cases over {len(commands(guard_dir))} commands, "
          f"{len(bad)} failures")
    assert not bad, "\n".join(f"{o.command} / {o.input}: {o.problem} (exit {o.code}): "
                              f"{o.last_line}" for o in bad)


def test_no_traceback_at_the_entry_point(tmp_path) -> None:
    """A few of the same cases through the real console script (a process)."""
    files = {b.name: b.path for b in badfiles.parquet_files(tmp_path / "p")}
    for argv in (["data", "validate", str(files["truncated parquet"])],
                 ["data", "summary", str(files["a directory"])],
                 ["route", "--router", str(files["empty"]), "hi"]):
        r = subprocess.run([sys.executable, "-m", "lmroute_cli", *argv], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and "Traceback" not in r.stderr, (argv, r.stderr[-2000:])


@pytest.mark.parametrize("case", ["validate_non_objects", "summary_text_costs",
                                  "memory_build_utf16", "memory_state_garbage",
                                  "keys_not_a_db", "keys_a_directory"])
def test_what_this_fuzzer_found(tmp_path, capfd, case: str) -> None:
    """Each escaped as a traceback before its fix (data validate: JSONL lines that are not
    objects; data summary: a cost column of text; memory build / state: bytes that are not
    UTF-8; serve keys: a file or a directory that is not an SQLite database)."""
    f = tmp_path / "in"
    if case == "validate_non_objects":
        f = f.with_suffix(".jsonl")
        f.write_text("[1, 2, 3]\n")
        argv, want = ["data", "validate", str(f)], "missing_column"
    elif case == "summary_text_costs":
        bad = {b.name: b.path for b in badfiles.parquet_files(tmp_path / "p")}
        argv, want = ["data", "summary", str(bad["wrong column type"])], "'cost_usd'"
    elif case == "memory_build_utf16":
        f = f.with_suffix(".jsonl")
        f.write_bytes((json.dumps(MEMORY_LINE) + "\n").encode("utf-16"))
        argv, want = ["memory", "build", str(f), "--out", str(tmp_path / "m")], "UTF-8"
    elif case == "memory_state_garbage":
        f.mkdir()
        (f / "memory.json").write_bytes(b"\x00\xff\xfe garbage")
        argv, want = ["memory", "state", str(f), "--session", "s"], "UTF-8"
    elif case == "keys_not_a_db":
        f.write_bytes(b"not sqlite at all" * 100)
        argv, want = ["serve", "keys", "--db", str(f), "list"], "cannot use the key store"
    else:
        f.mkdir()
        argv, want = ["serve", "keys", "--db", str(f), "list"], "cannot use the key store"
    code, text = run_in_process(argv, capfd)
    assert code == 2 and "Traceback" not in text and want in text, text[-1500:]


@pytest.mark.slow
def test_eval_and_loop_refuse_broken_logs(tmp_path, capfd) -> None:
    """The inputs next to a trained router: eval's test_log / train_log and the loop's
    gateway logs (a router is trained here: ~25 s)."""
    from data.synthetic import make_synthetic
    from tests.artifacts import train_tiny_router

    synth = make_synthetic(300, models=3, seed=0)
    router, _ = train_tiny_router(tmp_path / "r", synth, seed=0, epochs=3)
    good = tmp_path / "r" / "logs.parquet"
    outcomes = []
    for bad in badfiles.parquet_files(tmp_path / "bad"):
        work = tmp_path / "work" / _plain(bad.name)
        work.mkdir(parents=True)
        for name, argv in (
                ("eval test_log", ["eval", f"router={router}", f"test_log={bad.path}",
                                   f"out_dir={work / 'e1'}", "logger=none",
                                   f"hydra.run.dir={work / 'h1'}"]),
                ("eval train_log", ["eval", f"router={router}", f"test_log={good}",
                                    f"train_log={bad.path}", f"out_dir={work / 'e2'}",
                                    "logger=none", f"hydra.run.dir={work / 'h2'}"]),
                ("loop logs", ["loop", "--logs", str(bad.path), "--current", str(router),
                               "--out", str(work / "new"), "--logger", "none"])):
            code, text = run_in_process(argv, capfd)
            outcomes.append(judge(Command(name, "parquet", lambda p, t: []), bad, code, text))
    failed = [o for o in outcomes if o.problem]
    assert not failed, "\n".join(f"{o.command} / {o.input}: {o.problem}: {o.last_line}"
                                 for o in failed)
