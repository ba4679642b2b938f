"""One function per workflow step. They call AWS only through the ports in ``ports.py``, so they stay pure and
the handlers (with ``novaft.aws``) or tests (with fakes) supply the implementations."""
