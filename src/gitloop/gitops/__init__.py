"""The CD engine: Argo CD-compatible reconciliation of a config repo onto Kubernetes.

Pure cores live in sub-packages (``diff``, ``health``, ``sync``). Around them, one module per concept:
``tracking`` (which Application owns an object), ``live`` (the list + watch cache of tracked objects),
``observe`` (a cluster as the engine reads it: placement, predicted objects), ``source`` (git revisions
and rendered manifests, cached), ``comparison`` and ``status`` (what an Application's state is),
``refresh`` (git → manifests → comparison → conditions), ``autosync`` (Argo CD's automated-sync
decision), ``syncop`` / ``sync_driver`` / ``operations`` (sync operations: stored, driven, retried),
``history`` (history and rollback), ``reconciler`` (the composition) and ``loop`` (when to refresh).
The engine never imports adapters and never imports the CI engine.
"""
