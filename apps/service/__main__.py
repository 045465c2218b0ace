"""``python -m apps.service api|worker``: the service's two processes."""

from __future__ import annotations

import argparse
import logging
import sys

from apps.service.jobs import QueueRules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.service", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    api = sub.add_parser("api", help="the HTTP API (FastAPI on uvicorn)")
    api.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--allow-stream-hosts", metavar="NETS",
                     help="networks live streams may name (comma-separated CIDRs, or 'any'); default: loopback only")
    api.add_argument("--allow-devices", action="store_true", help="let streams name camera devices (/dev/videoN)")
    api.add_argument("--tokens", metavar="DIR", help="a hub root whose tokens (`hub token create --root DIR`) are "
                     "the API keys; a namespace-scoped one covers only decks of that namespace (default: open)")
    wk = sub.add_parser("worker", help="a model worker: pulls a variant, runs jobs")
    wk.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    wk.add_argument("--repo", required=True, help="OWNER/NAME of the deck")
    wk.add_argument("--revision", default="main")
    wk.add_argument("--variant", default="auto", help="variant id, or 'auto': the fastest accurate one here")
    wk.add_argument("--threads", type=int, default=1, help="intra-op threads (scale with processes, not threads)")
    wk.add_argument("--endpoint", help="hub endpoint (default: $YOLODECK_ENDPOINT, else the embedded hub)")
    wk.add_argument("--max-streams", type=int, default=1,
                    help="live streams this worker runs at once (one per core it may use; 0: none)")
    local = sub.add_parser("up", help="redis-server, the API and workers on this machine (make serve)")
    local.add_argument("--repo", default="yolodeck/shelves-demo", help="OWNER/NAME of the deck")
    local.add_argument("--workers", type=int, help="worker processes (default: half the cores, at least 1)")
    local.add_argument("--variant", default="auto")
    local.add_argument("--port", type=int, default=8000)
    local.add_argument("--redis-port", type=int, default=6379)
    local.add_argument("--data", default="build/redis", help="Redis data dir (its append-only file)")
    for p in (api, wk, local):
        p.add_argument("--prefix", default=QueueRules.prefix, help="Redis key prefix (one service per prefix)")
        p.add_argument("--max-queue", type=int, default=QueueRules.max_queue,
                       help="unfinished jobs per variant before 503")
        p.add_argument("--max-tries", type=int, default=QueueRules.max_tries,
                       help="runs of a job before it is dead-lettered")
        p.add_argument("--claim-after", type=float, default=QueueRules.claim_after,
                       help="seconds before a stalled job is claimed")
        p.add_argument("--ttl", type=int, default=QueueRules.ttl, help="seconds a result stays readable")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from apps.service.jobs import JobQueue

    rules = QueueRules(prefix=args.prefix, max_queue=args.max_queue, max_tries=args.max_tries,
                        claim_after=args.claim_after, ttl=args.ttl)
    if args.command == "up":
        from pathlib import Path

        from apps.service.launcher import up

        extra = ["--prefix", args.prefix, "--max-queue", str(args.max_queue), "--max-tries", str(args.max_tries),
                 "--claim-after", str(args.claim_after), "--ttl", str(args.ttl)]
        return up(args.repo, workers=args.workers, port=args.port, redis_port=args.redis_port, data=Path(args.data),
                  variant=args.variant, extra=extra)
    if args.command == "api":
        import uvicorn

        from apps.service.api import create_app
        from apps.service.streams import SourcePolicy
        from hub.server.tokens import TokenStore

        tokens = TokenStore(args.tokens) if args.tokens else None
        try:
            policy = SourcePolicy.parse(args.allow_stream_hosts, devices=args.allow_devices)
        except ValueError as exc:
            parser.error(f"--allow-stream-hosts: {exc}")
        app = create_app(JobQueue.connect(args.redis, rules), tokens=tokens, sources=policy)
        print(f"yolodeck service: http://{args.host}:{args.port}/docs (queue {args.redis})", flush=True)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=5)
        return 0
    from apps.service.worker import serve

    serve(args.redis, args.repo, revision=args.revision, variant=args.variant, endpoint=args.endpoint,
          threads=args.threads, rules=rules, max_streams=args.max_streams)
    return 0


if __name__ == "__main__":
    sys.exit(main())
