"""`matanyone-plugin worker`: the engine process hosts talk to (JSON-RPC lines on stdin/stdout)."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "worker", help="serve the worker protocol on stdin/stdout (started by the panel and bridges)",
        description="Run the worker: JSON-RPC 2.0 requests, one per line, on stdin; answers and "
                    "notifications on stdout; log on stderr. Hosts start it through plugin.client.")
    p.set_defaults(func=main)


def main(args) -> int:
    from plugin import worker
    return worker.serve()
