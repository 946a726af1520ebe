"""MLflow 3 logged models in the ML domain: a model logged inside an experiment (usually by a run),
with its own artifact root, params, tags, metrics, and links to the runs that produced or used it.

``tables`` holds the schema, ``models`` the lifecycle (create, find, finalize, delete, tags, params),
``runs`` what runs record about them (outputs, inputs, linked metrics, 2.7.1's model history tag),
``search`` compiles ``logged-models/search``.
"""
