"""Command-line face: parse arguments, call the composition layer, format output. No logic here."""
