"""REST handlers of the model registry: models, versions, aliases."""

from __future__ import annotations

from functools import partial

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...errors import InvalidInput
from ..base import LabCycleHandler
from ..schemas import core as schemas
from ..schemas import models as schemas_models


def version_number(text: str) -> int:
    value = text[1:] if text[:1] in ("v", "V") else text
    if not value.isdigit() or not 0 < int(value) < 2**31:
        raise InvalidInput(f"{text!r} is not a version number (1, 2, 3...).", field="version")
    return int(value)


class ModelsHandler(LabCycleHandler):
    auth_resource = "labcycle:models"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.Query)
        await self.respond(
            partial(
                self.services.registry.list_models,
                max_results=q.max_results,
                page_token=q.page_token,
            )
        )


class ModelHandler(LabCycleHandler):
    auth_resource = "labcycle:models"

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.respond(partial(self.services.registry.get_model, name))

    @web.authenticated
    @authorized
    async def patch(self, name: str) -> None:
        body = await self.body(schemas_models.UpdateModel)
        await self.respond(
            partial(
                self.services.registry.update_model,
                name,
                actor=self.actor,
                description=body.description,
                tags=body.tags,
            )
        )


class ModelVersionsHandler(LabCycleHandler):
    auth_resource = "labcycle:models"

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        q = self.query(schemas.Query)
        await self.respond(
            partial(
                self.services.registry.list_versions,
                name,
                max_results=q.max_results,
                page_token=q.page_token,
            )
        )

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        body = await self.body(schemas_models.CreateModelVersion)
        await self.respond(
            partial(
                self.services.registry.create_version, name, actor=self.actor, **body.model_dump()
            ),
            status=201,
            location=lambda v: self.api_url(
                "models", v["model_name"], "versions", str(v["version"])
            ),
        )


class ModelVersionHandler(LabCycleHandler):
    auth_resource = "labcycle:models"

    @web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        await self.respond(
            partial(self.services.registry.get_version, name, version_number(version))
        )

    @web.authenticated
    @authorized
    async def patch(self, name: str, version: str) -> None:
        number = version_number(version)
        body = await self.body(schemas_models.UpdateModelVersion)
        await self.respond(
            partial(
                self.services.registry.update_version,
                name,
                number,
                actor=self.actor,
                description=body.description,
                tags=body.tags,
            )
        )


class TrustedLoadHandler(LabCycleHandler):
    """A client about to load a version with trusted=True records that decision here."""

    auth_resource = "labcycle:models"

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str) -> None:
        number = version_number(version)
        body = await self.body(schemas_models.RecordTrustedLoad)

        def record() -> None:
            found = self.services.registry.get_version(name, number)
            self.services.registry.record_trusted_load(
                found["id"], actor=self.actor, purpose=body.purpose
            )

        await self.call(record)
        self.set_status(204)
        self.finish()


class ModelAliasHandler(LabCycleHandler):
    auth_resource = "labcycle:models"

    @web.authenticated
    @authorized
    async def put(self, name: str, alias: str) -> None:
        body = await self.body(schemas_models.SetAlias)
        await self.respond(
            partial(self.services.registry.set_alias, name, alias, body.version, actor=self.actor)
        )

    @web.authenticated
    @authorized
    async def delete(self, name: str, alias: str) -> None:
        await self.call(self.services.registry.delete_alias, name, alias, actor=self.actor)
        self.set_status(204)
        self.finish()
