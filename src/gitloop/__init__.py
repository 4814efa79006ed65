"""gitloop: the whole GitOps loop in one tool.

Tekton-compatible CI pipelines, an image handoff committed to a config repo, and Argo CD-compatible
reconciliation of that repo onto Kubernetes, joined only by git.
"""

__version__ = "0.1.0"
