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
    wrk = str(m.get("wrk", "")).split(" Copyright")[0]
    add(f"Machine: {m.get('cpus')} cores ({m.get('cpu_model', '?')}), {m.get('memory_gb', '?')} GB, Python "
        f"{m.get('python')}, node {m.get('node')}, {wrk}, {m.get('postgres')}.")
    if shared:
        during = results.get("others_cores_during")
        add("\n**The machine was shared during this run**: processes other than this benchmark's used on average "
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
    add("CPU accounting: during each benchmark the runner reads the CPU time of every process from /proc (server "
        "workers, the PostgreSQL backends of the bench databases, Redis, its own children such as wrk) and of the "
        "whole machine from /proc/stat. *Server CPU per request* is the CPU time of a side's serving processes "
        "divided by the requests they answered: it moves much less than req/s when other work shares the cores, and "
        "`2,000 ms ÷ that cost` is the rate the two cores could sustain for that side alone (an upper bound: it "
        "leaves out the load generator's share).\n")

    add("## Headline\n")
    add("| figure | authgate | compared with (same run) | ratio | target | result |")
    add("|---|---|---|---|---|---|")
    for f in figures:
        digits = (2 if (f.ours or 0) < 10 else 1) if f.unit in ("µs/op", "ms", "MB") else 0
        add(f"| {f.name} | {_n(f.ours, digits)} {f.unit} | {f.theirs_label}: {_n(f.theirs, digits)} {f.unit} | "
            f"{_n(f.ratio, 2)} {f.ratio_label} | {'≤' if f.at_most else '≥'} {f.target:g} | {_met(f)} |")
    add("\n![ratios](plots/ratios.png)\n")
    add("![throughput](plots/throughput.png)\n")

    _details(add, results)
    _costs(add, results)
    _published(add, results)
    _misses(add, results, figures)
    _setup(add, results)
    return "\n".join(out) + "\n"


def _series_table(add: Any, block: dict[str, Any], cpu: dict[str, Any] | None = None) -> None:
    add("| side | req/s | p50 ms | p99 ms | errors | runs (req/s) | warm-up req/s | server CPU per request | "
        "req/s that CPU cost allows on 2 free cores |")
    add("|---|---|---|---|---|---|---|---|---|")
    for side, s in block.items():
        if not isinstance(s, dict) or "runs" not in s:
            continue
        runs = ", ".join(_n(r["rps"]) for r in s["runs"])
        warm = _n((s.get("warmup") or {}).get("rps"))
        c = (cpu or {}).get(side)
        cost = f"{c['cpu_ms']:.2f} ms ({' + '.join(c['groups'])})" if c else "—"
        allows = _n(2000 / c["cpu_ms"]) if c and c["cpu_ms"] else "—"
        add(f"| {side} | {_n(s['rps'])} | {_n(s['p50_ms'], 2)} | {_n(s['p99_ms'], 2)} | {s['errors']} | {runs} "
            f"| {warm} | {cost} | {allows} |")
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
        _series_table(add, block, (results.get("cpu_per_request") or {}).get(key))
        _cpu(add, (results.get("cpu") or {}).get(key), "during the measured runs of both sides")
        if key == "refresh":
            add(f"Refresh tokens minted into PostgreSQL for this benchmark: {_n(block.get('pool_minted'))}.\n")
        if key == "password":
            add(f"Users in the databases: {_n(results.get('users_small'))} and {_n(results.get('users_large'))}.\n")
        add(note + "\n")
        add("![latency](plots/latency.png)\n" if key == "password" else "")
    _servers(add, results)
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
        shown = {k: v for k, v in a.items() if k != "printed"}
        printed = "\n".join(a.get("printed", []))
        add(f"From `bench/admin_pagination.py`: `{shown}`\n\n```\n{printed}\n```\n")


def _costs(add: Any, results: dict[str, Any]) -> None:
    c = results.get("costs")
    add("## Cost breakdown: what one request costs the app (bench/costs.py)\n")
    if "costs" in results.get("errors", {}):
        add(f"**Failed:** `{results['errors']['costs']}`\n")
        return
    if not c:
        add("Not measured in this run.\n")
        return
    add(NOTES["costs_setup"] + "\n")
    under_load = results.get("cpu_per_request") or {}
    intro = c.get("introspection", {})
    rows = [
        ("client-credentials grant", c.get("client_credentials", {}).get("cpu_ms"),
         (under_load.get("client_credentials") or {}).get("authgate"),
         c.get("client_credentials", {}).get("round_trips")),
        ("introspection", (intro.get("cpu_ms") or {}).get("as is"),
         (under_load.get("introspection") or {}).get("authgate"), intro.get("round_trips")),
        ("refresh grant", c.get("refresh", {}).get("cpu_ms"), (under_load.get("refresh") or {}).get("authgate"),
         c.get("refresh", {}).get("round_trips")),
        ("password grant", (c.get("password") or {}).get("password grant"),
         (under_load.get("password") or {}).get("authgate-1k"), (c.get("password") or {}).get("round_trips")),
    ]
    add("| path | app CPU per request, in-process | the 2 cores' limit for the app alone "
        "| server CPU per request under wrk (processes counted) | PostgreSQL round trips per request |")
    add("|---|---|---|---|---|")
    for name, inproc, loaded, trips in rows:
        limit = _n(2000 / inproc) + " req/s" if inproc else "—"
        loaded_text = f"{loaded['cpu_ms']:.2f} ms ({' + '.join(loaded['groups'])})" if loaded else "—"
        add(f"| {name} | {_n(inproc, 2)} ms | {limit} | {loaded_text} | {len(trips) if trips is not None else '—'} |")
    add("")
    for name, _, _, trips in rows:
        if trips:
            add(f"- {name}, in order: " + " · ".join(f"`{t[:40]}`" for t in trips))
    add("")
    parts = []
    password_parts = {k: v for k, v in (c.get("password") or {}).items() if k != "round_trips"}
    blocks = [
        ("introspection (whole request)", intro.get("cpu_ms")),
        ("JWT verification alone (AccessTokens.verify, no database)", intro.get("verify_no_db_cpu_ms")),
        ("a revoked-jti lookup", intro.get("revoked_lookup_cpu_ms")),
        ("password grant vs its argon2id verification", password_parts),
    ]
    for label, block in blocks:
        if block:
            parts.append(f"| {label} | " + "; ".join(f"{k}: {v:.3f} ms" for k, v in block.items()) + " |")
    if parts:
        add("Parts, each beside a cheaper way, measured alternately in the same process (median CPU per call):\n")
        add("| what | CPU per call |")
        add("|---|---|")
        for line in parts:
            add(line)
        pw = c.get("password") or {}
        if pw.get("password grant") and pw.get("argon2-cffi verify alone"):
            share = pw["argon2-cffi verify alone"] / pw["password grant"] * 100
            add(f"\nA password login costs {pw['password grant']:.1f} ms of CPU where its argon2id verification alone "
                f"costs {pw['argon2-cffi verify alone']:.1f} ms: without any contention, logins can reach at most "
                f"{share:.0f}% of the raw argon2id rate on the same cores.")
    k = c.get("keys") or {}
    if k:
        add(f"\nSigning-key cache (oauth2/keys.py): one reload re-reads every signing key: "
            f"{k['reload_cpu_ms']:.1f} ms CPU ({k['reload_wall_ms']:.1f} ms wall). "
            "The cache warmer (oauth2/warmer.py) does it in a background thread "
            f"before the {k['every_seconds']:g} s cache expires, so no request waits for it, and keys already parsed "
            "are kept by kid (a key never changes for its kid), so a reload only reads rows.")
    m = c.get("argon2_memory") or {}
    if m:
        add("\nArgon2id and memory (4 rounds of 4 concurrent verifications from 4 request threads; RSS before → after; "
            "CPU per verification): "
            + "; ".join(f"{label}: {v['before_mb']} → {v['after_mb']} MB, {v.get('user_ms', '?')} ms user + "
                        f"{v.get('system_ms', '?')} ms system" for label, v in m.items() if isinstance(v, dict))
            + ". glibc raises its mmap threshold after the first 19 MiB block is freed, so later blocks come from "
            "the arenas of the threads that used them and stay resident; pinning the threshold gives them back but "
            "faults every block in again (system CPU); a fixed set of hashing threads keeps exactly one block each.")
    add("")


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
        note = NOTES.get(f"miss_{f.note_key or f.key}")
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
    if p.get("hotspots"):
        add("Where authgate's code was when sampled (its innermost frames; time in libraries it called included):\n")
        add("```")
        for chain, share in p["hotspots"][:10]:
            add(f"{share * 100:5.1f}%  {chain}")
        add("```\n")
    add("Top frames by inclusive time (event-loop and thread plumbing left out):\n")
    add("```")
    for frame, share in p["inclusive"][:12]:
        add(f"{share * 100:5.1f}%  {frame}")
    add("```\n")


def _setup(add: Any, results: dict[str, Any]) -> None:
    s = results.get("settings", {})
    add("## Set-up\n")
    add(NOTES["setup"].format(argon2=s.get("argon2"), lockout=s.get("lockout"), log_level=s.get("log_level"),
                              redis=s.get("redis"), client_cache=s.get("client_cache_seconds")) + "\n")
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


def _servers(add: Any, results: dict[str, Any]) -> None:
    """uvicorn (`authgate serve`) against Granian, the same app and database, interleaved in one run."""
    add("### HTTP server: uvicorn and Granian\n")
    if "servers" in results.get("errors", {}):
        add(f"**This benchmark failed:** `{results['errors']['servers']}` (traceback in bench/out/error-servers.txt)\n")
        return
    found = results.get("servers")
    if not found:
        add("Not run.\n")
        return
    for scenario, series in found.items():
        add(f"{scenario.replace('_', ' ')}:\n")
        _series_table(add, series, (results.get("cpu_per_request") or {}).get(f"servers_{scenario}"))
    add("Both with 2 workers on the same database; runs alternate between the servers (uvicorn, Granian, …).\n")
