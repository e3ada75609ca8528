"""Fake `hiero.core.events` (Hiero Python reference, hiero.core.events: registerInterest)."""

interests = []  # (event type, callback)


def registerInterest(eventType, callback):  # hiero.core.events.registerInterest
    interests.append((eventType, callback))
