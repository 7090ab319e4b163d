"""The shared shape of the Hydra training commands (``lmroute train``, ``lmroute guard
train``, ``lmroute cache train``): parse ``argv`` as overrides of a config in conf/, run
the job, and turn bad input into one line on stderr and exit 2 (never a traceback)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import hydra
from hydra.errors import InstantiationException
from omegaconf import DictConfig

CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")
INPUT_ERRORS = (ValueError, TypeError, KeyError, FileNotFoundError, InstantiationException)


def hydra_command(prog: str, config_name: str, job: Callable[[DictConfig], float]
                  ) -> Callable[[list[str]], int]:
    """``main(argv) -> exit code`` for ``prog``: 0 ok, 2 bad input (config or data)."""

    @hydra.main(config_path=CONF_DIR, config_name=config_name, version_base="1.3")
    def hydra_main(cfg: DictConfig) -> float:
        try:
            return job(cfg)
        except INPUT_ERRORS as e:
            print(f"{prog}: error: {e}".splitlines()[0], file=sys.stderr)
            sys.exit(2)

    def main(argv: list[str]) -> int:
        saved = sys.argv
        sys.argv = [prog, *argv]
        try:
            hydra_main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
            return 2 if code not in (0, 2) else code
        finally:
            sys.argv = saved
        return 0

    main.__doc__ = f"Entry for ``{prog}``; argv are Hydra overrides (and -m / --help ...)."
    return main
