"""CLI of the model registry: ``labcycle models ls/show/alias`` and ``labcycle deploy export``.

``deploy`` is shared with serving (``labcycle deploy churn@champion``): whichever module is
imported first creates the group, the other one adds its commands to it.
"""

from __future__ import annotations

import click
from rich.table import Table

from .base import _services, console, emit_json, fmt, fmt_time, friendly_errors, main


def _actor() -> str:
    from ..config import local_user

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
        table.add_row(
            m["name"],
            fmt(m["latest_version"]),
            str(m["version_count"]),
            aliases,
            fmt_time(m["updated_at"]),
            (m["description"] or "")[:60],
        )
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
    console.print(
        f"[bold]{model['name']}[/bold]  {model['id']}  created by {model['created_by']} "
        f"{fmt_time(model['created_at'])}",
        highlight=False,
    )
    if model["description"]:
        console.print(model["description"], highlight=False)
    table = Table("version", "aliases", "flavor", "run", "notebook", "metrics", "created", "by")
    for v in versions:
        metrics = ", ".join(f"{k}={fmt(val)}" for k, val in sorted(v["metrics"].items())[:4])
        table.add_row(
            str(v["version"]),
            ", ".join(v["aliases"]),
            v["flavor"] + (" (trusted)" if v["trusted"] else ""),
            (v["run_id"] or "")[:8],
            v["lineage"].get("notebook_path") or "",
            metrics,
            fmt_time(v["created_at"]),
            v["created_by"],
        )
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


assert isinstance(deploy_group, click.Group)  # for the type checker: get() gives a Command


@deploy_group.command("export")
@click.argument("ref")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="New (or empty) folder for the build context and manifests.",
)
@click.option("--workers", default=1, show_default=True, help="Server processes per pod.")
@click.option("--port", default=8080, show_default=True, help="Container port.")
@click.option("--replicas", default=2, show_default=True, help="Minimum pods (HPA minReplicas).")
@click.option("--max-replicas", default=10, show_default=True, help="HPA maxReplicas.")
@click.option(
    "--image",
    help="Image reference with a pinned tag or digest (default "
    "<model>-v<version>:<labcycle version>-<digest of the build context>).",
)
@click.option(
    "--api-key-hash-file",
    type=click.Path(dir_okay=False, exists=True),
    help="Use this key hash (`labcycle deployments keygen`) instead of making a key.",
)
@click.option(
    "--wheel",
    type=click.Path(dir_okay=False, exists=True),
    help="Install this LabCycle wheel (default: a serving wheel of this LabCycle).",
)
@click.option(
    "--package",
    "packages",
    multiple=True,
    help="Another distribution to install, pinned from the model's environment.",
)
@click.option(
    "--storage-env",
    "storage_vars",
    multiple=True,
    metavar="NAME",
    help="Copy this variable of your environment (e.g. AWS_ACCESS_KEY_ID) into the "
    "pods' storage Secret; repeatable. LABCYCLE_STORAGE_OPTIONS is copied when set.",
)
@click.option(
    "--service-account-annotation",
    "annotations",
    multiple=True,
    metavar="KEY=VALUE",
    help="An annotation of the pods' ServiceAccount (workload "
    "identity, e.g. eks.amazonaws.com/role-arn=...); repeatable.",
)
@click.option(
    "--no-register",
    is_flag=True,
    help="Do not register the export as a deployment of the hub (its prediction log "
    "then stays inside the pods).",
)
@click.option(
    "--trusted",
    is_flag=True,
    help="Allow a model that runs code when it loads (pickle/joblib/python); audited.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def deploy_export(
    ref,
    out,
    workers,
    port,
    replicas,
    max_replicas,
    image,
    api_key_hash_file,
    wheel,
    packages,
    storage_vars,
    annotations,
    no_register,
    trusted,
    as_json,
) -> None:
    """Write a container build context and Kubernetes manifests serving model REF."""
    import os
    from pathlib import Path

    from ..errors import InvalidInput

    storage_env = {}
    for var in storage_vars:
        if var not in os.environ:
            raise InvalidInput(
                f"--storage-env {var}: that variable is not set here.", field="storage_env"
            )
        storage_env[var] = os.environ[var]
    service_account = {}
    for pair in annotations:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(
                f"--service-account-annotation {pair!r} must look like KEY=VALUE.",
                field="service_account_annotation",
            )
        service_account[key.strip()] = value
    services = _services()
    with console.status(f"exporting {ref} …"):
        result = services.deployments.export(
            ref,
            Path(out),
            actor=_actor(),
            trusted=trusted,
            storage_env=storage_env,
            register=not no_register,
            workers=workers,
            port=port,
            replicas=replicas,
            max_replicas=max_replicas,
            image=image,
            api_key_hash=Path(api_key_hash_file).read_text().strip() if api_key_hash_file else None,
            wheel=Path(wheel) if wheel else None,
            extra_packages=tuple(packages),
            service_account_annotations=service_account or None,
        )
    if as_json:
        emit_json(result)
        return
    console.print(
        f"Wrote {len(result['files'])} files for {ref} to {result['out']}:", highlight=False
    )
    for name in result["files"]:
        if not name.startswith("model/"):
            console.print(f"  {name}", highlight=False)
    if result["api_key"]:
        console.print(f"[yellow]API key (shown once, store it now):[/yellow] {result['api_key']}")
    if result.get("deployment"):
        console.print(
            f"Registered as deployment {result['deployment']['name']} "
            f"({result['deployment_id']}): its prediction log goes to "
            f"{result['log_url']}.",
            highlight=False,
        )
    if result.get("log_url_is_local"):
        console.print(
            "[yellow]The artifact store is a local folder: pods on a cluster cannot "
            "write their prediction log there. Set LABCYCLE_ARTIFACT_URL to object "
            "storage (s3://...) for a cluster.[/yellow]"
        )
    console.print(
        f"Next: docker build -t {result['image']} {result['out']} && "
        f"kubectl apply -k {result['out']}/k8s",
        highlight=False,
    )
