"""What the ops API's OpenAPI document admits as a version or a label, the resolver reads
(the document is Schemathesis's contract: a schema-valid request is never refused as malformed
by the handler, and the handler refuses nothing else as malformed)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from agents.entrypoints.api.schemas import LABEL_PATTERN, VERSION_PATTERN
from lifecycle.errors import BadInputError
from lifecycle.version_labels import LABEL, NUMBER, parse_label, parse_version_ref


@given(st.from_regex(VERSION_PATTERN, fullmatch=True))
def test_every_version_the_document_admits_is_read(text: str) -> None:
    parse_version_ref(text)


@given(st.from_regex(LABEL_PATTERN, fullmatch=True))
def test_every_label_the_document_admits_is_read(text: str) -> None:
    parse_label(text)


@given(st.text(max_size=20))
def test_what_the_resolver_reads_the_document_admits(text: str) -> None:
    try:
        parse_version_ref(text)
    except BadInputError:
        return
    cleaned = text.strip()
    if cleaned == text:  # the API does not strip a path parameter
        assert re.fullmatch(VERSION_PATTERN, text)


def test_the_patterns_are_the_parsers_own() -> None:
    for text in ("3", "v3", "V10", "1.2.0", "v1.2.0", "latest", "LATEST"):
        assert re.fullmatch(VERSION_PATTERN, text), text
        assert NUMBER.fullmatch(text) or LABEL.fullmatch(text) or text.lower() == "latest"
    for text in ("1.2", "01.2.0", "v", "", "latest!", "1.2.0.0", "v1234567890"):
        assert not re.fullmatch(VERSION_PATTERN, text), text
