"""`dataops generate`: deterministic sample landing files at any scale."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from tooling.console import console, err_console, new_table
from tooling.errors import UsageError


def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the landing files into.")],
    scale: Annotated[
        float,
        typer.Option(
            "--scale",
            help="Size factor: 1 is about 250k rows, 100 tens of millions; the committed "
            "sample is 0.02.",
        ),
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed: same seed, same files.")] = 7,
    days: Annotated[int, typer.Option("--days", help="Number of daily exports.")] = 28,
) -> None:
    """Generate the retail sample business (ERP CSVs, payment API pages, NDJSON events)."""
    from tooling.sample.generate import generate as run

    started = time.perf_counter()
    try:
        with err_console.status("generating") as status:
            counts = run(
                out,
                scale,
                seed=seed,
                days=days,
                progress=lambda label: status.update(f"generating {label}"),
            )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    table = new_table(f"Generated into {out}")
    table.add_column("entity")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    table.add_row("[bold]total", f"[bold]{sum(counts.values()):,}")
    console.print(table)
    console.print(f"took {time.perf_counter() - started:.1f}s")
