"""AI context: providers (local and OpenAI-compatible), conversation summaries, per-message
processing (language, PII, intent) and suggested replies. See docs/ai.md."""
