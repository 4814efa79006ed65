"""The CD engine: Argo CD-compatible reconciliation of a config repo onto Kubernetes.

Pure cores (diff, health, sync planning) live in sub-packages; the engine never imports adapters and
never imports the CI engine.
"""
