"""Declared identities: the ``--auth`` file (``config``), login flows (``flows``) and
staying logged in during a scan (``session``). See docs/authentication.md."""
