"""The front doors' shared parts: the HTTP routes, request parsing, the local server and Slack formatting.

May import the service and everything below it; never adapters or the composition root (app).
"""
