"""Folder sync: folders -> index, kept fresh (scan, file table, generation writer, watch loop, autosync)."""
from .writer import SyncBusyError, SyncConfig, SyncReport, sync, sync_lock

__all__ = ["SyncBusyError", "SyncConfig", "SyncReport", "sync", "sync_lock"]
