"""Live updates as Server-Sent Events: the live-update process (server.py, started by
`manage.py serve_live`) and what each reader is pushed (push.py)."""
