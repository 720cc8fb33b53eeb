"""Where documents come from: the source kinds, the HTTP client, charsets, reachable addresses,
feeds, canonical URLs."""
