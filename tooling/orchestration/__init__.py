"""Orchestration: the project as an Airflow DAG (astronomer-cosmos) and its monitoring step."""
