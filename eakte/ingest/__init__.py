"""Ingest: reading sources, MIME sniffing and limits for content entering the store."""
