"""The limit: a raw ASGI endpoint that reads the body and answers 204, nothing else.

``NOOP_DELAY_MS`` in the environment: answer each request that many milliseconds after
its body arrived (a distant receiver's round trip; requests wait side by side)."""

import asyncio
import os

DELAY_S = float(os.environ.get("NOOP_DELAY_MS", "0")) / 1000


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    if DELAY_S:
        await asyncio.sleep(DELAY_S)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
