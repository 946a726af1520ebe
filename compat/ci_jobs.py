"""CI job links of candidates (runs): the ``gitlab.CI_JOB_ID`` tag and its typed twin, the
``ml_candidates.ci_job_id`` column, and the job tags a CI job token stamps on its runs.

Rules (SPEC §6):

- Whoever writes ``gitlab.CI_JOB_ID`` (run create, set-tag, log-batch, a model version's run — all go
  through ``compat.candidates``' tag path), its value must be a CI job id: a positive integer that fits
  a BIGINT. Anything else is a 400 before a single row is written (GitLab answers 500). The tag stays
  an ordinary tag (shown in the run, searchable as ``tags.`gitlab.CI_JOB_ID```); the column makes
  ``attributes.ci_job_id`` an indexed lookup. Deleting the tag clears the column.
- A CI job token's verified claims are authoritative: the runs it creates get the job's
  ``gitlab.CI_JOB_ID``, ``CI_PIPELINE_ID``, ``CI_COMMIT_SHA``, ``CI_COMMIT_REF_NAME`` and
  ``CI_PROJECT_PATH`` (those the token has claims for), plus ``gitlab.CI_JOB_URL`` when the CI server
  URL is configured, and it may not write another value into any of them — one job cannot pass its
  runs off as another's.
- A job id written with any other credential is linked as given: the gateway cannot know which CI
  project it belongs to, so it builds no job URL for it (a link it made up could point at some other
  project's job, GitLab's own flaw).

Must not: know HTTP or MLflow's wire shapes (it sees tag pairs and the principal's ``CiJob``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gateway.errors import InvalidParameter
from tenants.principal import CiJob

CI_JOB_ID_TAG = "gitlab.CI_JOB_ID"
CI_PIPELINE_ID_TAG = "gitlab.CI_PIPELINE_ID"
CI_COMMIT_SHA_TAG = "gitlab.CI_COMMIT_SHA"
CI_COMMIT_REF_NAME_TAG = "gitlab.CI_COMMIT_REF_NAME"
CI_PROJECT_PATH_TAG = "gitlab.CI_PROJECT_PATH"
CI_JOB_URL_TAG = "gitlab.CI_JOB_URL"

MAX_JOB_ID = 2**63 - 1
_DIGITS = re.compile(r"^[0-9]{1,19}$")


def parse_job_id(value: str) -> int:
    """The job id in a ``gitlab.CI_JOB_ID`` value, or a 400 that says what a job id looks like."""
    number = int(value) if _DIGITS.match(value) else 0
    if not 0 < number <= MAX_JOB_ID:
        hint = " (outside a CI job os.getenv('CI_JOB_ID') is None: set the tag only in CI)" if value == "None" else ""
        raise InvalidParameter(
            f"Invalid value {value[:100]!r} for tag '{CI_JOB_ID_TAG}': it must be the id of a CI job, "
            f"a positive integer such as '1234' (at most {MAX_JOB_ID}){hint}."
        )
    return number


def linked_job(tags: Mapping[str, str]) -> int | None:
    """The job id the tags link to (``None`` when they carry no ``gitlab.CI_JOB_ID``); validated."""
    value = tags.get(CI_JOB_ID_TAG)
    return None if value is None else parse_job_id(value)


def job_tags(ci: CiJob) -> dict[str, str]:
    """The tags a CI job token's claims vouch for (only those it has claims for)."""
    values = {
        CI_JOB_ID_TAG: None if ci.job_id is None else str(ci.job_id),
        CI_PIPELINE_ID_TAG: ci.pipeline_id,
        CI_COMMIT_SHA_TAG: ci.commit_sha,
        CI_COMMIT_REF_NAME_TAG: ci.ref,
        CI_PROJECT_PATH_TAG: ci.ci_project,
        CI_JOB_URL_TAG: ci.job_url,
    }
    return {key: value for key, value in values.items() if value is not None}


def check_job_tags(tags: Mapping[str, str], ci: CiJob | None) -> None:
    """A CI job token may write its own job tags again, never different values."""
    if ci is None:
        return
    for key, own in job_tags(ci).items():
        value = tags.get(key)
        if value is not None and value != own:
            raise InvalidParameter(
                f"Tag '{key}' is '{own}' for runs written with this CI job token (its verified claims say so); "
                f"it cannot be set to {value[:100]!r}."
            )
