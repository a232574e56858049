"""`dataops lineage NODE`: model or column lineage in the terminal."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from tooling.artifacts import load_manifest, load_optional
from tooling.console import console, err_console

if TYPE_CHECKING:
    from rich.tree import Tree

    from tooling.lineage.columns import ColumnTrace
    from tooling.lineage.query import NodeTree
from tooling.options import STATE, ProfilesDir, ProjectDir, Target, Vars
from tooling.staleness import refresh_if_stale


class Format(StrEnum):
    tree = "tree"
    json = "json"
    mermaid = "mermaid"


def _node_branch(parent: Tree, tree: NodeTree) -> None:
    from rich.markup import escape

    for edge in tree.edges:
        branch = parent.add(f"{escape(edge.label)} [dim]({edge.resource_type})[/dim]")
        _node_branch(branch, edge)


def _column_text(trace: ColumnTrace, labels: dict[str, str]) -> str:
    from rich.markup import escape

    owner = labels.get(trace.node or "", trace.relation or "?")
    # Names come from the project: `[/dim]` in a column name is text, not markup.
    text = escape(f"{owner}.{trace.column}")
    if trace.status == "unknown":
        text += f" [yellow]unknown[/yellow] [dim]({escape(str(trace.reason))})[/dim]"
    elif trace.status == "constant":
        text += " [dim](no upstream column)[/dim]"
    return text


def _column_branch(parent: Tree, trace: ColumnTrace, labels: dict[str, str]) -> None:
    for edge in trace.edges:
        _column_branch(parent.add(_column_text(edge, labels)), edge, labels)


def lineage(
    node: Annotated[
        str,
        typer.Argument(
            help="Model, source (source_name.table), seed, snapshot, exposure, "
            "semantic model, metric or saved query."
        ),
    ],
    upstream: Annotated[
        int, typer.Option("--upstream", "-u", min=0, help="Levels of parents to show.")
    ] = 2,
    downstream: Annotated[
        int, typer.Option("--downstream", "-d", min=0, help="Levels of children to show.")
    ] = 2,
    column: Annotated[
        str | None, typer.Option("--column", "-c", help="Show the lineage of this column.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.tree,
    project_dir: ProjectDir = None,
    target: Target = None,
    profiles_dir: ProfilesDir = None,
    dbt_vars: Vars = None,
) -> None:
    """Print a node's lineage (or one column's) from target/manifest.json and catalog.json."""
    settings = STATE.settings(
        project_dir=project_dir, target=target, profiles_dir=profiles_dir, vars=dbt_vars
    )
    manifest = load_manifest(settings.target_dir)
    refreshed = refresh_if_stale(settings, settings.target_dir, manifest)
    if refreshed.note:
        err_console.print(refreshed.note, markup=False, soft_wrap=True)
    if refreshed.reparsed:
        manifest = load_manifest(settings.target_dir)
    # sqlglot and the site builder load only when this command runs (CLI start-up)
    from tooling.lineage.graph import build_graph, check_manifest_schema, resolve_node
    from tooling.lineage.query import column_report, node_lineage

    check_manifest_schema(manifest)

    uid = resolve_node(manifest, node)
    if column is None:
        result = node_lineage(manifest, uid, upstream, downstream)
        if fmt is Format.json:
            typer.echo(json.dumps(result.as_dict(), indent=2))
        elif fmt is Format.mermaid:
            typer.echo(result.mermaid(), nl=False)
        else:
            from rich.markup import escape
            from rich.tree import Tree

            top = result.graph.nodes[uid]
            root = Tree(f"[bold]{escape(top.label)}[/bold] [dim]({top.resource_type})[/dim]")
            _node_branch(root.add(f"upstream ({upstream} levels)"), result.upstream)
            _node_branch(root.add(f"downstream ({downstream} levels)"), result.downstream)
            console.print(root)
        return
    catalog = load_optional(settings.target_dir / "catalog.json", "catalog.json")
    report = column_report(manifest, catalog, uid, column, upstream, downstream)
    graph = build_graph(manifest)
    if fmt is Format.json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    elif fmt is Format.mermaid:
        typer.echo(report.mermaid(graph), nl=False)
    else:
        from rich.tree import Tree

        labels = {u: n.label for u, n in graph.nodes.items()}
        root = Tree(f"[bold]{_column_text(report.upstream, labels)}[/bold]")
        _column_branch(root.add(f"derives from ({upstream} levels)"), report.upstream, labels)
        _column_branch(root.add(f"feeds ({downstream} levels)"), report.downstream, labels)
        console.print(root)
