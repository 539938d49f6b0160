"""Screens of credential rotation: target, current quorum, hand-out (the ceremony's screens), recovery."""
