"""Named signals through which areas tell each other what happened (blinker, as Indico does).

An area that owns an event sends it; areas that react connect a receiver in their own
``init_app(app)``, which the application factory calls in a visible order. Receivers run in the
sender's unit of work (same session, same transaction) and are called with the keyword arguments
documented beside each signal; they must not commit. Connecting the same function twice is a no-op (blinker keys receivers by
identity), so building several apps in one process (the tests) wires each receiver once.

Nothing here imports an area, so every area may import this module.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A published scenario's substance changed and it went back to review (its ``revision`` was bumped).
#: ``sender``: the Scenario; kwargs: ``session``, ``changed`` (list of field names).
scenario_changed = _signals.signal("scenario-changed")

#: The owner answered a question (the answer is now public).
#: ``sender``: the Question; kwargs: ``session``.
question_answered = _signals.signal("question-answered")


#: Some work should run in the background once the sender's transaction commits (nothing happens if
#: it rolls back). ``sender``: the object concerned; kwargs: ``session``, ``job`` (a name of
#: :data:`marketplace.jobs.tasks.JOBS`), optional ``job_kwargs`` (a dict of JSON-able values).
job_requested = _signals.signal("job-requested")
