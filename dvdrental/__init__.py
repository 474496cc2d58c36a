"""The pipeline's commands and everything around the warehouse that is not ingestion."""
