"""One fetched body made ready to store, as an extraction worker does it: extracted, matched,
hashed and compressed.

The workers are spawned interpreters, and the function they are sent is imported by its module:
this one imports only what the work needs (extraction, matching, the body's compression), not
the pipeline with its HTTP client, configuration models, alerts and comparisons, so that each
worker starts on its first document sooner and with less CPU (about 0.4 s instead of 0.65 s
here, paid by every cold `monitor once`). The extraction stack itself (trafilatura, its date
search, PDFium: `EXTRACTION`) is imported by the workers as they start, not by the poll process
that sends them documents and imports this module for `prepared` and `matcher`.
"""

from __future__ import annotations

import pickle
from functools import lru_cache

from monitor.analysis.match import Matcher
from monitor.analysis.text import normalise, normalised_hash
from monitor.body import body_hash, pack
from monitor.models import Extracted, Lexicon, Processed

# What a worker imports as it starts (see monitor.workers): `process` needs it for every document.
EXTRACTION = "monitor.analysis.extract"


@lru_cache(maxsize=4)
def matcher(lexicon: Lexicon) -> Matcher:
    """One compiled matcher per lexicon (per process)."""
    return Matcher(lexicon.concepts, lexicon.relevance, lexicon.facets)


def prepared(extracted: Extracted, found: Matcher, body: bytes | None = None) -> Processed:
    """Extracted text with its mentions and content hash, ready to store; the text is
    normalised once, for the matching and the content hash. The raw `body` it came from, when
    there is one to keep, is compressed and hashed here too."""
    norm = normalise(extracted.text)
    mentions = tuple(found.find(extracted.text, norm))
    text_hash = normalised_hash(norm)
    if body is None:
        return Processed(extracted, text_hash, mentions, None, None, None)
    return Processed(extracted, text_hash, mentions, pack(body), len(body), body_hash(body))


def process(
    body: bytes, url: str, content_type: str, lexicon: Lexicon | bytes, metadata: bool = True
) -> Processed:
    """Extract a fetched body and find the concepts in it (runs in a worker process).

    `lexicon` may come pickled (`pickle.dumps(lexicon)`, made once per poll): the worker then
    unpickles it and compiles its matcher once, not once per document."""
    from monitor.analysis.extract import extract  # EXTRACTION, loaded as the worker started

    found = _worker_matcher(lexicon) if isinstance(lexicon, bytes) else matcher(lexicon)
    extracted = extract(body, url, content_type, metadata=metadata)
    # Compressing and hashing here, in the worker, keeps the storing thread free.
    return prepared(extracted, found, body)


@lru_cache(maxsize=4)
def _worker_matcher(lexicon: bytes) -> Matcher:
    """The matcher of a pickled lexicon, kept by its bytes: a dict look-up per document instead
    of unpickling the lexicon and hashing it (a deep frozen dataclass) for `matcher`'s cache.
    The bytes come from the poll process that started this worker, as pebble's own do."""
    loaded = pickle.loads(lexicon)
    assert isinstance(loaded, Lexicon)
    return matcher(loaded)
