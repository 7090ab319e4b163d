"""The soak: the gateway under sustained load, its memory and file descriptors sampled.

    python -m tests.reliability.soak --minutes 10 --out runs/reliability/soak.json   (make soak)

A real gateway process (``GatewayProc``: uvloop + httptools, the stub router, API keys on,
each key with a daily budget, so every request reserves and settles in SQLite) in front of
the fake backend in its own process (three upstreams, 20 / 50 / 100 ms to answer, 16-token
answers, streams paced per chunk). ``Load`` runs ``--clients`` closed-loop clients (4 keys
shared between them, streamed and plain requests, the four profiles, a feedback score for
one answer in five). Every ``--sample-s`` the gateway's RSS, open file descriptors and
threads are read from /proc; every answer's latency is kept, summarised per ``--window-s``.

"Flat" (``flatness``): warm-up = the first window (60 s by default; a fifth of the run when
that is shorter); baseline = the mean over the next window (the second minute), end = the
mean over the last window. RSS drift = end - baseline (MB and % of the baseline), slope =
least-squares line through every sample after the warm-up (MB/min); flat when the drift is
at most ``RSS_DRIFT_PCT`` % and the slope at most ``RSS_SLOPE_MB_MIN``. File descriptors:
median of each window, flat when they differ by at most ``FD_DRIFT`` and the slope is at
most ``FD_SLOPE_MIN`` per minute. Prints the summary as JSON, writes it (with every sample)
to ``--out`` and the plot (RSS, fds, p50/p99 per window) next to it (``.png``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from serve.bench.procs import ManagedProcess
from serve.keys import KeyStore
from serve.net import free_port
from tests.reliability.load import Load
from tests.reliability.procs import ROOT, GatewayProc, backend, stub_settings

RSS_DRIFT_PCT = 5.0
RSS_SLOPE_MB_MIN = 1.0
FD_DRIFT = 5
FD_SLOPE_MIN = 1.0
BEHAVIOURS = {"up-cheap": {"delay_s": 0.02, "completion_tokens": 16, "chunk_delay_s": 0.002},
              "up-mid": {"delay_s": 0.05, "completion_tokens": 16, "chunk_delay_s": 0.004},
              "up-strong": {"delay_s": 0.1, "completion_tokens": 16, "chunk_delay_s": 0.006}}


def _fake_backend(work: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    (work / "behaviours.json").write_text(json.dumps(BEHAVIOURS))
    proc = ManagedProcess("fake-backend", [sys.executable, "-m", "tests.reliability.fake_main",
                                           str(port), str(work / "behaviours.json")],
                          f"http://127.0.0.1:{port}/v1/models", work / "fake_backend.log",
                          env={"PYTHONPATH": str(ROOT)}, cwd=ROOT)
    return proc, f"http://127.0.0.1:{port}/v1"


def _settings(url: str, work: Path, keys: int) -> tuple[dict[str, Any], list[str]]:
    store = KeyStore(work / "keys.sqlite")
    secrets = [store.create_key(f"soak-{i}", daily_budget_usd=1000.0) for i in range(keys)]
    store.close()
    backends = {"b-cheap": backend(url, "up-cheap", ["m-cheap"]),
                "b-mid": backend(url, "up-mid", ["m-mid"]),
                "b-strong": backend(url, "up-strong", ["m-strong"])}
    raw = stub_settings(backends, work / "logs", fallback_backend=None,
                        auth={"enabled": True, "db_path": str(work / "keys.sqlite")},
                        log={"dir": str(work / "logs")})  # the default flush settings
    raw["profiles"] = {k: {**v, "epsilon": 0.1} for k, v in raw["profiles"].items()}
    return raw, secrets


def run_soak(seconds: float, work: Path, clients: int = 16, keys: int = 4,
             stream_share: float = 0.4, sample_s: float = 5.0, window_s: float = 60.0
             ) -> dict[str, Any]:
    """Run the soak; returns the summary with every sample (see module)."""
    work.mkdir(parents=True, exist_ok=True)
    fake, url = _fake_backend(work)
    settings, secrets = _settings(url, work, keys)
    headers = [{"authorization": f"Bearer {s}"} for s in secrets]
    samples: list[dict[str, float]] = []
    with fake.start(timeout_s=60), GatewayProc(settings, work) as gw:
        t0 = time.monotonic()
        with Load(gw.url, clients=clients, stream_share=stream_share, headers=headers) as load:
            while (el := time.monotonic() - t0) < seconds:
                u = gw.usage()
                samples.append({"t_s": round(el, 2), "rss_mb": round(u.rss_mb, 2),
                                "fds": u.fds, "threads": u.threads,
                                "load1": round(os.getloadavg()[0], 2)})
                time.sleep(max(0.0, min(sample_s * len(samples) - el, seconds - el)))
            u = gw.usage()
            samples.append({"t_s": round(time.monotonic() - t0, 2), "rss_mb": round(u.rss_mb, 2),
                            "fds": u.fds, "threads": u.threads,
                            "load1": round(os.getloadavg()[0], 2)})
        ready = httpx.get(f"{gw.url}/health/ready", timeout=10).status_code
        alive = gw.alive()
    answers = [(a.done - t0, a.latency_s, a.stream, a.status) for a in load.result.answers]
    return {"seconds": round(seconds, 1), "clients": clients, "keys": keys,
            "stream_share": stream_share, "sample_s": sample_s, "window_s": window_s,
            "backends": BEHAVIOURS, "requests": len(answers),
            "statuses": _count(str(a[3]) for a in answers),
            "status_5xx": sum(a[3] >= 500 for a in answers),
            "transport_errors": len(load.result.errors),
            "transport_error_examples": load.result.errors[:5],
            "feedback_sent": len(load.result.feedback), "alive_after": alive,
            "ready_after": ready, "flatness": flatness(samples, seconds, window_s),
            "windows": windows(answers, seconds, window_s), "samples": samples}


def _count(xs: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in xs:
        out[x] = out.get(x, 0) + 1
    return dict(sorted(out.items()))


def windows(answers: list[tuple[float, float, bool, int]], seconds: float, window_s: float
            ) -> list[dict[str, Any]]:
    """Per window of completion time: count, rate, p50/p99 (all, plain, streamed), 5xx."""
    out = []
    for k in range(int(np.ceil(seconds / window_s - 1e-9))):
        lo, hi = k * window_s, min((k + 1) * window_s, seconds)
        w = [a for a in answers if lo <= a[0] < hi]
        row: dict[str, Any] = {"start_s": round(lo, 1), "end_s": round(hi, 1),
                               "requests": len(w), "rps": round(len(w) / (hi - lo), 1),
                               "status_5xx": sum(a[3] >= 500 for a in w)}
        for name, sel in (("", w), ("plain_", [a for a in w if not a[2]]),
                          ("stream_", [a for a in w if a[2]])):
            lat = np.array([a[1] * 1e3 for a in sel])
            row[f"{name}p50_ms"] = round(float(np.percentile(lat, 50)), 1) if len(lat) else None
            row[f"{name}p99_ms"] = round(float(np.percentile(lat, 99)), 1) if len(lat) else None
        out.append(row)
    return out


def _drift(samples: list[dict[str, float]], key: str, warm: float, seconds: float,
           agg: Any) -> dict[str, Any]:
    t = np.array([s["t_s"] for s in samples])
    v = np.array([s[key] for s in samples], dtype=float)
    base = v[(t >= warm) & (t < 2 * warm)]
    end = v[t >= seconds - warm]
    after = t >= warm
    slope = float(np.polyfit(t[after] / 60.0, v[after], 1)[0]) if after.sum() >= 3 else None
    b, e = float(agg(base)) if len(base) else None, float(agg(end)) if len(end) else None
    drift = None if b is None or e is None else e - b
    return {"baseline": b, "end": e, "drift": drift,
            "drift_pct": None if drift is None or not b else round(100 * drift / b, 2),
            "slope_per_min": None if slope is None else round(slope, 3),
            "min": float(v.min()), "max": float(v.max()), "first": float(v[0])}


def flatness(samples: list[dict[str, float]], seconds: float, window_s: float
             ) -> dict[str, Any]:
    """RSS and fd drift between the second window and the last (see module)."""
    warm = min(window_s, seconds / 5)
    rss = _drift(samples, "rss_mb", warm, seconds, np.mean)
    fds = _drift(samples, "fds", warm, seconds, np.median)
    rss_flat = rss["drift_pct"] is not None and rss["drift_pct"] <= RSS_DRIFT_PCT and \
        rss["slope_per_min"] is not None and rss["slope_per_min"] <= RSS_SLOPE_MB_MIN
    fd_flat = fds["drift"] is not None and fds["drift"] <= FD_DRIFT and \
        fds["slope_per_min"] is not None and fds["slope_per_min"] <= FD_SLOPE_MIN
    return {"warmup_s": warm, "baseline_window_s": [warm, 2 * warm],
            "end_window_s": [seconds - warm, seconds], "rss_mb": rss, "fds": fds,
            "criteria": {"rss_drift_pct_max": RSS_DRIFT_PCT, "rss_slope_mb_min_max":
                         RSS_SLOPE_MB_MIN, "fd_drift_max": FD_DRIFT,
                         "fd_slope_min_max": FD_SLOPE_MIN},
            "rss_flat": rss_flat, "fds_flat": fd_flat}


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, w = summary["samples"], summary["windows"]
    t = [x["t_s"] / 60 for x in s]
    fig, ax = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    ax[0].plot(t, [x["rss_mb"] for x in s], ".-", ms=3)
    f = summary["flatness"]
    ax[0].axvspan(f["baseline_window_s"][0] / 60, f["baseline_window_s"][1] / 60, alpha=0.1)
    ax[0].axvspan(f["end_window_s"][0] / 60, f["end_window_s"][1] / 60, alpha=0.1)
    r = f["rss_mb"]
    ax[0].set_ylabel("gateway RSS (MB)")
    ax[0].set_title(f"soak: {summary['clients']} clients, {summary['requests']} requests; "
                    f"RSS drift {r['drift']:+.1f} MB ({r['drift_pct']:+.1f}%), "
                    f"slope {r['slope_per_min']:+.2f} MB/min", fontsize=9)
    ax[1].plot(t, [x["fds"] for x in s], ".-", ms=3, color="tab:orange")
    ax[1].set_ylabel("open fds")
    mid = [(x["start_s"] + x["end_s"]) / 120 for x in w]
    for key, style in (("p50_ms", "o-"), ("p99_ms", "s-"), ("stream_p99_ms", "^:"),
                       ("plain_p99_ms", "v:")):
        ax[2].plot(mid, [x[key] for x in w], style, ms=4, label=key.replace("_ms", ""))
    ax[2].set_ylabel("latency per window (ms)")
    ax[2].set_xlabel("minutes")
    ax[2].legend(fontsize=8, ncol=4)
    for a in ax:
        a.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.reliability.soak", description=__doc__
                                 .split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--keys", type=int, default=4)
    ap.add_argument("--stream-share", type=float, default=0.4)
    ap.add_argument("--sample-s", type=float, default=5.0)
    ap.add_argument("--window-s", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=Path("runs/reliability/soak.json"))
    ap.add_argument("--plot", type=Path, default=None, help="default: --out with .png")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        load0 = os.getloadavg()
        summary = run_soak(a.minutes * 60, Path(tmp), a.clients, a.keys, a.stream_share,
                           a.sample_s, a.window_s)
    summary["loadavg_start"] = [round(x, 2) for x in load0]
    summary["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    summary["cpus"] = os.cpu_count()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(summary, indent=1))
    png = a.plot or a.out.with_suffix(".png")
    plot(summary, png)
    print(json.dumps({**{k: v for k, v in summary.items() if k != "samples"},
                      "out": str(a.out), "plot": str(png)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
