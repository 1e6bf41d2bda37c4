"""Archival exchange formats: xdomea (Aussonderung messages) and BagIt."""
