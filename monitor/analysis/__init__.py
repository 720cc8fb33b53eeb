"""Comparing and reading text: normalisation, extraction, concept matching, relevance, sentence
diff, comparison, the comparisons to make, timelines."""
