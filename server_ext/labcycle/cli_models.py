"""CLI of the model registry: ``labcycle models ls/show/alias`` and ``labcycle deploy export``.

``deploy`` is shared with serving (``labcycle deploy churn@champion``): whichever module is
imported first creates the group, the other one adds its commands to it.
"""

from __future__ import annotations

import click
from rich.table import Table

from .cli import _services, console, emit_json, fmt, fmt_time, friendly_errors, main


def _actor() -> str:
    from .client.local import local_user

    return local_user()


@main.group()
def models() -> None:
    """Registered models, their versions and aliases."""


@models.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def models_ls(as_json: bool) -> None:
    """List registered models."""
    services = _services()
    items, token = [], None
    while True:
        page = services.registry.list_models(max_results=1000, page_token=token)
        items += page["items"]
        token = page["next_page_token"]
        if not token:
            break
    if as_json:
        emit_json(items)
        return
    table = Table("name", "latest", "versions", "aliases", "updated", "description")
    for m in items:
        aliases = ", ".join(f"{a}→v{v}" for a, v in m["aliases"].items())
        table.add_row(m["name"], fmt(m["latest_version"]), str(m["version_count"]), aliases,
                      fmt_time(m["updated_at"]), (m["description"] or "")[:60])
    console.print(table)


@models.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def models_show(name: str, as_json: bool) -> None:
    """A model with its versions (metrics, lineage, aliases)."""
    services = _services()
    model = services.registry.get_model(name)
    versions = services.registry.list_versions(name, max_results=1000)["items"]
    if as_json:
        emit_json({**model, "versions": versions})
        return
    console.print(f"[bold]{model['name']}[/bold]  {model['id']}  created by {model['created_by']} "
                  f"{fmt_time(model['created_at'])}", highlight=False)
    if model["description"]:
        console.print(model["description"], highlight=False)
    table = Table("version", "aliases", "flavor", "run", "notebook", "metrics", "created", "by")
    for v in versions:
        metrics = ", ".join(f"{k}={fmt(val)}" for k, val in sorted(v["metrics"].items())[:4])
        table.add_row(str(v["version"]), ", ".join(v["aliases"]),
                      v["flavor"] + (" (trusted)" if v["trusted"] else ""),
                      (v["run_id"] or "")[:8], v["lineage"].get("notebook_path") or "",
                      metrics, fmt_time(v["created_at"]), v["created_by"])
    console.print(table)


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int)
@friendly_errors
def models_alias(name: str, alias: str, version: int) -> None:
    """Point ALIAS (champion, challenger...) of model NAME at VERSION."""
    services = _services()
    before = services.registry.get_model(name)["aliases"].get(alias.casefold())
    v = services.registry.set_alias(name, alias, version, actor=_actor())
    moved = f" (was v{before})" if before and before != version else ""
    console.print(f"{v['model_name']}@{alias.casefold()} → v{v['version']}{moved}", highlight=False)


# -- deploy export ------------------------------------------------------------------------
deploy_group = main.commands.get("deploy")
if deploy_group is None:
    @main.group("deploy")
    def deploy_group() -> None:
        """Deploy a model as an HTTP API (`labcycle deploy churn@champion`) or export it
        for a cluster (`labcycle deploy export churn@champion --out DIR`)."""


@deploy_group.command("export")
@click.argument("ref")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="New (or empty) folder for the build context and manifests.")
@click.option("--workers", default=1, show_default=True, help="Server processes per pod.")
@click.option("--port", default=8080, show_default=True, help="Container port.")
@click.option("--replicas", default=2, show_default=True, help="Minimum pods (HPA minReplicas).")
@click.option("--max-replicas", default=10, show_default=True, help="HPA maxReplicas.")
@click.option("--image", help="Image name in the manifests (default <model>-v<version>:latest).")
@click.option("--api-key-hash-file", type=click.Path(dir_okay=False, exists=True),
              help="Use this key hash (`labcycle deployments keygen`) instead of making a key.")
@click.option("--wheel", type=click.Path(dir_okay=False, exists=True),
              help="Install LabCycle from this wheel instead of the package index.")
@click.option("--package", "packages", multiple=True,
              help="Another distribution to install, pinned from the model's environment.")
@click.option("--trusted", is_flag=True,
              help="Allow a model that runs code when it loads (pickle/joblib/python); audited.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def deploy_export(ref, out, workers, port, replicas, max_replicas, image, api_key_hash_file,
                  wheel, packages, trusted, as_json) -> None:
    """Write a container build context and Kubernetes manifests serving model REF."""
    from pathlib import Path

    from .models import materialize
    from .models.export import export

    services = _services()
    version = services.registry.resolve(ref)
    if trusted and version["trusted"]:
        services.registry.record_trusted_load(version["id"], actor=_actor(), purpose="export")
    with console.status(f"exporting {version['ref']} …"):
        folder = materialize(version, lambda f: services.blobs.read_bytes(f["digest"]))
        result = export(
            version, folder, Path(out), workers=workers, port=port, replicas=replicas,
            max_replicas=max_replicas, image=image, trusted=trusted,
            api_key_hash=Path(api_key_hash_file).read_text().strip() if api_key_hash_file else None,
            wheel=Path(wheel) if wheel else None, extra_packages=tuple(packages),
        )
    if as_json:
        emit_json(result)
        return
    console.print(f"Wrote {len(result['files'])} files for {version['ref']} to {result['out']}:",
                  highlight=False)
    for name in result["files"]:
        if not name.startswith("model/"):
            console.print(f"  {name}", highlight=False)
    if result["api_key"]:
        console.print(f"[yellow]API key (shown once, store it now):[/yellow] {result['api_key']}")
    console.print(f"Next: docker build -t {result['image']} {result['out']} && "
                  f"kubectl apply -k {result['out']}/k8s", highlight=False)
