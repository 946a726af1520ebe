"""Model registry pages: the project's models, one model with its versions, and one version (SemVer,
aliases, description, its run's params, metrics and artifacts); descriptions are editable.

URLs carry GitLab's ids: ``-/ml/models/<model id>`` and ``…/versions/<version id>`` (the id the
``packages/ml_models/<id>`` file route takes), looked up only inside the URL's project.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from compat import browse, candidates
from compat.registry import models, versions, views
from compat.web import page
from compat.web.candidates import artifact_listing
from compat.web.experiments import RunRow, run_row
from compat.web.page import READ_REGISTRY, WRITE_REGISTRY, Work
from gateway.errors import InvalidParameter
from tenants.web.pages import PageTemplates

DESCRIPTION_LIMIT = models.MAX_DESCRIPTION_LENGTH


def routes_of(templates: PageTemplates) -> dict[str, Any]:
    async def models_page(request: Request) -> Response:
        search = request.query_params.get("search", "").strip()[:255]

        def work(w: Work) -> tuple[list[tuple[views.ModelView, int]], str]:
            found = browse.models_with_counts(w.session, w.project.project_id, search=search)
            model_views = views.model_views(w.session, [model for model, _ in found])
            return list(zip(model_views, [count for _, count in found], strict=True)), w.ml

        rows, ml = await page.project_work(request, READ_REGISTRY, work)
        context = {"ml": ml, "tab": "models", "rows": rows, "search": search}
        return page.render(templates, request, "models.html", context)

    async def model_page(request: Request) -> Response:
        ref = str(request.path_params["model"])

        def work(w: Work) -> tuple[views.ModelView, list[views.VersionView], int, str, bool]:
            model = browse.model_by_id(w.session, w.project.project_id, ref)
            version_views = views.version_views(w.session, browse.versions_of(w.session, model))
            experiment_iid = browse.experiment_iid_of_model(w.session, model)
            return views.model_view(w.session, model), version_views, experiment_iid, w.ml, w.can_write

        model, version_views, experiment_iid, ml, writable = await page.project_work(request, READ_REGISTRY, work)
        context = {
            "ml": ml,
            "tab": "models",
            "model": model,
            "versions": version_views,
            "experiment_iid": experiment_iid,
            "can_write": writable,
            "notice": page.notice(request),
        }
        return page.render(templates, request, "model.html", context)

    async def version_page(request: Request) -> Response:
        model_ref, version_ref = str(request.path_params["model"]), str(request.path_params["version"])

        def work(w: Work) -> tuple[views.VersionView, RunRow, str, bool, int]:
            model = browse.model_by_id(w.session, w.project.project_id, model_ref)
            view = views.version_view(w.session, browse.version_by_id(w.session, model, version_ref))
            data = candidates.run_data(w.session, [view.candidate])[view.candidate.id]
            return view, run_row(view.candidate, data), w.ml, w.can_write, w.project.project_id

        view, row, ml, writable, project_id = await page.project_work(request, READ_REGISTRY, work)
        entries = await artifact_listing(request, project_id, view.candidate, "")
        context = {
            "ml": ml,
            "tab": "models",
            "view": view,
            "row": row,
            "artifacts": entries,
            "can_write": writable,
            "history_url": f"{ml}/metric-history?run={view.candidate.eid}",
            "notice": page.notice(request),
        }
        return page.render(templates, request, "version.html", context)

    async def describe(request: Request) -> Response:
        """Edit a model's or a version's description (the only registry edit the pages offer)."""
        model_ref, version_ref = str(request.path_params["model"]), request.path_params.get("version")

        def work(w: Work) -> Response:
            if page.form_text(w.form, "action") != "describe":
                raise InvalidParameter("Unknown action.")
            description = page.form_text(w.form, "description", limit=DESCRIPTION_LIMIT, required=False)
            model = browse.model_by_id(w.session, w.project.project_id, model_ref)
            if version_ref is None:
                models.update_model(w.session, model, description)
                return page.redirect(f"{w.ml}/models/{model.id}", done="described")
            version = browse.version_by_id(w.session, model, str(version_ref))
            versions.update_version(w.session, version, description)
            return page.redirect(f"{w.ml}/models/{model.id}/versions/{version.id}", done="described")

        return await page.project_work(request, WRITE_REGISTRY, work)

    return {"models": models_page, "model": model_page, "version": version_page, "describe": describe}
