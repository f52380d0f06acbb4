"""PNG plots of one benchmark run (matplotlib, no display): each figure beside its peer's, and the ratios.

    paths = draw(results, figures, PLOTS)   # -> {"ratios": Path, "throughput": Path, ...}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the backend

from bench.config import PUBLISHED, TARGETS
from bench.figures import Figure

OURS, PEER, PUBLISHED_COLOUR, GOOD, BAD = "#2b6cb0", "#dd6b20", "#a0aec0", "#2f855a", "#c53030"


def draw(results: dict[str, Any], figures: list[Figure], directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    drawn = {}
    for name, painter in (("ratios", _ratios), ("throughput", _throughput), ("latency", _latency),
                          ("guard", _guard), ("memory", _memory)):
        path = directory / f"{name}.png"
        fig = painter(results, figures)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        drawn[name] = path
    return drawn


def _ratios(results: dict[str, Any], figures: list[Figure]) -> Any:
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(figures) + 1.2))
    shown = [f for f in figures if f.ratio is not None]
    # Everything as "score vs target": ≥ 1 means the target is met.
    scores = [(f.target / f.ratio if f.at_most else f.ratio / f.target) for f in shown]  # type: ignore[operator]
    labels = [
        f"{f.name}\n{f.ratio:.2f} {f.ratio_label} (target {'≤' if f.at_most else '≥'} {f.target:g})" for f in shown
    ]
    colours = [GOOD if f.met else BAD for f in shown]
    ax.barh(range(len(shown)), [min(score, 3.0) for score in scores], color=colours)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xlim(0, 3.1)
    for y, score in enumerate(scores):
        if score > 3.0:
            ax.annotate(f"{score:.0f} →", (3.0, y), ha="right", va="center", fontsize=8, color="white")
    ax.set_yticks(range(len(shown)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("measured ÷ target (≥ 1: target met)")
    ax.set_title("authgate vs target, same run")
    return fig


def _series(results: dict[str, Any], bench: str, side: str, key: str = "rps") -> float:
    value = results.get(bench, {}).get(side, {})
    return float(value.get(key, 0.0)) if isinstance(value, dict) else 0.0


def _throughput(results: dict[str, Any], figures: list[Figure]) -> Any:
    published = {(p.product, p.figure): p.value * (2 if "per vCPU" in p.unit else 1) for p in PUBLISHED}
    peer_run, hydra, keycloak = "oidc-provider\n(same run)", "Hydra\n(published)", "Keycloak\n(published, 2 vCPU)"
    panels = [
        ("client credentials", [("authgate", _series(results, "client_credentials", "authgate"), OURS),
                                (peer_run, _series(results, "client_credentials", "oidc-provider"), PEER),
                                (hydra, published[("Ory Hydra", "client-credentials grants")], PUBLISHED_COLOUR),
                                (keycloak, published[("Keycloak", "client-credentials grants")], PUBLISHED_COLOUR)]),
        ("introspection", [("authgate", _series(results, "introspection", "authgate"), OURS),
                           (peer_run, _series(results, "introspection", "oidc-provider"), PEER),
                           (hydra, published[("Ory Hydra", "introspections")], PUBLISHED_COLOUR)]),
        ("refresh grant", [("authgate", _series(results, "refresh", "authgate"), OURS),
                           ("target", TARGETS["refresh_rps"], "white"),
                           (keycloak, published[("Keycloak", "refresh grants")], PUBLISHED_COLOUR)]),
        ("password login", [("authgate\n1k users", _series(results, "password", "authgate-1k"), OURS),
                            ("authgate\n1M users", _series(results, "password", "authgate-1m"), OURS),
                            ("raw argon2id\n(same run)", _series(results, "password", "argon2-raw"), PEER),
                            (keycloak, published[("Keycloak", "password logins")], PUBLISHED_COLOUR)]),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 4.5))
    for ax, (title, bars) in zip(axes, panels, strict=True):
        names = [b[0] for b in bars]
        values = [b[1] for b in bars]
        ax.bar(names, values, color=[b[2] for b in bars], edgecolor="black", linewidth=0.5)
        for x, value in enumerate(values):
            ax.annotate(f"{value:,.0f}", (x, value), ha="center", va="bottom", fontsize=8)
        peer = next((i for i, b in enumerate(bars) if b[2] == PEER), None)
        if values[0] and peer is not None and values[peer]:
            ax.set_title(f"{title}\nauthgate ÷ {names[peer].split(chr(10))[0]} = {values[0] / values[peer]:.2f}×",
                         fontsize=10)
        else:
            ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_ylabel("req/s (median of runs)")
    fig.suptitle("Throughput on this machine (2 cores), wrk on 127.0.0.1;"
                 " published figures are other machines and conditions", fontsize=10)
    fig.tight_layout()
    return fig


def _latency(results: dict[str, Any], figures: list[Figure]) -> Any:
    groups = [("client credentials", "client_credentials", "authgate", "oidc-provider"),
              ("introspection", "introspection", "authgate", "oidc-provider"),
              ("password login", "password", "authgate-1k", "authgate-1m")]
    fig, axes = plt.subplots(1, len(groups), figsize=(13, 4))
    for ax, (title, bench, left, right) in zip(axes, groups, strict=True):
        xs = [0, 1]
        for offset, side, colour in ((-0.2, left, OURS), (0.2, right, PEER)):
            values = [_series(results, bench, side, "p50_ms"), _series(results, bench, side, "p99_ms")]
            ax.bar([x + offset for x in xs], values, width=0.4, color=colour, label=side)
            for x, value in zip(xs, values, strict=True):
                ax.annotate(f"{value:.1f}", (x + offset, value), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(xs, ["p50", "p99"])
        ax.set_ylabel("ms")
        left_p99, right_p99 = _series(results, bench, left, "p99_ms"), _series(results, bench, right, "p99_ms")
        ratio = f"\np99 {right} ÷ {left} = {right_p99 / left_p99:.2f}" if left_p99 and right_p99 else ""
        ax.set_title(title + ratio, fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle("Latency under the same wrk load (median of runs)", fontsize=10)
    fig.tight_layout()
    return fig


def _guard(results: dict[str, Any], figures: list[Figure]) -> Any:
    fig, ax = plt.subplots(figsize=(7, 4))
    guard = results.get("guard") or {}
    cases = ["fresh", "repeated"]
    ours = [float((guard.get(c) or {}).get("guard_us", 0)) for c in cases]
    theirs = [float((guard.get(c) or {}).get("pyjwt_us", 0)) for c in cases]
    ax.bar([0 - 0.2, 1 - 0.2], ours, width=0.4, color=OURS, label="authgate.guard")
    ax.bar([0 + 0.2, 1 + 0.2], theirs, width=0.4, color=PEER, label="PyJWT + PyJWKClient")
    for x, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        ax.annotate(f"{a:.1f}", (x - 0.2, a), ha="center", va="bottom", fontsize=8)
        label = f"{b:.1f}\n({b / a:.1f}× slower)" if a else f"{b:.1f}"
        ax.annotate(label, (x + 0.2, b), ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks([0, 1], [f"fresh tokens (target ≥ {TARGETS['guard_fresh']}×)",
                           f"repeated token (target ≥ {TARGETS['guard_repeated']:.0f}×)"])
    ax.set_ylabel("µs per verification (log)")
    ax.set_title("Bearer JWT verification per request (ES256)")
    ax.legend(fontsize=8)
    return fig


def _memory(results: dict[str, Any], figures: list[Figure]) -> Any:
    fig, ax = plt.subplots(figsize=(9, 4))
    phases = list((results.get("rss_peaks") or {}).keys())
    for offset, (label, source, colour) in enumerate((("authgate", results.get("rss_peaks") or {}, OURS),
                                                      ("oidc-provider", results.get("peer_rss") or {}, PEER))):
        for x, phase in enumerate(phases):
            per_pid = list((source.get(phase) or {}).values())
            if per_pid:
                ax.scatter([x + (offset - 0.5) * 0.3] * len(per_pid), per_pid, color=colour,
                           label=label if x == phases.index(next(p for p in phases if source.get(p))) else None)
    idle = list((results.get("rss_idle") or {}).values())
    if idle:
        ax.axhline(max(idle), color=OURS, linestyle=":", label="authgate worker idle")
    ax.axhline(TARGETS["rss_mb_per_worker"], color=BAD, linestyle="--", label="limit")
    ax.set_xticks(range(len(phases)), phases)
    ax.set_ylabel("peak RSS per worker (MB)")
    ax.set_title("Resident memory per worker process under load (/proc/PID/status VmRSS)")
    ax.legend(fontsize=8)
    ax.set_ylim(bottom=0)
    return fig
