"""The headline figures, each with what it is compared with, the ratio, and the target, from results.

    for figure in headline(results): figure.name, figure.ours, figure.theirs, figure.ratio, figure.met
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.config import TARGETS


@dataclass(frozen=True)
class Figure:
    key: str  # the benchmark it comes from (for profiles)
    name: str
    ours: float | None
    ours_label: str
    theirs: float | None
    theirs_label: str
    unit: str
    ratio: float | None  # ours relative to theirs, oriented so that bigger is better unless `at_most`
    target: float
    at_most: bool = False  # target is an upper bound on `ratio`
    ratio_label: str = "×"
    note: str = ""
    note_key: str = ""  # which NOTES["miss_…"] explains a miss (default: key)

    @property
    def met(self) -> bool | None:
        if self.ratio is None:
            return None
        return self.ratio <= self.target if self.at_most else self.ratio >= self.target

    @property
    def shortfall(self) -> str:
        """How far from the target, in words ('' when met or unknown)."""
        if self.met is not False or self.ratio is None:
            return ""
        if self.at_most:
            return f"{(self.ratio / self.target - 1) * 100:.1f}% over the limit"
        return f"{(1 - self.ratio / self.target) * 100:.1f}% short"


def _get(results: dict[str, Any], *path: str) -> Any:
    node: Any = results
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def headline(results: dict[str, Any]) -> list[Figure]:
    figures = []
    cc_ours = _get(results, "client_credentials", "authgate", "rps")
    cc_peer = _get(results, "client_credentials", "oidc-provider", "rps")
    figures.append(Figure("client_credentials", "client-credentials grant", cc_ours, "authgate", cc_peer,
                          "oidc-provider", "req/s", _div(cc_ours, cc_peer), TARGETS["client_credentials_vs_peer"]))
    cpu_ours = _get(results, "cpu_per_request", "client_credentials", "authgate", "cpu_ms")
    cpu_peer = _get(results, "cpu_per_request", "client_credentials", "oidc-provider", "cpu_ms")
    figures.append(Figure("client_credentials", "client-credentials, server CPU per grant (steadier when shared)",
                          cpu_ours, "authgate", cpu_peer, "oidc-provider", "ms", _div(cpu_peer, cpu_ours),
                          TARGETS["client_credentials_vs_peer"], ratio_label="× less CPU", note_key="cc_cpu"))
    login, raw = _get(results, "password", "authgate-1k", "rps"), _get(results, "password", "argon2-raw", "rps")
    figures.append(Figure("password", "password login (password grant)", login, "authgate", raw,
                          "raw argon2id verify, 2 processes", "req/s", _div(login, raw),
                          TARGETS["password_vs_raw_argon2"], ratio_label="of raw"))
    refresh = _get(results, "refresh", "authgate", "rps")
    figures.append(Figure("refresh", "refresh-token grant (PostgreSQL)", refresh, "authgate", TARGETS["refresh_rps"],
                          "target", "req/s", _div(refresh, TARGETS["refresh_rps"]), 1.0, ratio_label="of target",
                          note="no peer: oidc-provider's refresh needs a user login flow;"
                               " Keycloak's published figure is below"))
    intro = _get(results, "introspection", "authgate", "rps")
    intro_peer = _get(results, "introspection", "oidc-provider", "rps")
    figures.append(Figure("introspection", "introspection", intro, "authgate", intro_peer, "oidc-provider",
                          "req/s", _div(intro, TARGETS["introspection_rps"]), 1.0, ratio_label="of target",
                          note=f"target {TARGETS['introspection_rps']:,.0f} req/s; vs peer "
                               + (f"{intro / intro_peer:.2f}×" if intro and intro_peer else "n/a")))
    i_ours = _get(results, "cpu_per_request", "introspection", "authgate", "cpu_ms")
    i_peer = _get(results, "cpu_per_request", "introspection", "oidc-provider", "cpu_ms")
    if i_ours and i_peer:
        figures.append(Figure("introspection", "introspection, server CPU per request (steadier when shared)", i_ours,
                              "authgate (+ PostgreSQL)", i_peer, "oidc-provider (+ Redis)", "ms", _div(i_peer, i_ours),
                              1.0, ratio_label="× less CPU", note="informational: no target",
                              note_key="intro_cpu"))
    for case in ("fresh", "repeated"):
        ours, theirs = _get(results, "guard", case, "guard_us"), _get(results, "guard", case, "pyjwt_us")
        figures.append(Figure("guard", f"guard verification, {case} tokens", ours, "authgate.guard", theirs,
                              "PyJWT + PyJWKClient", "µs/op", _div(theirs, ours), TARGETS[f"guard_{case}"],
                              ratio_label="faster", note_key=f"guard_{case}"))
    p99_1k = _get(results, "password", "authgate-1k", "p99_ms")
    p99_1m = _get(results, "password", "authgate-1m", "p99_ms")
    figures.append(Figure("password", "login p99 latency, 1M vs 1k users", p99_1m, "1,000,000 users", p99_1k,
                          "1,000 users", "ms", _div(p99_1m, p99_1k), TARGETS["login_p99_1m_vs_1k"], at_most=True,
                          ratio_label="of 1k", note_key="login_latency"))
    rss = _peak_rss(results.get("rss_peaks"))
    peer_rss = _peak_rss(results.get("peer_rss"))
    figures.append(Figure("memory", "RSS per worker under load (peak)", rss, "authgate", peer_rss, "oidc-provider",
                          "MB", _div(rss, TARGETS["rss_mb_per_worker"]), 1.0, at_most=True, ratio_label="of limit",
                          note=f"limit {TARGETS['rss_mb_per_worker']:.0f} MB; vs peer "
                               + (f"{rss / peer_rss:.2f}×" if rss and peer_rss else "n/a")))
    page = _get(results, "admin_pagination", "api_median_ms")
    if page is not None:
        limit = _get(results, "admin_pagination", "target_ms") or 50
        figures.append(Figure("admin_pagination", "admin API, page 5,000 of 1M users (median)", page, "authgate",
                              _get(results, "admin_pagination", "plain_offset_median_ms"), "plain OFFSET, same data",
                              "ms", page / limit, 1.0, at_most=True, ratio_label="of target",
                              note=f"target < {limit} ms"))
    return figures


def _peak_rss(peaks: dict[str, dict[Any, float]] | None) -> float | None:
    values = [mb for per_pid in (peaks or {}).values() for mb in per_pid.values()]
    return max(values) if values else None
