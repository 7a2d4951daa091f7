"""Fuzz harness for every reader (and the record writers): see ``docs/reliability.md``.

``python -m fuzz.run --count 100000 --seed 1`` runs the campaign; targets live in
:mod:`fuzz.targets` (a registry: new readers plug in with one ``register`` call).
"""
