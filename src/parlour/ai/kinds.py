"""The AI job kinds, named where other domains can enqueue them without importing the AI
service (the send path enqueues the analysis of inbound messages)."""

ANALYSE_JOB = "ai.analyse"
SUMMARISE_JOB = "ai.summarise"
