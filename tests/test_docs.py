"""Docs that run: every ```sh, ```bash, ```console and ```python block of
README.md, docs/*.md and examples/README.md is executed, so an example
cannot drift from the code.

Each Markdown file gets a fresh working folder holding a copy of examples/
(the files the blocks name: ``examples/newsroom-export.zip``,
``examples/projects/``, ``examples/storages.json``…) and a link to tests/
(the Hub server a block starts by hand); its blocks run there in
the order they appear, and a block may use what an earlier one of the same
file made or set (a shell block's variables reach the later blocks: each runs
under ``set -a`` and the environment it leaves is the next one's). A shell
block runs under ``bash -e -o pipefail`` (``console``: its ``$ `` lines); a
Python block runs alone in a fresh interpreter, so each says its own imports.
A ``# labelport: …`` comment line in a shell block is what the command
before it prints (``…`` for what differs between runs): some line printed
must begin with it. Every block must exit 0, or the N of a
``<!-- doc-test: exit N (why) -->`` comment on the line before it (a check
that refuses the small example).

``labelport`` (and ``.venv/bin/labelport``, what the README's install makes)
runs this checkout with the test's interpreter; ``python`` is that interpreter.
The cloud is stood in for by the suite's local servers, found by the SDKs
through their usual variables: S3 (moto, ``AWS_ENDPOINT_URL``), Cloud Storage
(gcp-storage-emulator, ``STORAGE_EMULATOR_HOST``), Azure Blob (Azurite,
``AZURE_STORAGE_CONNECTION_STRING``), the Hugging Face Hub (tests/servers/hub.py,
``HF_ENDPOINT``, the user ``my-org``), mail (``LABELPORT_SMTP_HOST``) and a
webhook receiver. The buckets and containers the docs name exist there.
Three spellings in the docs are replaced before running, each by its
stand-in: port 8000 of ``labelport serve`` by a free port,
``https://hooks.example.com/x`` by the webhook receiver's URL (which the
service is told to allow), and the ``$SECRET`` a webhook is signed with is
set. A ``labelport serve`` line runs in the background until the file's last
block has run.

A block that is not run is marked in the Markdown by
``<!-- doc-test: skip (the reason) -->`` on the line before it, and is not a
test that skips: it is in the inventory (:data:`NOT_RUN`), which
:func:`test_the_blocks_not_run_are_an_inventory` holds to the four reasons a
block may have not to run (:data:`WHY_NOT_RUN`): a real cloud account, which
the reason names and the block must use; an install (the suite runs in the
virtualenv ``make test`` made, with every extra); the whole suite (this test
included); minutes of benchmarks. Only where the machine lacks what the
standard one has does a block skip, saying why: an Azure block without
Azurite, a block calling curl or jq where they are missing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from servers.azurite import INSTALL_HINT, start_azurite
from servers.gcs import start_gcs
from servers.hub import start_hub
from servers.ports import free_port, wait_for_port
from servers.s3 import start_s3
from servers.smtp import start_smtp
from servers.webhook import start_webhook_receiver

ROOT = Path(__file__).resolve().parent.parent
#: commands the docs use that the suite does not install: a block calling one that is missing skips
SYSTEM_TOOLS = ("curl", "jq")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "examples" / "README.md"]
SHELL, PYTHON = {"sh", "bash", "console"}, {"python"}

FENCE = re.compile(r"^(?P<prefix>[ >]*)```(?P<lang>[\w-]*)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*doc-test:\s*(?:skip|exit (?P<code>\d+))\s*\((?P<reason>.+)\)\s*-->$")
DOC_PORT = "8000"
DOC_WEBHOOK = "https://hooks.example.com/x"
HUB_USER, HUB_TOKEN = "my-org", "hf_doc_test_my_org"
# what the docs name: S3 and Cloud Storage buckets, Azure containers
BUCKETS = ("my-bucket", "amzn-s3-demo-bucket", "training-data")
CONTAINERS = ("data", "training-data", "exports")
BLOCK_TIMEOUT = 120
# variables of the machine's own cloud accounts: never seen by a block
OWN_CREDENTIALS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "GCLOUD_PROJECT",
                   "AZURE_STORAGE_ACCOUNT_URL", "AZURE_STORAGE_ACCOUNT", "AZURE_CLIENT_ID", "AZURE_TENANT_ID",
                   "AZURE_CLIENT_SECRET", "HF_HOME", "LABELPORT_CONVERTERS", "LABELPORT_OAUTH_CLIENTS",
                   "DATASAUR_BASE_URL", "DATASAUR_CLIENT_ID", "DATASAUR_CLIENT_SECRET")
# bash's own variables, not part of what a block leaves for the next
BASH_OWN = {"_", "SHLVL", "PWD", "OLDPWD"}


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    skip: str | None  # why it does not run
    exit: int = 0  # what it exits with when it runs as it should

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def _slug(doc: Path) -> str:
    """A file name for ``doc``'s working folder: README, docs-vertex-ai, examples-README."""
    return doc.relative_to(ROOT).with_suffix("").as_posix().replace("/", "-")


def blocks(doc: Path) -> Iterator[Block]:
    """The runnable fenced blocks of ``doc`` (also inside block quotes and
    list items), each with the skip reason of the comment before it."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        prefix, lang = len(opening["prefix"]), opening["lang"]
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip(" >") == "```")
        if lang in SHELL | PYTHON:
            before = next((lines[j][prefix:].strip() for j in range(i - 1, -1, -1) if lines[j].strip(" >")), "")
            directive = DIRECTIVE.match(before)
            code = "\n".join(line[prefix:] for line in lines[i + 1:end]) + "\n"
            if directive is None:
                yield Block(doc, i + 1, lang, code, None)
            elif directive["code"] is None:
                yield Block(doc, i + 1, lang, code, directive["reason"])
            else:
                yield Block(doc, i + 1, lang, code, None, int(directive["code"]))
        i = end + 1


BLOCKS = [block for doc in DOCS for block in blocks(doc)]
RUN = [block for block in BLOCKS if not block.skip]
NOT_RUN = [block for block in BLOCKS if block.skip]

#: The services a block not run may need an account of, each with what such a
#: block's code must call to use it.
ACCOUNTS = {
    "AWS": ("aws ", "boto3"),
    "Azure": ("az ml ", "azure.", "AZURE_STORAGE_CONNECTION_STRING"),
    "Google Cloud": ("gcloud ", "google.cloud", "vertexai", "googleapis.com"),
    "OpenAI": ("openai",),
    "Hugging Face": ("HF_TOKEN", "from_pretrained("),
}
#: Why a block may not run: a reason begins so, and its code holds one of the words.
WHY_NOT_RUN = {
    "a real cloud account": (re.compile(rf"needs (?:a|the) real (?P<account>{'|'.join(ACCOUNTS)})\b"), ()),
    "an install (the suite runs in the virtualenv `make test` made, with every extra)":
        (re.compile(r"installs\b"), ("pip install", "venv")),
    "the whole suite, this test included": (re.compile(r"runs the whole suite\b"), ("make test",)),
    "minutes of benchmarks": (re.compile(r"takes minutes\b"), ("benchmarks/",)),
}


# -- the stand-ins for the cloud ---------------------------------------------------------------

@dataclass
class Clouds:
    env: dict[str, str]
    webhook_url: str
    azure: bool  # Azurite is installed


@pytest.fixture(scope="module")
def clouds() -> Iterator[Clouds]:
    import boto3

    stops: list = []
    env: dict[str, str] = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    try:
        s3 = start_s3()
        stops.append(s3.stop)
        env |= s3.env()
        client = boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        for bucket in BUCKETS:
            client.create_bucket(Bucket=bucket)

        gcs = start_gcs()
        stops.append(gcs.stop)
        env |= gcs.env()
        with pytest.MonkeyPatch.context() as mp:
            for name, value in gcs.env().items():
                mp.setenv(name, value)
            mp.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
            from google.cloud import storage

            gcs_client = storage.Client()
            for bucket in BUCKETS:
                gcs_client.create_bucket(bucket)

        azure = True
        try:
            azurite = start_azurite()
        except FileNotFoundError:
            azure = False
        else:
            stops.append(azurite.stop)
            env |= azurite.env()
            from azure.storage.blob import BlobServiceClient

            blobs = BlobServiceClient.from_connection_string(azurite.connection_string())
            for container in CONTAINERS:
                blobs.create_container(container)

        hub = start_hub(tokens={HUB_TOKEN: HUB_USER})
        stops.append(hub.stop)
        env |= hub.env(HUB_TOKEN)

        smtp = start_smtp()
        stops.append(smtp.stop)
        env |= smtp.env()

        receiver = start_webhook_receiver()
        stops.append(receiver.stop)
        env["SECRET"] = "doc-test-webhook-secret"
        env["LABELPORT_ALLOW_WEBHOOK_HOSTS"] = "127.0.0.1"  # the receiver stands in for a public host
        yield Clouds(env, receiver.url, azure)
    finally:
        for stop in reversed(stops):
            stop()


# -- one working folder per Markdown file ------------------------------------------------------

@dataclass
class Stage:
    work: Path
    env: dict[str, str]
    serve_port: int
    services: list[int] = field(default_factory=list)  # pids of `labelport serve` lines


def _launcher(path: Path, command: str) -> None:
    """An executable ``path`` that runs ``command`` (a shell line) with its arguments."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\n{command} "$@"\n')
    path.chmod(0o755)


def _make_stage(doc: Path, root: Path, clouds: Clouds) -> Stage:
    name = _slug(doc)
    work = root / name
    work.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples")
    (work / "tests").symlink_to(ROOT / "tests")  # the suite's servers, which a block may start by hand
    bin_dir = root / f".bin-{name}"
    labelport = f'PYTHONPATH="{ROOT / "src"}" exec "{sys.executable}" -m labelport'
    _launcher(bin_dir / "labelport", labelport)
    _launcher(work / ".venv" / "bin" / "labelport", labelport)
    for python in ("python", "python3"):
        _launcher(bin_dir / python, f'exec "{sys.executable}"')
    env = {k: v for k, v in os.environ.items() if k not in OWN_CREDENTIALS and not k.startswith("PYTEST_")}
    env |= clouds.env
    env |= {
        # the interpreter's scripts folder: the CLIs its packages install (hf)
        "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), env.get("PATH", "")]),
        "PYTHONPATH": str(ROOT / "src"),
        "LABELPORT_HOME": str(root / f".home-{name}"),
        "HF_HOME": str(root / f".hf-{name}"),
        "PYTHONIOENCODING": "utf-8",
    }
    return Stage(work, env, free_port())


@pytest.fixture(scope="module")
def stages(tmp_path_factory, clouds) -> Iterator[dict[Path, Stage]]:
    made: dict[Path, Stage] = {}
    root = tmp_path_factory.mktemp("docs")

    class Lazy(dict):
        def __missing__(self, doc: Path) -> Stage:
            made[doc] = self[doc] = _make_stage(doc, root, clouds)
            return made[doc]

    try:
        yield Lazy()
    finally:
        for stage in made.values():
            for pid in stage.services:
                _stop(pid)


def _stop(pid: int) -> None:
    """Stop a `labelport serve` a block started (bash's child, so not ours to wait for)."""
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _ended(pid):
            time.sleep(0.05)
        if not _ended(pid):
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _ended(pid: int) -> bool:
    """Gone, or a zombie nobody reaps yet (its parent, bash, has exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel whether it still exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


# -- running a block ---------------------------------------------------------------------------

def _as_run(block: Block, stage: Stage, clouds: Clouds) -> str:
    """The block's code with the docs' spellings of the stand-ins replaced."""
    code = block.code.replace(f"127.0.0.1:{DOC_PORT}", f"127.0.0.1:{stage.serve_port}")
    code = code.replace(f"--port {DOC_PORT}", f"--port {stage.serve_port}")
    return code.replace(DOC_WEBHOOK, clouds.webhook_url)


def _shell_script(code: str, lang: str, env_file: Path, pid_file: Path) -> str:
    lines = code.splitlines()
    if lang == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    script = ["set -e -a -o pipefail"]
    for line in lines:
        if line.startswith("labelport serve "):  # a service: in the background, stopped after the file's last block
            script += [f"{line} > serve.log 2>&1 &", f'echo "$!" >> "{pid_file}"']
        else:
            script.append(line)
    script.append(f'env -0 > "{env_file}"')
    return "\n".join(script) + "\n"


def _expected(code: str) -> list[str]:
    """The ``# labelport: …`` lines of a shell block: what the command before
    each prints, ``…`` standing for what differs from run to run."""
    return [line[2:] for line in code.splitlines() if line.startswith("# labelport: ")]


def _printed(expected: str, said: str) -> bool:
    pattern = ".*".join(map(re.escape, expected.split("…")))
    return any(re.match(pattern, line) for line in said.splitlines())  # a line that begins so


def _run(block: Block, stage: Stage, clouds: Clouds) -> tuple[subprocess.CompletedProcess, str]:
    """Run the block; (its process, what the block and any service it started printed)."""
    code = _as_run(block, stage, clouds)
    if block.lang in PYTHON:
        command = [sys.executable, "-c", code]
        env_file = None
    else:
        env_file, pid_file = (stage.work.parent / f".{kind}-{_slug(block.doc)}" for kind in ("env", "pids"))
        pid_file.unlink(missing_ok=True)
        env_file.unlink(missing_ok=True)
        command = ["bash", "-c", _shell_script(code, block.lang, env_file, pid_file)]
    result = subprocess.run(command, cwd=stage.work, env=stage.env, stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=BLOCK_TIMEOUT, check=False)
    if env_file is not None and pid_file.exists():
        stage.services += [int(pid) for pid in pid_file.read_text().split()]
        if result.returncode == block.exit:
            wait_for_port(stage.serve_port, timeout=30)
    # a block that exits on purpose (exit N) leaves no environment: the next gets the one before
    if env_file is not None and result.returncode == block.exit and env_file.exists():
        left = (entry.split("=", 1) for entry in env_file.read_text().split("\0") if "=" in entry)
        stage.env = {k: v for k, v in left if k not in BASH_OWN}
    said = (result.stdout + result.stderr).decode("utf-8", "replace")
    log = stage.work / "serve.log"
    if "labelport serve " in code and log.exists():
        said += log.read_text(encoding="utf-8", errors="replace")
    return result, said


@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_the_block_runs_as_written(block: Block, stages, clouds):
    if "az://" in block.code and not clouds.azure:
        pytest.skip(f"{block.id}: {INSTALL_HINT}")
    for tool in SYSTEM_TOOLS:
        if block.lang in SHELL and re.search(rf"(^|[\s|($]){tool}\s", block.code) and not shutil.which(tool):
            pytest.skip(f"{block.id}: needs {tool}, which is not installed")
    stage = stages[block.doc]
    result, said = _run(block, stage, clouds)
    assert result.returncode == block.exit, f"{block.id} exited {result.returncode}:\n{block.code}\n---\n{said[-4000:]}"
    for expected in _expected(_as_run(block, stage, clouds)):
        assert _printed(expected, said), f"{block.id}: the docs show {expected!r}; it printed:\n{said[-4000:]}"


def test_the_blocks_not_run_are_an_inventory():
    """Every block marked ``doc-test: skip`` is one that cannot run by what it
    is (:data:`WHY_NOT_RUN`): it needs a real AWS, Azure, Google Cloud, OpenAI
    or Hugging Face account, named in its reason and used by its code; or it
    installs (pip, a virtualenv), runs the whole suite, or takes minutes
    (benchmarks/run.py). Any other block runs. The assertion's message lists
    the inventory."""
    inventory = "\n".join(f"  {b.id}: {b.skip}" for b in NOT_RUN)
    for block in NOT_RUN:
        why = next(((what, match, words) for what, (pattern, words) in WHY_NOT_RUN.items()
                    if (match := pattern.match(block.skip))), None)
        assert why, f"{block.id}: {block.skip!r} is none of: {', '.join(WHY_NOT_RUN)}\nthe blocks not run:\n{inventory}"
        what, match, words = why
        if "account" in match.groupdict():
            words = ACCOUNTS[match["account"]]
        assert any(word in block.code for word in words), (
            f"{block.id} is not run for {what} ({block.skip}) but calls none of {words}:\n{block.code}"
            f"\nthe blocks not run:\n{inventory}")


def test_every_block_is_found_and_every_skip_says_why():
    """The extraction itself: the fences the docs use are found (a block this
    test missed would never run), and a skip comment always has a reason."""
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        fenced = len(re.findall(r"^[ >]*```(?:sh|bash|console|python)\s*$", text, flags=re.MULTILINE))
        assert fenced == sum(1 for b in BLOCKS if b.doc == doc), doc
        for comment in re.findall(r"<!--\s*doc-test:.*?-->", text):
            assert DIRECTIVE.match(comment), f"{doc.name}: {comment} is not `<!-- doc-test: skip|exit N (reason) -->`"
    assert len({b.id for b in BLOCKS}) == len(BLOCKS)


def test_the_service_examples_use_what_examples_ships():
    """The README's `labelport serve` names a projects folder and a storages
    file that examples/ holds, and the project id its requests ask for is one
    of that folder's."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    serve = re.search(r"^labelport serve --projects (\S+) .*--storages (\S+)", readme, flags=re.MULTILINE)
    assert serve, "the README's serve command"
    projects, storages = ROOT / serve[1], ROOT / serve[2]
    assert projects.is_dir() and storages.is_file()
    served = {p.name.removesuffix(".zip") for p in projects.iterdir() if not p.name.startswith((".", "_"))}
    asked = set(re.findall(r'"projectIds": \["([^"]+)"\]', readme))
    assert asked and asked <= served, (asked, served)
