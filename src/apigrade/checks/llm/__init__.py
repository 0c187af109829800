"""AI endpoints (OWASP LLM Top 10 2025): prompt injection, system prompt and model leakage."""
