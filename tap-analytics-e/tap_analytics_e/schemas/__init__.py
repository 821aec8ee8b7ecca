"""JSON schemas, one per stream: the document lists no fields, so id, createdAt, updatedAt."""
