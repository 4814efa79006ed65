"""Layer 1: parse and validate the YAML gitloop reads (Tekton, Triggers, Argo CD) into frozen dataclasses.

Every validation error is a ``SpecError`` naming the file (with its line), the object and the field.
"""
