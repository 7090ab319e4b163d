"""``lmroute serve [hydra overrides]`` and ``lmroute serve keys ...`` (thin: config in,
settings out, uvicorn run). The only place a DictConfig exists in ``serve``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from serve.settings import BackendSettings, ServeSettings, settings_from_dict

log = logging.getLogger(__name__)
CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")


def register_schemas() -> None:
    cs = ConfigStore.instance()
    cs.store(name="serve_schema", node=ServeSettings)
    cs.store(group="backends", name="backend_schema", node=BackendSettings)


def build_settings(cfg: DictConfig) -> ServeSettings:
    raw = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    assert isinstance(raw, dict)
    raw.pop("hydra", None)
    return settings_from_dict({str(k): v for k, v in raw.items()})


def run_server(settings: ServeSettings, router_obj: Any = None) -> None:
    """Serve until interrupted (uvloop + httptools when installed); ``router_obj``: an
    already loaded router instead of ``settings.router`` (test processes)."""
    import importlib.util

    import uvicorn

    from serve.app import create_app

    has = importlib.util.find_spec
    config = uvicorn.Config(
        create_app(settings, router_obj=router_obj), host=settings.host, port=settings.port,
        loop="uvloop" if has("uvloop") else "asyncio",
        http="httptools" if has("httptools") else "h11",
        access_log=settings.access_log, log_level="info", timeout_graceful_shutdown=10,
        # longer than clients' idle expiry (httpx/openai: 5 s), so a client never sends on a
        # connection the server is closing (a keep-alive race that surfaces as ReadError)
        timeout_keep_alive=75)
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown
        log.info("interrupted: gateway shut down cleanly")


def main(argv: list[str]) -> int:
    if argv and argv[0] == "keys":
        from serve.keys_cli import main as keys_main

        return keys_main(argv[1:])
    register_schemas()
    code = 0

    @hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="serve")
    def _serve(cfg: DictConfig) -> None:
        nonlocal code
        try:
            settings = build_settings(cfg)
        except (ValueError, TypeError) as exc:
            print(f"lmroute serve: bad config: {exc}", file=sys.stderr)
            code = 2
            return
        run_server(settings)

    sys.argv = ["lmroute serve", *argv]
    _serve()
    return code
