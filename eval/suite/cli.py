"""``lmroute eval suite [hydra overrides]``: thin Hydra entry of the multi-dataset suite.

Config ``conf/suite.yaml`` (schema ``eval.suite.config.SuiteConfig``). Builds the router's
policy factory from the ``policy`` group's ``_target_`` and hands plain settings to
``eval.suite.run.run_suite``; writes ``suite.json``, ``report.md``, ``report.html`` and
PNG plots under ``out_dir``. Exit 0 done, 2 bad input.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from eval.suite.config import SuiteConfig
from train.config import register_configs

log = logging.getLogger("lmroute.eval.suite")
STATIC = "router_model.featurizer_spec.StaticSpec"
CONF_DIR = str(Path(__file__).resolve().parents[2] / "conf")
register_configs()  # the policy / featurizer groups' schemas
ConfigStore.instance().store(name="suite_schema", node=SuiteConfig)


def _settings(conf: SuiteConfig) -> Any:
    from eval.suite.run import SuiteSettings

    f = conf.featurizer
    if f._target_ != STATIC:
        raise ValueError(f"featurizer._target_: the suite evaluates the shipped static "
                         f"featurizer ({STATIC}), got {f._target_!r}")
    return SuiteSettings(Path(conf.shared_data), tuple(conf.datasets), conf.n_splits,
                         conf.seed, conf.val_fraction, conf.max_requests,
                         tuple(conf.baselines), conf.baseline_features, conf.n_boot,
                         conf.n_points, conf.quality_frac, conf.part, f.dim, f.sif_a,
                         conf.tail_tokens, conf.cascade, conf.onboard_model)


def execute(cfg: DictConfig) -> int:
    """Run, write the report; returns the exit code."""
    import torch

    from eval.suite.report import write_report
    from eval.suite.run import run_suite
    from eval.suite.variants import router_specs

    try:
        conf = OmegaConf.to_object(cfg)
        assert isinstance(conf, SuiteConfig)
        torch.set_num_threads(max(conf.threads, 1))
        settings = _settings(conf)
        factory = instantiate(cfg.policy, _partial_=True)
        result = run_suite(settings, router_specs(factory, list(conf.variants)))
    except MissingMandatoryValue as exc:
        print(f"lmroute eval suite: {exc.full_key}: required", file=sys.stderr)
        return 2
    except (OmegaConfBaseException, ValueError, FileNotFoundError, KeyError) as exc:
        print(f"lmroute eval suite: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    out = write_report(result, Path(conf.out_dir))
    print(json.dumps(out.headline, indent=2))
    print(f"report: {out.html.resolve()}")
    return 0


def main(argv: list[str]) -> int:
    """Entry for ``lmroute eval suite``; argv are Hydra overrides."""
    saved, code = sys.argv, [0]
    sys.argv = ["lmroute eval suite", *argv]

    @hydra.main(config_path=CONF_DIR, config_name="suite", version_base="1.3")
    def _app(cfg: DictConfig) -> None:
        code[0] = execute(cfg)

    try:
        _app()
    except SystemExit as exc:
        if exc.code not in (0, None):
            return 2
    finally:
        sys.argv = saved
    return code[0]
