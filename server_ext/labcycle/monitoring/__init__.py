"""Monitoring: drift statistics, monitors, checks and alerts on deployed models."""
