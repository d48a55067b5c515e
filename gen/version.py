"""hlsgen's version (a module of its own so that any module can import it
without importing the public API in hlsgen/__init__)."""

__version__ = "0.1.0"
