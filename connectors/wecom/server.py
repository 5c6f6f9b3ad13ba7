"""`salesbot serve wecom`: run the WeCom callback app under uvicorn."""

from __future__ import annotations

import logging
import sys

from connectors.wecom.crypto import WeComConfigurationError

DEFAULT_HOST = "0.0.0.0"  # WeCom's servers must reach the callback URL (usually through a reverse proxy)


def run_wecom(port: int, host: str = DEFAULT_HOST) -> None:
    """Serve /wecom/callback on host:port until interrupted; exit with a clear message when misconfigured."""
    import uvicorn

    from connectors.wecom.app import create_wecom_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_wecom_app()
    except WeComConfigurationError as error:
        print(f"WeCom connector is not configured: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    uvicorn.run(app, host=host, port=port, log_level="info")
