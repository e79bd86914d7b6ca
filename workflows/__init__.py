"""The request lifecycle: a pure-Python state machine (no Flask, no SQLAlchemy).

`workflows.lifecycle` holds the machine, permissions and guards; `workflows.diagram` draws it."""
