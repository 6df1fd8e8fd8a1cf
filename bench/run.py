"""Run the calhub benchmarks and print Markdown tables (see docs/benchmarks.md).

    python -m bench.run --quick        # about 5 minutes: small sizes, few runs
    python -m bench.run --full         # the published set (about 45 minutes on 2 cores)

Options: ``--json FILE`` keeps every raw sample, ``--markdown FILE`` writes the tables,
``--workdir DIR`` keeps the generated hub and Radicale storage (default: a temporary
folder, removed at the end), ``--skip http,engine,cli,feeds,phones`` leaves groups out
(``engine`` and ``cli`` need the hub the ``http`` group builds, so they need ``--workdir`` of
an earlier run when ``http`` is skipped; ``feeds``, bench/feed_bench.py, and ``phones``,
bench/phones_bench.py, build their own hubs). ``phones`` adds Xandikos as a third server when
its command is found (``--xandikos``, ``$XANDIKOS`` or the PATH) and says so when it is not.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import generate
from bench.engine_bench import EngineOptions, run_cli, run_engine
from bench.feed_bench import FeedBench, FeedOptions
from bench.feed_bench import render as render_feeds
from bench.http_bench import HttpBench, HttpOptions
from bench.phones_bench import PhonesBench, PhonesOptions, find_xandikos
from bench.phones_bench import render as render_phones
from bench.stats import fmt_ms, fmt_ratio, machine, median_ms, percentile_ms, table

QUICK = {
    "http": {
        "partners": 3,
        "background": 50,
        "school_events": 30,
        "sizes": (300, 1000),
        "runs": 5,
        "heavy_runs": 3,
        "warmup": 1,
        "readers": 5,
        "update_budget": 30.0,
    },
    "engine": {
        "occurrence_points": (10_000,),
        "spread_points": (),
        "growth_events": (1_000,),
        "probes": 30,
    },
    "cli": {"runs": 3, "rebuild_runs": 1},
    "feeds": {"sizes": (500,), "runs": 5, "conditional_runs": 20, "change_runs": 3},
    "phones": {"sizes": (1000,), "clients": (8, 32), "seconds": 10.0, "rounds": 1},
}
FULL = {
    "http": {
        "partners": 6,
        "background": 500,
        "school_events": 300,
        "sizes": (500, 1000, 2000, 5000, 10000),
        "runs": 10,
        "heavy_runs": 5,
        "warmup": 2,
        "readers": 6,
    },
    "engine": {
        "occurrence_points": (10_000, 100_000),
        "spread_points": (100_000,),
        "growth_events": (1_000, 10_000, 100_000),
        "probes": 200,
    },
    "cli": {"runs": 5, "rebuild_runs": 5},
    "feeds": {"sizes": (2000, 10000), "runs": 10, "conditional_runs": 30, "change_runs": 5},
    "phones": {"sizes": (2000, 10000), "clients": (8, 32), "seconds": 30.0, "rounds": 2},
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="calhub vs plain Radicale benchmarks")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes, few runs (default)")
    mode.add_argument("--full", action="store_true", help="the full set")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--workdir", type=Path, help="keep data here (default: temporary)")
    parser.add_argument("--json", type=Path, help="write all raw samples to this file")
    parser.add_argument("--markdown", type=Path, help="write the tables to this file")
    parser.add_argument(
        "--skip", default="", help="comma-separated groups: http,engine,cli,feeds,phones"
    )
    parser.add_argument(
        "--xandikos", help="phones group: Xandikos's command (default: $XANDIKOS, the PATH)"
    )
    parser.add_argument(
        "--sizes",
        help="http and phones groups: calendar sizes instead of the mode's, e.g. 2000,10000",
    )
    parser.add_argument(
        "--final-only",
        action="store_true",
        help="http group: only the largest-size requests, on the data of --workdir",
    )
    args = parser.parse_args(argv)
    # Radicale narrates storage creation at WARNING when used in-process to set up data.
    logging.getLogger("radicale").setLevel(logging.ERROR)
    # SIGTERM (and SIGINT, ignored in background jobs) unwind, so servers are stopped.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    settings = FULL if args.full else QUICK
    if args.sizes:
        sizes = tuple(int(part) for part in args.sizes.split(",") if part.strip())
        settings = {
            **settings,
            "http": {**settings["http"], "sizes": sizes},
            "phones": {**settings["phones"], "sizes": sizes},
        }
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    command = "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="calhub-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "mode": "full" if args.full else "quick",
        "command": command.strip(),
        "machine": machine(),
        "settings": {
            k: {n: list(v) if isinstance(v, tuple) else v for n, v in g.items()}
            for k, g in settings.items()
        },
        "seconds": {},
    }
    print(f"# {results['command']}\n# {results['machine']}\n# data in {workdir}", flush=True)
    try:
        if "http" not in skip:
            started = time.perf_counter()
            print("HTTP: calhub vs plain Radicale", flush=True)
            options = HttpOptions(workdir=workdir, seed=args.seed, **settings["http"])
            bench = HttpBench(options, _say)
            results["http"] = bench.results  # filled as it goes: kept if stopped early
            if args.final_only:
                bench.run_final_only()
            else:
                bench.run()
            results["seconds"]["http"] = time.perf_counter() - started
        hub_root = workdir / "hub"
        if "cli" not in skip:
            started = time.perf_counter()
            print("CLI: index rebuild, conflicts, full scan", flush=True)
            results["cli"] = run_cli(hub_root, progress=_say, **settings["cli"])
            results["seconds"]["cli"] = time.perf_counter() - started
        if "engine" not in skip:
            started = time.perf_counter()
            print("Engine: clash check and scan in-process", flush=True)
            options_e = EngineOptions(
                hub_root=hub_root, workdir=workdir, seed=args.seed, **settings["engine"]
            )
            results["engine"] = run_engine(options_e, _say)
            results["seconds"]["engine"] = time.perf_counter() - started
        if "feeds" not in skip:
            started = time.perf_counter()
            print("Feeds: the merged feed vs plain Radicale's whole-calendar GET", flush=True)
            options_f = FeedOptions(workdir=workdir, seed=args.seed, **settings["feeds"])
            feeds = FeedBench(options_f, _say)
            results["feeds"] = feeds.results  # filled as it goes: kept if stopped early
            try:
                feeds.run()
            except RuntimeError as error:  # the feed endpoint missing or wrong: say so
                results["feeds_error"] = str(error)
                print(f"  feeds: FAILED: {error}", flush=True)
            results["seconds"]["feeds"] = time.perf_counter() - started
        if "phones" not in skip:
            started = time.perf_counter()
            xandikos = find_xandikos(args.xandikos)
            peers = "plain Radicale and Xandikos" if xandikos else "plain Radicale"
            print(f"Phones: concurrent phone-like clients, calhub vs {peers}", flush=True)
            if not xandikos:
                print("  no xandikos command: its rows are left out", flush=True)
            options_p = PhonesOptions(
                workdir=workdir / "phones", seed=args.seed, xandikos=xandikos, **settings["phones"]
            )
            phones = PhonesBench(options_p, _say)
            results["phones"] = phones.results  # filled as it goes: kept if stopped early
            phones.run()
            results["seconds"]["phones"] = time.perf_counter() - started
    finally:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    text = render(results)
    print("\n" + text)
    if args.markdown:
        args.markdown.write_text(text)
    return 1 if results.get("feeds_error") else 0


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _say(text: str) -> None:
    print(text, flush=True)


# -- tables --------------------------------------------------------------------------------


def _pair(samples: dict[str, Any]) -> tuple[float, float]:
    return median_ms(samples["hub"]), median_ms(samples["plain"])


def _counts(samples: dict[str, Any]) -> str:
    hub, plain = samples.get("hub_counts", []), samples.get("plain_counts", [])
    if not hub:
        return ""
    same = "same" if hub == plain else f"DIFFER: plain {plain}"
    return f"{min(hub)}–{max(hub)} ({same})" if min(hub) != max(hub) else f"{hub[0]} ({same})"


def render(results: dict[str, Any]) -> str:
    out = [f"Command: `{results['command']}`", "", f"Machine: {results['machine']}", ""]
    http = results.get("http")
    targets = []
    if http:
        out += _http_tables(http, targets)
    if results.get("cli"):
        out += _cli_tables(results["cli"], targets)
    if results.get("engine"):
        out += _engine_tables(results["engine"], http, targets)
    if results.get("feeds"):
        out += render_feeds(results["feeds"], targets)
    if results.get("feeds_error"):
        out += [f"Feeds: FAILED: {results['feeds_error']}", ""]
    if results.get("phones", {}).get("sizes"):
        out += [render_phones(results["phones"]), ""]
    if targets:
        out += ["### Targets", "", table(["target", "measured", "result"], targets), ""]
    spent = ", ".join(f"{k} {v / 60:.1f} min" for k, v in results.get("seconds", {}).items())
    out += [f"Time spent: {spent}.", ""]
    return "\n".join(out)


def _http_tables(http: dict[str, Any], targets: list) -> list[str]:
    setup = http["setup"]
    out = [
        "### New-event PUT into one calendar, by calendar size",
        "",
        f"Other calendars hold {setup.get('background_events', '(see the first run)')} "
        "events. Median of "
        f"{len(http['sizes'][0]['new_put']['hub'])} PUTs per size and server (after warm-up); "
        "ratio = hub time / plain time.",
        "",
    ]
    rows = []
    for row in http["sizes"]:
        hub, plain = _pair(row["new_put"])
        p90h = percentile_ms(row["new_put"]["hub"], 0.9)
        p90p = percentile_ms(row["new_put"]["plain"], 0.9)
        rows.append(
            [
                row["size"],
                fmt_ms(hub),
                fmt_ms(plain),
                fmt_ratio(hub, plain),
                f"{fmt_ms(p90h)} / {fmt_ms(p90p)}",
            ]
        )
        if row["size"] == 2000:
            speedup = plain / hub
            targets.append(
                [
                    "new-event PUT in a 2,000-event calendar ≥ 3× faster than plain",
                    f"{speedup:.1f}× ({fmt_ms(hub)} vs {fmt_ms(plain)} ms)",
                    "met" if speedup >= 3 else "NOT met",
                ]
            )
    out += [
        table(
            ["events", "hub ms", "plain ms", "hub/plain", "p90 hub / plain ms"],
            rows,
        ),
        "",
        "### One-day time-range REPORT (calendar-query), by calendar size",
        "",
    ]
    rows = []
    for row in http["sizes"]:
        hub, plain = _pair(row["day_report"])
        rows.append(
            [
                row["size"],
                fmt_ms(hub),
                fmt_ms(plain),
                fmt_ratio(hub, plain),
                _counts(row["day_report"]),
            ]
        )
    last = http["sizes"][-1]
    hub, plain = _pair(last["day_report"])
    if last["size"] >= 10000:
        speedup = plain / hub
        targets.append(
            [
                "one-day time-range REPORT on a 10,000-event calendar ≥ 5× faster than plain",
                f"{speedup:.1f}× ({fmt_ms(hub)} vs {fmt_ms(plain)} ms)",
                "met" if speedup >= 5 else "NOT met",
            ]
        )
    out += [
        table(["events", "hub ms", "plain ms", "hub/plain", "events returned"], rows),
        "",
        "### Update PUT (If-Match) of an event created over HTTP, moved to another time",
        "",
        "Runs stop early (after 3) once the hub has spent the update budget on them.",
        "",
    ]
    rows = []
    for row in http["sizes"]:
        samples = row.get("update_put")
        if not samples or not samples["hub"]:
            continue
        hub, plain = _pair(samples)
        rows.append(
            [
                row["size"],
                len(samples["hub"]),
                fmt_ms(hub),
                fmt_ms(plain),
                fmt_ratio(hub, plain),
                f"{fmt_ms(max(samples['hub']) * 1000)} / {fmt_ms(max(samples['plain']) * 1000)}",
            ]
        )
    out += [
        table(["events", "runs", "hub ms", "plain ms", "hub/plain", "max hub / plain ms"], rows),
        "",
        "### Peak memory of the server processes (VmHWM), MB",
        "",
        table(
            ["events in the calendar", "hub", "plain"],
            [
                [
                    r["size"],
                    f"{r['peak_rss_mb']['calhub']:.0f}",
                    f"{r['peak_rss_mb']['radicale']:.0f}",
                ]
                for r in http["sizes"]
            ],
        ),
        "",
    ]
    final = http.get("final")
    if final:
        names = [
            ("one-month time-range REPORT", "month_report"),
            ("sync-collection, first ever (builds Radicale's sync history)", "sync_first_ever"),
            ("sync-collection, initial (no token)", "sync_initial"),
            ("sync-collection with a token after 3 changes", "sync_token"),
            ("Depth-0 PROPFIND poll (getctag, sync-token)", "poll_depth0"),
            ("Depth-1 PROPFIND of getetag", "propfind_etags"),
            ("calendar-multiget of 50 objects", "multiget_50"),
            ("GET of the whole calendar", "get_calendar"),
            ("first request with a password (bcrypt, cost 12)", "auth_first"),
            ("following requests (login cache)", "auth_cached"),
        ]
        rows = []
        for label, key in names:
            hub, plain = _pair(final[key])
            rows.append(
                [
                    label,
                    len(final[key]["hub"]),
                    fmt_ms(hub),
                    fmt_ms(plain),
                    fmt_ratio(hub, plain),
                    _counts(final[key]),
                ]
            )
        out += [
            f"### Other requests on the {final['size']}-event calendar",
            "",
            table(["request", "runs", "hub ms", "plain ms", "hub/plain", "items returned"], rows),
            "",
        ]
        if final.get("month_view"):
            out += _month_view_table(final["month_view"], final["size"], targets)
    return out


def _month_view_table(view: dict[str, Any], size: int, targets: list) -> list[str]:
    def server(key: str) -> tuple[float, float]:
        values = [ms / 1000 for ms in view.get(key, []) if ms is not None]
        return median_ms(values), percentile_ms(values, 0.9)

    first, again = server("server_ms"), server("again_ms")
    events = view["events"]
    if size >= 10000:
        for label, (p50, p90) in (("first view", first), ("repeated view", again)):
            targets.append(
                [
                    f"the dashboard's month view at 10,000 events under 150 ms server time "
                    f"({label})",
                    f"p50 {fmt_ms(p50)} ms, p90 {fmt_ms(p90)} ms ({view['clash_records']} "
                    "clash records)",
                    "met" if p90 < 150 else "NOT met",
                ]
            )
    return [
        "### The dashboard's month view (hub only)",
        "",
        "`GET /api/events` of six weeks (the month grid's range), as the coordinator, who "
        f"sees all {view['clash_records']} clash records ({view['open_records']} open); "
        "each month twice: the first view since the records changed, then again (the marks "
        "cached). Server time from the hub's access log. Plain Radicale has no counterpart.",
        "",
        table(
            [
                "events in the calendar",
                "months",
                "client ms (first)",
                "server ms first p50 / p90",
                "server ms again p50 / p90",
                "events returned",
            ],
            [
                [
                    size,
                    len(view["seconds"]),
                    fmt_ms(median_ms(view["seconds"])),
                    f"{fmt_ms(first[0])} / {fmt_ms(first[1])}",
                    f"{fmt_ms(again[0])} / {fmt_ms(again[1])}",
                    f"{min(events)}–{max(events)}" if events else "",
                ]
            ],
        ),
        "",
    ]


def _cli_tables(cli: dict[str, Any], targets: list) -> list[str]:
    items = cli["index_items"]
    cold = median_ms(cli["rebuild_cold"]) / 1000
    warm = median_ms(cli["rebuild_warm"]) / 1000
    rows = [
        [
            "`calhub index rebuild`, cold (Radicale item cache deleted)",
            len(cli["rebuild_cold"]),
            f"{cold:.1f} s",
            f"{cold / items * 1000:.1f} ms",
        ],
        [
            "`calhub index rebuild`, Radicale item cache warm",
            len(cli["rebuild_warm"]),
            f"{warm:.1f} s",
            f"{warm / items * 1000:.1f} ms",
        ],
        [
            "`calhub conflicts` (all records, text)",
            len(cli["conflicts"]),
            f"{median_ms(cli['conflicts']) / 1000:.2f} s",
            "",
        ],
        [
            "engine `scan` of every indexed occurrence (in-process)",
            len(cli["scan"]),
            f"{median_ms(cli['scan']) / 1000:.2f} s",
            "",
        ],
        [
            "reading them from the index (`all_occurrences`)",
            len(cli["scan_read"]),
            f"{median_ms(cli['scan_read']) / 1000:.2f} s",
            "",
        ],
        [
            "`calhub --version` (interpreter start-up, for reference)",
            1,
            f"{cli['cli_startup_seconds']:.2f} s",
            "",
        ],
    ]
    per_10k_warm = warm / items * 10000
    per_10k_cold = cold / items * 10000
    targets.append(
        [
            "cold index rebuild of 10,000 events < 30 s (2 cores)",
            f"index cold, Radicale's item cache warm: {warm:.0f} s for {items} objects "
            f"(≈ {per_10k_warm:.0f} s per 10,000); everything cold: {cold:.0f} s "
            f"(≈ {per_10k_cold:.0f} s per 10,000)",
            _rebuild_verdict(warm, cold, items),
        ]
    )
    return [
        f"### Whole-hub operations ({items} objects, {cli['index_occurrences']} occurrences, "
        f"{cli['scan_clashes']} clashes, {cli['clash_records']} clash records)",
        "",
        f"`{cli.get('rebuild_output', '')}` — `{cli.get('conflicts_summary', '')}`",
        "",
        table(["operation", "runs", "median", "per object"], rows),
        "",
    ]


def _rebuild_verdict(warm: float, cold: float, items: int) -> str:
    """Met when the hub of at least 10,000 objects is rebuilt in time; a smaller hub meets
    it only by linear scaling, which the clash scan (growing with density) does not obey."""
    if items >= 10_000:
        index = "met" if warm < 30 else "NOT met"
    else:
        index = "met only by linear scaling" if warm / items * 10_000 < 30 else "NOT met"
    everything = "met" if cold / max(items, 10_000) * 10_000 < 30 else "NOT met"
    return f"index: {index}; with Radicale's cache cold too: {everything}"


def _check_ms(result: dict[str, Any], key: str, share: float) -> float:
    """A percentile of one set's checks: the median over the passes (older runs: one)."""
    passes = result.get(f"{key}_passes") or [result[key]]
    return median_ms([percentile_ms(samples, share) / 1000 for samples in passes])


def _check_range(result: dict[str, Any], key: str, share: float) -> str:
    passes = result.get(f"{key}_passes") or [result[key]]
    values = [percentile_ms(samples, share) for samples in passes]
    return f"{fmt_ms(min(values))}–{fmt_ms(max(values))}"


def _engine_tables(engine: dict[str, Any], http: dict[str, Any] | None, targets: list):
    expand = engine["expand"]
    out = [
        "### Clash check of one new event (in-process, no HTTP)",
        "",
        f"{len(expand)} new events, generated like the others, each checked once per pass. "
        "Expanding one event (parse + recurrence, "
        f"`runtime.parts.expand`) took p50 {fmt_ms(median_ms(expand))} ms, "
        f"p95 {fmt_ms(percentile_ms(expand, 0.95))} ms; it is not part of the times below. "
        "Each percentile is the median of the passes over all probes; the range is the "
        "lowest and highest p95 of a pass.",
        "",
    ]
    rows = []
    for name in ("points", "spread", "growth"):
        for result in engine.get(name, {}).values():
            for label, key in (
                ("SQLite index (IndexLookup)", "check_sqlite"),
                ("in memory (IntervalIndex)", "check_memory"),
            ):
                rows.append(
                    [
                        result["events"],
                        result["occurrences"],
                        "over 4 years" if name == "spread" else "one school year",
                        f"{result.get('per_school_day', 0):.0f}",
                        label,
                        len(result.get(f"{key}_passes") or [1]),
                        fmt_ms(_check_ms(result, key, 0.5)),
                        fmt_ms(_check_ms(result, key, 0.95)),
                        _check_range(result, key, 0.95),
                        fmt_ms(_check_ms(result, key, 0.99)),
                    ]
                )
    out += [
        table(
            [
                "events",
                "occurrences",
                "spread",
                "per school day",
                "lookup",
                "passes",
                "p50 ms",
                "p95 ms",
                "p95 range ms",
                "p99 ms",
            ],
            rows,
        ),
        "",
    ]
    for name, spread in (("points", "in one school year"), ("spread", "over four years")):
        hundred = [r for r in engine.get(name, {}).values() if r["occurrences"] >= 100_000]
        if hundred:
            p95 = _check_ms(hundred[0], "check_sqlite", 0.95)
            density = hundred[0].get("per_school_day", 0)
            targets.append(
                [
                    "clash check of one event p95 < 20 ms with 100,000 occurrences",
                    f"p95 {fmt_ms(p95)} ms (SQLite index, {hundred[0]['occurrences']} "
                    f"occurrences {spread}, {density:.0f} a school day)",
                    "met" if p95 < 20 else "NOT met",
                ]
            )
    sizes = (http or {}).get("sizes", [])
    rows = []
    for count, result in engine["growth"].items():
        # The calendar holds a few more objects than its size: the PUTs measured there.
        http_row = next((r for r in sizes if 0 <= r["size"] - int(count) < 100), None)
        put = day = "— (not run over HTTP)"
        if http_row:
            put = "{} / {}".format(*(fmt_ms(x) for x in _pair(http_row["new_put"])))
            day = "{} / {}".format(*(fmt_ms(x) for x in _pair(http_row["day_report"])))
        rows.append(
            [
                count,
                result["occurrences"],
                f"{result['index_build_seconds']:.1f}",
                f"{result['index_mb']:.0f}",
                fmt_ms(_check_ms(result, "check_sqlite", 0.5)),
                fmt_ms(_check_ms(result, "check_sqlite", 0.95)),
                fmt_ms(_check_ms(result, "check_memory", 0.95)),
                "—" if result["scan_seconds"] is None else f"{result['scan_seconds']:.1f}",
                "—" if result["scan_clashes"] is None else result["scan_clashes"],
                put,
                day,
            ]
        )
    out += [
        "### Growth",
        "",
        "Engine and index columns: the hub's events (all calendars) in-process. HTTP columns: "
        "the one calendar of that size (hub / plain, median ms), from the tables above.",
        "",
        table(
            [
                "events",
                "occurrences",
                "index build s",
                "index MB",
                "check p50 ms",
                "check p95 ms",
                "check p95 in-memory ms",
                "full scan s",
                "clashes",
                "new PUT ms hub / plain",
                "day REPORT ms hub / plain",
            ],
            rows,
        ),
        "",
    ]
    return out


if __name__ == "__main__":
    raise SystemExit(main())
