"""Where documents come from: the HTTP client, charsets, reachable addresses, feeds, canonical URLs."""
