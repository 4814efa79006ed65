"""The lineage engine: source commit → PipelineRun → image → config commit → sync operation → Healthy,
timed.

Every hop is appended to the store's history of ``lineage/<source commit>`` (append-only, so
recorders never overwrite one another), as it is seen:

- ``push``: a webhook brought the source commit and a PipelineRun was started for it;
- ``pipelinerun``: the run was started (by a webhook) and ``pipelinerun-finished`` when it ended,
  with its Tekton results (``IMAGE_URL``, ``IMAGE_DIGEST``, ...);
- ``config-commit``: a commit of the config repository whose trailers (``Gitloop-Source-Commit``,
  ``Gitloop-PipelineRun``, ``Gitloop-Image``, written by the image handoff) name the source commit,
  seen in a push webhook of the config repository or when it was synced;
- ``sync``: a sync operation of an Application at that config commit ended;
- ``healthy``: the Application was first Synced and Healthy at that revision;
- ``post-sync``: the Application's post-sync pipeline was started after that sync, then
  ``post-sync-started`` and ``post-sync-finished`` (with its results) as the run went.

Layer 3 (engines), over the :class:`~gitloop.ports.Store` port: :mod:`.records` (the record kinds
and what is read from a run), :mod:`.trace` (a chain and its lead time, pure), :mod:`.engine` (the
:class:`Lineage` that records and reads back). Opening a store is the composition layer's
(:func:`gitloop.service.lineage.open_lineage`).
"""

from __future__ import annotations

from gitloop.lineage.engine import Lineage
from gitloop.lineage.records import RunSource, SourcePush, image_of, parse_time
from gitloop.lineage.trace import Trace, build_trace

__all__ = ["Lineage", "RunSource", "SourcePush", "Trace", "build_trace", "image_of", "parse_time"]
