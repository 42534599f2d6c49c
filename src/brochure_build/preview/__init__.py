"""The live preview: a warm renderer that follows the designer's saves, and the local server that
shows its pages as spreads."""
