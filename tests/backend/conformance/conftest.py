"""The domain corpus run once per session through libvirt's test driver and guiapp's; figures printed at the end."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from helpers import load_module, real_libvirt

corpus = load_module("backend/conformance/corpus.py", "conformance_corpus")


@pytest.fixture(scope="session")
def corpus_results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """{file: (libvirt's Outcome, guiapp's Outcome)} over every committed input, on an empty node of each."""
    lib = real_libvirt()
    import guiapp.backend as ours

    node = tmp_path_factory.mktemp("node") / "empty.xml"
    node.write_text("<node></node>\n")
    uri = f"test://{node}"
    quiet = lambda ctx, err: None  # noqa: E731 - the corpus makes thousands of expected errors
    lib.registerErrorHandler(quiet, None)
    ours.registerErrorHandler(quiet, None)
    rc, oc = lib.open(uri), ours.open(uri)
    try:
        out = {}
        for p in corpus.domain_inputs():
            text = p.read_text()
            key = f"{p.parent.name}/{p.name}"
            out[key] = (corpus.run_one(lib, rc, text), corpus.run_one(ours, oc, text), text)
        yield out
    finally:
        rc.close()
        oc.close()
        lib.registerErrorHandler(None, None)
        ours.registerErrorHandler(None, None)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the conformance figures measured in this session (also visible with -s)."""
    if corpus.FIGURES:
        terminalreporter.section("libvirt conformance (libvirt 9.0 test data vs Debian's libvirt)")
        for line in corpus.FIGURES:
            terminalreporter.write_line(line)
