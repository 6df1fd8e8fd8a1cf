"""Compare caldav-server-tester's hub runs with plain Radicale's run, feature by feature.

    python docs/interop/compare.py OUT_DIR [--committed DIR] [--allow FILE]

Reads the ``--format hints`` outputs that run.sh wrote to OUT_DIR, writes OUT_DIR/results.md
(the table behind docs/interop.md) and prints, per hub run, every feature where the hub's
support level is lower than plain Radicale's on the same run. Exit status 1 when one of them
is not listed in deliberate.toml (each entry there says why the hub differs on purpose),
2 for bad input, else 0. With ``--committed``, plain Radicale's levels are also compared with
the committed radicale-3.9.hints there; a change is reported (the tester or a library moved
under us) but does not fail the run, as each hub run is judged against its own baseline.

Support levels are ranked as the tester ranks them (caldav_server_tester.checks_base.
SUPPORT_SEVERITY, worst first). "unknown" (the tester could not probe) and a feature missing
from a run ("not probed") rank below all of them: a hub run that cannot measure what plain
Radicale can is worse unless the reason is listed. A feature that carries a ``value`` instead
of a support level is an observation and is not ranked.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PLAIN = "radicale-3.9"
RUNS = {
    PLAIN: "plain Radicale 3.9",
    "hub-partner": "hub (partner)",
    "hub-partner-view": "hub (partner, view of another partner's calendar)",
    "hub-coordinator": "hub (coordinator)",
    "hub-coordinator-school": "hub (coordinator, school calendar)",
}
# caldav-server-tester 1.7.0, checks_base.SUPPORT_SEVERITY (worst first).
SEVERITY = ("unsupported", "broken", "fragile", "ungraceful", "quirk", "full")
NOT_PROBED = "not probed"


def level(info: dict[str, Any] | None) -> str:
    if info is None:
        return NOT_PROBED
    if "support" in info:
        return str(info["support"])
    return f"value {info.get('value')!r}"


def rank(text: str) -> int:
    """Higher is better; unknown, not probed and levels the scale lacks are -1."""
    return SEVERITY.index(text) if text in SEVERITY else -1


def is_observation(info: dict[str, Any] | None) -> bool:
    return info is not None and "support" not in info and "value" in info


def load_hints(path: Path) -> dict[str, dict[str, Any]]:
    data = ast.literal_eval(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a dict of features")
    return data


@dataclass
class AllowList:
    """deliberate.toml: the differences the hub makes on purpose, and the part of a run
    that can be compared at all."""

    # (run, feature) → reason
    deliberate: dict[tuple[str, str], str] = field(default_factory=dict)
    # run → (feature prefixes compared, why only those)
    compare_only: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> AllowList:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        allow = cls()
        for number, entry in enumerate(document.get("difference", []), 1):
            reason = str(entry.get("reason", "")).strip()
            runs, features = entry.get("runs", []), entry.get("features", [])
            if not reason or not runs or not features:
                raise ValueError(f"{path}: [[difference]] #{number} needs runs, features, reason")
            for run in runs:
                if run not in RUNS or run == PLAIN:
                    raise ValueError(f"{path}: [[difference]] #{number}: no hub run {run!r}")
                for feature in features:
                    allow.deliberate[(run, feature)] = reason
        for run, table in document.get("runs", {}).items():
            prefixes, reason = table.get("compare", []), str(table.get("reason", "")).strip()
            if run not in RUNS or not prefixes or not reason:
                raise ValueError(f"{path}: [runs.{run}] needs a known run, compare and reason")
            allow.compare_only[run] = (tuple(prefixes), reason)
        return allow

    def compared(self, run: str, feature: str) -> bool:
        if run not in self.compare_only:
            return True
        prefixes = self.compare_only[run][0]
        return any(feature == p or feature.startswith(p + ".") for p in prefixes)


@dataclass
class Verdict:
    lower: list[tuple[str, str, str, str]] = field(default_factory=list)  # run, feature, plain, hub
    deliberate: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # ... reason
    not_compared: dict[str, int] = field(default_factory=dict)
    unused: list[tuple[str, str]] = field(default_factory=list)


def judge(data: dict[str, dict[str, dict[str, Any]]], allow: AllowList) -> Verdict:
    verdict = Verdict()
    plain = data[PLAIN]
    used: set[tuple[str, str]] = set()
    for run in RUNS:
        if run == PLAIN:
            continue
        hub = data[run]
        for feature in sorted(set(plain) | set(hub)):
            if is_observation(plain.get(feature)) or is_observation(hub.get(feature)):
                continue
            if not allow.compared(run, feature):
                verdict.not_compared[run] = verdict.not_compared.get(run, 0) + 1
                continue
            theirs, ours = level(plain.get(feature)), level(hub.get(feature))
            if rank(ours) >= rank(theirs):
                continue
            reason = allow.deliberate.get((run, feature))
            if reason is None:
                verdict.lower.append((run, feature, theirs, ours))
            else:
                used.add((run, feature))
                verdict.deliberate.append((run, feature, theirs, ours, reason))
    # A feature a run does not compare cannot be "no longer lower" there.
    verdict.unused = sorted(
        (run, feature)
        for run, feature in set(allow.deliberate) - used
        if allow.compared(run, feature)
    )
    return verdict


def results_table(data: dict[str, dict[str, dict[str, Any]]]) -> str:
    plain = data[PLAIN]
    features = sorted(set().union(*data.values()))

    def observation(feature: str) -> bool:
        return any(is_observation(data[name].get(feature)) for name in RUNS)

    def cell(name: str, feature: str) -> str:
        info = data[name].get(feature)
        text = level(info)
        if name == PLAIN:
            return text
        if text != level(plain.get(feature)):
            return f"{text} (²)" if observation(feature) else f"**{text}**"
        if info != plain.get(feature):
            return f"{text} (¹)"
        return text

    differing = {
        name: sum(
            level(data[name].get(f)) != level(plain.get(f)) and not observation(f) for f in features
        )
        for name in RUNS
        if name != PLAIN
    }
    lines = [
        f"{len(plain)} features probed on plain Radicale. Support levels that differ from "
        "plain Radicale's: " + ", ".join(f"{RUNS[n]} {c}" for n, c in differing.items()) + ".",
        "",
        "| feature | " + " | ".join(RUNS.values()) + " |",
        "| --- | " + " | ".join("---" for _ in RUNS) + " |",
    ]
    for feature in features:
        lines.append(f"| `{feature}` | " + " | ".join(cell(n, feature) for n in RUNS) + " |")
    lines += [
        "",
        "**Bold**: a support level other than plain Radicale's. (¹): the same level with other "
        "details (the realm's name, the redirect's target, why a probe was skipped); see the "
        ".diff files. (²): an observation, not a support level.",
    ]
    return "\n".join(lines) + "\n"


def plain_drift(
    fresh: dict[str, dict[str, Any]], committed: dict[str, dict[str, Any]]
) -> list[str]:
    return [
        f"  {feature}: committed {level(committed.get(feature))}, now {level(fresh.get(feature))}"
        for feature in sorted(set(fresh) | set(committed))
        if level(fresh.get(feature)) != level(committed.get(feature))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("out", type=Path, help="the directory run.sh wrote its outputs to")
    parser.add_argument("--committed", type=Path, help="where the committed hints are")
    parser.add_argument("--allow", type=Path, default=HERE / "deliberate.toml")
    args = parser.parse_args(argv)
    try:
        data = {name: load_hints(args.out / f"{name}.hints") for name in RUNS}
        allow = AllowList.read(args.allow)
    except (OSError, ValueError, SyntaxError, tomllib.TOMLDecodeError) as error:
        print(f"compare.py: {error}", file=sys.stderr)
        return 2
    (args.out / "results.md").write_text(results_table(data), encoding="utf-8")

    if args.committed is not None and args.committed.resolve() != args.out.resolve():
        committed = load_hints(args.committed / f"{PLAIN}.hints")
        drift = plain_drift(data[PLAIN], committed)
        if drift:
            print(f"note: plain Radicale's levels differ from {args.committed}/{PLAIN}.hints:")
            print("\n".join(drift))
        else:
            print(f"plain Radicale: the same levels as the committed {PLAIN}.hints")

    verdict = judge(data, allow)
    for run, (prefixes, reason) in allow.compare_only.items():
        print(
            f"{run}: {verdict.not_compared.get(run, 0)} features not compared, only "
            f"{', '.join(prefixes)}: {reason}"
        )
    by_reason: dict[str, list[str]] = {}
    for run, feature, theirs, ours, reason in verdict.deliberate:
        by_reason.setdefault(reason, []).append(f"{run}  {feature}: {ours} (plain: {theirs})")
    for reason, lines in by_reason.items():
        print(f"deliberate, {' '.join(reason.split())}")
        print("\n".join(f"    {line}" for line in lines))
    for run, feature in verdict.unused:
        print(f"note: deliberate.toml lists {feature} for {run}, but it is no longer lower")
    for run, feature, theirs, ours in verdict.lower:
        print(f"WORSE       {run}  {feature}: {ours} (plain Radicale: {theirs})")
    if verdict.lower:
        print(
            f"{len(verdict.lower)} support levels are lower on the hub than on plain Radicale "
            f"and not listed as deliberate in {args.allow}: fix the hub, or list the "
            "difference there with its reason."
        )
        return 1
    print("interop: no hub run is worse than plain Radicale, except the deliberate differences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
