"""The model registry in GitLab's vocabulary: models, model versions (SemVer), aliases and tags.

A model owns the experiment ``[model]<name>``; each version owns a candidate (run) in it, so
metrics, params, tags and artifacts of a version are logged like a run's.
"""
