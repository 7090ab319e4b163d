"""Runtime: loading, routing, errors, thread safety."""

from __future__ import annotations

import json
import math
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from router_model.artifact import ArtifactError
from router_model.reward import RewardWeights
from router_model.runtime import InvalidRequest, Router


def test_route_one_and_batch_agree(router: Router, trained) -> None:
    texts = trained.held_out[:20]
    one = [router.route(t) for t in texts]
    batch = router.route_batch(texts)
    assert [d.model for d in one] == [d.model for d in batch]
    d = one[0]
    assert d.model in router.models and d.propensity == 1.0 and d.micros > 0
    assert set(d.utility) == set(router.models) and d.reason == "argmax utility"


@pytest.mark.parametrize("weights", [None, RewardWeights(w_cost=50.0),
                                     RewardWeights(max_cost_usd=0.0),
                                     RewardWeights(w_latency=1e-3, max_latency_ms=900.0)])
def test_single_text_fast_path_matches_batch(router: Router, trained,
                                            weights: RewardWeights | None) -> None:
    """``route`` (the gateway's hot path) gives the same Decision as ``route_batch``:
    model, index, reason (limits compared as the graph does) and the score dicts."""
    allowed = router.models[1::2]
    for allow in (None, allowed):
        batch = router.route_batch(trained.held_out[:15], weights, allow)
        for text, b in zip(trained.held_out[:15], batch, strict=True):
            d = router.route(text, weights, allow)
            assert (d.model, d.index, d.reason, d.propensity) == \
                (b.model, b.index, b.reason, b.propensity)
            assert d.utility == pytest.approx(b.utility) and d.quality == pytest.approx(b.quality)


def test_exploration_stays_in_the_allowed_set(router: Router, trained) -> None:
    rng = np.random.default_rng(1)
    allowed = router.models[:3]
    text = trained.held_out[1]
    greedy = router.route(text, allowed=allowed).model
    ds = [router.route(text, allowed=allowed, epsilon=0.9, rng=rng) for _ in range(900)]
    assert {d.model for d in ds} == set(allowed)
    for m in allowed:  # each non-greedy model: 0.9 / 3 = 0.3 of draws
        share = np.mean([d.model == m for d in ds])
        want = 0.1 + 0.3 if m == greedy else 0.3
        assert abs(share - want) < 0.06, (m, share)
        assert all(d.propensity == pytest.approx(want) for d in ds if d.model == m)


def _same(a, b) -> None:
    """Two Decisions equal but for the timing."""
    assert (a.model, a.index, a.propensity, a.reason) == (b.model, b.index, b.propensity,
                                                          b.reason)
    assert a.utility == b.utility and a.quality == b.quality


@pytest.mark.parametrize("weights", [None, RewardWeights(w_latency=1e-3),
                                     RewardWeights(max_cost_usd=0.0)])
def test_zero_latency_offsets_are_no_offsets(router: Router, trained,
                                             weights: RewardWeights | None) -> None:
    zeros = [0.0] * len(router.models)
    for text in trained.held_out[:10]:
        _same(router.route(text, weights, latency_offset_ms=zeros), router.route(text, weights))
        _same(router.route(text, weights, latency_offset_ms=np.zeros(len(router.models))),
              router.route(text, weights))


def test_latency_offset_on_the_greedy_model_moves_the_choice(router: Router, trained) -> None:
    w = RewardWeights(w_latency=1e-3)
    text = trained.held_out[0]
    base = router.route(text, w)
    assert base.reason == "argmax utility"
    offsets = [0.0] * len(router.models)
    offsets[base.index] = 1e6  # 1e6 ms * 1e-3 per ms: utility - 1000
    d = router.route(text, w, latency_offset_ms=offsets)
    runner_up = max((m for m in router.models if m != base.model), key=base.utility.__getitem__)
    assert d.model == runner_up and d.reason == "argmax utility (load-adjusted)"
    assert d.utility[base.model] == pytest.approx(base.utility[base.model] - 1e3, abs=1e-2)
    assert {m: u for m, u in d.utility.items() if m != base.model} == pytest.approx(
        {m: u for m, u in base.utility.items() if m != base.model}, abs=1e-6)
    assert d.quality == base.quality and d.propensity == 1.0
    # with w_latency = 0 and no limits the same offset changes nothing but the path taken
    plain = router.route(text, latency_offset_ms=offsets)
    _same(plain, router.route(text))
    # exploration around the load-adjusted greedy choice, same exact propensities
    rng, k = np.random.default_rng(3), len(router.models)
    ds = [router.route(text, w, epsilon=0.3, rng=rng, latency_offset_ms=offsets)
          for _ in range(300)]
    for e in ds:
        want = 0.7 + 0.3 / k if e.model == runner_up else 0.3 / k
        assert e.propensity == pytest.approx(want)
        assert e.reason == ("argmax utility (load-adjusted)" if e.model == runner_up
                            else "explore")
    assert abs(np.mean([e.model == runner_up for e in ds]) - (0.7 + 0.3 / k)) < 0.1


def test_latency_offset_over_max_latency_excludes_the_model(router: Router, trained) -> None:
    text = trained.held_out[2]
    lat = router.scores([text])["latency_ms"][0]
    w = RewardWeights(max_latency_ms=float(lat.max()) + 100.0)  # every model within it
    base = router.route(text, w)
    assert base.reason == "argmax utility"
    offsets = [0.0] * len(router.models)
    over = float(lat.max()) + 200.0  # pushes any model over the limit
    offsets[base.index] = over  # w_latency = 0: the utilities are otherwise the same
    d = router.route(text, w, latency_offset_ms=offsets)
    assert d.model != base.model and d.utility[base.model] <= -1e30
    assert d.reason == "argmax utility (load-adjusted)"
    assert d.model == max((m for m in router.models if m != base.model),
                          key=base.utility.__getitem__)
    # every model pushed over the limit: the documented fallback, limits dropped
    every = router.route(text, w, latency_offset_ms=[over] * len(router.models))
    assert every.model == base.model and every.reason.startswith("fallback")
    assert every.utility == pytest.approx(base.utility, abs=1e-6)


@pytest.mark.parametrize("offsets", [[0.0], [1.0, 2.0], [-1.0, 0.0, 0.0, 0.0],
                                     [math.nan, 0.0, 0.0, 0.0], [math.inf, 0.0, 0.0, 0.0],
                                     ["x", 0.0, 0.0, 0.0], 5.0])
def test_bad_latency_offsets_are_rejected(router: Router, offsets) -> None:
    assert len(router.models) == 4
    with pytest.raises(InvalidRequest, match="latency_offset_ms") as e:
        router.route("hello", latency_offset_ms=offsets)
    assert e.value.field == "latency_offset_ms"


def test_scores_and_embed_shapes(router: Router, trained) -> None:
    out = router.scores(trained.held_out[:3])
    m = len(router.models)
    assert out["quality"].shape == (3, m) and out["choice"].shape == (3,)
    assert ((out["quality"] >= 0) & (out["quality"] <= 1)).all()
    assert (out["cost_usd"] >= 0).all()
    emb = router.embed(trained.held_out[:3])
    assert emb.shape == (3, router.manifest["featurizer"]["dim"])


def test_mask_and_limits(router: Router, trained) -> None:
    text = trained.held_out[0]
    only = router.models[-1]
    assert router.route(text, allowed=[only]).model == only
    # impossible cost limit: documented fallback to the best allowed model
    d = router.route(text, RewardWeights(max_cost_usd=0.0))
    assert d.reason.startswith("fallback")
    # a huge cost weight pushes to the cheapest predicted model
    cheap = router.route(text, RewardWeights(w_cost=1e9))
    costs = router.scores([text])["cost_usd"][0]
    assert cheap.index == int(np.argmin(costs))


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_is_rejected(router: Router, text: str) -> None:
    with pytest.raises(InvalidRequest, match="text"):
        router.route(text)


def test_bad_weights_and_models(router: Router) -> None:
    with pytest.raises(ValueError, match="w_cost"):
        router.route("hello", RewardWeights(w_cost=math.nan))
    with pytest.raises(InvalidRequest, match="allowed") as e:
        router.route("hello", allowed=["no-such-model"])
    assert e.value.field == "allowed"
    with pytest.raises(InvalidRequest, match="allowed"):
        router.route("hello", allowed=[])
    with pytest.raises(ValueError, match="epsilon"):
        router.route("hello", epsilon=1.5)


def test_exploration_reports_exact_propensity(router: Router, trained) -> None:
    rng = np.random.default_rng(0)
    text = trained.held_out[0]
    greedy = router.route(text).model
    k = len(router.models)
    ds = [router.route(text, epsilon=0.3, rng=rng) for _ in range(400)]
    for d in ds:
        want = 1 - 0.3 + 0.3 / k if d.model == greedy else 0.3 / k
        assert d.propensity == pytest.approx(want)
    share = np.mean([d.model == greedy for d in ds])
    assert abs(share - (0.7 + 0.3 / k)) < 0.08


def test_thread_safety(router: Router, trained) -> None:
    texts = trained.held_out[:40]
    serial = [router.route(t).model for t in texts]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(3):
            assert list(pool.map(lambda t: router.route(t).model, texts)) == serial


def _copy(trained, tmp_path: Path) -> Path:
    dst = tmp_path / "art"
    shutil.copytree(trained.out_dir, dst)
    return dst


def test_corrupt_onnx_is_refused(trained, tmp_path: Path) -> None:
    d = _copy(trained, tmp_path)
    data = bytearray((d / "router.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (d / "router.onnx").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"router\.onnx"):
        Router.load(d)


def test_truncated_onnx_is_refused(trained, tmp_path: Path) -> None:
    d = _copy(trained, tmp_path)
    (d / "router.onnx").write_bytes((d / "router.onnx").read_bytes()[:1000])
    with pytest.raises(ArtifactError, match=r"router\.onnx"):
        Router.load(d)


def test_tokenizer_mismatch_is_refused(trained, tmp_path: Path) -> None:
    d = _copy(trained, tmp_path)
    tok = json.loads((d / "tokenizer.json").read_text())
    tok["truncation"]["max_length"] = 64
    (d / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(ArtifactError, match="tokenizer"):
        Router.load(d)


def test_missing_and_bad_manifest(trained, tmp_path: Path) -> None:
    d = _copy(trained, tmp_path)
    (d / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="manifest"):
        Router.load(d)
    (d / "manifest.json").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        Router.load(d)
    with pytest.raises(ArtifactError, match="missing"):
        Router.load(tmp_path / "nowhere")


def test_manifest_edit_is_detected(trained, tmp_path: Path) -> None:
    d = _copy(trained, tmp_path)
    m = json.loads((d / "manifest.json").read_text())
    m["models"] = list(reversed(m["models"]))
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="embedded manifest"):
        Router.load(d)


def test_unknown_provider(trained) -> None:
    with pytest.raises(ValueError, match="providers"):
        Router.load(trained.out_dir, providers=["NoSuchExecutionProvider"])
    assert Router.load(trained.out_dir, providers="auto").models
