"""Layer 3, the CI engine: runs Tekton Pipelines and Tasks.

Pure cores: ``dag`` (task order), ``substitution`` (``$(...)`` variables) and ``when`` (guards).
"""
