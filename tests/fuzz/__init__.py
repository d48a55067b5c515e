"""Model fuzzer: seeded random QKeras and Brevitas models through generate
and both branches of C simulation (tests/test_fuzz.py runs a small budget,
`make fuzz SEED=... N=...` long campaigns)."""
