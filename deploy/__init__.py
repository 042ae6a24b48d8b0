"""Cluster deployment helpers (the scripts beside this file use deploy.plan)."""
