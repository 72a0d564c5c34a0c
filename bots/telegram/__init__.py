"""Telegram edge of Relais: translates Telegram updates to the core and core results to messages."""
