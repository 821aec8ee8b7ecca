"""JSON schemas of API d's streams, one file per stream, from the document's field lists."""
