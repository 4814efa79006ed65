"""Layer 2, step executors: run the containers of TaskRuns, behind ``gitloop.ports.StepExecutor``.

``local`` runs each step as a host process in a per-TaskRun sandbox directory, in a private mount
namespace with Tekton's paths where bubblewrap works (``namespace``); ``podman`` runs each step in its
image with the workspaces mounted.
"""
