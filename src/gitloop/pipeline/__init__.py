"""Layer 3, the CI engine: runs Tekton Pipelines and Tasks as pure, resumable state machines.

Pure cores: ``dag`` (task order), ``substitution`` (``$(...)`` variables), ``when`` (guards),
``matrix`` (fan-out), ``results``. ``plan`` checks a run before it starts; ``taskrun`` and
``pipelinerun`` are the machines (``decide(plan, state, observations, now) -> actions``, state in
``state``, actions and observations in ``actions``); ``status`` renders Tekton-shaped objects;
``simulation`` runs the machines on a virtual clock. ``resolution`` finds the Tasks refs name.
"""
