"""FC entry points named in s.yaml: `index.handler` and `index.initialize`."""

from havip_failover.entry import handler, initialize

__all__ = ["handler", "initialize"]
