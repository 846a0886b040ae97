"""`python -m tessera_shared.devweb`: serves the example web app of `make run` on its own origin.

A static folder (TESSERA_DEV_WEB_ROOT) on 127.0.0.1:TESSERA_DEV_WEB_PORT, plus `/config.js`
naming the gateway and the development API key, so the page needs no build step and no input
field for them. Local runs only: the key is the runner's own, never a production one.
"""

import json
import os
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST = "127.0.0.1"


class Handler(SimpleHTTPRequestHandler):
    """The folder's files, `/config.js` and `/health`; no caching, so edits show at once."""

    config: bytes = b""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/config.js", "/health"):
            body = self.config if path == "/config.js" else b"ok"
            kind = "text/javascript" if path == "/config.js" else "text/plain"
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the parts' logs are what a developer reads."""


def config_module(gateway_url: str, api_key: str) -> bytes:
    """The ES module the page imports: where the gateway is and the key for registration."""
    values = {"gatewayUrl": gateway_url, "apiKey": api_key}
    return f"export default {json.dumps(values)};\n".encode()


def main() -> None:
    root = Path(os.environ.get("TESSERA_DEV_WEB_ROOT", "examples/web"))
    raw = os.environ.get("TESSERA_DEV_WEB_PORT", "3000")
    if not raw.isdigit() or not root.is_dir():
        sys.exit(f"devweb: bad TESSERA_DEV_WEB_PORT {raw!r} or missing folder {root}")
    config = config_module(
        os.environ.get("TESSERA_DEV_WEB_GATEWAY_URL", "http://localhost:8080"),
        os.environ.get("TESSERA_DEV_WEB_API_KEY", ""),
    )
    handler: type[Handler] = type("ConfiguredHandler", (Handler,), {"config": config})
    server = ThreadingHTTPServer((HOST, int(raw)), partial(handler, directory=str(root)))
    print(f"web app on http://localhost:{raw}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
