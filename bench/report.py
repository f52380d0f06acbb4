"""bench/results.md from one run's results: headline table, details per benchmark, misses with profiles."""

from __future__ import annotations

from typing import Any

from bench.config import CONNECTIONS, PUBLISHED, TARGETS
from bench.figures import Figure
from bench.notes import NOTES


def _n(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _met(figure: Figure) -> str:
    return {True: "✅ met", False: f"❌ missed ({figure.shortfall})", None: "— not measured"}[figure.met]


def write(results: dict[str, Any], figures: list[Figure]) -> str:
    out: list[str] = []
    add = out.append
    m, t = results.get("machine", {}), results.get("timing", {})
    shared = results.get("shared")
    add("# authgate benchmark results\n")
    add(f"Written by `.venv/bin/python -m bench` on {results.get('started', '?')} (commit {m.get('commit', '?')}), "
        f"which took {results.get('elapsed_s', 0) / 60:.1f} min end to end.\n")
    add(f"Machine: {m.get('cpus')} cores ({m.get('cpu_model', '?')}), {m.get('memory_gb', '?')} GB, Python "
        f"{m.get('python')}, {m.get('node')}, {m.get('wrk')}, {m.get('postgres')}.")
    if shared:
        during = results.get("others_cores_during")
        add(f"\n**The machine was shared during this run**: processes other than this benchmark's used on average "
            + (f"{during:.2f} of the {m.get('cpus')} cores during the measured runs and " if during is not None else "")
            + f"{results.get('others_cpu_percent', 0):.0f}% of a core between phases (load average "
            f"{results.get('load_start')} at the start, {results.get('load_end')} at the end; per phase below). "
            "Absolute figures are depressed and noisy; each comparison alternates runs of both sides, so ratios "
            "suffer less than absolutes.\n")
    else:
        add("\nThe machine was otherwise idle during this run (no other process above 5% of a core between phases).\n")
    add(f"Method: load from `wrk` (one thread, a separate process) on 127.0.0.1 against `authgate serve --workers 2` "
        f"on PostgreSQL and against the peer's two node workers; per benchmark a {t.get('warmup')} s warm-up per side, "
        f"then {t.get('runs')} runs of {t.get('duration')} s alternating between the sides; figures are the median "
        f"of the runs (req/s, p50 and p99 each). Concurrency: {', '.join(f'{k} {v}' for k, v in CONNECTIONS.items())} "
        "connections.\n")

    add("## Headline\n")
    add("| figure | authgate | compared with (same run) | ratio | target | result |")
    add("|---|---|---|---|---|---|")
    for f in figures:
        digits = 1 if f.unit in ("µs/op", "ms", "MB") else 0
        add(f"| {f.name} | {_n(f.ours, digits)} {f.unit} | {f.theirs_label}: {_n(f.theirs, digits)} {f.unit} | "
            f"{_n(f.ratio, 2)} {f.ratio_label} | {'≤' if f.at_most else '≥'} {f.target:g} | {_met(f)} |")
    add("\n![ratios](plots/ratios.png)\n")
    add("![throughput](plots/throughput.png)\n")

    _details(add, results)
    _published(add, results)
    _misses(add, results, figures)
    _setup(add, results)
    return "\n".join(out) + "\n"


def _series_table(add: Any, block: dict[str, Any], note: str = "") -> None:
    add("| side | req/s | p50 ms | p99 ms | errors | runs (req/s) | warm-up req/s |")
    add("|---|---|---|---|---|---|---|")
    for side, s in block.items():
        if not isinstance(s, dict) or "runs" not in s:
            continue
        runs = ", ".join(_n(r["rps"]) for r in s["runs"])
        warm = _n((s.get("warmup") or {}).get("rps"))
        add(f"| {side} | {_n(s['rps'])} | {_n(s['p50_ms'], 2)} | {_n(s['p99_ms'], 2)} | {s['errors']} | {runs} | {warm} |")
    if note:
        add(f"\n{note}")
    add("")


def _details(add: Any, results: dict[str, Any]) -> None:
    add("## Details\n")
    errors = results.get("errors", {})
    sections = [
        ("client_credentials", "Client-credentials grant", NOTES["client_credentials_setup"]),
        ("introspection", "Introspection", NOTES["introspection_setup"]),
        ("refresh", "Refresh-token grant", NOTES["refresh_setup"]),
        ("password", "Password login, raw argon2id, and 1,000 vs 1,000,000 users", NOTES["password_setup"]),
    ]
    for key, title, note in sections:
        add(f"### {title}\n")
        if key in errors:
            add(f"**This benchmark failed:** `{errors[key]}` (traceback in bench/out/error-{key}.txt)\n")
            continue
        block = results.get(key, {})
        _series_table(add, block)
        _cpu(add, (results.get("cpu") or {}).get(key), "during the measured runs of both sides")
        if key == "refresh":
            add(f"Refresh tokens minted into PostgreSQL for this benchmark: {_n(block.get('pool_minted'))}.\n")
        if key == "password":
            add(f"Users in the databases: {_n(results.get('users_small'))} and {_n(results.get('users_large'))}.\n")
        add(note + "\n")
        add(f"![latency](plots/latency.png)\n" if key == "password" else "")
    add("### Guard verification per request\n")
    if "guard" in errors:
        add(f"**Failed:** `{errors['guard']}`\n")
    else:
        g = results.get("guard", {})
        add("| case | authgate.guard µs/op | PyJWT + PyJWKClient µs/op | speed-up | target |")
        add("|---|---|---|---|---|")
        for case in ("fresh", "repeated"):
            c = g.get(case) or {}
            add(f"| {case} | {_n(c.get('guard_us'), 2)} | {_n(c.get('pyjwt_us'), 2)} | {_n(c.get('ratio'), 2)}× | "
                f"{TARGETS['guard_' + case]:g}× |")
        printed = "\n".join(g.get("printed", []))
        add(f"\nFrom `bench/guard_bench.py` (one process, ES256, {g.get('tokens', '?')} fresh tokens, "
            f"{g.get('rounds', '?')} rounds; PyJWT {g.get('pyjwt', '?')}). Its output:\n\n```\n{printed}\n```\n")
        add("![guard](plots/guard.png)\n")
    add("### Memory\n")
    peaks = results.get("rss_peaks") or {}
    idle = results.get("rss_idle") or {}
    add(f"authgate workers idle after start: {', '.join(_n(v, 1) for v in idle.values())} MB.\n")
    add("| phase | authgate peak RSS per worker (MB) | oidc-provider peak RSS per worker (MB) |")
    add("|---|---|---|")
    peer = results.get("peer_rss") or {}
    for phase, per_pid in peaks.items():
        ours = ", ".join(_n(v, 1) for v in per_pid.values())
        theirs = ", ".join(_n(v, 1) for v in (peer.get(phase) or {}).values()) or "—"
        add(f"| {phase} | {ours} | {theirs} |")
    large = results.get("rss_large") or {}
    if large:
        add(f"| password (1M-user server) | {', '.join(_n(v, 1) for p in large.values() for v in p.values())} | — |")
    add(f"\n{NOTES['memory_setup']}\n")
    add("![memory](plots/memory.png)\n")
    add("### Admin pagination\n")
    a = results.get("admin_pagination")
    if "admin_pagination" in errors:
        add(f"**Failed:** `{errors['admin_pagination']}`\n")
    elif not a or a.get("missing"):
        add("`bench/admin_pagination.py` was not in the tree when this ran; the runner calls it when it is.\n")
    else:
        shown = {k: v for k, v in a.items() if k not in ("printed",)}
        printed = "\n".join(a.get("printed", []))
        add(f"From `bench/admin_pagination.py`: `{shown}`\n\n```\n{printed}\n```\n")


def _published(add: Any, results: dict[str, Any]) -> None:
    add("## Published figures (other machines, other conditions)\n")
    add("Printed beside ours for orientation only; they were not measured here.\n")
    ours = {
        ("Keycloak", "password logins"): ("password", "authgate-1k"),
        ("Keycloak", "client-credentials grants"): ("client_credentials", "authgate"),
        ("Keycloak", "refresh grants"): ("refresh", "authgate"),
        ("Ory Hydra", "client-credentials grants"): ("client_credentials", "authgate"),
        ("Ory Hydra", "introspections"): ("introspection", "authgate"),
    }
    add("| product | figure | published | on 2 cores | authgate here (2 cores) | ratio |")
    add("|---|---|---|---|---|---|")
    for p in PUBLISHED:
        two = p.value * 2 if "per vCPU" in p.unit else p.value
        bench, side = ours[(p.product, p.figure)]
        mine = (results.get(bench) or {}).get(side, {}).get("rps")
        add(f"| {p.product} | {p.figure} | {p.value:,.0f} {p.unit} | {two:,.0f} | {_n(mine)} | "
            f"{_n(mine / two if mine else None, 2)}× |")
    seen = []
    for p in PUBLISHED:
        if p.conditions not in seen:
            seen.append(p.conditions)
            add(f"\n- **{p.product}** ({p.source}): {p.conditions}")
    add("")


def _misses(add: Any, results: dict[str, Any], figures: list[Figure]) -> None:
    missed = [f for f in figures if f.met is False]
    add("## Misses: by how much, and why\n")
    if not missed:
        add("Every target was met in this run.\n")
        return
    profiles = results.get("profiles", {})
    done: set[str] = set()
    for f in missed:
        add(f"### {f.name}: {f.shortfall}\n")
        add(f"Measured {_n(f.ratio, 2)} {f.ratio_label}, target {'≤' if f.at_most else '≥'} {f.target:g}.\n")
        note = NOTES.get(f"miss_{f.key}")
        if note:
            add(note + "\n")
        profile = profiles.get(f.key)
        if profile and f.key not in done:
            done.add(f.key)
            _profile(add, profile)
        elif profile:
            add(f"(Profile: see {f.key} above.)\n")


def _cpu(add: Any, cores: dict[str, float] | None, when: str) -> None:
    if not cores:
        return
    parts = ", ".join(f"{name} {value:.2f}" for name, value in cores.items())
    add(f"CPU {when}, in cores of {sum(cores.values()):.0f}: {parts}.\n")


def _profile(add: Any, p: dict[str, Any]) -> None:
    run = p.get("run") or {}
    add(f"Profile: py-spy sampling both workers at 100 Hz during one more {p['name']} run "
        f"({_n(run.get('rps'))} req/s while sampled; {p['samples']:,} samples; raw stacks in bench/out/).\n")
    if p.get("error"):
        add(f"py-spy reported: `{p['error']}`\n")
    _cpu(add, p.get("cpu"), "while profiled")
    if not p.get("samples"):
        return
    add("Where the workers' time went (each sample counted once, by its innermost recognised frame):\n")
    add("| share | what |")
    add("|---|---|")
    for what, share in p["categories"][:10]:
        add(f"| {share * 100:.1f}% | {what} |")
    add("\nTop frames by own time:\n")
    add("```")
    for frame, share in p["own"][:10]:
        add(f"{share * 100:5.1f}%  {frame}")
    add("```\n")
    add("Top frames by inclusive time (event-loop and thread plumbing left out):\n")
    add("```")
    for frame, share in p["inclusive"][:12]:
        add(f"{share * 100:5.1f}%  {frame}")
    add("```\n")


def _setup(add: Any, results: dict[str, Any]) -> None:
    s = results.get("settings", {})
    add("## Set-up\n")
    add(NOTES["setup"].format(**{
        "argon2": s.get("argon2"), "lockout": s.get("lockout"), "log_level": s.get("log_level"),
        "redis": s.get("redis"), "client_cache": s.get("client_cache_seconds"),
    }) + "\n")
    add("### The machine, phase by phase\n")
    add("| before phase | load average (1, 5, 15 min) | other busy processes (% of a core) |")
    add("|---|---|---|")
    for phase, snap in (results.get("machine_during") or {}).items():
        busy = "; ".join(f"{cmd[:60]} ({share}%)" for cmd, share in snap.get("busy", [])[:4]) or "none"
        add(f"| {phase} | {snap.get('loadavg')} | {busy} |")
    errors = results.get("errors") or {}
    if errors:
        add("\n### Failures\n")
        for phase, error in errors.items():
            add(f"- {phase}: `{error}`")
    add("")
