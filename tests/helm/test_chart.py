"""Structural tests of the Helm chart, the Dockerfile and their agreement with the app.

No helm binary, Kubernetes or Docker engine exists on the build machines, so these tests
(1) read the templates as text to check every `.Values` path they use, and (2) render the
chart with a small interpreter for the subset of Go templates + Sprig functions the chart
uses, then YAML-load the manifests and check what the cluster would receive. Helm's own
`helm lint` / `helm template` run in `make chart-check` wherever helm is installed.

The interpreter mimics Helm where it matters for correctness: values-file numbers are
float64 (so large integers print in scientific notation unless piped through `int`),
`lookup` returns nothing (as in `helm template`), and unknown functions are errors.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import stat
import string
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "todo"
TEMPLATES = CHART / "templates"
VALUES_FILES = sorted(CHART.glob("values*.yaml"))
DOCKERFILE = ROOT / "Dockerfile"

WEB_APP_ID = "todo-web"
WORKER_APP_ID = "todo-worker"
PUBSUB_NAME = "pubsub"
STATESTORE_NAME = "statestore"
WORKER_PORT = 8001
WEB_PORT = 8000
DATABASE_URL = "postgres://todo:todo@postgres:5432/todo"


# ----------------------------------------------------------------------------- helpers


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def values(name: str = "values.yaml") -> dict[str, Any]:
    return load_yaml(CHART / name)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def template_files() -> list[Path]:
    return sorted(p for p in TEMPLATES.iterdir() if p.suffix in {".yaml", ".tpl", ".txt"})


def lookup_path(tree: Any, path: list[str]) -> tuple[bool, Any]:
    node = tree
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def leaf_paths(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            yield from leaf_paths(value, (*prefix, key))
        else:
            yield (*prefix, key)


# ------------------------------------------------------- Go template / Sprig interpreter


class TemplateError(Exception):
    pass


class RenderFailed(TemplateError):
    """Raised by the template `fail` function."""


ACTION_RE = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)


def tokenize(source: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(source):
        match = TOKEN_RE.match(source, pos)
        if match is None:
            raise TemplateError(f"cannot tokenize {source[pos:]!r} in {{{{ {source} }}}}")
        pos = match.end()
        if match.lastgroup != "ws":
            tokens.append((match.lastgroup or "", match.group()))
    return tokens


class Node:
    pass


class Text(Node):
    def __init__(self, text: str) -> None:
        self.text = text


class Action(Node):
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)


class Block(Node):
    """if / with / range: branches of (tokens-or-None, body)."""

    def __init__(self, keyword: str, tokens: list[tuple[str, str]]) -> None:
        self.keyword = keyword
        self.branches: list[tuple[list[tuple[str, str]] | None, list[Node]]] = [(tokens, [])]


def lex(text: str) -> list[tuple[str, str]]:
    """Split into ("text", s) and ("action", s) items, applying {{- and -}} trimming."""
    items: list[tuple[str, str]] = []
    pos = 0
    trim_next = False
    for match in ACTION_RE.finditer(text):
        chunk = text[pos : match.start()]
        if trim_next:
            chunk = chunk.lstrip()
        if match.group(1):
            chunk = chunk.rstrip()
        items.append(("text", chunk))
        items.append(("action", match.group(2).strip()))
        trim_next = bool(match.group(3))
        pos = match.end()
    chunk = text[pos:]
    items.append(("text", chunk.lstrip() if trim_next else chunk))
    return items


def parse(text: str, defines: dict[str, list[Node]]) -> list[Node]:
    root: list[Node] = []
    stack: list[tuple[str, Any, list[Node]]] = [("root", None, root)]
    for kind, value in lex(text):
        body = stack[-1][2]
        if kind == "text":
            if value:
                body.append(Text(value))
            continue
        if value.startswith("/*"):
            continue
        tokens = tokenize(value)
        head = tokens[0][1] if tokens and tokens[0][0] == "ident" else None
        if head in {"if", "with", "range"}:
            block = Block(head, tokens[1:])
            body.append(block)
            stack.append(("block", block, block.branches[0][1]))
        elif head == "define":
            name = json.loads(tokens[1][1])
            defines[name] = []
            stack.append(("define", name, defines[name]))
        elif head == "else":
            kind_, block, _ = stack.pop()
            if kind_ != "block":
                raise TemplateError("else outside if/with/range")
            rest = tokens[1:]
            if rest and rest[0][1] in {"if", "with"}:
                rest = rest[1:]
            block.branches.append((rest or None, []))
            stack.append(("block", block, block.branches[-1][1]))
        elif head == "end":
            if len(stack) == 1:
                raise TemplateError("unexpected end")
            stack.pop()
        elif head in {"template", "block"}:
            raise TemplateError(f"{head} is not supported by the test renderer")
        else:
            body.append(Action(value))
    if len(stack) != 1:
        raise TemplateError(f"unclosed {stack[-1][0]}")
    return root


def truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, (str, list, dict, tuple)):
        return len(value) > 0
    return True


def go_str(value: Any) -> str:
    """fmt.Sprint of a value as Helm would see it (numbers from values are float64)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_str(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def go_float(value: float) -> str:
    """strconv.FormatFloat(v, 'g', -1, 64), which fmt's %v uses: the shortest digits, in
    exponent form when the decimal exponent is < -4 or >= 6 (hence 1.234567e+06)."""
    if value == 0:
        return "0"
    if math.isinf(value) or math.isnan(value):
        return str(value)
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)
    digits = list(digit_tuple)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    text = "".join(map(str, digits))
    point = len(text) + exponent
    sign = "-" if value < 0 else ""
    x = point - 1
    if x < -4 or x >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{sign}{mantissa}e{'+' if x >= 0 else '-'}{abs(x):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{sign}{text}{'0' * (point - len(text))}"
    return f"{sign}{text[:point]}.{text[point:]}"


def to_yaml(value: Any) -> str:
    def normalise(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: normalise(x) for k, x in v.items()}
        if isinstance(v, list):
            return [normalise(x) for x in v]
        return v

    if value is None:
        return "null"
    dumped = yaml.safe_dump(normalise(value), default_flow_style=False, sort_keys=True)
    return dumped.removesuffix("\n").removesuffix("\n...")


def to_int(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return 0
    return int(value)


def sprig_default(default: Any, *given: Any) -> Any:
    return given[0] if given and truthy(given[0]) else default


def go_printf(fmt: str, *args: Any) -> str:
    out, index = [], 0

    def repl(match: re.Match[str]) -> str:
        nonlocal index
        verb = match.group(1)
        if verb == "%":
            return "%"
        arg = args[index]
        index += 1
        if verb == "d":
            return str(int(arg))
        if verb == "q":
            return json.dumps(go_str(arg))
        return go_str(arg)

    out.append(re.sub(r"%([sdvq%])", repl, fmt))
    return "".join(out)


def go_print(*args: Any) -> str:
    parts = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            parts.append(" ")
        parts.append(go_str(arg))
    return "".join(parts)


def go_eq(a: Any, *others: Any) -> bool:
    def norm(v: Any) -> Any:
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v

    return any(norm(a) == norm(o) for o in others)


def go_index(collection: Any, *keys: Any) -> Any:
    for key in keys:
        if collection is None:
            raise TemplateError("index of untyped nil")
        collection = collection.get(key) if isinstance(collection, dict) else collection[int(key)]
    return collection


def fail(message: str) -> None:
    raise RenderFailed(message)


def uniq(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def rand_alnum(n: Any) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(int(n)))


class Renderer:
    """Renders the chart's templates the way `helm template` would (for this chart)."""

    def __init__(self, chart_dir: Path, values: dict[str, Any], namespace: str = "todo") -> None:
        chart = load_yaml(chart_dir / "Chart.yaml")
        self.defines: dict[str, list[Node]] = {}
        self.files: dict[str, list[Node]] = {}
        for path in sorted((chart_dir / "templates").iterdir()):
            tree = parse(path.read_text(), self.defines)
            self.files[path.name] = tree
            self.defines[f"{chart['name']}/templates/{path.name}"] = tree
        self.root = {
            "Values": floatify(values),
            "Release": {
                "Name": "todo",
                "Namespace": namespace,
                "Service": "Helm",
                "IsInstall": True,
                "IsUpgrade": False,
                "Revision": 1,
            },
            "Chart": {
                "Name": chart["name"],
                "Version": chart["version"],
                "AppVersion": chart.get("appVersion", ""),
            },
            "Template": {"BasePath": f"{chart['name']}/templates", "Name": ""},
            "Capabilities": {"KubeVersion": {"Version": "v1.30.0"}},
        }
        self.functions = {
            "include": self.include,
            "printf": go_printf,
            "print": go_print,
            "trunc": lambda n, s: s[: int(n)] if int(n) >= 0 else s[int(n) :],
            "trimSuffix": lambda suffix, s: s.removesuffix(suffix),
            "replace": lambda old, new, s: s.replace(old, new),
            "default": sprig_default,
            "quote": lambda *a: " ".join(json.dumps(go_str(v)) for v in a if v is not None),
            "contains": lambda sub, s: sub in s,
            "list": lambda *a: list(a),
            "append": lambda lst, v: [*(lst or []), v],
            "uniq": uniq,
            "join": lambda sep, lst: sep.join(go_str(v) for v in lst),
            "ternary": lambda a, b, cond: a if truthy(cond) else b,
            "gt": lambda a, b: a > b,
            "len": lambda v: len(v) if v is not None else 0,
            "toString": go_str,
            "int": to_int,
            "eq": go_eq,
            "ne": lambda a, b: not go_eq(a, b),
            "not": lambda v: not truthy(v),
            "and": self.go_and,
            "or": self.go_or,
            "dict": lambda *a: {a[i]: a[i + 1] for i in range(0, len(a), 2)},
            "index": go_index,
            "b64enc": lambda s: base64.b64encode(go_str(s).encode()).decode(),
            "b64dec": lambda s: base64.b64decode(go_str(s)).decode() if s else "",
            "lookup": lambda *a: {},
            "randAlphaNum": rand_alnum,
            "fail": fail,
            "toYaml": to_yaml,
            "nindent": lambda n, s: "\n" + self.indent(n, s),
            "indent": self.indent,
            "sha256sum": lambda s: hashlib.sha256(go_str(s).encode()).hexdigest(),
        }

    @staticmethod
    def indent(n: Any, s: Any) -> str:
        pad = " " * int(n)
        return pad + go_str(s).replace("\n", "\n" + pad)

    @staticmethod
    def go_and(*args: Any) -> Any:
        for arg in args:
            if not truthy(arg):
                return arg
        return args[-1]

    @staticmethod
    def go_or(*args: Any) -> Any:
        for arg in args:
            if truthy(arg):
                return arg
        return args[-1]

    def include(self, name: str, data: Any) -> str:
        if name not in self.defines:
            raise TemplateError(f"no template {name!r}")
        return self.execute(self.defines[name], data, [{"$": data}])

    def render_file(self, name: str) -> str:
        return self.execute(self.files[name], self.root, [{"$": self.root}])

    def render_all(self) -> dict[str, str]:
        return {
            name: self.render_file(name)
            for name in self.files
            if not name.startswith("_") and name.endswith(".yaml")
        }

    # -- execution

    def execute(self, nodes: list[Node], dot: Any, scopes: list[dict[str, Any]]) -> str:
        out: list[str] = []
        scopes = [*scopes, {}]
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Action):
                value = self.eval_statement(node.tokens, dot, scopes)
                if value is not _NO_OUTPUT:
                    out.append(go_str(value))
            elif isinstance(node, Block):
                out.append(self.execute_block(node, dot, scopes))
        return "".join(out)

    def execute_block(self, block: Block, dot: Any, scopes: list[dict[str, Any]]) -> str:
        if block.keyword == "range":
            tokens, body = block.branches[0]
            assert tokens is not None
            names: list[str] = []
            if any(kind == "declare" for kind, _ in tokens):
                split = next(i for i, (kind, _) in enumerate(tokens) if kind == "declare")
                names = [text for kind, text in tokens[:split] if kind == "var"]
                tokens = tokens[split + 1 :]
            collection = self.eval_pipeline(tokens, dot, scopes)
            if isinstance(collection, dict):
                items = sorted(collection.items())
            elif isinstance(collection, (list, tuple)):
                items = list(enumerate(collection))
            elif collection is None:
                items = []
            else:
                raise TemplateError(f"range over {collection!r}")
            if not items:
                return (
                    self.execute(block.branches[1][1], dot, scopes)
                    if len(block.branches) > 1
                    else ""
                )
            out = []
            for key, item in items:
                scope: dict[str, Any] = {}
                if len(names) == 1:
                    scope[names[0]] = item
                elif len(names) == 2:
                    scope[names[0]], scope[names[1]] = key, item
                out.append(self.execute(body, item, [*scopes, scope]))
            return "".join(out)
        for tokens, body in block.branches:
            if tokens is None:
                return self.execute(body, dot, scopes)
            value = self.eval_pipeline(tokens, dot, scopes)
            if truthy(value):
                return self.execute(body, value if block.keyword == "with" else dot, scopes)
        return ""

    def eval_statement(
        self, tokens: list[tuple[str, str]], dot: Any, scopes: list[dict[str, Any]]
    ) -> Any:
        if len(tokens) > 2 and tokens[0][0] == "var" and tokens[1][0] in {"declare", "assign"}:
            value = self.eval_pipeline(tokens[2:], dot, scopes)
            name = tokens[0][1]
            if tokens[1][0] == "declare":
                scopes[-1][name] = value
            else:
                for scope in reversed(scopes):
                    if name in scope:
                        scope[name] = value
                        break
                else:
                    raise TemplateError(f"assignment to undeclared {name}")
            return _NO_OUTPUT
        return self.eval_pipeline(tokens, dot, scopes)

    def eval_pipeline(
        self, tokens: list[tuple[str, str]], dot: Any, scopes: list[dict[str, Any]]
    ) -> Any:
        commands: list[list[tuple[str, str]]] = [[]]
        depth = 0
        for token in tokens:
            if token[0] == "lparen":
                depth += 1
            elif token[0] == "rparen":
                depth -= 1
            if token[0] == "pipe" and depth == 0:
                commands.append([])
            else:
                commands[-1].append(token)
        value: Any = _NO_VALUE
        for command in commands:
            value = self.eval_command(command, dot, scopes, value)
        return value

    def eval_command(
        self, tokens: list[tuple[str, str]], dot: Any, scopes: list[dict[str, Any]], piped: Any
    ) -> Any:
        operands = self.split_operands(tokens)
        first = operands[0]
        if (
            len(first) == 1
            and first[0][0] == "ident"
            and first[0][1] not in {"true", "false", "nil"}
        ):
            name = first[0][1]
            if name not in self.functions:
                raise TemplateError(f"function {name!r} is not supported by the test renderer")
            args = [self.eval_operand(op, dot, scopes) for op in operands[1:]]
            if piped is not _NO_VALUE:
                args.append(piped)
            return self.functions[name](*args)
        if len(operands) != 1 or piped is not _NO_VALUE:
            raise TemplateError(f"cannot call non-function {tokens!r}")
        return self.eval_operand(first, dot, scopes)

    @staticmethod
    def split_operands(tokens: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
        operands: list[list[tuple[str, str]]] = []
        depth = 0
        for token in tokens:
            if depth == 0:
                operands.append([token])
            else:
                operands[-1].append(token)
            if token[0] == "lparen":
                depth += 1
            elif token[0] == "rparen":
                depth -= 1
        return operands

    def eval_operand(
        self, operand: list[tuple[str, str]], dot: Any, scopes: list[dict[str, Any]]
    ) -> Any:
        kind, text = operand[0]
        if kind == "lparen":
            return self.eval_pipeline(operand[1:-1], dot, scopes)
        if kind == "string":
            return json.loads(text)
        if kind == "raw":
            return text[1:-1]
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "ident":
            return {"true": True, "false": False, "nil": None}[text]
        if kind == "field":
            return self.walk(dot, text.split(".")[1:] if text != "." else [])
        if kind == "var":
            name, *fields = text.split(".")
            for scope in reversed(scopes):
                if name in scope:
                    return self.walk(scope[name], fields)
            raise TemplateError(f"undefined variable {name}")
        raise TemplateError(f"unexpected operand {operand!r}")

    @staticmethod
    def walk(value: Any, fields: list[str]) -> Any:
        for field in fields:
            if not field:
                continue
            if value is None:
                raise TemplateError(f"nil pointer evaluating .{field}")
            if not isinstance(value, dict):
                raise TemplateError(f"can't evaluate field {field} in {type(value).__name__}")
            value = value.get(field)
        return value


_NO_VALUE = object()
_NO_OUTPUT = object()


def floatify(value: Any) -> Any:
    """Helm decodes values files through JSON: every number becomes a float64."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: floatify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [floatify(v) for v in value]
    return value


# ----------------------------------------------------------------------- render fixtures

# values.yaml alone names no database, Kafka or Redis: the chart refuses to render
# until they are given (as `helm install --set ...` would).
EXTERNAL_SERVICES: dict[str, Any] = {
    "secrets": {"databaseUrl": DATABASE_URL, "redisUrl": "redis://redis:6379/0"},
    "dapr": {"pubsub": {"brokers": "kafka:9092"}, "statestore": {"redis": {"host": "redis:6379"}}},
}

SCENARIOS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "default": (None, EXTERNAL_SERVICES),
    "minikube": ("values-minikube.yaml", {}),
    "cloud": ("values-cloud.yaml", {}),
    "all-on": (
        None,
        {
            "secrets": {"databaseUrl": DATABASE_URL},
            "kafka": {"strimzi": {"enabled": True}},
            "redis": {"enabled": True},
            "zipkin": {"enabled": True},
            "metrics": {"podMonitor": {"enabled": True}},
            "web": {"autoscaling": {"enabled": True}},
            "worker": {"pdb": {"enabled": True}},
            "dapr": {"secretStore": {"create": True, "name": "todo-secretstore"}},
            "ingress": {
                "certManager": {"enabled": True},
                "tls": [{"secretName": "todo-tls", "hosts": ["todo.local"]}],
            },
        },
    ),
}


def scenario_values(name: str) -> dict[str, Any]:
    overlay, extra = SCENARIOS[name]
    merged = values()
    if overlay:
        merged = deep_merge(merged, values(overlay))
    return deep_merge(merged, extra)


class Rendered:
    def __init__(self, name: str) -> None:
        self.name = name
        self.values = scenario_values(name)
        renderer = Renderer(CHART, self.values)
        self.files = renderer.render_all()
        self.notes = renderer.render_file("NOTES.txt")
        self.docs: list[dict[str, Any]] = []
        self.docs_by_file: dict[str, list[dict[str, Any]]] = {}
        for file, text in self.files.items():
            try:
                loaded = [d for d in yaml.safe_load_all(text) if d]
            except yaml.YAMLError as exc:  # pragma: no cover - message for the failure
                raise AssertionError(f"{name}: {file} is not valid YAML:\n{text}") from exc
            self.docs_by_file[file] = loaded
            self.docs.extend(loaded)

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d.get("kind") == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.all(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.name}: expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    def deployment(self, component: str) -> dict[str, Any]:
        return self.one("Deployment", f"todo-{component}")

    def container(self, component: str) -> dict[str, Any]:
        return self.deployment(component)["spec"]["template"]["spec"]["containers"][0]

    def component(self, name: str) -> dict[str, Any]:
        return self.one("Component", name)

    def secret_names(self) -> set[str]:
        names = {d["metadata"]["name"] for d in self.all("Secret")}
        if self.values["secrets"]["existingSecret"]:
            names.add(self.values["secrets"]["existingSecret"])
        for token in ("apiToken", "appToken"):
            if self.values["dapr"][token]["existingSecret"]:
                names.add(self.values["dapr"][token]["existingSecret"])
        return names

    def configmap_data(self) -> dict[str, str]:
        return self.one("ConfigMap", "todo")["data"]


_RENDER_CACHE: dict[str, Rendered] = {}


@pytest.fixture(params=sorted(SCENARIOS))
def rendered(request: pytest.FixtureRequest) -> Rendered:
    if request.param not in _RENDER_CACHE:
        _RENDER_CACHE[request.param] = Rendered(request.param)
    return _RENDER_CACHE[request.param]


def render(name: str) -> Rendered:
    if name not in _RENDER_CACHE:
        _RENDER_CACHE[name] = Rendered(name)
    return _RENDER_CACHE[name]


# ------------------------------------------------------------------ renderer self-tests


class TestRenderer:
    """The interpreter follows Go template semantics where the chart relies on them."""

    def render(self, text: str, vals: dict[str, Any] | None = None) -> str:
        renderer = Renderer(CHART, vals or {})
        return renderer.execute(
            parse(text, renderer.defines), renderer.root, [{"$": renderer.root}]
        )

    def test_trim_markers_remove_surrounding_whitespace(self) -> None:
        assert self.render("a  \n  {{- 1 -}}  \n  b") == "a1b"

    def test_values_numbers_print_like_helm_float64(self) -> None:
        vals = {"big": 31536000, "small": 604800}
        assert self.render("{{ .Values.big }}", vals) == "3.1536e+07"
        assert self.render("{{ .Values.big | int | quote }}", vals) == '"31536000"'
        assert self.render("{{ .Values.small }}", vals) == "604800"

    def test_with_rebinds_dot_and_range_iterates_sorted_maps(self) -> None:
        vals = {"m": {"b": 2, "a": 1}}
        assert self.render("{{ with .Values.m }}{{ .a }}{{ end }}", vals) == "1"
        text = "{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}"
        assert self.render(text, vals) == "a=1;b=2;"

    def test_fail_raises(self) -> None:
        with pytest.raises(RenderFailed, match="boom"):
            self.render('{{ fail "boom" }}')

    def test_unknown_function_is_an_error(self) -> None:
        with pytest.raises(TemplateError, match="not supported"):
            self.render("{{ tpl . }}")


# ----------------------------------------------------------------- chart and values files


def test_chart_yaml_is_a_helm3_application_chart() -> None:
    chart = load_yaml(CHART / "Chart.yaml")
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "todo"
    assert chart["type"] == "application"
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"])
    assert chart["appVersion"]


@pytest.mark.parametrize("path", VALUES_FILES, ids=lambda p: p.name)
def test_values_file_is_a_yaml_mapping(path: Path) -> None:
    assert isinstance(load_yaml(path), dict)


def test_values_files_for_minikube_and_cloud_exist() -> None:
    names = {p.name for p in VALUES_FILES}
    assert {"values.yaml", "values-minikube.yaml", "values-cloud.yaml"} <= names


def test_every_value_in_values_yaml_is_documented() -> None:
    """Each key has a comment above it (or inline). A `# --` comment documents the
    whole subtree below its key (helm-docs convention); plain `#` section comments
    require every child to be documented."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    documented_subtree_indent: int | None = None
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z0-9_.-]+):", line)
        if not match or line.lstrip().startswith("#"):
            continue
        indent = len(match.group(1))
        if documented_subtree_indent is not None:
            if indent > documented_subtree_indent:
                continue
            documented_subtree_indent = None
        previous = next(
            (lines[i].strip() for i in range(number - 1, -1, -1) if lines[i].strip()), ""
        )
        if not (previous.startswith("#") or " # " in line):
            undocumented.append(f"line {number + 1}: {line.strip()}")
            continue
        comment_start = number - 1
        while comment_start > 0 and lines[comment_start - 1].strip().startswith("#"):
            comment_start -= 1
        if lines[comment_start].strip().startswith("# --"):
            documented_subtree_indent = indent
    assert not undocumented, "values without a comment:\n" + "\n".join(undocumented)


FREE_FORM_KEYS = {
    "annotations",
    "podAnnotations",
    "podLabels",
    "labels",
    "nodeSelector",
    "affinity",
    "tolerations",
    "topologySpreadConstraints",
    "resources",
    "extraEnv",
    "extraMetadata",
    "hosts",
    "tls",
    "names",
    "extraAllowedHosts",
    "extraCsrfTrustedOrigins",
    "imagePullSecrets",
}


def unknown_keys(overlay: dict[str, Any], defaults: dict[str, Any], prefix: str = "") -> list[str]:
    problems = []
    for key, value in overlay.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            problems.append(path)
        elif isinstance(value, dict) and key not in FREE_FORM_KEYS:
            if not isinstance(defaults[key], dict):
                problems.append(f"{path} (not a mapping in values.yaml)")
            else:
                problems.extend(unknown_keys(value, defaults[key], f"{path}."))
    return problems


@pytest.mark.parametrize("name", ["values-minikube.yaml", "values-cloud.yaml"])
def test_overlay_only_sets_keys_that_values_yaml_declares(name: str) -> None:
    assert unknown_keys(values(name), values()) == []


# ---------------------------------------------------------- .Values paths used by templates

VALUES_REF_RE = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def values_paths_in(text: str) -> set[tuple[str, ...]]:
    """Every `.Values.a.b` (also `$.Values`, `.root.Values`) plus the relative fields
    used inside `{{ with .Values.x }}` blocks, resolved against that path."""
    paths: set[tuple[str, ...]] = set()
    scope: list[tuple[str, ...] | None] = []
    for kind, action in lex(text):
        if kind != "action" or action.startswith("/*"):
            continue
        for match in VALUES_REF_RE.finditer(action):
            paths.add(tuple(match.group(1).split(".")[1:]))
        head = action.split(maxsplit=1)[0] if action else ""
        if head == "with":
            target = re.fullmatch(r"with\s+\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", action)
            scope.append(tuple(target.group(1).split(".")[1:]) if target else None)
            continue
        if head in {"if", "range", "define"}:
            scope.append(None)
            continue
        if head == "end":
            scope.pop()
            continue
        current = scope[-1] if scope else None
        if current is not None and head != "else":
            for match in re.finditer(r"(?<![\w$.)])\.([A-Za-z_][A-Za-z0-9_]*)", action):
                paths.add((*current, match.group(1)))
    return paths


def test_values_path_extraction_handles_with_blocks_and_root_references() -> None:
    text = (
        "{{- with .Values.a.b }}{{ .c | quote }}{{ toYaml . }}{{- end }}"
        '{{ $.Values.d.e }}{{ include "x" (dict "root" $) }}{{ .root.Values.f }}'
        "{{- range .Values.g }}{{ .h }}{{ end }}"
    )
    assert values_paths_in(text) == {("a", "b"), ("a", "b", "c"), ("d", "e"), ("f",), ("g",)}


@pytest.mark.parametrize("path", template_files(), ids=lambda p: p.name)
def test_every_values_path_a_template_uses_exists_in_values_yaml(path: Path) -> None:
    defaults = values()
    missing = [
        ".".join(p)
        for p in sorted(values_paths_in(path.read_text()))
        if not lookup_path(defaults, list(p))[0]
    ]
    assert not missing, f"{path.name} uses values missing from values.yaml: {missing}"


def test_every_value_in_values_yaml_is_used_by_a_template() -> None:
    used: set[tuple[str, ...]] = set()
    for path in template_files():
        used |= values_paths_in(path.read_text())
    unused = [
        ".".join(leaf)
        for leaf in leaf_paths(values())
        if not any(leaf[: len(u)] == u or u[: len(leaf)] == leaf for u in used)
    ]
    assert not unused, f"values.yaml declares values no template reads: {unused}"


# ------------------------------------------------------------------------- rendered chart


def test_chart_renders_to_valid_kubernetes_objects(rendered: Rendered) -> None:
    seen = set()
    for doc in rendered.docs:
        assert {"apiVersion", "kind", "metadata"} <= doc.keys(), doc
        name = doc["metadata"]["name"]
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name), name
        assert len(name) <= 63, name
        key = (doc["kind"], name)
        assert key not in seen, f"duplicate {key}"
        seen.add(key)
        if doc["kind"] not in {"Component", "Configuration", "KafkaTopic"}:
            assert doc["metadata"]["labels"]["app.kubernetes.io/instance"] == "todo"


def test_rendered_output_has_no_scientific_notation_or_missing_values(rendered: Rendered) -> None:
    for file, text in rendered.files.items():
        assert not re.search(r"\d\.?\d*e\+\d\d", text), f"{file}: float64 formatting leaked"
        assert "<no value>" not in text, file


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("secrets.databaseUrl", "secrets.databaseUrl is required"),
        ("dapr.pubsub.brokers", "dapr.pubsub.brokers is required"),
        ("dapr.statestore.redis.host", "dapr.statestore.redis.host is required"),
    ],
)
def test_chart_refuses_to_render_without_its_external_services(missing: str, message: str) -> None:
    vals = deep_merge(values(), EXTERNAL_SERVICES)
    *parents, leaf = missing.split(".")
    node = vals
    for key in parents:
        node = node[key]
    node[leaf] = ""
    with pytest.raises(RenderFailed, match=message):
        Renderer(CHART, vals).render_all()


def test_notes_render_with_the_release_namespace(rendered: Rendered) -> None:
    assert "namespace todo" in rendered.notes


@pytest.mark.parametrize("component", ["web", "worker"])
def test_pods_run_hardened(rendered: Rendered, component: str) -> None:
    pod = rendered.deployment(component)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    container = pod["containers"][0]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    assert pod["serviceAccountName"] == "todo"


@pytest.mark.parametrize(("component", "port"), [("web", WEB_PORT), ("worker", WORKER_PORT)])
def test_probes_hit_the_health_routes_on_a_declared_port(
    rendered: Rendered, component: str, port: int
) -> None:
    container = rendered.container(component)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == port


def test_web_runs_daphne_and_worker_runs_the_worker_command(rendered: Rendered) -> None:
    web = rendered.container("web")["args"]
    assert web[0] == "daphne"
    assert web[-1] == "todo_project.asgi:application"
    assert web[web.index("-p") + 1] == str(WEB_PORT)
    assert rendered.container("worker")["args"] == ["python", "manage.py", "worker"]
    for component in ("web", "worker"):
        # `args` keeps the image's tini ENTRYPOINT; `command` would replace it.
        assert "command" not in rendered.container(component)


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("component", ["web", "worker"])
def test_references_to_secrets_and_configmaps_resolve(rendered: Rendered, component: str) -> None:
    container = rendered.container(component)
    secrets_ = rendered.secret_names()
    configmaps = {d["metadata"]["name"] for d in rendered.all("ConfigMap")}
    for source in container["envFrom"]:
        assert source["configMapRef"]["name"] in configmaps
    for env in container["env"]:
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["name"] in secrets_, env


def test_chart_created_secret_holds_the_keys_the_pods_read() -> None:
    rendered = render("default")
    secret = rendered.one("Secret", "todo-secrets")
    assert {"SECRET_KEY", "DATABASE_URL", "JWT_SIGNING_KEY"} <= secret["data"].keys()
    assert base64.b64decode(secret["data"]["DATABASE_URL"]).decode() == DATABASE_URL
    for component in ("web", "worker"):
        for env in rendered.container(component)["env"]:
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] == "todo-secrets" and not ref.get("optional"):
                assert ref["key"] in secret["data"], ref


@pytest.mark.parametrize("scenario", ["minikube", "cloud"])
def test_overlays_use_an_existing_secret_and_create_none(scenario: str) -> None:
    rendered = render(scenario)
    assert rendered.values["secrets"]["existingSecret"] == "todo-secrets"
    created = {d["metadata"]["name"] for d in rendered.all("Secret")}
    assert "todo-secrets" not in created
    assert created == {"todo-dapr-api-token", "todo-dapr-app-token"}


def test_configmap_settings_are_read_by_the_app(rendered: Rendered) -> None:
    data = rendered.configmap_data()
    assert data["EVENT_BACKEND"] == "dapr"
    assert data["RUN_EMBEDDED_WORKER"] == "false"
    assert data["WORKER_HOST"] == "0.0.0.0"
    assert data["WORKER_PORT"] == str(WORKER_PORT)
    assert data["DAPR_PUBSUB_NAME"] == PUBSUB_NAME
    assert data["DAPR_STATESTORE_NAME"] == STATESTORE_NAME
    assert data["DEBUG"] == "false"
    assert data["SECURE_HSTS_SECONDS"].isdigit()
    settings = ROOT / "todo_project" / "settings.py"
    if settings.exists():
        text = settings.read_text()
        env = {**data, **dict.fromkeys(env_of(rendered.container("worker")), "")}
        not_settings = {"PYTHONDONTWRITEBYTECODE", "POD_IP", "DAPR_API_TOKEN"}
        unread = [k for k in env if k not in not_settings and f'"{k}"' not in text]
        assert not unread, f"the chart sets variables settings.py never reads: {unread}"


def test_allowed_hosts_cover_ingress_service_and_pod_ip(rendered: Rendered) -> None:
    hosts = env_of(rendered.container("web"))["ALLOWED_HOSTS"]["value"].split(",")
    assert "$(POD_IP)" in hosts
    assert "todo" in hosts
    for rule in rendered.values["ingress"]["hosts"]:
        assert rule["host"] in hosts
    # $(POD_IP) only expands when POD_IP is declared before ALLOWED_HOSTS.
    names = [e["name"] for e in rendered.container("web")["env"]]
    assert names.index("POD_IP") < names.index("ALLOWED_HOSTS")


def test_csrf_origins_follow_the_ingress_scheme(rendered: Rendered) -> None:
    origins = rendered.configmap_data()["CSRF_TRUSTED_ORIGINS"].split(",")
    scheme = "https" if rendered.values["ingress"]["tls"] else "http"
    for rule in rendered.values["ingress"]["hosts"]:
        assert f"{scheme}://{rule['host']}" in origins


# --------------------------------------------------------------------------------- Dapr


def test_dapr_annotations_identify_the_apps(rendered: Rendered) -> None:
    config_name = rendered.one("Configuration")["metadata"]["name"]
    web = rendered.deployment("web")["spec"]["template"]["metadata"]["annotations"]
    worker = rendered.deployment("worker")["spec"]["template"]["metadata"]["annotations"]
    assert web["dapr.io/enabled"] == worker["dapr.io/enabled"] == "true"
    assert web["dapr.io/app-id"] == WEB_APP_ID
    assert worker["dapr.io/app-id"] == WORKER_APP_ID
    assert "dapr.io/app-port" not in web, "web publishes only: no app channel"
    assert worker["dapr.io/app-port"] == str(WORKER_PORT)
    assert worker["dapr.io/app-protocol"] == "http"
    for pod_annotations in (web, worker):
        assert pod_annotations["dapr.io/config"] == config_name
        assert pod_annotations["dapr.io/enable-metrics"] == "true"
        assert pod_annotations["dapr.io/metrics-port"] == "9090"
        assert pod_annotations["dapr.io/log-as-json"] == "true"
        assert pod_annotations["dapr.io/api-token-secret"] in rendered.secret_names()
    assert worker["dapr.io/app-token-secret"] in rendered.secret_names()


def test_api_and_app_tokens_reach_the_app(rendered: Rendered) -> None:
    web_env, worker_env = env_of(rendered.container("web")), env_of(rendered.container("worker"))
    annotations = rendered.deployment("worker")["spec"]["template"]["metadata"]["annotations"]
    for env in (web_env, worker_env):
        ref = env["DAPR_API_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) == (annotations["dapr.io/api-token-secret"], "token")
    ref = worker_env["APP_API_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == (annotations["dapr.io/app-token-secret"], "token")
    assert "APP_API_TOKEN" not in web_env


def test_components_have_the_names_types_and_scopes_the_app_expects(rendered: Rendered) -> None:
    pubsub = rendered.component(PUBSUB_NAME)
    assert pubsub["spec"]["type"] == "pubsub.kafka"
    assert pubsub["spec"]["version"] == "v1"
    assert sorted(pubsub["scopes"]) == sorted([WEB_APP_ID, WORKER_APP_ID])
    statestore = rendered.component(STATESTORE_NAME)
    assert statestore["scopes"] == [WORKER_APP_ID]
    kind = rendered.values["dapr"]["statestore"]["type"]
    assert statestore["spec"]["type"] == f"state.{kind}"
    assert statestore["spec"]["version"] == ("v2" if kind == "postgresql" else "v1")
    app_ids = {WEB_APP_ID, WORKER_APP_ID}
    for component in rendered.all("Component"):
        assert component["scopes"], component["metadata"]["name"]
        assert set(component["scopes"]) <= app_ids


def metadata_of(component: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in component["spec"]["metadata"]}


def test_pubsub_metadata_is_complete(rendered: Rendered) -> None:
    meta = metadata_of(rendered.component(PUBSUB_NAME))
    assert meta["brokers"]["value"]
    auth = meta["authType"]["value"]
    assert auth in {"none", "password", "mtls", "oidc"}
    if auth == "password":
        assert meta["saslMechanism"]["value"] in {"SHA-512", "SHA-256", "PLAIN"}
        for key in ("saslUsername", "saslPassword"):
            assert "secretKeyRef" in meta[key]


def test_component_secret_references_use_the_app_secret_and_a_secret_store(
    rendered: Rendered,
) -> None:
    store = rendered.values["dapr"]["secretStore"]["name"]
    for component in rendered.all("Component"):
        refs = [m["secretKeyRef"] for m in component["spec"]["metadata"] if "secretKeyRef" in m]
        if refs:
            assert component["auth"]["secretStore"] == store
        for ref in refs:
            assert ref["name"] in rendered.secret_names()


def test_configuration_traces_to_zipkin_and_enables_metrics(rendered: Rendered) -> None:
    spec = rendered.one("Configuration", "todo-config")["spec"]
    assert spec["metrics"]["enabled"] is True
    assert 0 <= float(spec["tracing"]["samplingRate"]) <= 1
    if (
        rendered.values["zipkin"]["enabled"]
        or rendered.values["dapr"]["configuration"]["tracing"]["zipkinEndpoint"]
    ):
        assert spec["tracing"]["zipkin"]["endpointAddress"].endswith(":9411/api/v2/spans")
    if rendered.values["zipkin"]["enabled"]:
        service = rendered.one("Service", "todo-zipkin")
        assert (
            f"//{service['metadata']['name']}.todo.svc"
            in spec["tracing"]["zipkin"]["endpointAddress"]
        )


def test_secret_store_is_the_builtin_one_unless_explicitly_created(rendered: Rendered) -> None:
    stores = [c for c in rendered.all("Component") if c["spec"]["type"].startswith("secretstores.")]
    if rendered.values["dapr"]["secretStore"]["create"]:
        assert [s["metadata"]["name"] for s in stores] == [
            rendered.values["dapr"]["secretStore"]["name"]
        ]
        assert stores[0]["metadata"]["name"] != "kubernetes"
    else:
        assert stores == []
        assert rendered.values["dapr"]["secretStore"]["name"] == "kubernetes"


def test_secret_store_rbac_is_read_only_on_secrets_in_the_namespace(rendered: Rendered) -> None:
    role = rendered.one("Role")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}
    ]
    assert rendered.all("ClusterRole") == []
    assert rendered.all("ClusterRoleBinding") == []
    binding = rendered.one("RoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"][0]["name"] == rendered.one("ServiceAccount")["metadata"]["name"]


def dapr_folder_components() -> list[dict[str, Any]]:
    folder = ROOT / "dapr"
    docs: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return [d for d in docs if d.get("kind") == "Component"]


def test_local_dapr_components_agree_with_the_chart() -> None:
    chart = {c["metadata"]["name"]: c for c in render("cloud").all("Component")}
    for component in dapr_folder_components():
        name = component["metadata"]["name"]
        kind = component["spec"]["type"]
        if kind.startswith("pubsub."):
            assert name == PUBSUB_NAME
            assert kind == chart[PUBSUB_NAME]["spec"]["type"]
        elif kind.startswith("state."):
            assert name == STATESTORE_NAME
        else:
            continue
        if "scopes" in component:
            assert sorted(component["scopes"]) == sorted(chart[name]["scopes"]), name


def test_app_settings_defaults_match_the_chart() -> None:
    settings = ROOT / "todo_project" / "settings.py"
    if not settings.exists():
        pytest.skip("todo_project/settings.py not written yet")
    text = settings.read_text()
    assert re.search(r'"DAPR_PUBSUB_NAME",\s*"pubsub"', text)
    assert re.search(r'"DAPR_STATESTORE_NAME",\s*"statestore"', text)
    assert re.search(r'"WORKER_PORT",\s*8001', text)
    assert values()["dapr"]["pubsub"]["name"] == PUBSUB_NAME
    assert values()["dapr"]["statestore"]["name"] == STATESTORE_NAME
    assert values()["worker"]["port"] == WORKER_PORT
    assert values()["web"]["port"] == WEB_PORT


# ------------------------------------------------------------------- web tier resources


def pod_labels(rendered: Rendered, component: str) -> dict[str, str]:
    return rendered.deployment(component)["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_service_ingress_and_pdb_select_the_web_pods(rendered: Rendered) -> None:
    labels = pod_labels(rendered, "web")
    service = rendered.one("Service", "todo")
    assert selects(service["spec"]["selector"], labels)
    assert not selects(service["spec"]["selector"], pod_labels(rendered, "worker"))
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    pdb = rendered.one("PodDisruptionBudget", "todo-web")
    assert selects(pdb["spec"]["selector"]["matchLabels"], labels)
    ingress = rendered.one("Ingress")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "todo"
            assert backend["port"]["name"] == "http"


def test_hpa_targets_the_web_deployment_when_enabled(rendered: Rendered) -> None:
    hpas = rendered.all("HorizontalPodAutoscaler")
    if not rendered.values["web"]["autoscaling"]["enabled"]:
        assert hpas == []
        return
    (hpa,) = hpas
    assert hpa["spec"]["scaleTargetRef"]["name"] == "todo-web"
    assert "replicas" not in rendered.deployment("web")["spec"]


def test_migration_job_is_a_pre_install_and_pre_upgrade_hook(rendered: Rendered) -> None:
    job = rendered.one("Job", "todo-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    pod = job["spec"]["template"]
    assert pod["metadata"]["annotations"]["dapr.io/enabled"] == "false"
    container = pod["spec"]["containers"][0]
    assert container["args"] == ["python", "manage.py", "migrate", "--noinput"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # Everything the Job reads exists before it: hooks with a lower weight, or an
    # existing Secret.
    weight = int(annotations["helm.sh/hook-weight"])
    hook_objects = {
        (d["kind"], d["metadata"]["name"]): int(d["metadata"]["annotations"]["helm.sh/hook-weight"])
        for d in rendered.docs
        if d is not job and "helm.sh/hook" in d["metadata"].get("annotations", {})
    }
    configmap = container["envFrom"][0]["configMapRef"]["name"]
    assert hook_objects[("ConfigMap", configmap)] < weight
    existing = rendered.values["secrets"]["existingSecret"]
    for env in container["env"]:
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["name"] == existing or hook_objects[("Secret", ref["name"])] < weight


# --------------------------------------------------------------------------- overlays


def test_minikube_runs_kafka_redis_and_zipkin_in_cluster() -> None:
    rendered = render("minikube")
    kafka = rendered.one("Kafka", "todo-kafka")
    pool = rendered.one("KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "todo-kafka"
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    listener = kafka["spec"]["kafka"]["listeners"][0]
    meta = metadata_of(rendered.component(PUBSUB_NAME))
    assert meta["brokers"]["value"] == f"todo-kafka-kafka-bootstrap:{listener['port']}"
    assert meta["authType"]["value"] == "none"
    topics = {t["metadata"]["name"] for t in rendered.all("KafkaTopic")}
    assert {"task-events", "reminders", "task-updates"} <= topics
    assert {f"{t}-dlq" for t in ("task-events", "reminders", "task-updates")} <= topics
    redis = rendered.one("Service", "todo-redis")
    assert env_of(rendered.container("web"))["REDIS_URL"]["value"] == "redis://todo-redis:6379/0"
    state = metadata_of(rendered.component(STATESTORE_NAME))
    assert state["redisHost"]["value"] == f"{redis['metadata']['name']}:6379"
    assert rendered.one("Ingress")["spec"]["ingressClassName"] == "nginx"
    assert "tls" not in rendered.one("Ingress")["spec"]
    assert rendered.configmap_data()["SECURE_COOKIES"] == "false"
    assert rendered.container("web")["imagePullPolicy"] == "Never"


def test_cloud_uses_external_kafka_over_sasl_tls_and_serves_tls() -> None:
    rendered = render("cloud")
    assert rendered.all("Kafka") == []
    assert {d["metadata"]["name"] for d in rendered.all("Deployment")} == {
        "todo-web",
        "todo-worker",
    }
    meta = metadata_of(rendered.component(PUBSUB_NAME))
    assert meta["authType"]["value"] == "password"
    assert "disableTls" not in meta
    assert "kafka-bootstrap" not in meta["brokers"]["value"]
    assert rendered.component(STATESTORE_NAME)["spec"]["type"] == "state.postgresql"
    ingress = rendered.one("Ingress")
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]
    assert "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]
    hpa = rendered.one("HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] >= 2
    assert rendered.values["web"]["replicaCount"] >= 2
    assert rendered.one("PodDisruptionBudget", "todo-web")["spec"]["minAvailable"] == 1
    assert "REDIS_URL" in {
        e["valueFrom"]["secretKeyRef"]["key"]
        for e in rendered.container("web")["env"]
        if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]
    }


def test_podmonitor_scrapes_the_app_and_sidecar_ports() -> None:
    rendered = render("cloud")
    monitor = rendered.one("PodMonitor")
    ports = {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]}
    container_ports = {p["name"] for c in ("web", "worker") for p in rendered.container(c)["ports"]}
    assert ports - {"dapr-metrics"} <= container_ports
    assert "dapr-metrics" in ports


# ----------------------------------------------------------- routes served by the app


def test_probe_and_metrics_routes_are_served_by_the_web_app() -> None:
    urls = ROOT / "todo_project" / "urls.py"
    assert urls.exists(), "todo_project/urls.py must serve /healthz, /readyz and /metrics"
    text = urls.read_text()
    for route in ("healthz", "readyz", "metrics"):
        assert re.search(rf"""["']\^?{route}/?\$?["']""", text), route


def test_probe_routes_are_served_by_the_worker_app_channel() -> None:
    worker = ROOT / "todo_project" / "eventbus" / "management" / "commands" / "worker.py"
    assert worker.exists()
    urls = ROOT / "todo_project" / "eventbus" / "app_channel_urls.py"
    assert urls.exists(), "the worker's app channel must have its own URLconf"
    text = urls.read_text()
    for route in ("healthz", "readyz", "metrics", "job/"):
        assert re.search(rf"""path\(\s*["']{route}""", text), f"the app channel lacks {route}"


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_stages() -> list[tuple[str, list[str]]]:
    stages: list[tuple[str, list[str]]] = []
    logical: list[str] = []
    buffer = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        buffer += stripped.removesuffix("\\") + " "
        if not stripped.endswith("\\"):
            logical.append(buffer.strip())
            buffer = ""
    for instruction in logical:
        if instruction.upper().startswith("FROM "):
            stages.append((instruction, []))
        elif stages:
            stages[-1][1].append(instruction)
    return stages


def test_dockerfile_is_multi_stage_with_a_slim_non_root_runtime() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 3
    assert any(f.startswith("FROM node:") for f, _ in stages)
    final_from, final = stages[-1]
    assert re.match(r"FROM python:\$\{PYTHON_VERSION\}-slim|FROM python:3\.11-slim", final_from)
    assert "ARG PYTHON_VERSION=3.11" in DOCKERFILE.read_text()
    assert "USER 10001:10001" in final or "USER 10001" in final
    assert any(i.split()[:3] == ["EXPOSE", "8000", "8001"] for i in final)
    cmd = next(i for i in final if i.startswith("CMD "))
    assert json.loads(cmd[4:]) == [
        "daphne",
        "-b",
        "0.0.0.0",
        "-p",
        "8000",
        "todo_project.asgi:application",
    ]
    final_text = " ".join(final)
    for tool in ("gcc", "build-essential", "g++", "make ", "npm"):
        assert tool not in final_text, f"{tool} in the runtime stage"


def test_dockerfile_commands_refer_to_files_in_the_project() -> None:
    text = DOCKERFILE.read_text()
    assert "npm ci --prefix static" in text
    assert "manage.py collectstatic --noinput" in text
    for path in (
        "manage.py",
        "pyproject.toml",
        "static/package.json",
        "static/package-lock.json",
        "todo_project/asgi.py",
        "todo_project/settings.py",
        "todo_project/eventbus/management/commands/worker.py",
    ):
        assert (ROOT / path).exists(), f"{path} is used by the Dockerfile/chart but missing"
    for _, instructions in dockerfile_stages():
        for instruction in instructions:
            if instruction.startswith("COPY ") and "--from=" not in instruction:
                *sources, _dest = instruction.split()[1:]
                for source in sources:
                    if source.startswith("--"):
                        continue
                    assert (ROOT / source).exists() or source == ".", source


def test_dockerignore_keeps_what_the_build_needs() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in ("manage.py", "todo_project", "static", "pyproject.toml", "templates"):
        assert needed not in ignored
    for heavy in (".git", ".venv", "static/node_modules", "staticfiles"):
        assert heavy in ignored


# ------------------------------------------------------------------------- chart-check


def test_chart_check_script_passes_without_helm(tmp_path: Path) -> None:
    script = ROOT / "helm" / "chart-check.sh"
    assert script.stat().st_mode & stat.S_IXUSR
    bash = shutil.which("bash")
    assert bash
    env = {**os.environ, "PATH": str(tmp_path)}
    result = subprocess.run(
        [bash, str(script)], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "helm is not on PATH" in result.stdout
