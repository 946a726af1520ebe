"""The compare view (seed 004): two or more runs of the project side by side — their details, a params
table and a metrics table with "show only differences", overlaid metric histories, and a parallel
coordinates plot and a scatter plot of chosen params and metrics (drawn in the browser from the
JSON this page embeds; histories come from the metric-history JSON).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from compat import browse, candidates
from compat.web import page
from compat.web.experiments import RunRow, run_row
from compat.web.page import READ_EXPERIMENTS, Work
from gateway.errors import InvalidParameter
from tenants.web.pages import PageTemplates

MAX_COMPARED = 20


def table(rows: list[RunRow], kind: str) -> list[tuple[str, list[str], bool]]:
    """``(key, values per run, all equal)`` for every param or metric key any of the runs has."""
    columns: list[dict[str, Any]] = [dict(row.params if kind == "params" else row.metrics) for row in rows]
    keys = sorted({key for column in columns for key in column})
    found = []
    for key in keys:
        values = ["" if key not in column else str(column[key]) for column in columns]
        found.append((key, values, len(set(values)) == 1))
    return found


def routes_of(templates: PageTemplates) -> dict[str, Any]:
    async def compare_page(request: Request) -> Response:
        run_ids = list(dict.fromkeys(request.query_params.getlist("run")))
        if not 2 <= len(run_ids) <= MAX_COMPARED:
            raise InvalidParameter(f"Compare between 2 and {MAX_COMPARED} runs: select them on an experiment's page.")

        def work(w: Work) -> tuple[list[RunRow], dict[int, int], str]:
            runs = browse.candidates_by_eids(w.session, w.project.project_id, run_ids)
            data = candidates.run_data(w.session, runs)
            experiment_iids = {run.id: candidates.experiment_of(w.session, run).iid for run in runs}
            return [run_row(run, data[run.id]) for run in runs], experiment_iids, w.ml

        rows, experiment_iids, ml = await page.project_work(request, READ_EXPERIMENTS, work)
        chart_data = {
            "historyUrl": f"{ml}/metric-history?" + urlencode([("run", row.candidate.eid) for row in rows]),
            "runs": [
                {
                    "id": row.candidate.eid,
                    "name": row.candidate.name,
                    "params": row.params,
                    "metrics": {k: _finite(v) for k, v in row.metrics.items()},
                }
                for row in rows
            ],
        }
        context = {
            "ml": ml,
            "tab": "experiments",
            "rows": rows,
            "experiment_iids": experiment_iids,
            "params": table(rows, "params"),
            "metrics": table(rows, "metrics"),
            "chart_data": chart_data,
        }
        return page.render(templates, request, "compare.html", context)

    return {"compare": compare_page}


def _finite(value: float | str) -> float | None:
    """JSON has no NaN or Infinity: the plots leave such a value out."""
    return value if isinstance(value, float) and math.isfinite(value) else None
