"""The search compiler: MLflow filter strings and ``order_by`` clauses → validated clauses → SQL.

``grammar`` parses, ``vocabulary`` checks fields and operators per search, ``runs`` and
``experiments`` build and run the query, ``sql`` holds the dialect-aware comparisons.
"""
