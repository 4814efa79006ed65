"""Local infrastructure for tests and the demo: a real Kubernetes control plane and a git server."""
