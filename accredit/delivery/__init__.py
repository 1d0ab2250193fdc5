"""Delivery: enrolment, form assembly, the timed sitting, saving answers and submitting.

``timing``, ``assembly`` and ``answers`` are plain Python rules; ``service``
applies them to the database.
"""
