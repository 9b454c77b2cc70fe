"""The demo: `s2f demo`'s research pipeline (shards, decoder, encoder, the side-by-side table, the report) on real or embedded data."""
