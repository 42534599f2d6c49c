"""Allows `python -m brochure_build`."""

from brochure_build.cli import console

if __name__ == "__main__":  # not when the preview's helper process (multiprocessing, spawn) imports it
    console()
