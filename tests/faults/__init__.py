"""The fault-injection matrix (`pytest -m faults`): each fault ends in an answer or a
typed error."""
