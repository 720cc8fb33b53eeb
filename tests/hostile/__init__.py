"""The adversarial suite: one module per class of hostile input or fault, each against a real
server on loopback, each asserting the outcome (nothing stored that should not be, memory
bounded, the error recorded). `pytest tests/hostile` runs it alone."""
