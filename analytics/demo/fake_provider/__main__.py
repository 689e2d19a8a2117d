"""`python -m llmstats.analytics.demo.fake_provider [--port N] [--ledger FILE]`: serve until killed.

Prints the URL on the first line of stdout once it listens.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .server import FakeProvider


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ledger", type=Path, default=None)
    args = parser.parse_args()
    server = FakeProvider(args.port, args.ledger)
    print(server.url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
