"""Grey-box scanning: what apigrade learns from the application object itself.

Used only by the engine (route enumeration during discovery, source locations of findings)
and by ``checks/misconfiguration/app_config.py`` through the scan's read-only ``app``
handle; checks never import the user's application. Nothing here sends a request.

- :mod:`.frameworks`: which framework an app object is (Flask, Starlette/FastAPI, Django),
  through the usual wrappers;
- :mod:`.routes`: every route of the app with typed example values for its parameters;
- :mod:`.config_audit`: the live configuration, judged without a request (the rules per
  framework: :mod:`.config_flask`, :mod:`.config_django`, :mod:`.config_starlette`);
- :mod:`.locations`: source files and lines of route handlers and config assignments;
- :mod:`.loader`: ``MODULE:OBJECT`` (an app or a factory), as ``flask --app`` takes it.
"""

from apigrade.inprocess.frameworks import AppKind, identify

__all__ = ["AppKind", "identify"]
