"""The product a user runs: the `s2f` command, `s2f serve` and its page, and the demo."""
