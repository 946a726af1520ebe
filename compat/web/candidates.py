"""The run (candidate) page: details, source, CI job, params, metrics with history charts, tags (add,
edit, delete), datasets, artifacts (browse and download), rename, delete and restore; and the
read-only JSON of metric histories that the charts on this page and the compare page fetch.

A run is addressed by its per-project number (``-/ml/candidates/12``, GitLab's shape) or by its MLflow
run id. Artifact downloads always answer as attachments: a run's files are whatever a client uploaded,
and an HTML file rendered on the gateway's origin would run with the viewer's session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from compat import browse, candidates, ci_jobs, repository
from compat.candidates import RunData
from compat.tables import Candidate, Experiment
from compat.web import page
from compat.web.page import READ_EXPERIMENTS, WRITE_EXPERIMENTS, Work
from gateway.artifacts import ArtifactStore, Entry, candidate_root, relative_path
from gateway.errors import InvalidParameter
from gateway.http import JSONResponse
from tenants.web.pages import PageTemplates

MAX_TAG_KEY = 250
MAX_TAG_VALUE = 8000
MAX_CHART_RUNS = 20
MAX_CHART_KEYS = 60
SOURCE_TAGS = (
    ("Source type", "mlflow.source.type"),
    ("Source name", "mlflow.source.name"),
    ("Git commit", "mlflow.source.git.commit"),
    ("Git repository", "mlflow.source.git.repoURL"),
    ("Git branch", "mlflow.source.git.branch"),
    ("Entry point", "mlflow.project.entryPoint"),
    ("Backend", "mlflow.project.backend"),
    ("Parent run", "mlflow.parentRunId"),
)


@dataclass(frozen=True, slots=True)
class RunView:
    candidate: Candidate
    experiment: Experiment
    data: RunData
    version: tuple[str, str] | None
    """``(model name, SemVer)`` when this run is a model version's."""
    model_id: int | None


def run_view(work: Work, candidate: Candidate) -> RunView:
    experiment = candidates.experiment_of(work.session, candidate)
    data = candidates.run_data(work.session, [candidate])[candidate.id]
    version = repository.version_of_candidate(work.session, candidate.id)
    model_id = browse.model_id_of_experiment(work.session, experiment) if version else None
    return RunView(candidate, experiment, data, version, model_id)


def store_of(request: Request) -> ArtifactStore:
    store = request.state.artifacts
    assert isinstance(store, ArtifactStore)
    return store


async def artifact_listing(request: Request, project_id: int, candidate: Candidate, raw: str) -> list[Entry]:
    path = relative_path(raw.strip("/"))
    entries = await store_of(request).list(candidate_root(project_id, candidate.iid).key(path))
    return sorted(entries, key=lambda e: (not e.is_dir, e.name))


def source_rows(tags: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """``(label, value, link)`` for MLflow's source tags the run has (links only for http(s) URLs)."""
    return [(label, tags[key], page.web_link(tags[key])) for label, key in SOURCE_TAGS if tags.get(key)]


def routes_of(templates: PageTemplates) -> dict[str, Any]:
    async def candidate_page(request: Request) -> Response:
        ref = str(request.path_params["candidate"])
        path = request.query_params.get("path", "")

        def work(w: Work) -> tuple[RunView, str, bool, int]:
            return (
                run_view(w, browse.candidate_by_ref(w.session, w.project.project_id, ref)),
                w.ml,
                w.can_write,
                (w.project.project_id),
            )

        view, ml, writable, project_id = await page.project_work(request, READ_EXPERIMENTS, work)
        try:
            entries = await artifact_listing(request, project_id, view.candidate, path)
            artifact_error = ""
        except InvalidParameter as error:
            entries, artifact_error = [], error.message
        tags = dict(view.data.tags)
        ci_url = page.web_link(tags.get(ci_jobs.CI_JOB_URL_TAG))
        parent = path.strip("/").rpartition("/")[0] if path.strip("/") else None
        context = {
            "ml": ml,
            "tab": "experiments",
            "view": view,
            "run": view.candidate,
            "tags": view.data.tags,
            "source": source_rows(tags),
            "ci_url": ci_url,
            "can_write": writable,
            "artifacts": entries,
            "artifact_path": path.strip("/"),
            "artifact_parent": parent,
            "artifact_error": artifact_error,
            "history_url": f"{ml}/metric-history?run={view.candidate.eid}",
            "notice": page.notice(request),
        }
        return page.render(templates, request, "candidate.html", context)

    async def candidate_action(request: Request) -> Response:
        ref = str(request.path_params["candidate"])

        def work(w: Work) -> Response:
            candidate = browse.candidate_by_ref(w.session, w.project.project_id, ref)
            action = page.form_text(w.form, "action")
            back = f"{w.ml}/candidates/{candidate.iid}"
            if action == "rename":
                name = page.form_text(w.form, "name", limit=candidates.MAX_RUN_NAME_LENGTH).strip()
                candidates.update_candidate(w.session, candidate, status=None, end_time=None, run_name=name)
                return page.redirect(back, done="renamed")
            if action == "set_tag":
                key = page.form_text(w.form, "key", limit=MAX_TAG_KEY).strip()
                value = page.form_text(w.form, "value", limit=MAX_TAG_VALUE, required=False)
                candidates.log_batch(w.session, candidate, tags=[(key, value)])
                return page.redirect(back, done="tag_saved")
            if action == "delete_tag":
                candidates.delete_tag(w.session, candidate, page.form_text(w.form, "key", limit=MAX_TAG_KEY))
                return page.redirect(back, done="tag_deleted")
            if action == "delete":
                candidates.delete_candidate(w.session, candidate)
                return page.redirect(back, done="run_deleted")
            if action == "restore":
                candidates.restore_candidate(w.session, candidate)
                return page.redirect(back, done="run_restored")
            raise InvalidParameter(f"Unknown action {action[:40]!r}.")

        return await page.project_work(request, WRITE_EXPERIMENTS, work)

    async def artifact_download(request: Request) -> Response:
        ref = str(request.path_params["candidate"])
        path = relative_path(str(request.path_params["path"]))
        if path.is_root:
            raise InvalidParameter("Name a file to download.")

        def work(w: Work) -> Any:
            candidate = browse.candidate_by_ref(w.session, w.project.project_id, ref)
            return candidate_root(w.project.project_id, candidate.iid).key(path)

        key = await page.project_work(request, READ_EXPERIMENTS, work)
        download = await store_of(request).get(key)
        headers = {
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(path.segments[-1], safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, no-store",
        }
        if download.size is not None:
            headers["Content-Length"] = str(download.size)
        return StreamingResponse(download, media_type="application/octet-stream", headers=headers)

    async def metric_history(request: Request) -> Response:
        """``{"runs": [{id, iid, name, metrics: {key: {step, time, value}}}]}`` for the charts."""
        run_ids = request.query_params.getlist("run")[:MAX_CHART_RUNS]
        keys = request.query_params.getlist("key")[:MAX_CHART_KEYS]
        if not run_ids:
            raise InvalidParameter("Name at least one run.")

        def work(w: Work) -> dict[str, Any]:
            runs = browse.candidates_by_eids(w.session, w.project.project_id, run_ids)
            ids = [run.id for run in runs]
            wanted = keys or browse.metric_keys(w.session, ids)[:MAX_CHART_KEYS]
            histories = browse.metric_histories(w.session, ids, wanted)
            return {
                "runs": [
                    {
                        "id": run.eid,
                        "iid": run.iid,
                        "name": run.name,
                        "metrics": {
                            key: {"step": s.steps, "time": s.timestamps, "value": s.values}
                            for key, s in sorted(histories[run.id].items())
                        },
                    }
                    for run in runs
                ]
            }

        answer = await page.project_work(request, READ_EXPERIMENTS, work)
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    return {
        "candidate": candidate_page,
        "candidate_action": candidate_action,
        "artifact": artifact_download,
        "metric_history": metric_history,
    }
