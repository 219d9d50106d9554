"""The grpcurl examples of README.md and docs/api.md run, top to bottom, against a real server.

Every fenced ```sh block that mentions grpcurl is executed in document order, each document on
its own fresh server and database (both backends), with 127.0.0.1:50051 replaced by the test
server's address. A block preceded by `<!-- expect: CODE -->` (a gRPC status name such as
INVALID_ARGUMENT) must contain a call that fails with exactly that code; any other failing call
fails the test. Blocks without grpcurl (`make run`, ...) are not run.

The blocks are interpreted by a tiny shell that knows what the docs use: words with POSIX
quoting ('...', "...", backslash), line continuations, comments, `;` and newlines between
commands, pipes, `NAME=value` assignments, `$NAME` / `${NAME}` expansion and `$(...)` command
substitution. Commands: `grpcurl` (tests/support/grpcurl.py), `jq [-r] [-c] <path>` with paths
such as `.results[0].distribution.id`, `echo` and `export`. Other commands are skipped; other
syntax (redirections, `&&`, background jobs) fails loudly rather than being misread.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.support import grpcurl
from tests.support.servers import ServerHandle, start_server

ROOT = Path(__file__).resolve().parents[2]
#: The documents whose examples are executed, each against its own server.
DOCUMENTS = ("README.md", "docs/api.md")
DOCUMENTED_ADDRESSES = ("127.0.0.1:50051", "localhost:50051")
SHELL_LANGUAGES = frozenset({"sh", "bash", "shell"})

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_EXPECT = re.compile(r"^\s*<!--\s*expect:\s*(?P<code>[A-Z_]+)\s*-->\s*$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=")


class ExampleError(AssertionError):
    """A documented example did not behave as documented."""


# --- markdown ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A fenced shell block: where it is, its text and the status its call must fail with."""

    path: str
    line: int  # 1-based line of the opening fence
    text: str
    expect: str | None


def shell_blocks(markdown: str, path: str = "<doc>") -> list[Block]:
    """The ```sh blocks of `markdown` that mention grpcurl, in document order."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    previous = ""  # the last non-blank line before the current one
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            if lines[i].strip():
                previous = lines[i]
            i += 1
            continue
        fence, start = opening["fence"], i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        expect = _EXPECT.match(previous)
        text = "\n".join(body) + "\n"
        if opening["lang"] in SHELL_LANGUAGES and re.search(r"\bgrpcurl\b", text):
            code = expect["code"] if expect else None
            if code is not None and code not in grpc.StatusCode.__members__:
                raise ExampleError(f"{path}:{start}: unknown status code {code!r} in expect")
            blocks.append(Block(path, start + 1, text, code))
        previous = lines[start]
    return blocks


# --- the shell subset -------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A piece of a word: literal text, a variable, or a command substitution's source."""

    kind: str  # "lit", "var" or "sub"
    value: str


@dataclass
class Word:
    """A shell word as parts to expand, and its raw source."""

    parts: list[Part] = field(default_factory=list)
    raw: str = ""

    def literal(self) -> str | None:
        """The word's text when it has no expansion in it."""
        if all(p.kind == "lit" for p in self.parts):
            return "".join(p.value for p in self.parts)
        return None


@dataclass
class Command:
    """A pipeline of simple commands, with the line it starts on and its source text."""

    stages: list[list[Word]]
    line: int
    source: str


class ShellSyntaxError(ExampleError):
    """The block uses shell syntax outside the supported subset."""


def _closing_paren(text: str, start: int) -> int:
    """The index of the `)` closing the `$(` whose body starts at `start`."""
    depth, i = 1, start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                break
            i = end + 1
            continue
        if c == '"':
            i = _closing_quote(text, i + 1) + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ShellSyntaxError("unterminated $(")


def _closing_quote(text: str, start: int) -> int:
    """The index of the `"` closing a double-quoted string whose body starts at `start`."""
    i = start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i
        if text.startswith("$(", i):
            i = _closing_paren(text, i + 2) + 1
            continue
        i += 1
    raise ShellSyntaxError('unterminated "')


def _dollar(text: str, i: int) -> tuple[Part | None, int]:
    """The expansion starting at text[i] == '$' and the index after it (None: a literal $)."""
    if text.startswith("$(", i):
        end = _closing_paren(text, i + 2)
        return Part("sub", text[i + 2 : end]), end + 1
    if text.startswith("${", i):
        end = text.find("}", i + 2)
        if end < 0 or not _NAME.fullmatch(text[i + 2 : end]):
            raise ShellSyntaxError("only ${NAME} is supported")
        return Part("var", text[i + 2 : end]), end + 1
    name = _NAME.match(text, i + 1)
    if name:
        return Part("var", name.group()), name.end()
    return None, i + 1


def parse_script(text: str) -> list[Command]:
    """Splits shell source into commands of pipelines of words (nothing is expanded yet)."""
    commands: list[Command] = []
    stages: list[list[Word]] = []
    words: list[Word] = []
    word: Word | None = None
    command_start = 0
    word_start = 0
    i = 0

    def line_of(index: int) -> int:
        return text.count("\n", 0, index) + 1

    def end_word(end: int) -> None:
        nonlocal word
        if word is not None:
            word.raw = text[word_start:end]
            words.append(word)
            word = None

    def end_stage() -> None:
        nonlocal words
        if words:
            stages.append(words)
        words = []

    def end_command(end: int) -> None:
        nonlocal stages, command_start
        end_stage()
        if stages:
            source = text[command_start:end].strip()
            commands.append(Command(stages, line_of(command_start), source))
        stages = []
        command_start = end + 1

    def start_word() -> Word:
        nonlocal word, word_start
        if word is None:
            word = Word()
            word_start = i
        return word

    while i < len(text):
        c = text[i]
        if c == "\\":
            if text.startswith("\\\n", i):
                i += 2
                continue
            start_word().parts.append(Part("lit", text[i + 1 : i + 2]))
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError(f"line {line_of(i)}: unterminated '")
            start_word().parts.append(Part("lit", text[i + 1 : end]))
            i = end + 1
        elif c == '"':
            current = start_word()
            end = _closing_quote(text, i + 1)
            j = i + 1
            while j < end:
                if text[j] == "\\" and text[j + 1] in '$`"\\\n':
                    if text[j + 1] != "\n":
                        current.parts.append(Part("lit", text[j + 1]))
                    j += 2
                elif text[j] == "$":
                    part, j = _dollar(text, j)
                    current.parts.append(part or Part("lit", "$"))
                else:
                    current.parts.append(Part("lit", text[j]))
                    j += 1
            i = end + 1
        elif c == "$":
            current = start_word()
            part, i = _dollar(text, i)
            current.parts.append(part or Part("lit", "$"))
        elif c in " \t":
            end_word(i)
            i += 1
        elif c in "\n;":
            end_word(i)
            end_command(i)
            i += 1
        elif c == "|":
            if text.startswith("||", i):
                raise ShellSyntaxError(f"line {line_of(i)}: '||' is not supported")
            end_word(i)
            end_stage()
            i += 1
        elif c == "#" and word is None:
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
        elif c in "&<>`(){}":
            raise ShellSyntaxError(f"line {line_of(i)}: {c!r} is not supported in doc examples")
        else:
            start_word().parts.append(Part("lit", c))
            i += 1
    end_word(len(text))
    end_command(len(text))
    return commands


def jq(filter_text: str, raw: bool, compact: bool, data: str) -> list[str]:
    """jq's output lines for a path filter (`.`, `.a`, `.a.b[0]`, `.["a"]`, `.[-1]`)."""
    steps = _jq_steps(filter_text)
    decoder = json.JSONDecoder()
    outputs: list[str] = []
    position = 0
    while True:
        while position < len(data) and data[position].isspace():
            position += 1
        if position >= len(data):
            break
        value, position = decoder.raw_decode(data, position)
        for step in steps:
            value = _jq_step(value, step, filter_text)
        if raw and isinstance(value, str):
            outputs.append(value)
        else:
            outputs.append(json.dumps(value, indent=None if compact else 2, ensure_ascii=False))
    return outputs


_JQ_TOKEN = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\.?\[(?P<index>-?\d+)\]|\.?\["(?P<key>[^"]*)"\]|\."""
)


def _jq_steps(filter_text: str) -> list[str | int]:
    text = filter_text.strip()
    if not text.startswith("."):
        raise ExampleError(f"jq filter {filter_text!r}: only paths such as .a.b[0] are supported")
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        token = _JQ_TOKEN.match(text, position)
        if not token or token.end() == position:
            raise ExampleError(f"jq filter {filter_text!r}: unsupported at {text[position:]!r}")
        if token["name"] is not None:
            steps.append(token["name"])
        elif token["index"] is not None:
            steps.append(int(token["index"]))
        elif token["key"] is not None:
            steps.append(token["key"])
        position = token.end()
    return steps


def _jq_step(value: Any, step: str | int, filter_text: str) -> Any:
    if value is None:
        return None
    if isinstance(step, int):
        if not isinstance(value, list):
            raise ExampleError(
                f"jq {filter_text!r}: cannot index {type(value).__name__} with {step}"
            )
        return value[step] if -len(value) <= step < len(value) else None
    if not isinstance(value, dict):
        raise ExampleError(f"jq {filter_text!r}: cannot index {type(value).__name__} with {step!r}")
    return value.get(step)


@dataclass
class DocShell:
    """Runs doc blocks against one server, keeping shell variables between blocks."""

    address: str
    variables: dict[str, str] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)
    calls: int = 0
    _expect: str | None = None
    _expected_seen: bool = False

    def run_block(self, block: Block) -> None:
        """Runs every command of `block`; raises ExampleError naming the failing line."""
        text = block.text
        for documented in DOCUMENTED_ADDRESSES:
            text = text.replace(documented, self.address)
        self._expect, self._expected_seen = block.expect, False
        try:
            commands = parse_script(text)
        except ShellSyntaxError as exc:
            raise ExampleError(f"{block.path}:{block.line}: {exc}") from None
        for command in commands:
            where = f"{block.path}:{block.line + command.line}"
            try:
                self.transcript.append(f"$ {command.source}")
                output = self._pipeline(command.stages)
                if output:
                    self.transcript.append(output.rstrip("\n"))
            except ExampleError as exc:
                raise ExampleError(f"{where}: {exc}\n  in: {command.source}") from None
        if block.expect and not self._expected_seen:
            raise ExampleError(
                f"{block.path}:{block.line}: expected a call to fail with {block.expect}, "
                "but every call succeeded"
            )

    def _expand(self, word: Word) -> str:
        out = []
        for part in word.parts:
            if part.kind == "lit":
                out.append(part.value)
            elif part.kind == "var":
                if part.value not in self.variables:
                    raise ExampleError(f"${part.value} is not set")
                out.append(self.variables[part.value])
            else:
                out.append(self._substitute(part.value))
        return "".join(out)

    def _substitute(self, source: str) -> str:
        commands = parse_script(source)
        if not commands:
            return ""
        output = ""
        for command in commands:
            output = self._pipeline(command.stages, capturing=True)
        return output.rstrip("\n")

    def _pipeline(self, stages: list[list[Word]], capturing: bool = False) -> str:
        data = ""
        for index, words in enumerate(stages):
            assignments = 0
            while assignments < len(words) and _ASSIGNMENT.match(words[assignments].raw):
                assignments += 1
            program = words[assignments].literal() if assignments < len(words) else None
            if program == "export":
                words = words[1:]
                assignments, program = len(words), None
            if program is None and assignments == len(words):
                if len(stages) > 1:
                    raise ExampleError("an assignment cannot be part of a pipeline")
                for word in words:
                    value = self._expand(word)
                    name, _, rest = value.partition("=")
                    self.variables[name] = rest
                return ""
            args = [self._expand(w) for w in words[assignments:]]
            if program == "grpcurl":
                data = self._grpcurl(args)
            elif program == "jq":
                data = self._jq(args, data, last=index == len(stages) - 1 and capturing)
            elif program == "echo":
                data = " ".join(args[1:]) + "\n"
            elif capturing or len(stages) > 1:
                raise ExampleError(f"cannot run {program!r} inside a pipeline or $(...)")
            else:
                self.transcript.append(f"(skipped: {program})")
                return ""
        return data

    def _grpcurl(self, args: list[str]) -> str:
        self.calls += 1
        errors = io.StringIO()
        code, out = grpcurl.run(args, stderr=errors)
        if code == 0:
            return out
        name = _status_name(code)
        if self._expect is not None and name == self._expect and not self._expected_seen:
            self._expected_seen = True
            self.transcript.append(errors.getvalue().rstrip("\n"))
            return out
        expected = f" (expected {self._expect})" if self._expect else ""
        raise ExampleError(
            f"grpcurl failed with {name or f'exit code {code}'}{expected}:\n{errors.getvalue()}"
        )

    def _jq(self, args: list[str], data: str, last: bool) -> str:
        raw = compact = False
        filters = []
        for arg in args[1:]:
            if arg in ("-r", "--raw-output"):
                raw = True
            elif arg in ("-c", "--compact-output"):
                compact = True
            elif arg.startswith("-"):
                raise ExampleError(f"jq option {arg} is not supported")
            else:
                filters.append(arg)
        if len(filters) != 1:
            raise ExampleError("jq needs exactly one filter")
        try:
            lines = jq(filters[0], raw, compact, data)
        except json.JSONDecodeError as exc:
            raise ExampleError(f"jq: input is not JSON ({exc}): {data!r}") from None
        if last and (not lines or "null" in lines):
            raise ExampleError(f"jq {filters[0]!r} found nothing (null) in:\n{data}")
        return "".join(f"{line}\n" for line in lines)


def _status_name(exit_code: int) -> str | None:
    """The status name of a grpcurl exit code 64 + code (None for other failures)."""
    number = exit_code - grpcurl.EXIT_CALL_FAILURE
    for status in grpc.StatusCode:
        if status.value[0] == number and number > 0:
            return status.name
    return None


def run_markdown(markdown: str, address: str, path: str = "<doc>") -> DocShell:
    """Runs every grpcurl block of `markdown` against `address`, top to bottom."""
    shell = DocShell(address)
    for block in shell_blocks(markdown, path):
        shell.run_block(block)
    return shell


# --- tests ------------------------------------------------------------------------------------


@pytest.fixture
def doc_server(fresh_database_url: str) -> Iterator[ServerHandle]:
    """A server of its own on an empty database, as a reader following one document has."""
    handle = start_server(fresh_database_url)
    try:
        yield handle
    finally:
        handle.close()


@pytest.mark.parametrize("document", DOCUMENTS)
def test_documented_examples_run(document: str, doc_server: ServerHandle) -> None:
    markdown = (ROOT / document).read_text(encoding="utf-8")
    assert shell_blocks(markdown, document), f"{document} has no grpcurl example"
    shell = DocShell(doc_server.address)
    try:
        for block in shell_blocks(markdown, document):
            shell.run_block(block)
    except ExampleError as exc:
        tail = "\n".join(shell.transcript[-12:])
        pytest.fail(f"{exc}\n--- last commands and output ---\n{tail}", pytrace=False)
    assert shell.calls > 0


SERVICE = "distribution.v1.DistributionService"


def _doc(body: str, expect: str | None = None) -> str:
    comment = f"<!-- expect: {expect} -->\n" if expect else ""
    return f"Some text.\n\n{comment}```sh\n{body}\n```\n"


def test_a_drifted_field_fails(server: ServerHandle, uid: str) -> None:
    drifted = _doc(
        f'grpcurl -plaintext -d \'{{"channel": {{"id": "d-{uid}", "timezone": "UTC", '
        f'"colour": "red"}}}}\' 127.0.0.1:50051 {SERVICE}/UpsertChannel'
    )
    with pytest.raises(ExampleError, match="colour"):
        run_markdown(drifted, server.address)


def test_a_wrong_expected_code_and_an_unexpected_success_fail(server: ServerHandle) -> None:
    bad_timezone = (
        f'grpcurl -plaintext -d \'{{"channel": {{"id": "x", "timezone": "Mars/Base"}}}}\' '
        f"127.0.0.1:50051 {SERVICE}/UpsertChannel"
    )
    run_markdown(_doc(bad_timezone, "INVALID_ARGUMENT"), server.address)
    with pytest.raises(ExampleError, match="expected NOT_FOUND"):
        run_markdown(_doc(bad_timezone, "NOT_FOUND"), server.address)
    with pytest.raises(ExampleError, match="INVALID_ARGUMENT"):
        run_markdown(_doc(bad_timezone), server.address)
    health = "grpcurl -plaintext 127.0.0.1:50051 grpc.health.v1.Health/Check"
    with pytest.raises(ExampleError, match="every call succeeded"):
        run_markdown(_doc(health, "UNAVAILABLE"), server.address)


def test_captures_expand_and_a_drifted_jq_path_fails(server: ServerHandle, uid: str) -> None:
    upsert = (
        f'grpcurl -plaintext -d \'{{"channel": {{"id": "cap-{uid}", '
        f'"timezone": "UTC"}}}}\' \\\n  127.0.0.1:50051 {SERVICE}/UpsertChannel'
    )
    captured = (
        f"{upsert}\n# the id, captured the way a user would\n"
        f'ID=$(grpcurl -plaintext -d \'{{"id": "cap-{uid}"}}\' 127.0.0.1:50051 '
        f"{SERVICE}/GetChannel | jq -r '.id')\n"
        f'grpcurl -plaintext -d \'{{"id": "\'"$ID"\'"}}\' 127.0.0.1:50051 {SERVICE}/GetChannel'
    )
    shell = run_markdown(_doc(captured), server.address)
    assert shell.variables["ID"] == f"cap-{uid}" and shell.calls == 3
    drifted = captured.replace("jq -r '.id'", "jq -r '.display_name'")
    with pytest.raises(ExampleError, match="null"):
        run_markdown(_doc(drifted), server.address)


def test_shell_subset_parsing() -> None:
    [command] = parse_script(
        "X=$(grpcurl -d '{\"a\": \"b c\"}' \\\n  h:1 s/M | jq -r '.x') # comment\n"
    )
    [[assignment]] = command.stages
    assert assignment.parts[0] == Part("lit", "X") and assignment.parts[-1].kind == "sub"
    [inner] = parse_script(assignment.parts[-1].value)
    assert [w.literal() for w in inner.stages[0]] == ["grpcurl", "-d", '{"a": "b c"}', "h:1", "s/M"]
    assert [w.literal() for w in inner.stages[1]] == ["jq", "-r", ".x"]
    [quoted] = parse_script("""echo '{"id": "'"$D"'"}' "${E}x" \\$F""")
    assert [p.kind for p in quoted.stages[0][1].parts] == ["lit", "var", "lit"]
    assert [p.kind for p in quoted.stages[0][2].parts] == ["var", "lit"]
    assert quoted.stages[0][3].literal() == "$F"
    assert len(parse_script("make run\n\n# only a comment\nmake test; echo done\n")) == 3
    with pytest.raises(ShellSyntaxError):
        parse_script("grpcurl a b > out.json")


def test_jq_paths() -> None:
    data = '{"results": [{"distribution": {"id": "d1"}}], "n": 2}\n'
    assert jq(".results[0].distribution.id", True, False, data) == ["d1"]
    assert jq(".results[-1].distribution.id", False, False, data) == ['"d1"']
    assert jq('.["n"]', True, False, data) == ["2"]
    assert jq(".missing.deeper", True, False, data) == ["null"]
    assert jq(".results[0]", True, True, data) == ['{"distribution": {"id": "d1"}}']


def test_markdown_blocks_and_expectations() -> None:
    markdown = (
        "```sh\nmake run\n```\n\n<!-- expect: NOT_FOUND -->\n\n```sh\ngrpcurl a b\n```\n"
        '```json\n{"grpcurl": 1}\n```\n```sh\ngrpcurl c d\n```\n'
    )
    blocks = shell_blocks(markdown)
    assert [(b.line, b.expect) for b in blocks] == [(7, "NOT_FOUND"), (13, None)]
    with pytest.raises(ExampleError, match="unknown status code"):
        shell_blocks("<!-- expect: NOPE -->\n```sh\ngrpcurl x y\n```\n")
