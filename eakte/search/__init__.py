"""Full-text search: German analysis and search backends."""
