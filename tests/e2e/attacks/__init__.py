"""The attack suite (issue 14): each attack a test, through the gateway and straight at
the functions and the broker. Every test here fails on 5149426 (before the fixes)."""
