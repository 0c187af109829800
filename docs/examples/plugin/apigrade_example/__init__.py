"""An example apigrade plugin (docs/extending.md)."""
