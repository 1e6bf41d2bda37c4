"""Archival exchange formats: xdomea (Aussonderung messages, export and import) and BagIt."""
