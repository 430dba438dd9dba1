"""Identity rules: passwords and login (real-name verification arrives with its own issue)."""
