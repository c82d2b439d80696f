"""The kinds of background job. Each module registers its kinds with the engine
(`engine.register`); importing this package (AppConfig.ready does) registers them all, so every
process (web, worker, command) knows the same kinds. The engine imports none of them."""

from layers.jobs.kinds import imports, ledger, maintenance, printing

__all__ = ["imports", "ledger", "maintenance", "printing"]
