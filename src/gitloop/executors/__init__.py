"""Layer 2, step executors: run the containers of TaskRuns, behind ``gitloop.ports.StepExecutor``.

``local`` runs each step as a host process in a per-TaskRun sandbox directory; ``podman`` runs each
step in its image with the workspaces mounted.
"""
