"""`make bench`: run the benchmarks and write docs/performance.md with its plots.

    .venv/bin/python -m bench                     # everything, about 13 minutes on 2 cores
    .venv/bin/python -m bench --quick             # a short pass to try the machinery
    .venv/bin/python -m bench --only drain,switch # rerun some; the others keep their results
    .venv/bin/python -m bench --report-only       # re-render the page from the last results

Raw results accumulate in .local/bench/results.json; the page is rendered from that file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    cpu_per_order,
    drain,
    machine,
    orders_curve,
    outbound_client,
    overhead,
    overload,
    report,
    startup,
    switch,
)
from bench.plan import FULL, QUICK, Plan
from bench.stack import REPO_ROOT, Stack

Benchmark = Callable[[Plan, Stack, Path], dict[str, Any]]
BENCHMARKS: dict[str, Benchmark] = {
    "overhead": overhead.run,
    "orders": orders_curve.run,
    "startup": startup.run,
    "drain": drain.run,
    "switch": switch.run,
    "cpu_per_order": cpu_per_order.run,
    "outbound": outbound_client.run,
    "overload": overload.run,
}


def main() -> None:
    # SIGTERM unwinds like Ctrl-C, so every process the benchmarks started gets stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for trying it out")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated names")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / ".local" / "bench")
    parser.add_argument("--docs", type=Path, default=REPO_ROOT / "docs")
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    results_file = args.workdir / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    if not args.report_only:
        plan = QUICK if args.quick else FULL
        names = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = set(names) - BENCHMARKS.keys()
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        results["machine"] = machine.facts()
        results["plan"] = {"name": "quick" if args.quick else "full", **vars(plan)}
        started = time.perf_counter()
        with Stack(args.workdir / "stack") as stack:
            for name in names:
                print(f"bench: {name} ...", flush=True)
                section_started = time.perf_counter()
                load_before = machine.load_average()
                section_dir = args.workdir / name
                section_dir.mkdir(exist_ok=True)
                result = BENCHMARKS[name](_after(plan, results), stack, section_dir)
                result["conditions"] = {
                    "at": machine.now(),
                    "seconds": round(time.perf_counter() - section_started, 1),
                    "load_average_before": load_before,
                    "load_average_after": machine.load_average(),
                }
                results[name] = result
                results_file.write_text(json.dumps(results, indent=2))
                # Every section's result also goes to a log, so a rerun never loses one.
                with (args.workdir / "history.jsonl").open("a") as history:
                    entry = {"benchmark": name, "machine": results["machine"], "result": result}
                    history.write(json.dumps(entry) + "\n")
                print(f"bench: {name} done in {result['conditions']['seconds']} s", flush=True)
        if "cpu_per_order" in names:
            # Its section reads the data file the standalone command writes too.
            cpu_per_order.save(results["cpu_per_order"], args.docs / cpu_per_order.DATA_FILE)
        if set(names) == set(BENCHMARKS):
            results["wall_seconds"] = round(time.perf_counter() - started, 1)
        results_file.write_text(json.dumps(results, indent=2))
    page = report.write(results, args.docs)
    print(f"bench: wrote {page}")


def _after(plan: Plan, results: dict[str, Any]) -> Plan:
    """The plan as earlier results set it: overload offers three times the highest clean rate
    the order sweep found (this run's, or the last one's)."""
    clean = results.get("orders", {}).get("highest_clean_rate")
    return dataclasses.replace(plan, overload_rate=3 * clean) if clean else plan


if __name__ == "__main__":
    main()
