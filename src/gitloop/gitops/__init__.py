"""The CD engine: Argo CD-compatible reconciliation of a config repo onto Kubernetes.

Pure cores live in sub-packages (``diff``, ``health``, ``sync``). Around them, one module per concept:
``tracking`` (which Application owns an object), ``live`` (the list + watch cache of tracked objects),
``observe`` (a cluster as the engine reads it: placement, predicted objects), ``source`` (git revisions
and rendered manifests, cached), ``comparison`` and ``status`` (what an Application's state is),
``refresh`` (git → manifests → comparison → conditions), ``autosync`` (Argo CD's automated-sync
decision), ``operation`` (a sync request and its operation, as stored), ``driver`` (plan, drive, retry,
record an operation) and ``apply`` (its actions against a cluster), ``history`` (history and rollback),
``reconciler`` (statuses, auto-sync, one operation per Application), ``loop`` (when to refresh) and
``hook_rule`` (which objects are hooks). ``engine`` is the one module that wires them: every face uses
``Engine``.
The engine never imports adapters and never imports the CI engine.
"""
