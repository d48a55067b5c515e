"""Frontends read a framework's model into the IR; they never emit C++."""
