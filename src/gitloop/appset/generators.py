"""ApplicationSet generators: each a pure function of its spec and the ``ports`` → a list of parameter sets.

Parameter names are Argo CD's. With ``goTemplate`` the sets are nested (``.path.basename``,
``.metadata.labels.env``); without it they are flat strings (``path.basename``, ``metadata.labels.env``,
``path[0]``). ``matrix`` is the cartesian product of two generators, the second read again with each
parameter set of the first; ``merge`` overrides the first generator's sets with the later generators'
sets that agree on ``mergeKeys``. Any failure raises (``SpecError`` for the spec and the data, ``GitError``
for git): the controller then changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitloop.appset.paths import directories, match_dir, match_file, normalized
from gitloop.appset.ports import ClusterSource, GitTree
from gitloop.appset.templates import flatten_params, render_application
from gitloop.errors import SpecError
from gitloop.model.clusters import IN_CLUSTER_SERVER, ClusterRef
from gitloop.spec.argocd.applicationset import (
    ApplicationSet,
    ClusterGenerator,
    Generator,
    GitGenerator,
    ListGenerator,
    MatrixGenerator,
    MergeGenerator,
    reparse_generator,
)
from gitloop.spec.fields import Origin
from gitloop.spec.yaml import load_one
from gitloop.spec.yaml.jsontext import load_json

Params = dict[str, Any]


@dataclass(frozen=True)
class Inputs:
    """What generators read, and how the ApplicationSet's templates are written."""

    git: GitTree
    clusters: ClusterSource
    go_template: bool = False
    options: tuple[str, ...] = ()
    appset: str = ""
    """``ApplicationSet/<name>``, for errors."""
    file: str = ""
    """Where the ApplicationSet was read from, for errors."""

    def error(self, message: str, field: str = "spec.generators") -> SpecError:
        return SpecError(message, file=self.file or None, obj=self.appset or None, field=field)


def inputs_for(appset: ApplicationSet, git: GitTree, clusters: ClusterSource) -> Inputs:
    """The ``Inputs`` of ``appset``'s generators."""
    return Inputs(
        git=git,
        clusters=clusters,
        go_template=appset.go_template,
        options=appset.go_template_options,
        appset=f"ApplicationSet/{appset.name}",
        file=str(appset.origin) if appset.origin else "",
    )


def generate_all(appset: ApplicationSet, inputs: Inputs) -> list[Params]:
    """The parameter sets of every generator of ``appset``, in order (Argo CD concatenates them)."""
    found: list[Params] = []
    for i, gen in enumerate(appset.generators):
        found.extend(generate(gen, inputs, f"spec.generators[{i}]"))
    return found


def generate(gen: Generator, inputs: Inputs, where: str = "spec.generators") -> list[Params]:
    """The parameter sets of one generator."""
    if isinstance(gen, ListGenerator):
        return [_element(e, inputs) for e in gen.elements]
    if isinstance(gen, GitGenerator):
        return git_directories(gen, inputs) if gen.directories else git_files(gen, inputs, where)
    if isinstance(gen, ClusterGenerator):
        return clusters(gen, inputs, where)
    if isinstance(gen, MatrixGenerator):
        return matrix(gen, inputs, where)
    return merge(gen, inputs, where)


def _element(element: Mapping[str, Any], inputs: Inputs) -> Params:
    return dict(element) if inputs.go_template else dict(flatten_params(element))


# -- git -----------------------------------------------------------------------------------------


def _path_params(directory: str, inputs: Inputs, prefix: str, filename: str | None = None) -> Params:
    """Argo CD's ``path`` parameters of a directory (and of a file in it, with ``filename``)."""
    segments = directory.split("/") if directory else []
    basename = segments[-1] if segments else ""
    if inputs.go_template:
        nested: Params = {
            "path": directory,
            "basename": basename,
            "basenameNormalized": normalized(basename),
            "segments": list(segments),
        }
        if filename is not None:
            nested["filename"] = filename
            nested["filenameNormalized"] = normalized(filename)
        return {prefix: {"path": nested}} if prefix else {"path": nested}
    head = f"{prefix}.path" if prefix else "path"
    flat: Params = {head: directory, f"{head}.basename": basename}
    flat[f"{head}.basenameNormalized"] = normalized(basename)
    if filename is not None:
        flat[f"{head}.filename"] = filename
        flat[f"{head}.filenameNormalized"] = normalized(filename)
    for n, segment in enumerate(segments):
        flat[f"{head}[{n}]"] = segment
    return flat


def git_directories(gen: GitGenerator, inputs: Inputs) -> list[Params]:
    """One parameter set per directory matching an include pattern and no exclude pattern (exclude wins)."""
    _sha, files = inputs.git.files(gen.repo_url, gen.revision)
    include = [d.path for d in gen.directories if not d.exclude]
    exclude = [d.path for d in gen.directories if d.exclude]
    found = []
    for directory in directories(files):
        if any(match_dir(p, directory) for p in exclude):
            continue
        if any(match_dir(p, directory) for p in include):
            found.append(
                _with_values(_path_params(directory, inputs, gen.path_param_prefix), gen.values, inputs)
            )
    return found


def git_files(gen: GitGenerator, inputs: Inputs, where: str) -> list[Params]:
    """One parameter set per matching JSON/YAML file (per item when the file holds a list): its
    contents (flattened without ``goTemplate``) and the ``path`` parameters of its directory."""
    sha, files = inputs.git.files(gen.repo_url, gen.revision)
    found = []
    for path in sorted(f for f in files if any(match_file(p, f) for p in gen.files)):
        directory, _, filename = path.rpartition("/")
        for item in _file_items(inputs.git.read(gen.repo_url, sha, path), path, inputs, where):
            params = item if inputs.go_template else dict(flatten_params(item))
            params.update(_path_params(directory, inputs, gen.path_param_prefix, filename))
            found.append(_with_values(params, gen.values, inputs))
    return found


def _file_items(content: bytes, path: str, inputs: Inputs, where: str) -> list[Params]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise inputs.error(f"{path} is not UTF-8 text: {exc}", f"{where}.git.files") from exc
    if path.endswith(".json"):
        try:
            data: Any = load_json(text, source=path)
        except ValueError as exc:
            raise inputs.error(f"{path} is not valid JSON: {exc}", f"{where}.git.files") from exc
    else:
        try:
            data = load_one(text, source=path)
        except SpecError as exc:
            raise inputs.error(f"{path}: {exc}", f"{where}.git.files") from exc
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            raise inputs.error(f"{path} must hold an object or a list of objects", f"{where}.git.files")
    return [dict(item) for item in items]


def _with_values(params: Params, values: Mapping[str, str], inputs: Inputs) -> Params:
    """``params`` with the generator's ``values`` rendered against them, as ``values.<key>``."""
    if not values:
        return params
    rendered = render_application(
        dict(values), params, go_template=inputs.go_template, options=inputs.options, where=inputs.appset
    )
    if inputs.go_template:
        return {**params, "values": rendered}
    return {**params, **{f"values.{k}": str(v) for k, v in rendered.items()}}


# -- clusters ------------------------------------------------------------------------------------


def selects(gen: ClusterGenerator, cluster: ClusterRef) -> bool:
    """Whether ``gen``'s selector picks ``cluster``. As in Argo CD, the cluster the control plane runs
    in is only picked by an empty selector unless it is registered with labels."""
    if gen.selector and cluster.server == IN_CLUSTER_SERVER and not cluster.labels:
        return False
    return all(r.matches(cluster.labels) for r in gen.selector)


def cluster_params(cluster: ClusterRef, go_template: bool) -> Params:
    """Argo CD's parameters of one cluster."""
    base: Params = {
        "name": cluster.name,
        "nameNormalized": normalized(cluster.name),
        "server": cluster.server,
        "project": cluster.project,
    }
    if go_template:
        base["metadata"] = {"labels": dict(cluster.labels), "annotations": dict(cluster.annotations)}
        return base
    base.update({f"metadata.labels.{k}": v for k, v in cluster.labels.items()})
    base.update({f"metadata.annotations.{k}": v for k, v in cluster.annotations.items()})
    return base


def clusters(gen: ClusterGenerator, inputs: Inputs, where: str) -> list[Params]:
    """One parameter set per registered cluster the selector picks."""
    chosen = sorted((c for c in inputs.clusters.clusters() if selects(gen, c)), key=lambda c: c.name)
    return [_with_values(cluster_params(c, inputs.go_template), gen.values, inputs) for c in chosen]


# -- matrix and merge ----------------------------------------------------------------------------


def combine(a: Params, b: Params, go_template: bool, inputs: Inputs, where: str) -> Params:
    """One matrix parameter set: nested sets merge (``b`` wins); flat ones must not disagree on a key."""
    if go_template:
        return _deep_merge(a, b)
    for key, value in b.items():
        if key in a and a[key] != value:
            raise inputs.error(
                f"matrix: found duplicate key {key} with different value, a: {a[key]} ,b: {value}", where
            )
    return {**a, **b}


def _deep_merge(a: Params, b: Mapping[str, Any]) -> Params:
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def matrix(gen: MatrixGenerator, inputs: Inputs, where: str) -> list[Params]:
    """The cartesian product of the two generators; the second is rendered with each set of the first
    when it uses parameters (``{{...}}``)."""
    found = []
    uses_params = "{{" in json.dumps(gen.second_raw)
    for a in generate(gen.first, inputs, f"{where}.matrix.generators[0]"):
        second = gen.second
        if uses_params:
            rendered = render_application(
                dict(gen.second_raw),
                a,
                go_template=inputs.go_template,
                options=inputs.options,
                where=inputs.appset,
            )
            origin = Origin(inputs.file, inputs.appset)
            second = reparse_generator(rendered, f"{where}.matrix.generators[1]", origin)
        for b in generate(second, inputs, f"{where}.matrix.generators[1]"):
            found.append(combine(a, b, inputs.go_template, inputs, where))
    return found


def _key(params: Params, keys: Sequence[str]) -> str:
    flat = flatten_params(params)
    return json.dumps([flat.get(k, "") for k in keys])


def _deduplicated(sets: list[Params], keys: Sequence[str], inputs: Inputs, where: str) -> dict[str, Params]:
    by_key: dict[str, Params] = {}
    for params in sets:
        key = _key(params, keys)
        if key in by_key:
            raise inputs.error(
                f"merge: the parameters from a generator were not unique by the mergeKeys {list(keys)} "
                f"(values {key}); merge requires every parameter set to be unique",
                where,
            )
        by_key[key] = params
    return by_key


def merge(gen: MergeGenerator, inputs: Inputs, where: str) -> list[Params]:
    """The first generator's sets, each overridden by the later generators' sets with the same merge key
    values (later generators win); a later set that matches no base set is dropped."""
    [first, *others] = [
        generate(g, inputs, f"{where}.merge.generators[{i}]") for i, g in enumerate(gen.generators)
    ]
    base = _deduplicated(first, gen.merge_keys, inputs, where)
    for sets in others:
        for key, params in _deduplicated(sets, gen.merge_keys, inputs, where).items():
            if key in base:
                base[key] = _deep_merge(base[key], params) if inputs.go_template else {**base[key], **params}
    return list(base.values())


def flat(sets: Sequence[Params]) -> list[Mapping[str, str]]:
    """Parameter sets as flat strings (for status messages and errors)."""
    return [flatten_params(p) for p in sets]


__all__ = [
    "ClusterSource",
    "GitTree",
    "Inputs",
    "Params",
    "cluster_params",
    "clusters",
    "combine",
    "flat",
    "generate",
    "generate_all",
    "git_directories",
    "git_files",
    "inputs_for",
    "matrix",
    "merge",
    "selects",
]
