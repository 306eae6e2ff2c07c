"""`newsdesk eval`: run a QA set through the service and score retrieval, citations and abstention.

score.py may import the base modules only; run.py wires the service through the composition root.
"""
