"""``gitloop demo``: the whole loop on this machine, live.

A local cluster, a local git server with two repositories — app-source (a tiny Python web app with unit
tests and a Containerfile) and app-config (Kustomize base and overlays dev, staging, prod) — and a
``gitloop serve`` with an EventListener for app-source and one Application per environment. A change
pushed to app-source runs the pipeline (unit tests, image build: podman when installed, else a
content-addressed build record, then the image tag committed to the dev overlay); web-dev syncs it and
becomes Healthy; its post-sync pipeline smoke-tests it, and the PromotionChain ``web`` then promotes
the image to staging; its promotion to prod waits for an approval (``gitloop approve``). Every hop is
shown as it happens, then the timeline and the time from the push to Healthy.

``files`` reads the package data under ``content/``, ``infra`` brings up the cluster, the git server
and the configuration, ``serving`` runs ``gitloop serve``, ``loop`` is the demo, ``timeline`` reads
the trace.
"""

from __future__ import annotations

from gitloop.service.demo.loop import Demo, DemoOptions, LoopResult, down, run

__all__ = ["Demo", "DemoOptions", "LoopResult", "down", "run"]
