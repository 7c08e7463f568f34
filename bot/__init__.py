"""Channel-agnostic answer core and thin channels (terminal now; Telegram, Zalo, console later)."""
