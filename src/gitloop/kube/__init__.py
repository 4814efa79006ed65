"""Kubernetes adapter: the ``Cluster`` port implemented on lightkube's async client."""

from gitloop.kube.cluster import KubeCluster

__all__ = ["KubeCluster"]
