"""Developer tooling that runs without Django (standard library only): devdb.py, envfile.py."""
