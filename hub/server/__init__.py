"""``hub serve``: the Hugging Face Hub's HTTP API over the embedded store, for self-hosting decks.

- ``app``: the routes (repos, commits, refs, trees, ``resolve``) on FastAPI;
- ``gate``: what every request passes first: bounded bodies (``BodyLimit``, used by the detection service
  too) and yolodeck's errors in the Hub's shape;
- ``commit_body``: a commit's NDJSON body, read as it streams in;
- ``access``: who may read and write what; ``tokens``: the hub's tokens, stored as hashes.

The server sits on the repo client (:mod:`hub.store`), never the other way round.
"""
