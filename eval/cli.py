"""``lmroute eval [hydra overrides]``: thin Hydra entry point (config: ``conf/eval.yaml``,
schema ``eval.config.EvalConfig``). Exit codes: 0 ok (gate passed or no gate), 1 gate
failed, 2 bad input."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from eval import plots, report
from eval.config import EvalConfig, LoggerConf
from eval.pipeline import EvalInputError, run
from eval.summary import summary_text
from eval.tracking import default_tracking_uri, flat_metrics

log = logging.getLogger("lmroute.eval")
ConfigStore.instance().store(name="eval_schema", node=EvalConfig)
# the logger group is shared with `lmroute train`; same fields, so storing it twice is harmless
ConfigStore.instance().store(group="logger", name="logger_schema", node=LoggerConf)
CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")


def _to_config(cfg: DictConfig) -> EvalConfig:
    try:
        conf = OmegaConf.to_object(cfg)
    except MissingMandatoryValue as exc:
        key = exc.full_key or "?"
        raise EvalInputError(f"{key}: required, pass {key}=...") from exc
    except OmegaConfBaseException as exc:
        raise EvalInputError(f"config: {exc}".splitlines()[0]) from exc
    assert isinstance(conf, EvalConfig)
    return conf


def _tracker(cfg: DictConfig, conf: EvalConfig) -> Any:
    """The logger group's tracker (``_target_``); the store defaults to the train run's."""
    from hydra.utils import instantiate

    try:
        uri = conf.logger.tracking_uri or default_tracking_uri(conf.router, conf.out_dir)
        return instantiate(cfg.logger, runs_dir=conf.out_dir, run_name="eval",
                           tracking_uri=uri)
    except InstantiationException as exc:
        raise EvalInputError(f"logger._target_: {exc}".splitlines()[0]) from exc


def execute(cfg: DictConfig) -> int:
    """Run the evaluation, write the report, log to the tracker; returns the exit code."""
    try:
        conf = _to_config(cfg)
        tracker = _tracker(cfg, conf)
    except EvalInputError as exc:
        print(f"lmroute eval: {exc}", file=sys.stderr)
        return 2
    try:
        outcome = run(conf)
    except (EvalInputError, ValueError) as exc:
        tracker.finish(False)
        print(f"lmroute eval: {exc}", file=sys.stderr)
        return 2
    m, out_dir = outcome.metrics, outcome.out_dir
    figures = plots.write_all(m, out_dir)
    md, page = report.write(m, figures, out_dir)
    tracker.log_params({"router": conf.router, "test_log": conf.test_log,
                        "train_log": conf.train_log,
                        **{f"weights.{k}": v for k, v in vars(conf.weights).items()}})
    tracker.log_metrics(flat_metrics(m))
    tracker.log_files([out_dir / "metrics.json", md, page, *figures])
    tracker.finish(True)
    print(summary_text(m))
    print(f"report: {page.resolve()}")
    if outcome.gate is not None:
        return 0 if outcome.gate.passed else 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Console entry (``lmroute eval ...``): Hydra parses ``argv`` as overrides;
    ``lmroute eval suite ...`` runs the multi-dataset suite (``eval.suite.cli``)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["suite"]:
        from eval.suite.cli import main as suite_main

        return suite_main(args[1:])
    sys.argv = ["lmroute eval", *args]
    code = [0]

    @hydra.main(config_path=CONF_DIR, config_name="eval", version_base="1.3")
    def _app(cfg: DictConfig) -> None:
        code[0] = execute(cfg)

    try:
        _app()
    except SystemExit as exc:  # Hydra reports composition errors itself, then exits
        if exc.code not in (0, None):
            return 2
    return code[0]


if __name__ == "__main__":
    sys.exit(main())
