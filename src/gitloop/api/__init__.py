"""Layer 5 (faces): the HTTP API and webhooks of ``gitloop serve`` on FastAPI + uvicorn.

Thin: ``app.create_app(server)`` maps routes onto ``gitloop.service.server.Server``; ``serve.serve``
runs uvicorn on the configured address with gitloop's own graceful shutdown. The logic lives in
``gitloop.service.server``.
"""
