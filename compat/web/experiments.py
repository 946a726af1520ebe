"""Experiment pages: the project's experiments, and one experiment's runs — filtered with MLflow's
search syntax (``compat.search``, the compiler ``runs/search`` uses), sorted, paged, shown active or
deleted, with chosen params and metrics as columns — plus the runs' CSV (seed 004's columns), the
selection actions (compare, CSV, delete, restore) and bulk delete / restore by time.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from compat import browse, candidates, experiments
from compat.candidates import RunData
from compat.search import runs as run_search
from compat.search.grammar import parse_filter, parse_order_by
from compat.search.vocabulary import RUNS
from compat.tables import Candidate, Experiment
from compat.web import page
from compat.web.page import READ_EXPERIMENTS, WRITE_EXPERIMENTS, Work
from gateway.errors import InvalidParameter, NotFound
from tenants.authorization import Permission
from tenants.web.pages import PageTemplates

PER_PAGE = 50
MAX_CSV_RUNS = 10_000
DEFAULT_COLUMNS = 8
STATES = {"active": "ACTIVE_ONLY", "deleted": "DELETED_ONLY", "all": "ALL"}
CSV_HEAD = ["Run ID", "Name", "Source Type", "Source Name", "User", "Status"]


@dataclass(frozen=True, slots=True)
class RunRow:
    candidate: Candidate
    params: dict[str, str]
    metrics: dict[str, float | str]
    tags: dict[str, str]


@dataclass(slots=True)
class RunsPage:
    experiment: Experiment
    model_id: int | None
    rows: list[RunRow] = field(default_factory=list)
    has_next: bool = False
    error: str = ""
    all_params: list[str] = field(default_factory=list)
    all_metrics: list[str] = field(default_factory=list)


def experiment_iid(request: Request) -> int:
    raw = str(request.path_params["experiment"])
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(f"Experiment {raw!r} not found")
    return int(raw)


def run_row(candidate: Candidate, data: RunData) -> RunRow:
    metrics: dict[str, float | str] = {m.key: ("NaN" if m.is_nan else m.value) for m in data.metrics}
    return RunRow(candidate, dict(data.params), metrics, dict(data.tags))


def run_query(request: Request, iid: int) -> run_search.RunQuery:
    """The page's filter, order and state as the search compiler's query (400 with MLflow's message)."""
    text = request.query_params.get("filter", "").strip()
    order = request.query_params.get("order", "").strip()
    orders = []
    if order:
        parsed = parse_order_by(order)
        kind, key = RUNS.order_key(parsed)
        orders.append(run_search.RunOrder(kind, key, parsed.ascending))
    return run_search.RunQuery(
        experiment_iids=[iid],
        clauses=[RUNS.clause(c) for c in parse_filter(text)] if text else [],
        orders=orders,
        view_type=STATES.get(request.query_params.get("state", "active"), "ACTIVE_ONLY"),
    )


def _rows(work: Work, query: run_search.RunQuery, *, offset: int, limit: int) -> list[RunRow]:
    found = run_search.search_runs(work.session, work.project.project_id, query, offset=offset, limit=limit)
    runs = [candidate for candidate, _ in found]
    data = candidates.run_data(work.session, runs)
    return [run_row(candidate, data[candidate.id]) for candidate in runs]


# ---------------------------------------------------------------------------------------- pages
def routes_of(templates: PageTemplates) -> dict[str, Any]:
    async def experiments_page(request: Request) -> Response:
        search = request.query_params.get("search", "").strip()[:500]
        deleted = request.query_params.get("state") == "deleted"
        number = page.page_number(request)

        def work(w: Work) -> tuple[list[browse.ExperimentSummary], str, bool]:
            offset = (number - 1) * PER_PAGE
            rows = browse.experiment_summaries(
                w.session, w.project.project_id, search=search, deleted=deleted, offset=offset, limit=PER_PAGE + 1
            )
            return rows, w.ml, w.can_write

        rows, ml, _ = await page.project_work(request, READ_EXPERIMENTS, work)
        context = {
            "ml": ml,
            "tab": "experiments",
            "summaries": rows[:PER_PAGE],
            "search": search,
            "deleted": deleted,
            "page": number,
            "next_url": page.with_query(request, page=str(number + 1)) if len(rows) > PER_PAGE else "",
            "prev_url": page.with_query(request, page=str(number - 1)) if number > 1 else "",
        }
        return page.render(templates, request, "experiments.html", context)

    async def experiment_page(request: Request) -> Response:
        iid = experiment_iid(request)
        number = page.page_number(request)

        def work(w: Work) -> tuple[RunsPage, str, bool]:
            experiment = experiments.get_experiment(w.session, w.project.project_id, iid)
            result = RunsPage(experiment, browse.model_id_of_experiment(w.session, experiment))
            try:
                query = run_query(request, iid)
                rows = _rows(w, query, offset=(number - 1) * PER_PAGE, limit=PER_PAGE + 1)
            except InvalidParameter as error:  # a bad filter is shown beside the box, not as an error page
                result.error = error.message
                rows = []
            result.rows, result.has_next = rows[:PER_PAGE], len(rows) > PER_PAGE
            result.all_params = sorted({key for row in result.rows for key in row.params})
            result.all_metrics = sorted({key for row in result.rows for key in row.metrics})
            return result, w.ml, w.can_write

        result, ml, writable = await page.project_work(request, READ_EXPERIMENTS, work)
        chosen_params = request.query_params.getlist("params") or result.all_params[:DEFAULT_COLUMNS]
        chosen_metrics = request.query_params.getlist("metrics") or result.all_metrics[:DEFAULT_COLUMNS]
        order = request.query_params.get("order", "")

        def sort_url(key: str) -> str:
            descending = f"{key} DESC"
            return page.with_query(request, order=f"{key} ASC" if order == descending else descending, page=None)

        context = {
            "ml": ml,
            "tab": "experiments",
            "view": result,
            "can_write": writable,
            "filter": request.query_params.get("filter", ""),
            "order": order,
            "state": request.query_params.get("state", "active"),
            "param_columns": chosen_params,
            "metric_columns": chosen_metrics,
            "sort_url": sort_url,
            "back": request.url.query,
            "csv_url": page.with_query(request, page=None).replace(request.url.path, request.url.path + "/runs.csv", 1),
            "next_url": page.with_query(request, page=str(number + 1)) if result.has_next else "",
            "prev_url": page.with_query(request, page=str(number - 1)) if number > 1 else "",
            "notice": page.notice(request),
        }
        return page.render(templates, request, "experiment.html", context, 400 if result.error else 200)

    async def runs_csv(request: Request) -> Response:
        iid = experiment_iid(request)
        selected = request.query_params.getlist("run")

        def work(w: Work) -> tuple[Experiment, list[RunRow]]:
            experiment = experiments.get_experiment(w.session, w.project.project_id, iid)
            if selected:
                runs = browse.candidates_by_eids(w.session, w.project.project_id, selected[:MAX_CSV_RUNS])
                if any(run.experiment_id != experiment.id for run in runs):
                    raise NotFound("Run not found in this experiment")
                data = candidates.run_data(w.session, runs)
                return experiment, [run_row(run, data[run.id]) for run in runs]
            return experiment, _rows(w, run_query(request, iid), offset=0, limit=MAX_CSV_RUNS)

        experiment, rows = await page.project_work(request, READ_EXPERIMENTS, work)
        filename = f"{experiment.name[:80] or 'runs'}.csv".replace('"', "'")
        return Response(
            runs_as_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f"attachment; filename=runs.csv; filename*=UTF-8''{quote(filename, safe='')}",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def selection(request: Request) -> Response:
        """The runs table's buttons: compare and CSV (reads), delete and restore (writes)."""
        iid = experiment_iid(request)

        def permission(form: FormData) -> Permission:
            return WRITE_EXPERIMENTS if form.get("action") in ("delete", "restore") else READ_EXPERIMENTS

        def work(w: Work) -> Response:
            experiments.get_experiment(w.session, w.project.project_id, iid)
            action, runs = page.form_text(w.form, "action"), page.form_list(w.form, "run")
            back = f"{w.ml}/experiments/{iid}"
            if not runs:
                raise InvalidParameter("Select at least one run first.")
            if action == "compare":
                if len(runs) < 2:
                    raise InvalidParameter("Select at least two runs to compare.")
                return page.redirect(f"{w.ml}/compare", run=runs)
            if action == "csv":
                return page.redirect(f"{back}/runs.csv", run=runs)
            if action not in ("delete", "restore"):
                raise InvalidParameter(f"Unknown action {action[:40]!r}.")
            count = candidates.set_stage_of_runs(w.session, w.project.project_id, runs, deleted=action == "delete")
            query = page.form_text(w.form, "back", limit=4000, required=False)
            done = "deleted" if action == "delete" else "restored"
            return page.redirect(back, keep=query, done=done, count=str(count))

        return await page.project_work(request, permission, work)

    async def bulk(request: Request) -> Response:
        """Seed 004's bulk calls from the page: delete by creation time, restore by deletion time."""
        iid = experiment_iid(request)

        def work(w: Work) -> Response:
            experiment = experiments.get_experiment(w.session, w.project.project_id, iid)
            action = page.form_text(w.form, "action")
            moment = _utc_ms(page.form_text(w.form, "moment", limit=40))
            max_runs = candidates.MAX_BULK_RUNS
            if action == "delete_before":
                count = candidates.delete_runs_created_before(
                    w.session, experiment, max_timestamp_ms=moment, max_runs=max_runs
                )
                state, done = "active", "bulk_deleted"
            elif action == "restore_since":
                count = candidates.restore_runs_deleted_since(
                    w.session, experiment, min_timestamp_ms=moment, max_runs=max_runs
                )
                state, done = "deleted", "bulk_restored"
            else:
                raise InvalidParameter(f"Unknown action {action[:40]!r}.")
            return page.redirect(f"{w.ml}/experiments/{iid}", state=state, done=done, count=str(count))

        return await page.project_work(request, WRITE_EXPERIMENTS, work)

    return {
        "experiments": experiments_page,
        "experiment": experiment_page,
        "runs_csv": runs_csv,
        "selection": selection,
        "bulk": bulk,
    }


# ---------------------------------------------------------------------------------------- helpers
def runs_as_csv(rows: list[RunRow]) -> str:
    """Seed 004's columns: Run ID, Name, Source Type, Source Name, User, Status, params…, metrics…"""
    params = sorted({key for row in rows for key in row.params})
    metrics = sorted({key for row in rows for key in row.metrics})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*CSV_HEAD, *map(_cell, params), *map(_cell, metrics)])
    for row in rows:
        c = row.candidate
        head = [c.eid, c.name, row.tags.get("mlflow.source.type", ""), row.tags.get("mlflow.source.name", "")]
        head += [c.user_name, c.status]
        writer.writerow(
            [
                *map(_cell, head),
                *(_cell(row.params.get(key, "")) for key in params),
                *(_number(row.metrics.get(key)) for key in metrics),
            ]
        )
    return out.getvalue()


def _cell(value: str) -> str:
    """Text that a spreadsheet would run as a formula gets a leading quote (OWASP's CSV injection advice)."""
    if value[:1] in ("=", "+", "@", "\t", "\r") or (value[:1] == "-" and not _is_number(value)):
        return "'" + value
    return value


def _number(value: float | str | None) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _utc_ms(text: str) -> int:
    """``2024-05-01T12:30`` (a datetime-local input, read as UTC) or epoch milliseconds → milliseconds."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(f"Invalid time {text!r}: use YYYY-MM-DDTHH:MM (UTC).") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
