"""LiteLLM's proxy as the benchmark's reference gateway, in its own virtualenv.

``ensure_litellm`` installs PyPI ``litellm[proxy]`` into ``.venv-litellm`` when missing
(its dependency set clashes with ours, so it never enters ``.venv``); ``litellm_process``
starts it on 127.0.0.1 with a config that points one ``openai/`` model at the same fake
backend lmroute uses, with logging, telemetry, the database and the cost-map download
off, so the comparison measures the proxy path only.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from serve.bench.procs import ManagedProcess

logger = logging.getLogger(__name__)

LITELLM_SPEC = "litellm[proxy]"
MASTER_KEY = "sk-bench-local-only"


@dataclass(frozen=True)
class LiteLLMInstall:
    """Where LiteLLM lives and how long installing it took (0 when it was there)."""

    venv: Path
    install_s: float
    version: str

    @property
    def executable(self) -> Path:
        return self.venv / "bin" / "litellm"


def _python311() -> str:
    exe = shutil.which("python3.11")
    if exe is None:
        raise RuntimeError("python3.11 not found on PATH: needed to create .venv-litellm")
    return exe


def _version(venv: Path) -> str:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m;"
         "print(m.version('litellm'))"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return out.stdout.strip() or "unknown"


def ensure_litellm(venv: Path, install: bool = True) -> LiteLLMInstall:
    """Install ``litellm[proxy]`` into ``venv`` unless its ``litellm`` command is there."""
    exe = venv / "bin" / "litellm"
    if exe.exists():
        return LiteLLMInstall(venv, 0.0, _version(venv))
    if not install:
        raise RuntimeError(f"{exe} missing and --no-install given")
    logger.warning("installing %s into %s (first run only, a few minutes)", LITELLM_SPEC, venv)
    t0 = time.perf_counter()
    if not (venv / "bin" / "python").exists():
        subprocess.run([_python311(), "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "--progress-bar", "off"]
    subprocess.run([*pip, LITELLM_SPEC], check=True)
    return LiteLLMInstall(venv, time.perf_counter() - t0, _version(venv))


def write_config(path: Path, backend_url: str, model: str) -> Path:
    """LiteLLM proxy config: ``model`` -> ``openai/<model>`` at ``backend_url`` (ends in /v1)."""
    config = {
        "model_list": [
            {
                "model_name": model,
                "litellm_params": {
                    "model": f"openai/{model}",
                    "api_base": backend_url,
                    "api_key": "sk-fake-backend",
                },
            }
        ],
        "litellm_settings": {
            "telemetry": False,
            "set_verbose": False,
            "json_logs": False,
            "drop_params": True,
        },
        "general_settings": {
            "master_key": MASTER_KEY,
            "disable_spend_logs": True,
            "disable_error_logs": True,
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def litellm_process(
    install: LiteLLMInstall, config: Path, port: int, log_path: Path, workers: int = 1
) -> ManagedProcess:
    """The proxy on 127.0.0.1:``port`` (not started yet); ready when its liveness probe is."""
    argv = [
        str(install.executable), "--config", str(config), "--host", "127.0.0.1",
        "--port", str(port), "--num_workers", str(workers),
    ]  # fmt: skip
    env = {
        "LITELLM_LOG": "ERROR",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no network fetch of the price map
        "LITELLM_TELEMETRY": "False",
        "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
        "DISABLE_ADMIN_UI": "True",
        "NO_DOCS": "True",
    }
    ready = f"http://127.0.0.1:{port}/health/liveliness"
    return ManagedProcess("litellm", argv, ready, log_path, env=env)
