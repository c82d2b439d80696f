"""The front door: sign-in, the home page per role, the common header and API tokens."""
