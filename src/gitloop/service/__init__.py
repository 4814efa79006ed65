"""Composition: wires the adapters into the engines for the server, the CLI and the demo."""
