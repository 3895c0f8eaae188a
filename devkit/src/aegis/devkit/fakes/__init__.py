"""Loopback fakes of Aegis's external peers, speaking their real protocols."""
